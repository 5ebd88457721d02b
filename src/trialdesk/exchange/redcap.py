"""A protocol seen as a REDCap project (pure: no Django).

REDCap clients (PyCap, REDCap's own scripts) know a project by its data dictionary,
its arms and events, which instrument is collected at which event, and its records as
flat rows. This module derives all of it from a protocol:

- the first field is ``record_id`` (the subject code; a screen failure's screening number);
- field names are unique across the project: a field code used by several forms is
  prefixed by its form's code (``screening_marrow_blasts_pct``);
- each visit of the schedule (repeats expanded: M1, M2, …) is an event of every arm;
  the log forms are repeating instruments of one more event, ``log_forms``; a form
  collected more than once at a visit (``max_per_visit``) repeats in that event;
- a record's values are REDCap's: choice codes, ``1``/``0`` for yes/no, ISO dates,
  every value as text ("" when empty); ``rawOrLabel=label`` gives the labels.

``RedcapProject(protocol)`` answers every metadata request; ``records_rows`` turns one
subject's form records into flat rows (one subject at a time: the caller streams);
``parse_import`` turns imported rows into one item per form record, or the list of
what is wrong with them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trialdesk.protocol.model import Field, Form, Protocol

RECORD_ID = "record_id"
EVENT = "redcap_event_name"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
#: a record's data access group: in trialdesk, its site (lower-case code, as REDCap names groups)
ACCESS_GROUP = "redcap_data_access_group"
LOG_EVENT = "log_forms"
LOG_EVENT_LABEL = "Log forms"

#: the data dictionary's 18 columns, in REDCap's order
METADATA_COLUMNS = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)

#: REDCap's instrument status values (``<form>_complete``)
INCOMPLETE, COMPLETE = "0", "2"


class RedcapInputError(ValueError):
    """Imported data that cannot be read; ``problems`` lists each as REDCap reports them
    (record, field, value, message)."""

    def __init__(self, problems: list[tuple[str, str, str, str]]):
        self.problems = problems
        super().__init__(self.text())

    def text(self, translate: Callable[[str], str] = str) -> str:
        """One line per problem, as REDCap lists them; ``translate`` puts each message
        (an English constant of this module, or already translated) in the user's language."""
        return "\n".join(
            f'"{record}","{field}","{value}","{translate(message)}"'
            for record, field, value, message in self.problems
        )


@dataclass(frozen=True)
class ProjectField:
    name: str  # the REDCap field name
    form: str  # the form's code (REDCap instrument name)
    definition: Field | None  # None for record_id


@dataclass(frozen=True)
class Event:
    unique_name: str
    label: str
    arm_num: int
    visit_code: str | None  # None: the event of the log forms
    day: int | None
    window_before: int
    window_after: int
    forms: tuple[str, ...]


@dataclass(frozen=True)
class StoredRecord:
    """One form record as the export reads it."""

    visit_code: str | None  # None for a log form
    form_code: str
    repeat: int
    data: Mapping[str, Any]
    complete: bool


@dataclass
class ImportItem:
    """The values imported for one form record of one subject."""

    record_id: str
    form_code: str
    visit_code: str | None
    instance: int | None  # None for a new entry of a log form ("new")
    repeating: bool
    values: dict[str, Any] = field(default_factory=dict)  # trialdesk field code -> imported text ("" = blank)


def _flag(value: bool) -> str:
    return "y" if value else ""


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|<|>)|(?P<paren>[()])|(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_OPS = {"==": "=", "!=": "<>", "<=": "<=", ">=": ">=", "<": "<", ">": ">"}


def branching_logic(condition: str, names: Mapping[str, str]) -> str | None:
    """A field condition in REDCap's branching-logic syntax (``[field] = '1'``), or None
    when it uses more than fields, literals, comparisons, and/or/not and parentheses."""
    out: list[str] = []
    position = 0
    text = condition.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        if match["op"]:
            out.append(_OPS[match["op"]])
        elif match["paren"]:
            out.append(match["paren"])
        elif match["str"]:
            out.append("'" + match["str"][1:-1] + "'")
        elif match["num"]:
            out.append(match["num"])
        else:
            word = match["word"]
            if word in ("and", "or"):
                out.append(word)
            elif word == "not":
                out.append("not")
            elif word in ("true", "false"):
                out.append("'1'" if word == "true" else "'0'")
            elif word in names:
                out.append(f"[{names[word]}]")
            else:
                return None
    return " ".join(out).replace("( ", "(").replace(" )", ")")


class RedcapProject:
    """The REDCap view of one protocol."""

    def __init__(self, protocol: Protocol, identifying: frozenset[str] = frozenset()):
        """``identifying``: the field codes that may identify a patient (the data
        dictionary's ``identifier`` column; the shell masks them for pseudonymised readers)."""
        self.protocol = protocol
        self.identifying = identifying
        self.forms: list[Form] = list(protocol.forms)
        self._forms = {form.code: form for form in self.forms}
        uses: dict[str, int] = {}
        for form in self.forms:
            for definition in form.fields:
                uses[definition.code] = uses.get(definition.code, 0) + 1
        self._names: dict[tuple[str, str], str] = {}
        self.fields: list[ProjectField] = [ProjectField(RECORD_ID, self.forms[0].code, None)]
        taken = {RECORD_ID} | {f"{form.code}_complete" for form in self.forms}
        for form in self.forms:
            for definition in form.fields:
                name = definition.code if uses[definition.code] == 1 else f"{form.code}_{definition.code}"
                if name in taken or name.startswith("redcap_"):
                    name = f"{form.code}_{definition.code}"
                if name in taken:
                    raise ValueError(f"field {form.code}.{definition.code} has no unique REDCap name")
                taken.add(name)
                self._names[(form.code, definition.code)] = name
                self.fields.append(ProjectField(name, form.code, definition))
        self._by_name = {project_field.name: project_field for project_field in self.fields}
        self.arms = [(number, arm.title) for number, arm in enumerate(protocol.arms or [], start=1)] or [
            (1, "Arm 1")
        ]
        self.events: list[Event] = []
        log_forms = tuple(protocol.schedule.log_forms)
        self._repeating: set[tuple[str, str]] = set()
        for arm_num, _title in self.arms:
            for visit in protocol.schedule.expanded_visits():
                unique = f"{visit.code.lower()}_arm_{arm_num}"
                self.events.append(
                    Event(
                        unique,
                        visit.title,
                        arm_num,
                        visit.code,
                        visit.day,
                        visit.window_before,
                        visit.window_after,
                        tuple(visit.forms),
                    )
                )
                for form_code, most in visit.max_per_visit.items():
                    if most > 1:
                        self._repeating.add((unique, form_code))
            if log_forms:
                unique = f"{LOG_EVENT}_arm_{arm_num}"
                if any(event.unique_name == unique for event in self.events):
                    raise ValueError(f"a visit's event is named like the log forms' event {unique!r}")
                self.events.append(Event(unique, LOG_EVENT_LABEL, arm_num, None, None, 0, 0, log_forms))
                self._repeating.update((unique, form_code) for form_code in log_forms)
        self._events = {event.unique_name: event for event in self.events}

    # ------------------------------------------------------------------ names
    def field_name(self, form_code: str, field_code: str) -> str:
        return self._names[(form_code, field_code)]

    def project_field(self, name: str) -> ProjectField | None:
        return self._by_name.get(name)

    def form(self, code: str) -> Form | None:
        return self._forms.get(code)

    def event(self, unique_name: str) -> Event | None:
        return self._events.get(unique_name)

    def event_of(self, visit_code: str | None, arm_num: int = 1) -> str:
        if visit_code is None:
            return f"{LOG_EVENT}_arm_{arm_num}"
        return f"{visit_code.lower()}_arm_{arm_num}"

    def is_repeating(self, event_name: str, form_code: str) -> bool:
        return (event_name, form_code) in self._repeating

    @property
    def repeating(self) -> bool:
        return bool(self._repeating)

    # ------------------------------------------------------------------ metadata
    def _names_in(self, form: Form) -> dict[str, str]:
        return {definition.code: self._names[(form.code, definition.code)] for definition in form.fields}

    def metadata_row(self, project_field: ProjectField) -> dict[str, str]:
        row = dict.fromkeys(METADATA_COLUMNS, "")
        row["field_name"] = project_field.name
        row["form_name"] = project_field.form
        definition = project_field.definition
        if definition is None:
            row["field_type"] = "text"
            row["field_label"] = "Record ID"
            return row
        row["field_label"] = definition.label
        row["required_field"] = _flag(definition.required)
        row["identifier"] = _flag(definition.code in self.identifying)
        notes = [part for part in (definition.unit, definition.help) if part]
        kind = definition.type
        if kind in ("integer", "decimal"):
            row["field_type"] = "text"
            row["text_validation_type_or_show_slider_number"] = "integer" if kind == "integer" else "number"
            if definition.min is not None:
                row["text_validation_min"] = _number_text(definition.min)
            if definition.max is not None:
                row["text_validation_max"] = _number_text(definition.max)
        elif kind == "date":
            row["field_type"] = "text"
            row["text_validation_type_or_show_slider_number"] = "date_ymd"
        elif kind == "boolean":
            row["field_type"] = "yesno"
        elif kind == "choice":
            row["field_type"] = "radio"
            row["select_choices_or_calculations"] = " | ".join(
                f"{choice.value}, {choice.label.replace('|', '/')}" for choice in definition.choices
            )
        elif kind == "ctcae_term":
            row["field_type"] = "text"
            notes.append("CTCAE v5.0 term (its name or MedDRA code)")
        else:
            row["field_type"] = "notes" if (definition.max_length or 0) > 255 else "text"
        row["field_note"] = "; ".join(notes)
        form = self._forms[project_field.form]
        if definition.condition:
            logic = branching_logic(definition.condition, self._names_in(form))
            if logic is None:
                row["field_annotation"] = f"trialdesk condition: {definition.condition}"
            else:
                row["branching_logic"] = logic
        return row

    def select_fields(self, fields: Sequence[str] = (), forms: Sequence[str] = ()) -> list[ProjectField]:
        """The fields asked for (by name, or all of a form's), in the project's order,
        the record id first; KeyError names the first unknown field or form."""
        for name in fields:
            if name not in self._by_name and not self._complete_form(name):
                raise KeyError(name)
        for code in forms:
            if code not in self._forms:
                raise KeyError(code)
        if not fields and not forms:
            return list(self.fields)
        wanted, wanted_forms = set(fields), set(forms)
        chosen = [
            project_field
            for project_field in self.fields[1:]
            if project_field.name in wanted or project_field.form in wanted_forms
        ]
        return [self.fields[0], *chosen]  # REDCap always exports the record id

    def _complete_form(self, name: str) -> str | None:
        if name.endswith("_complete") and name[: -len("_complete")] in self._forms:
            return name[: -len("_complete")]
        return None

    def metadata(self, fields: Sequence[str] = (), forms: Sequence[str] = ()) -> list[dict[str, str]]:
        names = [name for name in fields if not self._complete_form(name)]
        if fields and not names and not forms:
            return []
        chosen = self.select_fields(names, forms)
        if (names or forms) and RECORD_ID not in names and self.fields[0].form not in forms:
            chosen = chosen[1:]
        return [self.metadata_row(project_field) for project_field in chosen]

    def instruments(self) -> list[dict[str, str]]:
        return [{"instrument_name": form.code, "instrument_label": form.title} for form in self.forms]

    def arms_rows(self, arms: Sequence[int] = ()) -> list[dict[str, Any]]:
        return [
            {"arm_num": number, "name": title} for number, title in self.arms if not arms or number in arms
        ]

    def events_rows(self, arms: Sequence[int] = ()) -> list[dict[str, Any]]:
        rows = []
        for number, event in enumerate(self.events, start=1):
            if arms and event.arm_num not in arms:
                continue
            rows.append(
                {
                    "event_name": event.label,
                    "arm_num": event.arm_num,
                    "unique_event_name": event.unique_name,
                    "custom_event_label": "",
                    "event_id": number,
                    "days_offset": event.day if event.day is not None else 0,
                    "offset_min": event.window_before,
                    "offset_max": event.window_after,
                }
            )
        return rows

    def form_event_mapping(self, arms: Sequence[int] = ()) -> list[dict[str, Any]]:
        return [
            {"arm_num": event.arm_num, "unique_event_name": event.unique_name, "form": form_code}
            for event in self.events
            if not arms or event.arm_num in arms
            for form_code in event.forms
        ]

    def repeating_forms_events(self) -> list[dict[str, str]]:
        return [
            {"event_name": event.unique_name, "form_name": form_code, "custom_form_label": ""}
            for event in self.events
            for form_code in event.forms
            if (event.unique_name, form_code) in self._repeating
        ]

    def export_field_names(self, field_name: str | None = None) -> list[dict[str, str]]:
        rows = []
        for project_field in self.fields:
            if field_name and project_field.name != field_name:
                continue
            rows.append(
                {
                    "original_field_name": project_field.name,
                    "choice_value": "",
                    "export_field_name": project_field.name,
                }
            )
        for form in self.forms:
            name = f"{form.code}_complete"
            if not field_name or field_name == name:
                rows.append({"original_field_name": name, "choice_value": "", "export_field_name": name})
        if field_name and not rows:
            raise KeyError(field_name)
        return rows

    def project_info(self, *, project_id: int, created: str, production: bool) -> dict[str, Any]:
        identification = self.protocol.identification
        return {
            "project_id": project_id,
            "project_title": identification.brief_title,
            "creation_time": created,
            "production_time": created if production else "",
            "in_production": 1 if production else 0,
            "project_language": "English",
            "purpose": 2,
            "purpose_other": "",
            "project_notes": f"{identification.nct_id}: {identification.official_title}",
            "custom_record_label": "",
            "secondary_unique_field": "",
            "is_longitudinal": 1,
            "has_repeating_instruments_or_events": 1 if self.repeating else 0,
            "surveys_enabled": 0,
            "scheduling_enabled": 0,
            "record_autonumbering_enabled": 0,
            "randomization_enabled": 0,
            "ddp_enabled": 0,
            "project_irb_number": "",
            "project_grant_number": "",
            "project_pi_firstname": "",
            "project_pi_lastname": "",
            "display_today_now_button": 1,
            "missing_data_codes": "",
            "external_modules": "",
            "bypass_branching_erase_field_prompt": 0,
        }

    # ------------------------------------------------------------------ records
    def record_columns(
        self, fields: Sequence[str] = (), forms: Sequence[str] = (), *, access_group: bool = False
    ) -> list[str]:
        """The columns of a flat record export: record id, event, repeat columns, the
        record's site as REDCap's data access group (``access_group``), the chosen fields,
        and each chosen form's ``<form>_complete`` after its fields (all of them when
        nothing is chosen). KeyError names an unknown field or form."""
        chosen = {project_field.name for project_field in self.select_fields(fields, forms)}
        everything = not fields and not forms
        statuses = set(forms) | {self._complete_form(name) for name in fields if self._complete_form(name)}
        columns = [RECORD_ID, EVENT]
        if self.repeating:
            columns += [REPEAT_INSTRUMENT, REPEAT_INSTANCE]
        if access_group:
            columns.append(ACCESS_GROUP)
        for form in self.forms:
            columns += [
                self._names[(form.code, d.code)]
                for d in form.fields
                if self._names[(form.code, d.code)] in chosen
            ]
            if everything or form.code in statuses:
                columns.append(f"{form.code}_complete")
        return columns

    def value_text(self, definition: Field, value: Any, label: bool) -> str:
        if value is None or value == "":
            return ""
        if definition.type == "boolean":
            if label:
                return "Yes" if value else "No"
            return "1" if value else "0"
        if definition.type == "choice" and label:
            for choice in definition.choices:
                if choice.value == value:
                    return choice.label
        if isinstance(value, float):
            return _number_text(value)
        return str(value)

    def records_rows(
        self,
        record_id: str,
        records: Iterable[StoredRecord],
        columns: Sequence[str],
        *,
        label: bool = False,
        events: Sequence[str] = (),
        arm_num: int = 1,
        site: str = "",
    ) -> Iterator[dict[str, str]]:
        """The flat rows of one subject: one per event holding data, one per instance of a
        repeating instrument. Only the columns asked for; every value as text. ``site``:
        the subject's site code, its data access group."""
        wanted = set(columns)
        rows: dict[tuple[str, str, int | str], dict[str, str]] = {}
        order: list[tuple[str, str, int | str]] = []
        for stored in records:
            event_name = self.event_of(stored.visit_code, arm_num)
            if events and event_name not in events:
                continue
            form = self._forms.get(stored.form_code)
            if form is None or self._events.get(event_name) is None:
                continue
            status = f"{form.code}_complete"
            names = [(d, self._names[(form.code, d.code)]) for d in form.fields]
            names = [(d, name) for d, name in names if name in wanted]
            if not names and status not in wanted:
                continue  # nothing of this record was asked for
            repeating = self.is_repeating(event_name, stored.form_code)
            key = (event_name, stored.form_code if repeating else "", stored.repeat if repeating else "")
            row = rows.get(key)
            if row is None:
                row = dict.fromkeys(columns, "")
                row[RECORD_ID] = record_id
                row[EVENT] = event_name
                if REPEAT_INSTRUMENT in wanted:
                    row[REPEAT_INSTRUMENT] = key[1]
                    row[REPEAT_INSTANCE] = str(key[2])
                if ACCESS_GROUP in wanted:
                    row[ACCESS_GROUP] = site.lower()
                rows[key] = row
                order.append(key)
            for definition, name in names:
                row[name] = self.value_text(definition, stored.data.get(definition.code), label)
            if status in wanted:
                complete = COMPLETE if stored.complete else INCOMPLETE
                row[status] = ("Complete" if stored.complete else "Incomplete") if label else complete
        event_order = {event.unique_name: index for index, event in enumerate(self.events)}
        for key in sorted(
            order, key=lambda k: (event_order[k[0]], k[1], k[2] if isinstance(k[2], int) else 0)
        ):
            yield rows[key]

    # ------------------------------------------------------------------ import
    def parse_import(self, rows: Sequence[Mapping[str, Any]]) -> list[ImportItem]:
        """One item per form record the rows name a value of, in the rows' order; raises
        RedcapInputError listing every unknown field, event or instance."""
        problems: list[tuple[str, str, str, str]] = []
        items: dict[tuple, ImportItem] = {}
        unknown = set()
        for row in rows:
            for name in row:
                if name in (
                    RECORD_ID,
                    EVENT,
                    REPEAT_INSTRUMENT,
                    REPEAT_INSTANCE,
                    ACCESS_GROUP,
                ) or self._complete_form(name):
                    continue
                if name not in self._by_name and name not in unknown:
                    unknown.add(name)
                    problems.append(("", name, "", "This field does not exist in the project."))
        if problems:
            raise RedcapInputError(problems)
        for number, row in enumerate(rows, start=1):
            record_id = _text(row.get(RECORD_ID))
            if not record_id:
                problems.append(("", RECORD_ID, "", "A row has no record_id."))
                continue
            event_name = _text(row.get(EVENT))
            event = self._events.get(event_name)
            if event is None:
                problems.append((record_id, EVENT, event_name, "This event does not exist in the project."))
                continue
            instrument = _text(row.get(REPEAT_INSTRUMENT))
            instance_text = _text(row.get(REPEAT_INSTANCE))
            if instrument and not self.is_repeating(event_name, instrument):
                problems.append(
                    (
                        record_id,
                        REPEAT_INSTRUMENT,
                        instrument,
                        "This instrument does not repeat at this event.",
                    )
                )
                continue
            instance: int | None = None
            if instrument:
                if instance_text == "new":
                    instance = None
                elif instance_text.isdigit() and int(instance_text) >= 1:
                    instance = int(instance_text)
                else:
                    problems.append(
                        (
                            record_id,
                            REPEAT_INSTANCE,
                            instance_text,
                            "The repeat instance must be a whole number from 1, or new.",
                        )
                    )
                    continue
            elif instance_text:
                problems.append(
                    (
                        record_id,
                        REPEAT_INSTANCE,
                        instance_text,
                        "A repeat instance needs its repeating instrument.",
                    )
                )
                continue
            for name, value in row.items():
                project_field = self._by_name.get(name)
                if project_field is None or project_field.definition is None:
                    continue
                form_code = project_field.form
                text = _text(value)
                if instrument and form_code != instrument:
                    if text:
                        problems.append(
                            (
                                record_id,
                                name,
                                text,
                                "This field is not on the repeating instrument of this row.",
                            )
                        )
                    continue
                if not instrument and self.is_repeating(event_name, form_code):
                    if text:
                        problems.append(
                            (
                                record_id,
                                name,
                                text,
                                "This field belongs to a repeating instrument: name it in redcap_repeat_instrument.",
                            )
                        )
                    continue
                if form_code not in event.forms:
                    if text:
                        problems.append(
                            (record_id, name, text, "This field's instrument is not collected at this event.")
                        )
                    continue
                key = (
                    record_id,
                    event_name,
                    form_code,
                    instance if instance is not None else ("new", number),
                )
                item = items.get(key)
                if item is None:
                    item = ImportItem(record_id, form_code, event.visit_code, instance, bool(instrument))
                    items[key] = item
                item.values[project_field.definition.code] = text
        if problems:
            raise RedcapInputError(problems)
        return list(items.values())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return _number_text(value)
    return str(value).strip()


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of an imported CSV (header line first); ValueError when it is not one."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ValueError("The CSV data has no header line.")
    rows = []
    for row in reader:
        if None in row:
            raise ValueError("A line of the CSV data has more values than the header has columns.")
        rows.append(row)
    return rows


def csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


__all__ = [
    "ACCESS_GROUP",
    "COMPLETE",
    "EVENT",
    "INCOMPLETE",
    "LOG_EVENT",
    "METADATA_COLUMNS",
    "RECORD_ID",
    "REPEAT_INSTANCE",
    "REPEAT_INSTRUMENT",
    "Event",
    "ImportItem",
    "ProjectField",
    "RedcapInputError",
    "RedcapProject",
    "StoredRecord",
    "branching_logic",
    "csv_line",
    "read_csv",
]
