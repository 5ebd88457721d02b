"""The one way to read clinical data: a queryset that must say for whom it reads.

Every clinical model (subjects, visits, form records, queries and their messages, SDV
marks, signatures) has ``objects = ScopedManager.from_queryset(TheQuerySet)()``, whose
querysets refuse to be evaluated (``UnscopedRead``, naming the model) until narrowed:

- ``Model.objects.for_user(user, study)``: the rows of the sites the user sees; for a
  pseudonymised viewer (the statistician) the instances come back with identifying and
  free-text values masked (see ``studies.pseudonymisation``) and refuse to be saved;
- ``Model.objects.system("why")``: system-level code that has already decided what it may
  read (a service after its permission check, the demo builder, a migration, tests).

Related managers of an instance read this way (``subject.visits.all()``) read with the
scope of that instance, masking included; a related manager from a model outside this
mechanism (``study.subjects``) does not: it must be narrowed too. Django's internals
(forward foreign keys, ``refresh_from_db``, cascades) go through ``InternalManager``
(``Meta.base_manager_name``), which carries the scope of the instance it starts from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import models
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.signals import post_save, pre_delete, pre_save

READ_SCOPE_ATTR = "_trialdesk_read_scope"
MASKED_ATTR = "_trialdesk_masked"


class UnscopedRead(RuntimeError):
    """A clinical queryset evaluated without ``for_user(user, study)`` or ``system("why")``."""


class PseudonymisedWrite(RuntimeError):
    """An instance read pseudonymised (its values masked) may not be saved or deleted."""


@dataclass(frozen=True)
class ReadScope:
    """For whom a queryset reads: a user in a study, or system-level code (``why``)."""

    study: Any = None
    access: Any = None
    why: str = ""

    @property
    def is_system(self) -> bool:
        return self.access is None

    @property
    def pseudonymised(self) -> bool:
        return self.access is not None and self.access.pseudonymised

    @cached_property
    def masker(self):
        from trialdesk.studies.pseudonymisation import Masker

        return Masker(self.study, self.pseudonymised)


SYSTEM_IMPLIED = ReadScope(why="related to an object created by system code")


def read_scope_of(instance) -> ReadScope | None:
    """The scope an instance was read in (None: not a scoped model's instance)."""
    if not isinstance(getattr(type(instance), "objects", None), ScopedManager):
        return None
    return getattr(instance, READ_SCOPE_ATTR, None) or SYSTEM_IMPLIED


class SiteScopedQuerySet(models.QuerySet):
    """Subclasses' models declare ``site_path``: the lookup from the model to its Site.

    A subclass masks its model's values for pseudonymised viewers in ``pseudonymise``.
    """

    _read_scope: ReadScope | None = None

    # ---------------------------------------------------------------- narrowing

    def for_user(self, user, study):
        from trialdesk.studies.access import study_access

        access = study_access(user, study)
        site_path = self.model.site_path
        narrowed = self.filter(**{f"{site_path}__in": access.site_ids})
        narrowed._read_scope = ReadScope(study=study, access=access)
        return narrowed

    def system(self, why: str):
        """Read without a user's scope: only for code that has decided what it may read."""
        if not why or not str(why).strip():
            raise ValueError("system() needs the reason why this read is system-level")
        clone = self._chain()
        clone._read_scope = ReadScope(why=str(why))
        return clone

    def read_as(self, instance):
        """Read in the scope ``instance`` (of a scoped model) was read in: the records of
        subjects a list read for a user are read for that user, masking included."""
        scope = read_scope_of(instance)
        if scope is None:
            raise TypeError(f"read_as() takes an instance of a scoped model, not {type(instance).__name__}")
        clone = self._chain()
        clone._read_scope = scope
        return clone

    # ---------------------------------------------------------------- masking (subclasses)

    # attname -> how a pseudonymised viewer sees it: "text" (free text: masked), "identity"
    # (an identifier: masked), "form_data" (a form's data: its free-text and identifying
    # fields masked), "none" (dropped: None).
    masked_fields: dict[str, str] = {}

    def pseudonymise(self, instance, masker) -> None:
        """Replace in place the values a pseudonymised viewer must not see."""
        for attname, kind in self.masked_fields.items():
            if attname in instance.__dict__:
                instance.__dict__[attname] = masker.masked(kind, instance.__dict__[attname])

    def pseudonymise_value(self, attname: str, value, masker, key: str | None = None):
        """One column of ``values()``/``values_list()``; ``key``: a lookup inside a JSON field."""
        kind = self.masked_fields.get(attname)
        if kind is None:
            return value
        if key is not None and kind == "form_data":
            return masker.value(key, value)
        return masker.masked(kind, value)

    # ---------------------------------------------------------------- the guard

    def _require_scope(self, what: str = "read") -> ReadScope:
        if self._read_scope is None:
            name = self.model.__name__
            raise UnscopedRead(
                f"unscoped {what} of {name}: use {name}.objects.for_user(user, study), or "
                f'{name}.objects.system("why") in system-level code'
            )
        return self._read_scope

    def __repr__(self):
        if self._read_scope is None and self._result_cache is None:
            return f"<{type(self).__name__} of {self.model.__name__}: unscoped, not read>"
        return super().__repr__()

    def _clone(self):
        clone = super()._clone()
        clone._read_scope = self._read_scope
        return clone

    def _fetch_all(self):
        if self._result_cache is None:
            scope = self._require_scope()
            super()._fetch_all()
            self._result_cache = _scoped_results(self, self._result_cache, scope)
        else:
            super()._fetch_all()

    def _iterator(self, use_chunked_fetch, chunk_size):
        scope = self._require_scope()
        for row in super()._iterator(use_chunked_fetch, chunk_size):
            yield _scoped_results(self, [row], scope)[0]

    def count(self):
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def explain(self, *args, **kwargs):
        self._require_scope()
        return super().explain(*args, **kwargs)

    def raw(self, *args, **kwargs):
        self._require_scope()
        return super().raw(*args, **kwargs)

    def update(self, **kwargs):
        self._require_writable("update")
        return super().update(**kwargs)

    update.alters_data = True

    def delete(self):
        self._require_writable("delete")
        return super().delete()

    delete.alters_data = True

    def _require_writable(self, what: str) -> None:
        scope = self._require_scope(what)
        if scope.pseudonymised:
            raise PseudonymisedWrite(f"a pseudonymised read of {self.model.__name__} cannot {what}")


def _scoped_results(queryset: SiteScopedQuerySet, rows: list, scope: ReadScope) -> list:
    """Mark (and, for a pseudonymised viewer, mask) what a queryset returns."""
    if not rows:
        return rows
    if isinstance(rows[0], models.Model):
        seen: set[int] = set()
        for row in rows:
            _mark(row, scope, seen)
        return rows
    if not scope.pseudonymised:
        return rows
    return [_masked_values(queryset, row, scope) for row in rows]


def _mark(instance, scope: ReadScope, seen: set[int]) -> None:
    """Give an instance (and the scoped instances fetched with it) its read scope; mask it."""
    if id(instance) in seen or not isinstance(instance, models.Model):
        return
    seen.add(id(instance))
    manager = getattr(type(instance), "objects", None)
    if isinstance(manager, ScopedManager):
        instance.__dict__[READ_SCOPE_ATTR] = scope
        if scope.pseudonymised and not instance.__dict__.get(MASKED_ATTR):
            manager.get_queryset().pseudonymise(instance, scope.masker)
            instance.__dict__[MASKED_ATTR] = True
    for related in list(instance._state.fields_cache.values()):
        if related is not None:
            _mark(related, scope, seen)
    for prefetched in getattr(instance, "_prefetched_objects_cache", {}).values():
        for related in getattr(prefetched, "_result_cache", None) or []:
            _mark(related, scope, seen)


def _masked_values(queryset: SiteScopedQuerySet, row, scope: ReadScope):
    """A row of ``values()`` or ``values_list()`` with its sensitive columns masked."""
    names = list(queryset._fields or [f.attname for f in queryset.model._meta.concrete_fields])
    names += [n for n in queryset.query.annotation_select if n not in names]

    def mask(name: str, value):
        model, attname, key = _resolve(queryset.model, name)
        target = getattr(model, "objects", None) if model is not None else None
        if not isinstance(target, ScopedManager):
            return value
        return target.get_queryset().pseudonymise_value(attname, value, scope.masker, key)

    if isinstance(row, dict):
        return {key: mask(key, value) for key, value in row.items()}
    if isinstance(row, tuple):
        return (
            type(row)(mask(name, value) for name, value in zip(names, row, strict=False))
            if not hasattr(row, "_fields")
            else type(row)(*(mask(name, value) for name, value in zip(names, row, strict=False)))
        )
    # values_list(flat=True)
    return mask(names[0], row) if names else row


def _resolve(model, lookup: str):
    """The model and attribute a ``values()`` column comes from (None if not a plain field)."""
    parts = lookup.split("__")
    for i, part in enumerate(parts):
        try:
            fld = model._meta.get_field(part)
        except Exception:
            return None, "", None
        if i == len(parts) - 1:
            return model, getattr(fld, "attname", part), None
        if not fld.is_relation or fld.related_model is None:
            # A lookup inside a JSON field (data__comment): the JSON field's column and key.
            return model, getattr(fld, "attname", part), parts[-1]
        model = fld.related_model
    return None, "", None


class ScopedManager(models.Manager):
    """``Model.objects``: querysets that must be narrowed before they read.

    As a related manager of an instance of a scoped model (``subject.visits``), it reads
    in the scope that instance was read in.
    """

    def get_queryset(self):
        queryset = super().get_queryset()
        instance = getattr(self, "instance", None)
        if instance is not None:
            scope = read_scope_of(instance)
            if scope is not None:
                queryset._read_scope = scope
        return queryset

    def system(self, why: str):
        return self.get_queryset().system(why)

    def for_user(self, user, study):
        return self.get_queryset().for_user(user, study)

    def read_as(self, instance):
        return self.get_queryset().read_as(instance)


def system_read(model, why: str):
    """All rows of ``model`` for system-level code, whether it is a scoped model or not."""
    manager = model._default_manager
    return manager.system(why) if isinstance(manager, ScopedManager) else manager.all()


class InternalManager(models.Manager):
    """Django's own reads (``Meta.base_manager_name``): forward foreign keys, refresh_from_db,
    cascades. Carries the scope of the instance it starts from; system-level otherwise."""

    def get_queryset(self):
        queryset = super().get_queryset()
        instance = self._hints.get("instance") if self._hints else None
        scope = read_scope_of(instance) if instance is not None else None
        queryset._read_scope = scope or ReadScope(why="django internals")
        return queryset


def _refuse_masked_write(sender, instance, **kwargs):
    if getattr(instance, "__dict__", {}).get(MASKED_ATTR):
        raise PseudonymisedWrite(
            f"this {type(instance).__name__} was read pseudonymised: its masked values cannot be saved"
        )


pre_save.connect(_refuse_masked_write, dispatch_uid="trialdesk.scoping.refuse_masked_save", weak=False)
pre_delete.connect(_refuse_masked_write, dispatch_uid="trialdesk.scoping.refuse_masked_delete", weak=False)


# --------------------------------------------------------------------------- the write path's statements

_prepared: dict[tuple, _Prepared] = {}


@dataclass(frozen=True)
class _Prepared:
    sql: str
    slots: tuple  # per parameter: ("arg", leaf index, adapter's type or None) or ("const", value, None)
    scope: ReadScope
    model: Any
    init_list: tuple[str, ...] | None  # None: evaluate the queryset itself (annotations, prefetches)
    converters: tuple  # (position in the row, (converters, expression)) of every selected column
    own_columns: slice  # the model's own columns in a row; the rest are its select_related joins
    related: tuple  # Django's populators of the joined instances (each one per row)


def _leaves(args: tuple) -> list:
    """The arguments as bound one by one (a list or tuple argument: each of its items)."""
    out = []
    for arg in args:
        out.extend(arg if isinstance(arg, list | tuple) else [arg])
    return out


def _shape_of(arg):
    if isinstance(arg, list | tuple):
        return ("items", len(arg), tuple(type(item).__name__ for item in arg))
    if arg is None or isinstance(arg, bool):
        return ("value", arg)  # shapes the statement itself (IS NULL, a constant)
    return ("type", type(arg).__name__)


def _sentinel(index: int, value):
    """A value of ``value``'s type that no real argument takes: where it lands in the
    compiled statement's parameters is where the argument goes."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return 2_147_000_000 + index  # within every integer column's range
    if isinstance(value, str):
        return f"\x00trialdesk-statement-{index}\x00"
    raise TypeError(f"a prepared statement takes ints and strings, not {type(value).__name__}")


def _prepare(key: str, build, args: tuple, connection) -> _Prepared:
    sentinels, leaf = [], 0
    for arg in args:
        if isinstance(arg, list | tuple):
            sentinels.append(type(arg)(_sentinel(leaf + i, item) for i, item in enumerate(arg)))
            leaf += len(arg)
        else:
            sentinels.append(_sentinel(leaf, arg))
            leaf += 1
    queryset = build(*sentinels)
    scope = queryset._require_scope()
    if not scope.is_system:
        raise ValueError(f"statement {key!r}: only system-level reads are prepared")
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    flat = _leaves(tuple(sentinels))
    bindable = {i for i, s in enumerate(flat) if s is not None and not isinstance(s, bool)}
    slots, bound = [], set()
    for param in params:
        found = next((i for i in bindable if isinstance(param, type(flat[i])) and param == flat[i]), None)
        if found is None:
            slots.append(("const", param, None))
        else:
            # the database adapter's own type of the value, if the ORM gave it one (psycopg's
            # Int4 for an integer column): each call's value is given it too
            slots.append(("arg", found, type(param) if type(param) is not type(flat[found]) else None))
            bound.add(found)
    if bound != bindable:  # an argument the ORM transformed: it cannot be bound as is
        raise ValueError(f"statement {key!r}: arguments {sorted(bindable - bound)} are not plain parameters")
    model = queryset.model
    klass_info = compiler.klass_info
    # What the ORM's own ModelIterable does with a row, done here from the compiled statement:
    # the model's columns (deferred ones left out), then each forward join of select_related.
    plain = (
        queryset._iterable_class is ModelIterable
        and not queryset._known_related_objects
        and not queryset._prefetch_related_lookups
        and klass_info is not None
        and klass_info["model"] is model
        and not compiler.annotation_col_map
        and all(getattr(getattr(col, "target", None), "attname", None) for col, _sql, _alias in compiler.select)
    )
    if not plain:
        return _Prepared(sql, tuple(slots), scope, model, None, (), slice(0), ())
    fields = klass_info["select_fields"]
    own = slice(fields[0], fields[-1] + 1)
    init_list = tuple(col.target.attname for col, _sql, _alias in compiler.select[own])
    converters = tuple(compiler.get_converters([col for col, _sql, _alias in compiler.select]).items())
    related = tuple(get_related_populators(klass_info, compiler.select, connection.alias))
    return _Prepared(sql, tuple(slots), scope, model, init_list, converters, own, related)


def prepared_rows(key: str, build, *args, using: str = "default") -> list:
    """``list(build(*args))``: the rows of the scoped, system-level queryset ``build`` makes
    from ``args`` (ints, strings, None, lists of them), its row locks included.

    For the statements every save sends (a record's queries and SDV marks, the valid
    signatures of its casebook, the record itself): the ORM compiles a statement at a cost
    several times its execution's, so this compiles each one once per process and shape
    (``key``, the database, which arguments are None, the lengths of lists) and binds the
    arguments at each call; the rows come back as the ORM makes them (converted, marked
    with their read scope, the joins of ``select_related`` attached). Not a cache of data:
    every call reads the database. A queryset with annotations or prefetches is only
    checked, then evaluated by the ORM when it finds a row."""
    from django.db import connections

    connection = connections[using]
    shape = (key, using, connection.vendor, connection.features.has_select_for_update) + tuple(
        _shape_of(a) for a in args
    )
    prepared = _prepared.get(shape)
    if prepared is None:
        prepared = _prepared.setdefault(shape, _prepare(key, build, args, connection))
    flat = _leaves(args)
    params = [
        value if kind == "const" else (adapted(flat[value]) if adapted is not None else flat[value])
        for kind, value, adapted in prepared.slots
    ]
    with connection.cursor() as cursor:
        cursor.execute(prepared.sql, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    if prepared.init_list is None:
        return list(build(*args))
    instances, seen = [], set()
    for row in rows:
        values = list(row)
        for position, (converters, expression) in prepared.converters:
            value = values[position]
            for converter in converters:
                value = converter(value, expression, connection)
            values[position] = value
        instance = prepared.model.from_db(using, prepared.init_list, values[prepared.own_columns])
        for populator in prepared.related:
            populator.populate(values, instance)
        _mark(instance, prepared.scope, seen)
        instances.append(instance)
    return instances


_updates: dict[tuple, tuple[str, tuple]] = {}


def saved_fields(instance, fields: Sequence[str], using: str = "default") -> None:
    """``instance.save(update_fields=fields)`` for the statement every save sends (the saved
    form record): the same UPDATE and the same ``pre_save``/``post_save`` signals, the
    statement written once per process and field list rather than compiled at each call.
    For a concrete model without parents; each value converted by its field as the ORM does
    (``pre_save``: ``auto_now`` stamps the time)."""
    from django.db import DatabaseError, connections

    model = type(instance)
    connection = connections[using]
    names = frozenset(fields)
    key = (model, tuple(fields), using, connection.vendor)
    prepared = _updates.get(key)
    if prepared is None:
        meta = model._meta
        if meta.parents or meta.proxy:
            raise ValueError(f"{model.__name__}: only a concrete model without parents")
        targets = tuple(meta.get_field(name) for name in fields)
        quote = connection.ops.quote_name
        sql = "UPDATE {} SET {} WHERE {} = %s".format(
            quote(meta.db_table),
            ", ".join(f"{quote(f.column)} = %s" for f in targets),
            quote(meta.pk.column),
        )
        prepared = _updates.setdefault(key, (sql, targets))
    sql, targets = prepared
    pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=names)
    params = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in targets]
    params.append(instance.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    instance._state.adding, instance._state.db = False, using
    post_save.send(sender=model, instance=instance, created=False, update_fields=names, raw=False, using=using)
