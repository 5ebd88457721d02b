"""``trialdesk protocol validate FILE``, ``trialdesk protocol show [FILE] [--json]``,
``trialdesk protocol install FILE`` (adds a study to the deployment's database) and
``trialdesk protocol from-ctgov FILE.json --out PROTOCOL.yaml`` (a protocol skeleton from a
ClinicalTrials.gov record)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from trialdesk.cli.errors import UserError
from trialdesk.protocol import (
    Protocol,
    ProtocolError,
    ProtocolIncomplete,
    default_protocol_path,
    load_protocol,
    load_protocol_text,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "protocol",
        help="validate or show a protocol file",
        description="Validate or show a protocol file (YAML).",
    )
    commands = parser.add_subparsers(dest="protocol_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: _help(parser))

    validate = commands.add_parser(
        "validate",
        help="check a protocol file: prints OK or every problem as file:line:column: message",
        description="Check a protocol file. Prints OK (exit 0) or every problem as file:line:column: message "
        "(exit 1). A file that is not finished (a skeleton from `protocol from-ctgov`) is reported as incomplete, "
        "with every place a person must still write (a null, a proposed rule or field, an empty French text).",
    )
    validate.add_argument("file", metavar="FILE", type=Path)
    validate.set_defaults(handler=_validate)

    show = commands.add_parser(
        "show",
        help="summarise a protocol (the default protocol without FILE)",
        description="Print a readable summary of a protocol, or the normalised protocol as JSON.",
    )
    show.add_argument(
        "file", metavar="FILE", type=Path, nargs="?", help="protocol file (default: the packaged NCT00724360)"
    )
    show.add_argument("--json", action="store_true", help="print the normalised protocol as JSON")
    show.set_defaults(handler=_show)

    install = commands.add_parser(
        "install",
        help="add the study of a protocol file to this deployment's database",
        description="Validate a protocol file and add its study and sites to the database (audited). "
        "A deployment holds several studies; each is reached at /studies/<NCT id>/.",
    )
    install.add_argument("file", metavar="FILE", type=Path)
    install.set_defaults(handler=_install)

    ctgov = commands.add_parser(
        "from-ctgov",
        help="a protocol skeleton from a ClinicalTrials.gov record (API v2 JSON)",
        description="Write a protocol skeleton from a study in the ClinicalTrials.gov API v2 JSON format: "
        "identification, status, design, sites, arms and interventions, outcomes, and the eligibility text "
        "split into criteria, with a rule proposed (proposed: true) where a criterion's wording matches a common "
        "pattern. `trialdesk protocol validate` then lists every place still to complete.",
    )
    ctgov.add_argument(
        "file", metavar="FILE.json", type=Path, help="the study, as /api/v2/studies/NCT… returns it"
    )
    ctgov.add_argument(
        "--out", metavar="PROTOCOL.yaml", type=Path, required=True, help="the skeleton to write"
    )
    ctgov.add_argument("--force", action="store_true", help="replace --out if it exists")
    ctgov.add_argument("--json", action="store_true", help="print what was written as JSON")
    ctgov.set_defaults(handler=_from_ctgov)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _load(path: Path, out: TextIO) -> Protocol | None:
    """The protocol, or None after printing every problem on ``out`` (for a file that is not
    finished, its errors and then every place still to complete)."""
    try:
        return load_protocol(path)
    except ProtocolIncomplete as exc:
        for problem in exc.errors:
            print(problem, file=out)
        places = len(exc.gaps)
        print(f"INCOMPLETE: {places} place{'s' if places != 1 else ''} to complete in {path}:", file=out)
        for gap in exc.gaps:
            print(gap, file=out)
        return None
    except ProtocolError as exc:
        if len(exc.problems) == 1 and exc.problems[0].line is None:  # the file itself: one line
            raise UserError(str(exc.problems[0])) from None
        for problem in exc.problems:
            print(problem, file=out)
        return None


def _validate(args: argparse.Namespace) -> int:
    protocol = _load(args.file, sys.stdout)
    if protocol is None:
        return 1
    print("OK")
    return 0


def _read_record(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", exit_code=3) from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a ClinicalTrials.gov JSON file", exit_code=3) from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path}: not UTF-8 text ({exc.reason}): not a ClinicalTrials.gov JSON file", exit_code=3
        ) from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror})", exit_code=3) from None


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` under a temporary name beside ``path``, then rename it: never half a file."""
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _from_ctgov(args: argparse.Namespace) -> int:
    from trialdesk.protocol.from_ctgov import NotAStudy, skeleton_from_text

    out: Path = args.out
    if out.is_dir():
        raise UserError(
            f"--out {out}: is a directory; give the name of the protocol file to write", exit_code=3
        )
    if out.exists() and not args.force:
        raise UserError(
            f"--out {out}: already exists; give --force to replace it (nothing was written)", exit_code=3
        )
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: the folder {out.parent} does not exist", exit_code=3)
    text = _read_record(args.file)
    try:
        result = skeleton_from_text(text)
    except NotAStudy as exc:
        raise UserError(f"{args.file}: {exc}; nothing was written", exit_code=3) from None
    yaml_text = result.yaml
    gaps = errors = 0
    try:
        load_protocol_text(yaml_text, str(out))
    except ProtocolIncomplete as exc:
        gaps, errors = len(exc.gaps), len(exc.errors)
    except ProtocolError as exc:
        errors = len(exc.problems)
    try:
        _write_atomically(out, yaml_text)
    except OSError as exc:
        raise UserError(
            f"--out {out}: cannot be written ({exc.strerror}); nothing was written", exit_code=3
        ) from None
    nct_id = result.document["identification"]["nct_id"]
    if args.json:
        print(
            json.dumps(
                {
                    "nct_id": nct_id,
                    "out": str(out),
                    "criteria": result.criteria,
                    "proposed": {code: p.rule for code, p in result.proposals.items()},
                    "places_to_complete": gaps,
                    "errors": errors,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    count = len(result.criteria)
    print(
        f"Wrote {out}: the skeleton of {nct_id}, {count} {'criterion' if count == 1 else 'criteria'}, "
        f"{len(result.proposals)} with a proposed rule:"
    )
    for code, proposal in result.proposals.items():
        print(f"  {code:<4} {proposal.rule}")
    print(f"{gaps} places to complete (`trialdesk protocol validate {out}` lists them).")
    return 0


def _install(args: argparse.Namespace) -> int:
    protocol = _load(args.file, sys.stderr)
    if protocol is None:
        return 3
    from trialdesk.cli.app import setup_django

    setup_django(migrate=True)
    from trialdesk.studies.models import Study
    from trialdesk.studies.services import install_study

    nct_id = protocol.identification.nct_id
    if Study.objects.filter(nct_id=nct_id).exists():
        raise UserError(f"{nct_id} is already installed in this database: nothing was changed", exit_code=3)
    study = install_study(args.file)
    print(
        f"Installed {study.nct_id} ({study.title}) with {study.sites.count()} sites: /studies/{study.nct_id}/"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    path = args.file or default_protocol_path()
    protocol = _load(path, sys.stderr)
    if protocol is None:
        return 1
    text = (
        json.dumps(protocol.model_dump(mode="json"), ensure_ascii=False, indent=2)
        if args.json
        else summary(protocol)
    )
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `trialdesk protocol show | head`: the reader left, nothing is wrong
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's documented way to silence the final flush
    return 0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _mark(source: str) -> str:
    return "[registry]" if source == "registry" else "[operational]"


def summary(protocol: Protocol) -> str:
    """A readable summary: identification, sites, criteria, schedule, forms, endpoints."""
    ident = protocol.identification
    lines: list[str] = []
    add = lines.append

    add(f"{ident.nct_id}  {ident.brief_title}")
    add(f"  {ident.official_title}")
    if ident.other_ids:
        add(f"  other ids: {', '.join(ident.other_ids)}")
    add(f"  sponsor: {ident.sponsor}; responsible party: {ident.responsible_party}")
    design = ", ".join(
        part
        for part in (
            ident.phase,
            ident.study_type,
            ident.intervention_model,
            ident.masking,
            ident.primary_purpose,
        )
        if part
    )
    add(f"  design: {design}")
    status = ident.overall_status + (f" ({ident.why_stopped})" if ident.why_stopped else "")
    add(f"  status: {status}")
    add(
        f"  dates: start {ident.start_date or '?'}, primary completion {ident.primary_completion_date or '?'}, "
        f"completion {ident.completion_date or '?'}; first posted {ident.first_posted or '?'}, "
        f"last update {ident.last_update_posted or '?'}"
    )
    add(f"  enrollment: {ident.enrollment.count} ({ident.enrollment.type})")
    if ident.conditions:
        add(f"  conditions: {'; '.join(ident.conditions)}")
    ages = ident.minimum_age or "no minimum"
    if ident.maximum_age:
        ages += f" to {ident.maximum_age}"
    add(
        f"  eligible: ages {ages}, sexes {ident.sexes}, healthy volunteers {'yes' if ident.healthy_volunteers else 'no'}"
    )

    if ident.decisions:
        add("")
        add("Decisions on ambiguous registry wording")
        for decision in ident.decisions:
            add(f"  {decision.code:<11} {decision.topic}: {decision.decision}")

    add("")
    add(f"Sites ({len(protocol.sites)})")
    for site in protocol.sites:
        add(f"  {site.code}  {site.name}, {site.city} {site.postcode}, {site.country}  {_mark(site.source)}")

    add("")
    add("Interventions")
    for arm in protocol.arms:
        add(
            f"  arm {arm.code}: {arm.title} ({arm.type}) -> {', '.join(arm.interventions)}  {_mark(arm.source)}"
        )
    for intervention in protocol.interventions:
        add(f"  {intervention.type}: {intervention.name}  {_mark(intervention.source)}")
        rules = intervention.dose_rules
        if rules is not None:
            add(
                f"    loading {rules.loading_mg_per_kg:g} mg/kg, then {rules.maintenance_mg_per_kg:g} mg/kg "
                f"every {rules.interval_days} days {rules.route}, at least {rules.minimum_duration_weeks} weeks, "
                f"stop on {', '.join(rules.stop_on) or '-'}; reload if late by more than "
                f"{rules.reload_if_late_by_more_than_days} days; recompute on a weight change over "
                f"{rules.weight_change_recompute_pct:g} %; deviation over {rules.deviation_pct:g} %"
            )

    eligibility = protocol.eligibility
    add("")
    add(
        f"Eligibility (form {eligibility.form}, screening within {eligibility.window_days} days "
        f"of the first dose)  {_mark(eligibility.source)}"
    )
    for criterion in eligibility.criteria:
        text = " / ".join(line.strip() for line in criterion.text.splitlines() if line.strip())
        add(f"  {criterion.code:<4} {criterion.kind:<9} {_mark(criterion.source)} {text}")
        add(f"       rule: {criterion.rule}")
        if criterion.decision:
            add(f"       decision: {criterion.decision}")

    add("")
    add("Schedule of assessments (day 0 = first dose)")
    for visit in protocol.schedule.visits:
        if visit.day is None:
            when = "event-driven"
        else:
            anchor = "" if visit.anchor == "first_dose" else " after end of treatment"
            when = f"day {visit.day}{anchor}"
            if visit.window_before or visit.window_after:
                when += f" (-{visit.window_before}/+{visit.window_after})"
            if visit.repeat is not None:
                when += f", every {visit.repeat.every_days} days x {visit.repeat.count}"
        add(f"  {visit.code:<4} {visit.title:<28} {when:<44} {', '.join(visit.forms)}  {_mark(visit.source)}")
    if protocol.schedule.log_forms:
        add(f"  log forms (any time): {', '.join(protocol.schedule.log_forms)}")

    add("")
    add(f"Forms ({len(protocol.forms)})")
    for form in protocol.forms:
        kind = "log, repeating" if protocol.is_log_form(form.code) else "one per visit"
        add(
            f"  {form.code:<24} {form.title} ({kind}): {len(form.fields)} fields, "
            f"{_plural(len(form.edit_checks), 'edit check')}  {_mark(form.source)}"
        )

    add("")
    add("Response criteria  " + _mark(protocol.response_criteria.source))
    criteria = protocol.response_criteria
    add(
        f"  CR: marrow blasts < {criteria.cr_marrow_blasts_below_pct:g} %, ANC >= {criteria.anc_min:g} "
        f"{criteria.anc_unit}, platelets >= {criteria.platelets_min:g} {criteria.platelets_unit}; "
        f"PR: blasts <= {criteria.pr_marrow_blasts_max_pct:g} % and a decrease >= "
        f"{criteria.pr_min_decrease_pct:g} %; progression: +{criteria.progression_increase_pct:g} %"
    )
    add(f"  ({criteria.reference})")

    add("")
    add("Endpoints")
    for endpoint in protocol.endpoints:
        add(f"  {endpoint.kind:<9} {endpoint.title}  [{endpoint.derivation}] {_mark(endpoint.source)}")
    if protocol.statistical_design is None:
        add("  statistical design: none stated")
    else:
        sd = protocol.statistical_design
        add(
            f"  statistical design: {sd.design}, p0 {sd.p0:g}, p1 {sd.p1:g}, alpha {sd.alpha:g}, power {sd.power:g}"
        )

    registry = len(protocol.registry_elements())
    operational = len(protocol.operational_elements())
    add("")
    add(f"{registry} elements from the registry, {operational} operational")
    return "\n".join(lines)
