"""One word for one thing (issue 15): the French catalogues of the apps agree.

Django merges every app's catalogue and, for an identical msgid, the catalogue of the app
FIRST in INSTALLED_APPS wins: two apps translating the same English differently would show
one app's French on the other's pages. The same msgid (without a msgctxt) must therefore
have the same msgstr in every catalogue. The compiled catalogues (``django.mo``) are read,
as Django reads them, and each must be compiled from its ``django.po`` as it stands.
"""

from __future__ import annotations

import gettext
from collections import defaultdict
from pathlib import Path

import trialdesk

SRC = Path(trialdesk.__file__).parent
#: words the interface must not use in French for its own things (issue 15): a query is a
#: "requête", a closed one "Clôturée", a trial participant a "patient".
WRONG_WORDS_FR = {"sujet": "patient", "sujets": "patients", "query": "requête", "queries": "requêtes"}
#: "demande" as a noun (a query) - the verb ("Déverrouiller demande un motif") is fine
QUERY_AS_DEMANDE = r"(?:^|\b(?:une|la|les|des|de|cette|ces|vos|votre|nouvelle|nouvelles) )demandes?\b"


def catalogues() -> dict[str, Path]:
    """Each app's catalogue, and the project's (LOCALE_PATHS: it wins over every app's)."""
    found = {path.parts[-5]: path for path in sorted(SRC.glob("*/locale/fr/LC_MESSAGES/django.mo"))}
    found["LOCALE_PATHS"] = SRC / "locale" / "fr" / "LC_MESSAGES" / "django.mo"
    return found


def entries(path: Path) -> dict:
    with path.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # noqa: SLF001 - what Django reads
    return {key: value for key, value in catalogue.items() if key != ""}


def test_every_app_with_french_has_a_compiled_catalogue():
    sources = {path.parts[-5] for path in SRC.glob("*/locale/fr/LC_MESSAGES/django.po")} | {"LOCALE_PATHS"}
    assert sources and sources == set(catalogues())


def test_each_compiled_catalogue_is_as_recent_as_its_source():
    stale = [
        app
        for app, mo in catalogues().items()
        if mo.with_suffix(".po").stat().st_mtime > mo.stat().st_mtime + 2
    ]
    # a .po edited without running msgfmt: its French would not show
    assert not stale, f"run msgfmt -o django.mo django.po in: {', '.join(stale)}"


def conflicts(catalogues_by_app: dict[str, dict]) -> list[str]:
    seen: dict[object, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for app, catalogue in catalogues_by_app.items():
        for key, msgstr in catalogue.items():
            if isinstance(key, str) and "\x04" in key:
                continue  # a msgctxt: a different meaning on purpose
            seen[key][msgstr].append(app)
    found = []
    for key, translations in seen.items():
        if len(translations) > 1:
            where = "; ".join(
                f"{msgstr!r} in {', '.join(apps)}" for msgstr, apps in sorted(translations.items())
            )
            found.append(f"{key!r}: {where}")
    return sorted(found)


def test_the_same_english_has_the_same_french_in_every_catalogue():
    found = conflicts({app: entries(path) for app, path in catalogues().items()})
    assert not found, "the same msgid translated differently:\n" + "\n".join(found)


def test_it_names_a_msgid_translated_two_ways():
    found = conflicts(
        {
            "queries": {"Closed": "Clôturée"},
            "monitoring": {"Closed": "Close"},
            "safety": {"a\x04Closed": "Fermé"},
        }
    )
    assert found == ["'Closed': 'Close' in monitoring; 'Clôturée' in queries"]


def test_the_french_says_requete_and_patient_for_one_thing_each():
    import re

    offending = []
    for app, path in catalogues().items():
        for msgstr in entries(path).values():
            for word in re.findall(r"\w+", msgstr.lower()):
                if word in WRONG_WORDS_FR:
                    offending.append(f"{app}: {msgstr!r} ({word} -> {WRONG_WORDS_FR[word]})")
            if re.search(QUERY_AS_DEMANDE, msgstr, re.IGNORECASE):
                offending.append(f"{app}: {msgstr!r} (demande -> requête)")
            if re.search(r"\bclose\b", msgstr, re.IGNORECASE):
                offending.append(f"{app}: {msgstr!r} (Close -> Clôturée)")
    assert not offending, "\n".join(offending)
