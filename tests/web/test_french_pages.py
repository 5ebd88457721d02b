"""French throughout (issue 15): a page in French shows no English.

The pages themselves are crawled by ``tests/web/test_no_raw_codes.py``: every page as each
role in French, each page read once (:func:`page_text`) for its raw codes and, with
:func:`english_snippets`, its English. This module holds the method and its own tests.

Method: the visible text (no tags, attributes, scripts or styles) is split into words and
searched for English marker words that French text never uses (function words such as
"the", "and", "with", interface words such as "Save", "Closed", "Subject"). Words French and
English share ("Site", "Date", "Patient", "Total", "Dose", "Audit", "Signature", "Grade",
"Transfusion", "Infusion", "Monitoring", "Sponsor", "Export", "Page") and English words that
are also French ones ("comment", "report", "change", "due", "rate", "label", "adverse", "on",
"or", "an", "as") are no markers.
Text the page marks ``lang="en"`` or ``translate="no"`` is English on purpose (the registry's
criteria and titles, CTCAE terms and grade definitions, hospital names): it is exempt.
A word of letters joined to a dot, ``@``, ``_`` or digits (a user name such as
``investigator.nantes``, a code, a file name) is an identifier, not English.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: words of English that are no French word (nor a French abbreviation), lower case
ENGLISH_MARKERS = frozenset(
    """
    the and of with is not are was were has have had be been being will would can cannot could
    should must this that these those there their they them it its you your we our my
    which who whom whose what when where why how than then from into onto by at for to
    yes no none all any each every some other others only more most less least also
    after before since until while between within without about above below over under
    save saved open opened closed close cancel search edit back next previous submit send
    answer answered query queries raise raised sign signed signing unsign lock locked unlock
    unlocked subject subjects visit visits form forms status reason reasons comments
    enrolled enrol enroll enrollment screening screened eligible ineligible
    overdue today yesterday tomorrow week weeks day days month months year years hour hours
    new show shown hide download upload home logout login password language help
    safety event events serious expected unexpected
    dashboard dashboards casebook casebooks trail changed
    investigator coordinator statistician officer manager data
    missing required needed incomplete complete completed entered entry entries
    value values field fields results result
    first last number count counts per view list filter filters
    """.split()
)

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class PageText(HTMLParser):
    """A page's visible text (no tags, attributes, scripts or styles), read once for both
    crawls: ``parts`` every text node a reader sees less what the page marks
    ``translate="no"`` (reference text quoted as published: the raw-code crawl leaves it
    out), ``french`` the runs (whitespace folded) that are the interface's French, leaving out
    also an element marked ``lang="en"`` (or any ``lang`` not French) and everything inside it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.french: list[str] = []
        self._hidden = 0
        self._quoted: list[str] = []  # the elements open inside a translate="no" element
        self._english: list[str] = []  # the elements open inside a lang="en" element

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag in _VOID:
            return
        attributes = dict(attrs)
        if self._quoted or attributes.get("translate") == "no":
            self._quoted.append(tag)
        lang = (attributes.get("lang") or "").lower()
        if self._english or (lang and not lang.startswith("fr")):
            self._english.append(tag)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1
        if self._quoted and self._quoted[-1] == tag:
            self._quoted.pop()
        if self._english and self._english[-1] == tag:
            self._english.pop()

    def handle_data(self, data):
        if self._hidden or self._quoted:
            return
        self.parts.append(data)
        if not self._english and data.strip():
            self.french.append(" ".join(data.split()))


def page_text(html: str) -> PageText:
    parser = PageText()
    parser.feed(html)
    parser.close()
    return parser


TOKEN = re.compile(r"[^\s()\[\]{},;:!?«»\"“”/|·—–]+")
LETTERS = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")


def english_words(text: str) -> list[str]:
    """The English marker words of a run of text (identifiers left out)."""
    found = []
    for token in TOKEN.findall(text):
        token = token.strip(".'’")
        if not token or re.search(r"[\d@_.=#&%+*<>]", token):
            continue  # a user name, a code, a file name, a number
        for word in re.split(r"[-'’]", token):
            if word.isupper() and len(word) > 1:
                continue  # an abbreviation: B-ALL, ECOG, AST
            if word.lower() in ENGLISH_MARKERS and word.isascii():
                found.append(word)
    return found


def english_snippets(page: str | PageText) -> list[str]:
    """Each run of the page's French visible text that holds English, with its markers
    (``page``: its HTML, or its text already read by :func:`page_text`)."""
    if isinstance(page, str):
        page = page_text(page)
    snippets = []
    for part in page.french:
        words = english_words(part)
        if words:
            snippets.append(f"{part[:90]!r} ({', '.join(dict.fromkeys(words))})")
    return list(dict.fromkeys(snippets))


def test_it_finds_an_english_sentence_on_a_french_page():
    html = "<main><h1>Requêtes</h1><p>The form is not complete.</p></main>"
    assert english_snippets(html) == ["'The form is not complete.' (The, form, is, not, complete)"]


def test_it_finds_an_english_button_among_french_ones():
    html = '<form><button>Enregistrer</button> <a href="x">Cancel</a></form>'
    assert english_snippets(html) == ["'Cancel' (Cancel)"]


def test_it_accepts_french_text_and_words_both_languages_share():
    html = (
        "<p>Site de Nantes · Date : 2 décembre 2026 · Patient NTE-001 · Dose 240 mg · Total 7 · "
        "Piste d'audit · Signature · Grade 3 · Transfusion · Requête clôturée</p>"
    )
    assert english_snippets(html) == []


def test_one_reading_gives_the_raw_code_crawl_its_text_and_the_french_crawl_its_runs():
    page = page_text(
        '<p>Grade <span lang="en">Anemia</span> <span translate="no">Hemoglobin <b>low</b></span> 3</p>'
    )
    assert " ".join(page.parts).split() == ["Grade", "Anemia", "3"]  # lang="en" is still checked for codes
    assert page.french == ["Grade", "3"]


def test_it_exempts_text_marked_english_and_what_is_inside_it():
    html = (
        '<p>Critère : <q lang="en">Age &gt; 18 years <b>and</b> ECOG</q> · '
        '<span translate="no">Anemia with symptoms</span><br> · <span lang="fr">Oui</span></p>'
    )
    assert english_snippets(html) == []


def test_it_leaves_out_abbreviations():
    assert english_snippets("<p>LAL-B (B-ALL) en rechute · ECOG 2</p>") == []


def test_it_leaves_out_user_names_codes_and_tooltips():
    html = '<p title="Save the form">investigator.nantes · data_manager@example.org · eligible_v2</p>'
    assert english_snippets(html) == []


def test_it_leaves_out_scripts_and_styles():
    html = "<script>if (the && form) {}</script><style>.open{}</style><p>Ouvert</p>"
    assert english_snippets(html) == []
