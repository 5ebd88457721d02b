"""Verbatim English values (issue 15): a CTCAE term and what it fills from the CTCAE list (the
MedDRA code, the system organ class) have no official French; the display layer marks them
lang="en" wherever a page shows them through it, and nothing else."""

from __future__ import annotations

from django.utils import translation

from trialdesk.crf.display import marked_value, verbatim_english
from trialdesk.protocol import load_default_protocol

PROTOCOL = load_default_protocol()
AE = PROTOCOL.form("adverse_event")


def test_a_ctcae_term_and_the_system_organ_class_it_fills_are_verbatim_english():
    assert verbatim_english(AE, "event_term")
    assert verbatim_english(AE, "system_organ_class")
    assert verbatim_english(AE, "meddra_code")


def test_a_field_the_user_types_or_picks_is_not():
    assert not verbatim_english(AE, "specified_term")  # typed by the site
    assert not verbatim_english(AE, "related")  # a choice, translated
    assert not verbatim_english(AE, "grade")
    assert not verbatim_english(AE, "no_such_field")
    assert not verbatim_english(None, "system_organ_class")


def test_a_verbatim_value_is_marked_english_and_escaped_in_the_page():
    with translation.override("fr"):
        shown = marked_value(AE, "system_organ_class", "Blood <and> lymphatic system disorders")
    assert shown == '<span lang="en" translate="no">Blood &lt;and&gt; lymphatic system disorders</span>'


def test_a_translated_value_or_nothing_is_not_marked():
    with translation.override("fr"):
        assert marked_value(AE, "related", "not_related") == "Non lié"
        assert marked_value(AE, "system_organ_class", None) == "—"
        # a person's words: shown as typed, never translated
        assert (
            marked_value(AE, "specified_term", "<b>x</b>")
            == '<span translate="no">&lt;b&gt;x&lt;/b&gt;</span>'
        )


def test_the_display_value_tag_marks_what_the_display_layer_marks():
    from django.template import Context, Template

    template = Template('{% load trialdesk_display %}{% display_value form "system_organ_class" value %}')
    html = template.render(Context({"form": AE, "value": "Investigations"}))
    assert html == '<span lang="en" translate="no">Investigations</span>'


def test_a_pseudonymised_reader_keeps_the_reference_text_a_ctcae_term_fills():
    from trialdesk.studies.pseudonymisation import free_text_fields

    masked = free_text_fields(PROTOCOL)
    # masked, the system organ class would read unlike the term's and the form would say so
    assert "system_organ_class" not in masked and "meddra_code" not in masked
    assert "specified_term" in masked  # the site's own words stay masked
