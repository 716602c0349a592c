"""A donor's statement adds up to the ledger: gifts of the year, refunds and lost disputes
netted, per currency, for donors with an account or without; nobody else's money, no other year."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from membership.accounts.models import User
from membership.donors import statements
from membership.extensions import db
from membership.fundraisers.models import Donation
from membership.ledger.models import EntryKind, LedgerEntry
from tests.donors.conftest import LAST_YEAR, at, dispute, gift, month_of, refund
from tests.factories import make_user


def ledger_totals(address: str, year: int) -> dict[str, int]:
    """Per currency, the sum of every ledger row of the donor's donations dated in `year`."""
    start, end = statements.year_bounds(year)
    owner = select(User.id).where(User.email == address, User.deleted_at.is_(None))
    rows = db.session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
        .join(Donation, LedgerEntry.donation_id == Donation.id)
        .where(
            ((Donation.user_id.is_(None)) & (Donation.email == address))
            | Donation.user_id.in_(owner),
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < end,
        )
        .group_by(LedgerEntry.currency)
    )
    return {currency: int(total) for currency, total in rows}


def nets(statement) -> dict[str, int]:
    return {total.currency: total.net for total in statement.totals}


def test_an_anonymous_donors_year_nets_refunds_and_disputes_per_currency(app_ctx, campaigns):
    ana = "ana@example.org"
    first = gift(campaigns["eur"], 5000, at(LAST_YEAR, 2), email=ana)
    outlet_gift = gift(campaigns["eur"], 2500, at(LAST_YEAR, 3), email=ana, outlet="river-daily")
    monthly = gift(campaigns["eur"], 1000, at(LAST_YEAR, 4, 1), email=ana, monthly=True)
    month_of(monthly, 1000, at(LAST_YEAR, 5, 1))
    lari = gift(campaigns["gel"], 10000, at(LAST_YEAR, 6), email=ana, outlet="mountain-post")
    refund(first, 2000, at(LAST_YEAR, 2, 20))  # part of the first gift
    dispute(outlet_gift, 2500, at(LAST_YEAR, 7))  # the whole outlet gift, lost
    refund(lari, 3000, at(LAST_YEAR, 8), status="failed")  # nothing went back
    # Not this year's: a gift the year before, and one refunded the year after.
    earlier = gift(campaigns["eur"], 7000, at(LAST_YEAR - 1, 12, 30), email=ana)
    refund(earlier, 7000, at(LAST_YEAR, 1, 3))  # counts in the year it was made: this one
    late = gift(campaigns["eur"], 4000, at(LAST_YEAR + 1, 1, 1), email=ana)
    refund(late, 4000, at(LAST_YEAR + 1, 1, 2))
    # Someone else's.
    gift(campaigns["eur"], 99900, at(LAST_YEAR, 2), email="someone@example.org")

    statement = statements.build(ana, LAST_YEAR)

    assert nets(statement) == ledger_totals(ana, LAST_YEAR)
    assert nets(statement) == {"eur": 5000 + 2500 + 1000 + 1000 - 2000 - 2500 - 7000,
                               "gel": 10000}  # fmt: skip
    eur = next(t for t in statement.totals if t.currency == "eur")
    assert (eur.given, eur.returned) == (9500, 11500)
    assert [line.amount for line in statement.gifts] == [5000, 2500, 1000, 1000, 10000]
    assert sorted(line.amount for line in statement.reversals) == [-7000, -2500, -2000]
    assert {line.kind for line in statement.reversals} == {EntryKind.refund, EntryKind.dispute}
    kinds = {line.receipt: line for line in statement.reversals}
    assert f"D-{earlier.donation_id}" in kinds  # the refund names the gift it took back from
    assert [line.outlet for line in statement.gifts][:2] == ["", "River Daily"]
    assert statement.gifts[-1].campaign == "ერთად თბილისისთვის"
    assert statement.gifts[-1].outlet == "Հետք Լրագրողներ"
    assert not statement.has_account


def test_a_donor_with_an_account_gets_gifts_made_signed_in_and_signed_out(app_ctx, campaigns):
    nino = make_user(email="nino@example.org", name="Nino Beridze", locale="ka")
    gift(campaigns["eur"], 3000, at(LAST_YEAR, 3), user=nino)
    gift(campaigns["gel"], 5000, at(LAST_YEAR, 4), email="nino@example.org")  # signed out
    # Her account's address changed since this gift: it is hers (the account's), not the old
    # address's.
    old = gift(campaigns["eur"], 1500, at(LAST_YEAR, 5), user=nino)
    db.session.get(Donation, old.donation_id).email = "old-nino@example.org"
    # A deleted account's gifts are nobody's.
    gone = make_user(email="gone@example.org")
    gift(campaigns["eur"], 2000, at(LAST_YEAR, 3), user=gone)
    gone.deleted_at = at(LAST_YEAR, 9)
    db.session.flush()

    statement = statements.build("nino@example.org", LAST_YEAR)
    assert nets(statement) == ledger_totals("nino@example.org", LAST_YEAR)
    assert nets(statement) == {"eur": 4500, "gel": 5000}
    assert (statement.name, statement.locale, statement.has_account) == ("Nino Beridze", "ka", True)
    assert statements.build("old-nino@example.org", LAST_YEAR).empty
    assert statements.build("gone@example.org", LAST_YEAR).empty
    assert statements.donors_of(LAST_YEAR) == ["nino@example.org"]
    assert statements.years_of(nino) == [LAST_YEAR]


def test_every_donor_of_a_year_once_and_only_that_years(app_ctx, campaigns):
    gift(campaigns["eur"], 1000, at(LAST_YEAR, 1, 1), email="b@example.org")
    gift(campaigns["eur"], 1000, at(LAST_YEAR, 12, 31), email="b@example.org")
    gift(campaigns["gel"], 1000, at(LAST_YEAR, 6), email="a@example.org")
    gift(campaigns["eur"], 1000, at(LAST_YEAR - 1, 12, 31), email="c@example.org")
    assert statements.donors_of(LAST_YEAR) == ["a@example.org", "b@example.org"]
    assert statements.donors_of(LAST_YEAR - 1) == ["c@example.org"]


def test_money_in_several_currencies_stays_apart(app_ctx, campaigns):
    totals = defaultdict(int)
    for n, (currency, amount) in enumerate([("eur", 1234), ("gel", 50000), ("eur", 1)]):
        gift(campaigns[currency], amount, at(LAST_YEAR, n + 1), email="x@example.org")
        totals[currency] += amount
    assert nets(statements.build("x@example.org", LAST_YEAR)) == totals
