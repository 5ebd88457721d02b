"""The audit trail in the reader's language (issue 15): what the services record (an app's
codes, the keys of its details, a person's words, times) reads through the display layer;
a form's verbatim English values (a CTCAE system organ class) are marked lang="en"."""

from __future__ import annotations

import pytest
from django.utils import translation

from trialdesk.audit.models import AuditEvent
from trialdesk.audit_viewer import viewer

pytestmark = pytest.mark.django_db


def _shown(study, object_type, value, field="", form=None, language="fr"):
    event = AuditEvent(object_type=object_type, field=field, action="x")
    with translation.override(language):
        return viewer._shown_value(event, viewer.Masker(study, False), form, value)


def test_a_monitoring_visits_details_read_by_their_labels_in_french(study):
    shown = _shown(
        study,
        "monitoring_visit",
        {"visit_date": "2026-10-13", "kind": "remote", "attendees": "Mathieu Lambert\nSophie Garnier"},
    )
    assert shown == (
        'Date de la visite\u00a0: 2026-10-13; Type\u00a0: Visite à distance; Participants\u00a0: <span translate="no">Mathieu Lambert '
        "Sophie Garnier</span>"
    )


def test_a_finding_reads_with_its_category_and_severity_and_its_text_as_typed(study):
    shown = _shown(
        study, "monitoring_visit", {"category": "data_quality", "severity": "minor", "text": "A & B"}
    )
    assert "Catégorie\u00a0: Qualité des données" in shown and "Gravité\u00a0: Mineur" in shown
    assert 'Texte\u00a0: <span translate="no">A &amp; B</span>' in shown
    assert "data_quality" not in shown and "minor" not in shown


def test_a_signature_time_reads_in_europe_paris_not_as_iso_text(study):
    shown = _shown(
        study, "monitoring_visit", {"status": "signed", "signed_at": "2026-12-02T13:58:18.556680+00:00"}
    )
    assert "Signé le\u00a0: 2026-12-02 14:58" in shown and "T13:58" not in shown
    assert "signed" not in shown


def test_an_expectedness_reads_as_its_label(study):
    assert _shown(study, "sae", "unexpected", field="expectedness") == "Inattendu"
    assert _shown(study, "sae", "expected", field="expectedness", language="en") == "Expected"


def test_the_study_status_field_reads_as_its_label():
    with translation.override("fr"):
        assert viewer.key_label("operational_status") == "Statut de l'étude"


def test_a_system_organ_class_of_an_adverse_event_is_marked_english(study):
    form = study.protocol.form("adverse_event")
    shown = _shown(
        study, "form_record", "Blood and lymphatic system disorders", field="system_organ_class", form=form
    )
    assert shown == '<span lang="en" translate="no">Blood and lymphatic system disorders</span>'


def test_an_unregistered_value_is_shown_escaped_as_before(study):
    assert _shown(study, "drug_shipment", {"lot_number": "<N1>"}) == "Numéro de lot\u00a0: &lt;N1&gt;"


def test_an_object_label_the_services_store_in_english_reads_in_french(study):
    with translation.override("fr"):
        assert (
            viewer.readable_label("prescription #85 of GRE-S03", study.protocol)
            == "prescription nº 85 de GRE-S03"
        )
        assert viewer.readable_label("cardiac hold of GRE-002", study.protocol) == (
            "suspension pour toxicité cardiaque de GRE-002"
        )


def test_the_meaning_a_monitor_signed_reads_in_the_readers_language(study):
    shown = _shown(study, "monitoring_visit", {"meaning_text": "Author of this monitoring visit report"})
    assert shown == "Signification\u00a0: Auteur de ce rapport de visite de monitoring"


def _source_nodes(*, leave_out: frozenset[str] = frozenset()):
    """(path inside the package, node) of every node of trialdesk's source, the top-level
    packages ``leave_out`` left out."""
    import ast
    from pathlib import Path

    import trialdesk

    root = Path(trialdesk.__file__).parent
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root)
        if where.parts[0] in leave_out:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            yield where, node


def _keys_the_services_record() -> dict[str, list[str]]:
    """Each key of a dict written as the details of an audit event in the source (an
    ``old_value=``/``new_value=`` argument given as a dict literal), with where."""
    import ast

    found: dict[str, list[str]] = {}
    for where, node in _source_nodes():
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg in ("old_value", "new_value") and isinstance(keyword.value, ast.Dict):
                for key in keyword.value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        found.setdefault(key.value, []).append(f"{where}:{node.lineno}")
    return found


#: labels written alike in both languages
SAME_IN_FRENCH = {"Date", "Format", "Lots", "Note", "Patient", "Patients", "Signatures", "Version"}


def test_every_key_the_services_record_has_a_label_in_french():
    """A key without a label would be shown made readable from its code: English on a French
    page (the crawls see only the events the demo has)."""
    from trialdesk.crf.display import _recorded

    registered = set().union(*(values.labels for values in _recorded.values()))
    keys = _keys_the_services_record()
    assert len(keys) > 40  # the scan finds what the services write
    unlabelled = {k: where for k, where in keys.items() if k not in viewer.KEY_LABELS and k not in registered}
    assert not unlabelled, f"give these keys a label (audit_viewer.viewer.KEY_LABELS): {unlabelled}"
    with translation.override("fr"):
        english = {k: viewer.key_label(k) for k in keys if k in viewer.KEY_LABELS}
    with translation.override("en"):
        untranslated = [k for k, label in english.items() if label == viewer.key_label(k) and label not in SAME_IN_FRENCH]
    assert not untranslated, untranslated


def test_a_reason_for_change_reads_by_its_label_and_the_words_typed_after_it_as_typed(study):
    from trialdesk.crf.services import reason_text

    stored = reason_text("transcription_error", "typed 3 for 2")
    assert stored == "Transcription error: typed 3 for 2"  # the trail keeps English
    with translation.override("fr"):
        shown = viewer.readable_reason(stored, study.protocol)
    assert shown.startswith("Erreur de transcription\u00a0: ") and '<span translate="no">typed 3 for 2</span>' in shown


def test_the_reasons_the_services_write_read_in_french(study):
    """Each reason a service writes (stored in English) read in French, a record's label with
    its form's title and the reason it nests read the same way."""
    with translation.override("fr"):
        assert viewer.readable_reason("end of treatment on 2022-06-30", study.protocol) == (
            "fin de traitement le 2022-06-30"
        )
        nested = viewer.readable_reason(
            "edit check ck_dates failed after NTE-S01 SCR screening changed by inv.nantes (version 3)", study.protocol
        )
        assert nested == (
            "contrôle de saisie ck_dates en échec après : NTE-S01 SCR Sélection et éligibilité modifiée "
            "par inv.nantes (version 3)"
        )
        typed = viewer.readable_reason("the nurse <b>typed</b> this", study.protocol)
    assert typed == '<span translate="no">the nurse &lt;b&gt;typed&lt;/b&gt; this</span>'


def test_every_reason_a_service_writes_has_its_french():
    from trialdesk.audit import reasons

    with translation.override("fr"):
        untranslated = [r.template for r in reasons.ALL if str(r.translated) == r.template]
    assert len(reasons.ALL) > 25 and not untranslated, untranslated


def test_a_reason_reads_back_what_it_wrote():
    from trialdesk.audit import reasons

    written = reasons.SIGNED_DATA_CHANGED_FIELDS(label="NTE-S01 SCR screening", version=3, fields="ecog, lvef_pct")
    assert written == "signed data changed: NTE-S01 SCR screening v3: ecog, lvef_pct"
    with translation.override("fr"):
        assert reasons.read(written) == "données signées modifiées : NTE-S01 SCR screening v3 : ecog, lvef_pct"
        assert reasons.read(reasons.SIGNED_DATA_CHANGED(label="NTE-S01 SCR screening", version=3)) == (
            "données signées modifiées : NTE-S01 SCR screening v3"
        )
        assert reasons.read("a text a person typed") is None


def test_a_log_entrys_label_reads_in_french(study):
    with translation.override("fr"):
        assert viewer.readable_label("NTE-S01 log #5 infusion", study.protocol) == (
            "NTE-S01 Perfusion de trastuzumab nº 5"
        )


#: reasons that are a person's words, not a service's: shown as typed
TYPED_REASONS = {"Not enrolled"}  # the demo's investigator types why a screened patient was not enrolled


def _reasons_written_in_place() -> list[str]:
    """Each reason text written where it is used rather than taken from ``audit.reasons``:
    a ``reason=``/``replan_reason=`` argument, a calendar anchor's ``source=``, a ``reason``,
    ``because`` or ``why`` assigned, given as a string or an f-string (with where)."""
    import ast

    def texts(expr):
        if isinstance(expr, ast.JoinedStr):
            yield ast.unparse(expr)
        elif isinstance(expr, ast.Constant) and isinstance(expr.value, str) and expr.value:
            yield expr.value
        elif isinstance(expr, ast.IfExp):
            yield from texts(expr.body)
            yield from texts(expr.orelse)
        elif isinstance(expr, ast.BoolOp):
            for value in expr.values:
                yield from texts(value)

    pure = frozenset({"exchange", "simulate", "clinical", "protocol", "rules", "stats", "charts"})  # write no event
    found = []
    for where, node in _source_nodes(leave_out=pure):
        values = []
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            values = [
                k.value
                for k in node.keywords
                if k.arg in ("reason", "replan_reason") or (k.arg == "source" and name == "_move_anchor")
            ]
            if name == "_close_in_error" and len(node.args) > 3:
                values.append(node.args[3])
        elif isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") in ("reason", "because", "why") for t in node.targets
        ):
            values = [node.value]
        for value in values:
            found.extend(f"{where}:{value.lineno}: {text!r}" for text in texts(value) if text not in TYPED_REASONS)
    return found


def test_every_reason_a_service_writes_comes_from_the_catalogue():
    """A reason written in place would stay English for a French reader (the viewer reads only
    the templates of ``audit.reasons``, the same ones the services write with)."""
    found = _reasons_written_in_place()
    assert not found, "write these through trialdesk.audit.reasons:\n" + "\n".join(found)
