"""Filters (site, status, date) and pagination for every list page, one mechanism.

A view declares what its list can be filtered by, reads the GET parameters, narrows its
rows and hands the page to the template, which renders ``studies/_list_controls.html``::

    listing = ListFilter(request, sites=visible_sites, statuses=Status.choices,
                         date_label=_("Raised on"))
    rows = listing.apply(queryset, site="site__code", status="status", date="created_at__date")
    page = listing.paginate(rows)
    return render(request, "…", {"listing": listing, "page": page, ...})

    {% include "studies/_list_controls.html" with listing=listing %}   (the filter form)
    {% for row in listing.page %}…{% endfor %}
    {% include "studies/_list_controls.html" with listing=listing pager=True %}   (page links)

A value that is not valid (an unknown site or status, a date that is not one, an end before
the start, a page that is not a number) is named in a message beside the form and the filter
is not applied: never an error page. A site outside the user's scope is an unknown site.
Querysets are narrowed in the database (and paginated with one COUNT and one slice), so a
page's query count does not grow with the list; lists of computed rows are narrowed in
Python (``apply`` takes callables for them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PER_PAGE = 25


class _FilterForm(forms.Form):
    site = forms.ChoiceField(required=False, label=gettext_lazy("Site"))
    status = forms.ChoiceField(required=False, label=gettext_lazy("Status"))
    date_from = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("“From” is not a date (year-month-day).")},
    )
    date_to = forms.DateField(
        required=False,
        label=gettext_lazy("To"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("“To” is not a date (year-month-day).")},
    )

    def __init__(self, data, *, sites, statuses, status_blank=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["site"].choices = [("", _("All my sites")), *sites]
        self.fields["site"].error_messages["invalid_choice"] = _("There is no site “%(value)s” in your list.")
        self.fields["status"].choices = [("", status_blank or _("All statuses")), *statuses]
        self.fields["status"].error_messages["invalid_choice"] = _(
            "“%(value)s” is not a status of this list."
        )


def _site_choices(sites) -> list[tuple[str, str]]:
    out = []
    for site in sites:
        if isinstance(site, tuple):
            out.append((str(site[0]), str(site[1])))
        else:
            out.append((site.code, site.name))
    return out


class ListFilter:
    """The filters a list offers, read from ``request.GET`` and validated.

    ``sites``: the sites the user may filter on (Site objects or (code, name) pairs; omit
    or give one site for a list of one site: no site filter then); ``statuses``: (value,
    label) choices (empty: no status filter); ``date_label``: what the date filter is
    about (None: no date filter); ``status_blank``: what no status filter shows (default
    "All statuses"); ``keep``: the page's own parameters to carry along; ``choices``: further
    filters of one value among a list, each ``(name, label, [(value, label)…], what none shows)``
    (a user, an action…), shown before the dates; a value that is not one of them is named and
    not applied, as for a status. Read them with ``value(name)``; ``apply(extra={name: lookup})``.
    """

    def __init__(
        self,
        request,
        *,
        sites: Iterable[Any] = (),
        statuses: Sequence[tuple[str, Any]] = (),
        date_label: Any = None,
        per_page: int = PER_PAGE,
        keep: dict[str, str] | None = None,
        status_blank: Any = None,
        choices: Sequence[tuple[str, Any, Sequence[tuple[str, Any]], Any]] = (),
    ):
        self.request = request
        # Parameters of the page itself (a search's text): kept in the form and the page links.
        self.keep = dict(keep or {})
        site_choices = _site_choices(sites)
        self.has_site = len(site_choices) > 1
        self.has_status = bool(statuses)
        self.has_date = date_label is not None
        self.date_label = date_label
        self.per_page = per_page
        params = request.GET
        names = [n for n, on in (("site", self.has_site), ("status", self.has_status)) if on]
        extra = [c for c in choices if c[0] not in ("site", "status", "date_from", "date_to", "page")]
        names += [name for name, *_rest in extra]
        self.has_choices = bool(extra)
        if self.has_date:
            names += ["date_from", "date_to"]
        self.params = {n: params.get(n, "").strip() for n in names if params.get(n, "").strip()}
        self.form = _FilterForm(
            {n: params.get(n, "") for n in names},
            sites=site_choices,
            statuses=[(str(v), str(label)) for v, label in statuses],
            status_blank=status_blank,
            auto_id="list-filter-%s",
        )
        for name in ("site", "status", "date_from", "date_to"):
            if name not in names:
                del self.form.fields[name]
        for name, label, options, blank in extra:
            field = forms.ChoiceField(required=False, label=label)
            field.choices = [("", blank), *((str(v), str(text)) for v, text in options)]
            field.error_messages["invalid_choice"] = _("“%(value)s” is not a choice of this list.")
            self.form.fields[name] = field
        # the form's fields in the order of ``names`` (the choices before the dates)
        self.form.fields = {name: self.form.fields[name] for name in names}
        self.errors: list[str] = []
        self.values: dict[str, Any] = {}
        self.form.is_valid()
        for name in names:
            if name in self.form.errors:
                self.errors.extend(str(e) for e in self.form.errors[name])
            else:
                value = self.form.cleaned_data.get(name)
                if value not in (None, ""):
                    self.values[name] = value
        start, end = self.values.get("date_from"), self.values.get("date_to")
        if start and end and end < start:
            self.errors.append(_("“To” is before “From”: the dates are not applied."))
            self.values.pop("date_from")
            self.values.pop("date_to")
        self.page: Page | None = None

    # ------------------------------------------------------------------ narrowing

    @property
    def site(self) -> str | None:
        return self.values.get("site")

    @property
    def status(self) -> str | None:
        return self.values.get("status")

    @property
    def date_from(self) -> dt.date | None:
        return self.values.get("date_from")

    @property
    def date_to(self) -> dt.date | None:
        return self.values.get("date_to")

    def value(self, name: str) -> Any:
        """The valid value of one filter (a ``choices`` one too), None if not filtered on."""
        return self.values.get(name)

    @property
    def active(self) -> bool:
        return bool(self.values)

    @property
    def shows_form(self) -> bool:
        return self.has_site or self.has_status or self.has_date or self.has_choices

    @property
    def clear_url(self) -> str:
        return "?" + urlencode(self.keep)

    def apply(self, rows, *, site: str | Callable | None = None, status=None, date=None, extra=None):
        """Narrow a queryset (lookups: ``site="site__code"``, ``date="created_at__date"``)
        or a list of rows (callables returning a row's site code, status, date); ``extra``:
        {name of a ``choices`` filter: its lookup or callable}."""
        extra = {name: how for name, how in (extra or {}).items() if self.values.get(name) not in (None, "")}
        if isinstance(rows, QuerySet):
            lookups = {how: self.values[name] for name, how in extra.items()}
            if site and self.site:
                lookups[site] = self.site
            if status and self.status:
                lookups[status] = self.status
            if date and self.date_from:
                lookups[f"{date}__gte"] = self.date_from
            if date and self.date_to:
                lookups[f"{date}__lte"] = self.date_to
            return rows.filter(**lookups) if lookups else rows
        kept = []
        for row in rows:
            if site and self.site and site(row) != self.site:
                continue
            if status and self.status and str(status(row)) != self.status:
                continue
            if any(str(how(row)) != str(self.values[name]) for name, how in extra.items()):
                continue
            if date and (self.date_from or self.date_to):
                day = date(row)
                if isinstance(day, dt.datetime):
                    day = day.date()
                if day is None:
                    continue
                if self.date_from and day < self.date_from:
                    continue
                if self.date_to and day > self.date_to:
                    continue
            kept.append(row)
        return kept

    # ------------------------------------------------------------------ pagination

    def paginate(self, rows) -> Page:
        """The requested page of ``rows`` (a page out of range: the last one)."""
        raw = self.request.GET.get("page", "").strip()
        number = 1
        if raw:
            try:
                number = int(raw)
            except ValueError:
                self.errors.append(
                    _("“%(value)s” is not a page number: the first page is shown.") % {"value": raw}
                )
            else:
                if number < 1:
                    self.errors.append(
                        _("“%(value)s” is not a page number: the first page is shown.") % {"value": raw}
                    )
                    number = 1
        paginator = Paginator(rows, self.per_page)
        self.page = paginator.get_page(number)
        return self.page

    def page_url(self, number: int) -> str:
        query = {**self.keep, **self.params, "page": number}
        return "?" + urlencode(query)

    @property
    def pages(self) -> list[dict]:
        """Links to the pages around the current one (first, last and two either side)."""
        if self.page is None:
            return []
        total = self.page.paginator.num_pages
        current = self.page.number
        numbers = sorted({1, total, *range(max(1, current - 2), min(total, current + 2) + 1)})
        out, previous = [], 0
        for n in numbers:
            if n - previous > 1:
                out.append({"gap": True})
            out.append({"number": n, "url": self.page_url(n), "current": n == current})
            previous = n
        return out

    @property
    def previous_url(self) -> str:
        return (
            self.page_url(self.page.previous_page_number()) if self.page and self.page.has_previous() else ""
        )

    @property
    def next_url(self) -> str:
        return self.page_url(self.page.next_page_number()) if self.page and self.page.has_next() else ""
