"""The outlets' accounts with their host, as queries over the ledger, exact to the minor unit.

For each outlet and currency: its gross share (the campaign's split, totals.split_shares), less
its share of Stripe's fees, less its share of the host's fee, less the grants paid to it, is the
balance the host still owes it. Shares of a split gift's fee use the split's rule
(totals.equal_shares: equal parts, the units left over one each to the first outlets); the host
fee is the campaign's fee rate times its gross (rounded down to the minor unit), shared in
proportion to the outlets' gross shares by the running-sum rule refunds use (totals.taken_back).
Every figure can be taken at a moment (`before`): a period's movement is the difference of two
such figures, so a statement's opening and closing balances always agree with its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, select

from membership.extensions import db
from membership.fundraisers import totals
from membership.fundraisers.models import Campaign, Outlet
from membership.host.hosts import host_for
from membership.host.models import OutletGrant
from membership.ledger.models import LedgerEntry, LedgerFee


@dataclass(frozen=True)
class Account:
    """One outlet's account in one currency (minor units)."""

    outlet: Outlet
    currency: str
    raised: int  # gross gifts less refunds and lost disputes
    fees: int  # Stripe's fees, its share
    host_fee: int
    granted: int
    balance: int  # what the host still owes it


def _slots(rows) -> dict[tuple[str, int], int]:
    """Rows of (currency, outlet_id, amount) summed into a dict."""
    out: dict[tuple[str, int], int] = {}
    for currency, outlet_id, amount in rows:
        key = (currency, outlet_id)
        out[key] = out.get(key, 0) + int(amount or 0)
    return out


def fee_shares(campaign_id: int, outlet_ids: list[int], *criteria) -> dict[tuple[str, int], int]:
    """Each outlet's part of Stripe's fees on the campaign's payments, per fee currency: a
    one-outlet gift's fee is that outlet's, a split gift's is shared by equal_shares (in SQL,
    grouped by sign and |fee| % N, as split_shares groups gifts)."""
    where = (LedgerFee.campaign_id == campaign_id, *criteria)
    known = set(outlet_ids)
    shares = {
        key: value
        for key, value in _slots(
            db.session.execute(
                select(LedgerFee.currency, LedgerFee.outlet_id, func.sum(LedgerFee.fee))
                .where(*where, LedgerFee.outlet_id.is_not(None))
                .group_by(LedgerFee.currency, LedgerFee.outlet_id)
            ).all()
        ).items()
        if key[1] in known
    }
    n = len(outlet_ids)
    if n == 0:
        return shares
    magnitude = func.abs(LedgerFee.fee)
    positive = case((LedgerFee.fee > 0, 1), else_=0)
    remainder = magnitude % n  # one expression object: PostgreSQL matches GROUP BY by its text
    groups = db.session.execute(
        select(LedgerFee.currency, positive, remainder, func.sum(magnitude // n), func.count())
        .where(*where, LedgerFee.outlet_id.is_(None))
        .group_by(LedgerFee.currency, positive, remainder)
    ).all()
    for currency, is_positive, rest, quotient_sum, count in groups:
        sign = 1 if is_positive else -1
        for index, outlet_id in enumerate(outlet_ids):
            part = sign * (int(quotient_sum) + (int(count) if index < rest else 0))
            shares[(currency, outlet_id)] = shares.get((currency, outlet_id), 0) + part
    return shares


def gross_shares(campaign: Campaign, outlet_ids: list[int], *criteria) -> dict[int, int]:
    """Each outlet's gross share of the campaign's ledger rows matching criteria."""
    shares = totals.split_shares(campaign.id, outlet_ids, *criteria)
    return {outlet_id: shares.get((None, outlet_id), 0) for outlet_id in outlet_ids}


def host_fee_total(gross: int, basis_points: int) -> int:
    """The host's fee on a gross amount: the rate, rounded down to the minor unit."""
    return max(0, gross) * basis_points // 10_000


def host_fee_shares(gross: dict[int, int], outlet_ids: list[int], basis_points: int) -> dict:
    """The host fee on the campaign's gross, shared in proportion to the outlets' gross."""
    shares = [max(0, gross.get(o, 0)) for o in outlet_ids]
    fee = host_fee_total(sum(shares), basis_points)
    return dict(zip(outlet_ids, totals.taken_back(shares, fee), strict=True))


def grant_sums(campaign_id: int, *criteria) -> dict[tuple[str, int], int]:
    """Grants paid (less their counter-entries) per currency and outlet."""
    return _slots(
        db.session.execute(
            select(OutletGrant.currency, OutletGrant.outlet_id, func.sum(OutletGrant.amount))
            .where(OutletGrant.campaign_id == campaign_id, *criteria)
            .group_by(OutletGrant.currency, OutletGrant.outlet_id)
        ).all()
    )


def accounts(campaign: Campaign, before: datetime | None = None) -> list[Account]:
    """Every outlet's account in every currency it has figures in (the campaign's always), as
    they stood just before `before` (None: now); outlets in display order."""
    outlets = list(campaign.outlets)
    ids = [o.id for o in outlets]
    entry_when = (LedgerEntry.occurred_at < before,) if before else ()
    fee_when = (LedgerFee.occurred_at < before,) if before else ()
    grant_when = (OutletGrant.paid_on < _day(before),) if before else ()
    gross = gross_shares(campaign, ids, *entry_when)
    host = host_fee_shares(gross, ids, host_for(campaign).fee_basis_points)
    fees = fee_shares(campaign.id, ids, *fee_when)
    grants = grant_sums(campaign.id, *grant_when)
    currencies = {campaign.currency} | {c for c, _ in fees} | {c for c, _ in grants}
    out = []
    for outlet in outlets:
        for currency in sorted(currencies, key=lambda c: (c != campaign.currency, c)):
            own = currency == campaign.currency
            raised = gross[outlet.id] if own else 0
            host_fee = host[outlet.id] if own else 0
            fee = fees.get((currency, outlet.id), 0)
            granted = grants.get((currency, outlet.id), 0)
            if not own and not (fee or granted):
                continue
            out.append(Account(outlet, currency, raised, fee, host_fee, granted,
                               raised - fee - host_fee - granted))  # fmt: skip
    return out


def _day(moment: datetime) -> date:
    """The first day not before `moment` counts from (grants are dated by day)."""
    return moment.date()


def account_of(campaign: Campaign, outlet: Outlet, currency: str | None = None) -> Account:
    """One outlet's account in one currency (the campaign's by default), now."""
    currency = currency or campaign.currency
    for account in accounts(campaign):
        if account.outlet.id == outlet.id and account.currency == currency:
            return account
    return Account(outlet, currency, 0, 0, 0, 0, 0)
