"""The staff area reads like a product (issue #16, item 3): statuses in words in the staff's own
language, the audit trail as sentences, money in CSVs as decimals with their currency, round
chart ticks, month labels that never overlap, reports over the last 12 months of data there is,
and dashboard counts that agree with each other."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from membership.accounts.models import Role
from membership.admin import charts, reports
from membership.admin.csvexport import decimal_amount
from membership.billing.labels import STATUS_WORDS, status_label
from membership.extensions import db
from membership.ledger.models import EntryKind
from tests.admin.conftest import add_entry, add_membership, at
from tests.factories import make_user


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def visible(html: str) -> str:
    """The page's text, without tags and attributes (a class may name a status's code)."""
    return re.sub(r"<[^>]+>", " ", html)


# --- statuses as words ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ka", "ru"])
def test_member_file_and_status_report_name_statuses_in_the_staffs_language(app, auth, client,
                                                                            lang):  # fmt: skip
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff, locale=lang)
        reader = make_user(email="r@example.org", name="R").id
        add_membership(reader, "past_due", past_due_since=at(2026, 3, 1))
        add_membership(reader, "incomplete_expired")
        db.session.commit()
        with app.test_request_context(), force_locale(lang):
            due, never = str(STATUS_WORDS["past_due"]), str(STATUS_WORDS["incomplete_expired"])
        assert due != "payment due" and never != "first payment never made"  # translated
    auth.login(email="staff@example.org")
    for path in (f"/admin/members/{reader}", "/admin/reports/members"):
        text = visible(client.get(path).get_data(as_text=True))
        assert due in text and never in text, path
        assert "past_due" not in text and "incomplete_expired" not in text, path


def test_a_status_stripe_adds_later_shows_as_it_is(app):
    with app.test_request_context():
        assert status_label("past_due") == "payment due"
        assert status_label("canceled") == "cancelled"
        assert status_label("something_new") == "something_new"


# --- the audit trail ------------------------------------------------------------------------


def test_audit_trail_reads_as_sentences_with_the_details_folded(app, auth, client, catalogue):
    from membership import audit

    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
        reader = make_user(email="r@example.org").id
        audit.record("checkout.started", "user", reader, actor_id=reader, plan="supporter",
                     interval="month", amount=500, session="cs_test_" + "x" * 60)  # fmt: skip
        audit.record("membership.synced", "user", reader, membership=1,
                     changes={"status": ["active", "past_due"]})  # fmt: skip
        audit.record("perk.granted", "user", reader, actor_id=reader, perk="ad-free",
                     until="2026-05-01T00:00:00+00:00", reason="press")  # fmt: skip
        audit.record("some.future_action", "user", reader, x=1)
        db.session.commit()
    auth.login(email="staff@example.org")
    html = client.get(f"/admin/members/{reader}").get_data(as_text=True)
    trail = html[html.index('id="audit"') :]
    assert "Checkout started for Supporter, every month." in trail
    assert "Membership changed from active to payment due (from Stripe)." in trail
    assert re.search(r"granted on the house until May 1, 2026\.", trail)
    assert "some.future_action" in trail  # no sentence yet: the code, not nothing
    # The raw details are there for whoever needs them, folded under the sentence.
    assert trail.count('<details class="audit-details">') == 4
    assert "cs_test_" in trail.split("<details", 1)[1]
    assert "<td><code>{" not in trail  # no JSON as the cell itself any more


# --- money in CSVs --------------------------------------------------------------------------


def test_decimal_amounts_follow_each_currencys_exponent():
    assert decimal_amount(1234, "eur") == Decimal("12.34")
    assert decimal_amount(1234, "jpy") == Decimal("1234")
    assert decimal_amount(1234, "kwd") == Decimal("1.234")
    assert decimal_amount(-2100, "eur") == Decimal("-21.00")
    assert decimal_amount(None, "eur") == "" and decimal_amount("", "eur") == ""


def test_revenue_csv_gives_decimals_beside_the_currency_and_minor_units_after(app, client,
                                                                              staff):  # fmt: skip
    with app.app_context():
        add_entry(EntryKind.gift, 1500, at(2026, 1, 10), currency="jpy")
        add_entry(EntryKind.gift, 12345, at(2026, 1, 11), currency="kwd")
        add_entry(EntryKind.gift, 2500, at(2026, 1, 12), currency="eur")
        add_entry(EntryKind.refund, -500, at(2026, 1, 13), currency="eur")
        db.session.commit()
    rows = csv_rows(client.get("/admin/reports/revenue.csv?start=2026-01-01&end=2026-01-31"))
    header = rows[0]
    assert header[:2] == ["month", "currency"]
    by_currency = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_currency["jpy"]["gifts"] == "1500" and by_currency["jpy"]["gifts_minor"] == "1500"
    assert by_currency["kwd"]["gifts"] == "12.345"
    assert by_currency["kwd"]["gifts_minor"] == "12345"
    assert by_currency["eur"]["gifts"] == "25.00" and by_currency["eur"]["refunds"] == "-5.00"
    assert by_currency["eur"]["net"] == "20.00" and by_currency["eur"]["net_minor"] == "2000"


def test_member_csv_gives_the_amount_as_a_decimal_and_in_minor_units(app, client, staff):
    with app.app_context():
        reader = make_user(email="r@example.org").id
        add_membership(reader, amount=1250, currency="eur")
        db.session.commit()
    rows = csv_rows(client.get("/admin/members.csv"))
    row = dict(zip(rows[0], next(r for r in rows if r[1] == "r@example.org"), strict=True))
    assert (row["amount"], row["currency"], row["amount_minor"]) == ("12.50", "eur", "1250")


# --- charts ---------------------------------------------------------------------------------


def _is_round(value: float) -> bool:
    if value == 0:
        return True
    mantissa = Decimal(str(value)).normalize()
    digits = mantissa.as_tuple().digits
    return digits in ((1,), (2,), (2, 5), (5,))


@pytest.mark.parametrize("maximum", [1, 3, 7, 19, 23, 99, 101, 742.83, 1234, 86_500, 4_000_001])
def test_tick_values_are_round(maximum):
    ticks = charts.nice_ticks(maximum)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= maximum and 2 <= len(ticks) <= 6
    assert _is_round(step), (maximum, ticks)
    assert all(abs(b - a - step) < 1e-9 for a, b in pairwise(ticks))


def test_counts_step_by_whole_numbers():
    assert charts.nice_ticks(3, integer=True) == [0, 1, 2, 3]
    assert all(float(t).is_integer() for t in charts.nice_ticks(9, integer=True))


def test_a_chart_of_a_count_has_no_uneven_ticks(app):
    with app.test_request_context():
        svg = charts.bar_chart(["a", "b"], [("n", [23, 4])], "t")
    ticks = re.findall(r'text-anchor="end">([^<]+)<', svg)
    assert ticks == ["0", "10", "20", "30"]


def test_36_month_labels_are_thinned_so_none_overlaps(app):
    months = [f"{2024 + i // 12}-{i % 12 + 1:02d}" for i in range(36)]
    with app.test_request_context():
        labels = [reports.month_label(m) for m in months]
        svg = charts.bar_chart(labels, [("n", list(range(36)))], "t")
    shown = re.findall(
        r'<text class="axis" x="([\d.]+)" y="\d+" text-anchor="middle">([^<]+)<', svg
    )
    assert 6 <= len(shown) <= 12 and shown[0][1] == "Jan 2024"
    xs = [float(x) for x, _ in shown]
    gaps = {round(b - a, 1) for a, b in pairwise(xs)}
    assert len(gaps) == 1  # evenly spaced: every n-th month
    widest = max(charts.text_width(text) for _, text in shown)
    assert min(gaps) > widest  # no two labels touch


def test_long_category_names_are_shortened_with_the_whole_name_as_a_tooltip(app):
    names = [f"a-very-long-article-slug-number-{i}" for i in range(12)]
    with app.test_request_context():
        svg = charts.bar_chart(names, [("n", [1] * 12)], "t", categories=True)
    assert "…" in svg and f"<title>{names[0]}</title>" in svg


def test_dashboard_and_reports_share_one_palette(app, client, staff):
    with app.app_context():
        add_entry(EntryKind.membership, 500, at(2026, 1, 10))
        add_entry(EntryKind.gift, 700, at(2026, 1, 11))
        db.session.commit()
    dashboard = client.get("/admin/").get_data(as_text=True)
    revenue = client.get("/admin/reports/revenue").get_data(as_text=True)
    for page in (dashboard, revenue):  # memberships blue, one-time gifts orange, everywhere
        assert re.search(r'class="series-0"[^>]*><title>[^<]*Memberships', page)
        assert re.search(r'class="series-1"[^>]*><title>[^<]*One-time gifts', page)


# --- periods and counts ---------------------------------------------------------------------


def test_reports_default_to_the_last_12_months_of_data_that_exists(app, client, staff):
    with app.app_context():
        add_entry(EntryKind.gift, 500, at(2023, 2, 3))
        add_entry(EntryKind.gift, 500, at(2025, 6, 15))
        db.session.commit()
        assert reports.Period.with_data(date(2026, 12, 4)) == reports.Period(
            date(2024, 7, 1), date(2025, 6, 15)
        )
    page = client.get("/admin/reports/revenue").get_data(as_text=True)
    assert 'value="2024-07-01"' in page and 'value="2025-06-15"' in page
    assert "Jun 2025" in page and "Jun 2024" not in visible(page)


def test_a_short_history_starts_with_its_first_month(app):
    with app.app_context():
        add_entry(EntryKind.gift, 500, at(2026, 10, 20))
        db.session.commit()
        period = reports.Period.with_data(date(2026, 12, 4))
    assert period == reports.Period(date(2026, 10, 1), date(2026, 10, 20))


def test_without_data_the_default_is_the_last_12_months(app):
    with app.app_context():
        period = reports.Period.with_data(date(2026, 12, 4))
    assert period == reports.Period(date(2026, 1, 1), date(2026, 12, 4))


def test_dashboard_confirmed_addresses_are_the_members_own(app, client, staff):
    with app.app_context():
        make_user(email="a@example.org")
        make_user(email="b@example.org", verified=False)
        make_user(email="boss@example.org", role=Role.admin)  # verified staff are not members
        db.session.commit()
    html = client.get("/admin/").get_data(as_text=True)
    members = re.search(r'id="stat-members">(\d+)<', html).group(1)
    verified = re.search(r'id="stat-verified">(\d+)<', html).group(1)
    assert (members, verified) == ("2", "1")
    with app.test_request_context():
        assert _("of them with a confirmed e-mail address") in html
