"""French throughout (issue 15): a page in French shows no English.

The pages themselves are crawled once, by ``tests/web/test_no_raw_codes.py`` (it builds the
demo once for the suite and fetches every page as each role): its French crawl calls
:func:`english_snippets` on each page. This module holds the method and its own tests.

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

#: English still shown on French pages, each named with where and why, to be removed when
#: fixed (a line of the crawl's report holding one of these is not counted; anything else is).
KNOWN_GAPS = {
    # audit trail (audit_viewer): an export's details, an object label and a stored value
    # shown as recorded, not through the protocol's labels
    "/audit/": ("Kind: casebook_pdf", "'Operational status'", "'unexpected'", "'safety'"),
    # MedDRA system organ classes are verbatim English (like the CTCAE terms) but are not yet
    # marked lang="en" where a form's derived field shows them
    "": ("Blood and lymphatic system disorders", "General disorders and administration site conditions"),
    # the protocol's reference safety document title, inside a translated sentence
    "/safety/sae/": ("Summary of Product Char",),
}

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class FrenchPageText(HTMLParser):
    """The visible text of a page in runs (one per text node), leaving out what is English
    on purpose: an element marked ``lang="en"`` (or any ``lang`` not French) or
    ``translate="no"``, and everything inside it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._quoted: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag in _VOID:
            return
        attributes = dict(attrs)
        lang = (attributes.get("lang") or "").lower()
        if self._quoted or attributes.get("translate") == "no" or (lang and not lang.startswith("fr")):
            self._quoted.append(tag)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1
        if self._quoted and self._quoted[-1] == tag:
            self._quoted.pop()

    def handle_data(self, data):
        if not self._hidden and not self._quoted and data.strip():
            self.parts.append(" ".join(data.split()))


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


def english_snippets(html: str) -> list[str]:
    """Each run of the page's French visible text that holds English, with its markers."""
    parser = FrenchPageText()
    parser.feed(html)
    snippets = []
    for part in parser.parts:
        words = english_words(part)
        if words:
            snippets.append(f"{part[:90]!r} ({', '.join(dict.fromkeys(words))})")
    return list(dict.fromkeys(snippets))


def is_known_gap(line: str) -> bool:
    """A line ``"<role> <path>: <snippet>"`` of the crawl that KNOWN_GAPS lists."""
    path = line.split(" ", 2)[1] if line.count(" ") >= 2 else ""
    return any(
        (not prefix or prefix in path) and any(text in line for text in texts)
        for prefix, texts in KNOWN_GAPS.items()
    )


def test_a_known_gap_is_named_by_its_page_and_text_only():
    assert is_known_gap("datamanager /audit/: 'Operational status' (status)")
    assert not is_known_gap("datamanager /queries/: 'Operational status' (status)")
    assert not is_known_gap("datamanager /audit/: 'Save the form' (Save, the, form)")


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
