"""The infusion form shows the lots in stock at the site, and says before the save whether the
lot typed will be accepted (re-rendered as it is typed, nothing saved)."""

from __future__ import annotations

import datetime as dt

from tests.conftest import PASSWORD
from tests.pharmacy.conftest import LOT, infusion

from trialdesk.crf.models import FormRecord
from trialdesk.pharmacy.services import record_shipment


def preview(client, subject, data):
    post = {k: ("true" if v is True else "false" if v is False else v) for k, v in data.items()}
    return client.post(
        f"/subjects/{subject.pk}/logs/infusion/new/",
        {**post, "_preview": "1"},
        headers={"HX-Request": "true"},
    ).content.decode()


def test_a_new_infusion_shows_the_lots_usable_at_the_site_today(client, cast, site, stock, enrolled_subject):
    record_shipment(
        cast.coordinator_nantes,
        site,
        lot_number="N2027",
        vials=12,
        expires_on=dt.date(2099, 6, 30),
        received_on=dt.date(2026, 11, 28),
    )
    client.login(username="coord.nantes", password=PASSWORD)
    page = client.get(f"/subjects/{enrolled_subject.pk}/logs/infusion/new/").content.decode()
    panel = page[page.index('id="panel-pharmacy-lots"') :]
    panel = panel[: panel.index("</section>")]
    assert (
        "Study drug in stock" in panel and 'data-lot="N2027"' in panel and '<td class="num">12</td>' in panel
    )
    assert f'data-lot="{LOT}"' not in panel  # expired on 30 November 2026, before today


def test_typing_an_expired_lot_warns_before_the_save_and_saves_nothing(client, cast, stock, enrolled_subject):
    client.login(username="coord.nantes", password=PASSWORD)
    swapped = preview(client, enrolled_subject, infusion("2026-12-01"))
    assert "data-lot-problem" in swapped and "expired on" in swapped
    assert "No lot of the study drug is usable" in swapped  # the only lot is expired on that day
    assert (
        not FormRecord.objects.system("test").filter(subject=enrolled_subject, form_code="infusion").exists()
    )


def test_a_lot_in_stock_is_confirmed_as_it_is_typed(client, cast, stock, enrolled_subject):
    client.login(username="coord.nantes", password=PASSWORD)
    swapped = preview(client, enrolled_subject, infusion("2026-11-24"))
    assert "data-lot-ok" in swapped and "data-lot-problem" not in swapped
