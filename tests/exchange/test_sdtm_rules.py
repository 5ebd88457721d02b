"""SDTM rules a reviewer checks: Required variables present and filled, Expected present,
ISO 8601 dates, study days as the IG counts them, controlled terms (CTCAE term and MedDRA
code, grade), the three responses with their evaluators, USUBJID = STUDYID-SUBJID,
pseudonymised exports, computed deviations, criteria not met, trial design.

References: SDTM IG 3.4 §4.1.5 (core: "Req" variables cannot be null; "Exp" variables are
included even when null), §4.4.4 (study day: RFSTDTC is Day 1, no Day 0), §4.4.1/§4.4.2
(ISO 8601 dates and durations), §6.2 (AE), §6.3 (RS with RSEVAL), §5.2 (DM), §7 (trial design).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.clinical.ctcae import find_term
from trialdesk.exchange.sdtm import DATASETS, write_sdtm
from trialdesk.exchange.sdtm.domains import planned_study_day, study_day
from trialdesk.snapshot.model import RecordSnapshot, SubjectSnapshot, VisitSnapshot, held

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$")


def _load(folder, name):
    document = json.loads((folder / f"{name.lower()}.json").read_text(encoding="utf-8"))
    columns = [c["name"] for c in document["columns"]]
    return [dict(zip(columns, row, strict=True)) for row in document["rows"]]


@pytest.fixture(scope="module")
def sdtm(snapshot, protocol, tmp_path_factory):
    out = tmp_path_factory.mktemp("sdtm_rules")
    write_sdtm(snapshot, protocol, out, formats=("json",))
    return {name: _load(out, name) for name in DATASETS}


# ---------------------------------------------------------------- core and formats


def test_required_variables_are_present_and_filled_in_every_row(sdtm):
    # SDTM IG 3.4 §4.1.5: a Required variable is never null
    for name, spec in DATASETS.items():
        required = [v.name for v in spec.variables if v.core == "Req"]
        assert sdtm[name], f"{name} has no row in the seeded cohort"
        for row in sdtm[name]:
            assert all(row[v] not in (None, "") for v in required), (name, row)


def test_expected_variables_are_present_even_where_null(sdtm):
    # SDTM IG 3.4 §4.1.5: an Expected variable is in the dataset even when no value is collected
    for name, spec in DATASETS.items():
        expected = {v.name for v in spec.variables if v.core == "Exp"}
        assert expected <= set(sdtm[name][0]), name
    dm = sdtm["DM"]
    assert all(row["RACE"] is None for row in dm)  # not collected by this protocol: present and null


def test_dates_are_iso_8601(sdtm):
    # SDTM IG 3.4 §4.4.1
    for name, spec in DATASETS.items():
        dates = [v.name for v in spec.variables if v.kind in ("date", "datetime")]
        for row in sdtm[name]:
            for variable in dates:
                assert row[variable] is None or ISO_DATE.match(row[variable]), (name, variable, row[variable])


def test_usubjid_is_the_study_id_and_the_subject_id(sdtm):
    for row in sdtm["DM"]:
        assert row["USUBJID"] == f"{row['STUDYID']}-{row['SUBJID']}"
    subjects = {row["USUBJID"] for row in sdtm["DM"]}
    for name in ("DS", "EX", "AE", "LB", "RS", "SV"):
        assert {row["USUBJID"] for row in sdtm[name]} <= subjects


def test_sequence_numbers_are_unique_within_a_subject(sdtm):
    for name in ("DS", "EX", "AE", "MH", "CM", "LB", "VS", "CV", "PR", "RS", "IE", "DV"):
        keys = [(row["USUBJID"], row[f"{name}SEQ"]) for row in sdtm[name]]
        assert len(keys) == len(set(keys)), name


def test_a_voided_log_entry_is_left_out(snapshot, protocol, tmp_path):
    first = next(snapshot.subjects())  # its first log entry is voided (tests/exchange/conftest.py)
    restored = replace(first, records=tuple(replace(r, voided=False) for r in first.records))
    counts = []
    for name, subject in (("voided", first), ("restored", restored)):
        (tmp_path / name).mkdir()
        one = replace(snapshot, subject_source=held([subject]))
        counts.append(write_sdtm(one, protocol, tmp_path / name, formats=("json",)).records)
    voided, kept = counts
    more = {name: kept[name] - voided[name] for name in kept}
    assert sorted(more.values()) == [0] * (len(more) - 1) + [1]  # one dataset has one row fewer


# ---------------------------------------------------------------- study days (SDTM IG 3.4 §4.4.4)


def test_the_first_dose_is_day_1_and_the_day_before_is_day_minus_1():
    first = dt.date(2024, 3, 10)
    assert study_day(first - dt.timedelta(days=1), first) == -1
    assert study_day(first, first) == 1
    assert study_day(first + dt.timedelta(days=1), first) == 2
    assert study_day(first, None) is None and study_day(None, first) is None


@given(st.dates(), st.integers(min_value=-3000, max_value=3000))
def test_there_is_no_day_0_and_days_keep_their_order(reference, offset):
    try:
        day = reference + dt.timedelta(days=offset)
    except OverflowError:
        return
    value = study_day(day, reference)
    assert value != 0
    assert value == (offset + 1 if offset >= 0 else offset)


def test_a_planned_visit_day_has_no_day_0_either():
    assert planned_study_day(-7) == -7 and planned_study_day(0) == 1 and planned_study_day(28) == 29


def _one_subject(protocol, snapshot, first_dose, *, ongoing_onset=None, extra=()):
    infusion = protocol.concept_form("dose_date")
    ae_form = protocol.concept_form("adverse_event_term")
    term = find_term("Nausea")
    records = [
        RecordSnapshot(
            infusion,
            None,
            1,
            protocol.concept_data(
                infusion,
                {
                    "dose_date": first_dose.isoformat(),
                    "loading_dose": True,
                    "dose_given": 280.0,
                    "dose_prescribed": 280.0,
                    "dose_weight": 70.0,
                },
            ),
        )
    ]
    for repeat, offset in enumerate((-1, 0, 1), start=1):
        records.append(
            RecordSnapshot(
                ae_form,
                None,
                repeat,
                protocol.concept_data(
                    ae_form,
                    {
                        "adverse_event_term": term.term,
                        "adverse_event_meddra": str(term.meddra_code),
                        "adverse_event_grade": 2,
                        "adverse_event_onset": (first_dose + dt.timedelta(days=offset)).isoformat(),
                        "adverse_event_ongoing": offset == 1,
                        "adverse_event_resolved_on": None
                        if offset == 1
                        else (first_dose + dt.timedelta(days=3)).isoformat(),
                        "adverse_event_serious": False,
                    },
                ),
            )
        )
    subject = SubjectSnapshot(
        screening_number="NTE-S99",
        subject_code="NTE-099",
        site="NTE",
        status="on_treatment",
        sex="F",
        age=50,
        screened_on=first_dose - dt.timedelta(days=7),
        consent_date=first_dose - dt.timedelta(days=8),
        enrolled_on=first_dose - dt.timedelta(days=2),
        visits=(VisitSnapshot("D1", actual_date=first_dose),),
        records=tuple(records) + tuple(extra),
    )
    return replace(snapshot, subject_source=held([subject]), cutoff=first_dose + dt.timedelta(days=30))


def test_events_either_side_of_the_first_dose_get_days_minus_1_1_and_2(snapshot, protocol, tmp_path):
    first = dt.date(2024, 3, 10)
    write_sdtm(_one_subject(protocol, snapshot, first), protocol, tmp_path, formats=("json",))
    assert [row["AESTDY"] for row in _load(tmp_path, "AE")] == [-1, 1, 2]
    (ex,) = _load(tmp_path, "EX")
    assert (ex["EXSTDTC"], ex["EXSTDY"]) == ("2024-03-10", 1)
    (dm,) = _load(tmp_path, "DM")
    assert dm["RFSTDTC"] == dm["RFXSTDTC"] == "2024-03-10" and dm["DMDY"] == -7
    (sv,) = _load(tmp_path, "SV")
    assert sv["SVSTDY"] == 1


def test_an_ongoing_adverse_event_has_no_end_date_and_says_it_is_ongoing(snapshot, protocol, tmp_path):
    first = dt.date(2024, 3, 10)
    write_sdtm(_one_subject(protocol, snapshot, first), protocol, tmp_path, formats=("json",))
    rows = _load(tmp_path, "AE")
    ongoing = rows[-1]
    assert "AEENDTC" in ongoing and ongoing["AEENDTC"] is None and ongoing["AEENDY"] is None
    assert ongoing["AEENRTPT"] == "ONGOING" and ongoing["AEENTPT"] == "2024-04-09"  # the cut-off
    assert rows[0]["AEENDTC"] == "2024-03-13" and rows[0]["AEENRTPT"] is None


def test_a_subject_never_dosed_has_no_study_days_and_says_why_its_arm_is_null(snapshot, protocol, tmp_path):
    screen_failures = [s for s in snapshot.subjects() if s.enrolled_on is None]
    write_sdtm(
        replace(snapshot, subject_source=held(screen_failures[:1])), protocol, tmp_path, formats=("json",)
    )
    (dm,) = _load(tmp_path, "DM")
    assert dm["RFSTDTC"] is None and dm["ARMCD"] is None and dm["ARMNRS"] == "SCREEN FAILURE"
    assert all(row["DSSTDY"] is None for row in _load(tmp_path, "DS"))


# ---------------------------------------------------------------- controlled terminology


def test_the_adverse_event_decode_is_the_ctcae_term_with_its_meddra_code_and_the_grade(
    snapshot, protocol, sdtm
):
    ae_form = protocol.concept_form("adverse_event_term")
    recorded = [
        (
            protocol.read_concept("adverse_event_term", r.form, r.data),
            protocol.read_concept("adverse_event_grade", r.form, r.data),
        )
        for s in snapshot.subjects()
        for r in s.records
        if r.form == ae_form and not r.voided
    ]
    assert len(sdtm["AE"]) == len(recorded)
    for row, (term, grade) in zip(sdtm["AE"], recorded, strict=True):
        ctcae = find_term(term)
        assert (row["AEDECOD"], row["AEPTCD"], row["AESOC"]) == (ctcae.term, ctcae.meddra_code, ctcae.soc)
        assert row["AETOXGR"] == str(grade)
        assert row["AESER"] in ("Y", "N")


def test_a_serious_event_carries_its_criteria_and_a_non_serious_one_none(sdtm):
    serious = [row for row in sdtm["AE"] if row["AESER"] == "Y"]
    assert serious
    for row in sdtm["AE"]:
        flags = [row[v] for v in ("AESCONG", "AESDISAB", "AESDTH", "AESHOSP", "AESLIFE", "AESMIE")]
        if row["AESER"] == "Y":
            assert set(flags) <= {"Y", "N"} and "Y" in flags
        else:
            assert flags == [None] * 6


def test_the_response_dataset_holds_the_investigators_the_derived_and_the_confirmed_response(sdtm):
    rows = [r for r in sdtm["RS"] if r["RSTESTCD"] == "OVRLRESP"]
    by_group: dict = {}
    for row in rows:
        by_group.setdefault((row["USUBJID"], row["RSGRPID"]), []).append(row)
    for group in by_group.values():
        kinds = [(r["RSEVAL"], r["RSEVALID"]) for r in group]
        assert ("SPONSOR", "DERIVED") in kinds and ("SPONSOR", "CONFIRMED") in kinds
        (accepted,) = [r for r in group if r["RSACPTFL"] == "Y"]
        assert accepted["RSEVALID"] == "CONFIRMED"
    # the seeded cohort's confirmed discordance: the investigator's PR against a derived NR
    discordant = [g for g in by_group.values() if len({r["RSORRES"] for r in g}) > 1]
    assert discordant
    for group in discordant:
        answer = {(r["RSEVAL"], r["RSEVALID"]): r["RSORRES"] for r in group}
        assert (
            answer[("SPONSOR", "CONFIRMED")]
            == answer[("INVESTIGATOR", None)]
            != answer[("SPONSOR", "DERIVED")]
        )


def test_the_best_overall_response_is_given_derived_and_confirmed(sdtm):
    best = [r for r in sdtm["RS"] if r["RSTESTCD"] == "BESTRESP"]
    assert {r["RSEVALID"] for r in best} == {"DERIVED", "CONFIRMED"}
    responders = {
        r["USUBJID"] for r in best if r["RSEVALID"] == "CONFIRMED" and r["RSORRES"] in ("CR", "CRP", "PR")
    }
    assert len(responders) == 2  # the published outcome the cohort follows: 2 responses of 15 (DESIGN §4)


def test_last_observation_before_exposure_is_flagged_once_per_test_and_subject(sdtm):
    flagged = [(r["USUBJID"], r["LBTESTCD"], r["LBSPEC"]) for r in sdtm["LB"] if r["LBLOBXFL"] == "Y"]
    assert flagged and len(flagged) == len(set(flagged))
    dm = {r["USUBJID"]: r["RFSTDTC"] for r in sdtm["DM"]}
    for row in sdtm["LB"]:
        if row["LBLOBXFL"] == "Y":
            assert row["LBDTC"] <= dm[row["USUBJID"]]


def test_the_deviations_are_the_clinical_rules_ones(snapshot, protocol, sdtm):
    assert sdtm["DV"]
    for row in sdtm["DV"]:
        rule = row["DVSPID"].split(":")[0]
        from trialdesk.clinical.deviations import RULES

        assert rule in RULES and row["DVDECOD"] == RULES[rule].upper()


def test_screen_failures_have_the_criteria_they_did_not_meet(snapshot, sdtm):
    expected = {
        (f"{snapshot.study.nct_id}-{s.label}", code)
        for s in snapshot.subjects()
        for code in s.screen_failure_criteria
    }
    assert {(r["USUBJID"], r["IETESTCD"]) for r in sdtm["IE"]} == expected
    for row in sdtm["IE"]:
        assert row["IEORRES"] == ("N" if row["IECAT"] == "INCLUSION" else "Y")


# ---------------------------------------------------------------- pseudonymisation


def test_a_pseudonymised_export_carries_subject_codes_and_no_birth_year(snapshot, protocol, tmp_path):
    masked = [replace(s, year_of_birth=None, initials="") for s in snapshot.subjects()]
    write_sdtm(
        replace(snapshot, pseudonymised=True, subject_source=held(masked)),
        protocol,
        tmp_path,
        formats=("json",),
    )
    dm = _load(tmp_path, "DM")
    assert all(row["BRTHDTC"] is None for row in dm)
    assert {row["SUBJID"] for row in dm} == {s.label for s in masked}
    define = json.loads((tmp_path / "define.json").read_text())
    assert define["pseudonymised"] is True


# ---------------------------------------------------------------- trial design (SDTM IG 3.4 §7)


def test_the_trial_design_comes_from_the_protocol(protocol, sdtm):
    ts = {}
    for row in sdtm["TS"]:
        ts.setdefault(row["TSPARMCD"], row)
    assert ts["REGID"]["TSVAL"] == protocol.identification.nct_id
    assert ts["AGEMIN"]["TSVAL"] == "P18Y"  # "18 Years" of the registry as an ISO 8601 duration (§4.4.3)
    assert ts["AGEMAX"]["TSVAL"] is None and ts["AGEMAX"]["TSVALNF"] == "PINF"
    assert [r["IETESTCD"] for r in sdtm["TI"]] == [c.code for c in protocol.eligibility.criteria]
    visits = list(protocol.schedule.expanded_visits())
    assert [r["VISIT"] for r in sdtm["TV"]] == [v.title for v in visits]
    assert 0 not in {r["VISITDY"] for r in sdtm["TV"]}
    assert {r["ARMCD"] for r in sdtm["TA"]} == {a.code for a in protocol.arms}
    assert {r["ETCD"] for r in sdtm["TA"]} == {r["ETCD"] for r in sdtm["TE"]}


def _specified_event(protocol, first_dose, words):
    from trialdesk.clinical.ctcae import other_specify_of

    ae_form = protocol.concept_form("adverse_event_term")
    other = other_specify_of("Gastrointestinal disorders")
    data = protocol.concept_data(
        ae_form,
        {
            "adverse_event_term": other.term,
            "adverse_event_meddra": str(other.meddra_code),
            "adverse_event_specified": words,
            "adverse_event_grade": 1,
            "adverse_event_onset": first_dose.isoformat(),
            "adverse_event_ongoing": True,
            "adverse_event_serious": False,
        },
    )
    return other, RecordSnapshot(ae_form, None, 9, data)


def test_the_reported_term_is_the_sites_words_and_the_decode_the_ctcae_term(snapshot, protocol, tmp_path):
    first = dt.date(2024, 3, 10)
    other, record = _specified_event(protocol, first, "Gastric bloating")
    write_sdtm(
        _one_subject(protocol, snapshot, first, extra=(record,)), protocol, tmp_path, formats=("json",)
    )
    row = _load(tmp_path, "AE")[-1]
    assert (row["AETERM"], row["AEDECOD"], row["AEPTCD"]) == (
        "Gastric bloating",
        other.term,
        other.meddra_code,
    )


def test_a_pseudonymised_export_reports_the_ctcae_term_not_the_masked_words(snapshot, protocol, tmp_path):
    first = dt.date(2024, 3, 10)
    other, record = _specified_event(protocol, first, "[pseudonymised]")
    one = replace(_one_subject(protocol, snapshot, first, extra=(record,)), pseudonymised=True)
    write_sdtm(one, protocol, tmp_path, formats=("json",))
    row = _load(tmp_path, "AE")[-1]
    assert row["AETERM"] == row["AEDECOD"] == other.term


def test_a_screen_failure_without_its_end_of_study_is_disposed_of_on_its_screening_day(
    snapshot, protocol, tmp_path
):
    failed = next(s for s in snapshot.subjects() if s.screen_failure_criteria)
    end_form = protocol.concept_form("study_ended_on")
    unended = replace(failed, records=tuple(r for r in failed.records if r.form != end_form))
    write_sdtm(replace(snapshot, subject_source=held([unended])), protocol, tmp_path, formats=("json",))
    events = [(r["DSDECOD"], r["EPOCH"], r["DSSTDTC"]) for r in _load(tmp_path, "DS")]
    assert events[-1] == ("SCREEN FAILURE", "SCREENING", failed.screened_on.isoformat())
    assert [e[0] for e in events].count("SCREEN FAILURE") == 1


def test_an_incomplete_record_without_a_required_value_is_left_out_and_counted(snapshot, protocol, tmp_path):
    first = dt.date(2024, 3, 10)
    ae_form = protocol.concept_form("adverse_event_term")
    untermed = RecordSnapshot(ae_form, None, 8, protocol.concept_data(ae_form, {"adverse_event_grade": 2}))
    result = write_sdtm(
        _one_subject(protocol, snapshot, first, extra=(untermed,)), protocol, tmp_path, formats=("json",)
    )
    assert result.records["AE"] == 3 and result.left_out == {"AE": 1}  # AETERM and AEDECOD are Required
    define = json.loads((tmp_path / "define.json").read_text())
    (ae,) = [d for d in define["datasets"] if d["name"] == "AE"]
    assert (ae["records"], ae["incompleteRecordsLeftOut"]) == (3, 1)
