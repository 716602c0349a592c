"""A donor's statement of one year: every gift, refund and lost dispute, from the ledger, netted.

A donor is an e-mail address. A gift made with an account belongs to the account's current
address; a gift made without one (or by a staff member who recorded a bank transfer) to the
address Checkout or staff gave. So each gift belongs to exactly one donor, and the yearly mail
counts it once. Gifts of accounts deleted since are nobody's: deletion erased the donor.

A year is the calendar year in UTC, as the ledger dates its rows; a refund counts in the year
it was made (as every report by period counts it), so a December gift refunded in January
shows on both statements, each netted in its own year. Fees the host pays on a gift are not
the donor's business and are not read: only the kinds in DONOR_KINDS are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import joinedload

from membership.accounts.models import User
from membership.donors.host_details import Host, host_for
from membership.extensions import db
from membership.fundraisers.giving import receipt_number
from membership.fundraisers.models import Donation, Frequency
from membership.ledger.models import EntryKind, LedgerEntry
from membership.ledger.services import UNDONE_SUFFIX

PAYMENT_KINDS = (EntryKind.gift, EntryKind.monthly_gift, EntryKind.offline)
REVERSAL_KINDS = (EntryKind.refund, EntryKind.dispute)
# Every kind of row that moves a donor's money: a gift, its reversal, a failed refund's undoing.
DONOR_KINDS = (*PAYMENT_KINDS, *REVERSAL_KINDS, EntryKind.refund_failed)


@dataclass(frozen=True)
class Line:
    """One row of a statement: a payment (positive) or money given back (negative)."""

    occurred_at: datetime
    kind: EntryKind
    amount: int  # signed minor units, as the ledger holds it
    currency: str
    campaign: str
    outlet: str  # "" when the gift is shared by the campaign's outlets
    receipt: str  # the receipt number of the gift (a reversal names its gift's)
    monthly: bool
    host: Host


@dataclass(frozen=True)
class Total:
    """One currency's sums: given, given back, and what stays (net)."""

    currency: str
    given: int
    returned: int  # positive: refunds and lost disputes that held

    @property
    def net(self) -> int:
        """Given minus given back."""
        return self.given - self.returned


@dataclass
class Statement:
    """A donor's year, ready to show: lines oldest first, totals per currency."""

    address: str
    year: int
    name: str = ""
    locale: str = "en"
    has_account: bool = False
    gifts: list[Line] = field(default_factory=list)
    reversals: list[Line] = field(default_factory=list)
    totals: list[Total] = field(default_factory=list)
    hosts: list[Host] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No money moved for this donor in this year."""
        return not self.gifts and not self.reversals


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) in UTC."""
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _owned_by(address: str):
    """The condition on donations (joined to their account, if any) that belong to `address`."""
    return or_(
        and_(Donation.user_id.is_(None), Donation.email == address),
        and_(User.email == address, User.deleted_at.is_(None)),
    )


def _rows(address: str, year: int) -> list[tuple[LedgerEntry, Donation]]:
    """The donor's ledger rows of the year with their donations, oldest first."""
    start, end = year_bounds(year)
    query = (
        select(LedgerEntry, Donation)
        .join(Donation, LedgerEntry.donation_id == Donation.id)
        .outerjoin(User, Donation.user_id == User.id)
        .where(
            _owned_by(address),
            LedgerEntry.kind.in_(DONOR_KINDS),
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < end,
        )
        .options(joinedload(Donation.campaign), joinedload(Donation.outlet))
        .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
    )
    return [(entry, donation) for entry, donation in db.session.execute(query)]


def build(address: str, year: int) -> Statement:
    """The statement of `address` for `year` (empty when no money moved)."""
    statement = Statement(address=address, year=year)
    _who(statement)
    rows = _rows(address, year)
    undone = {
        entry.stripe_object_id.removesuffix(UNDONE_SUFFIX)
        for entry, _ in rows
        if entry.kind == EntryKind.refund_failed
    }
    payments = {entry.id: entry for entry, _ in rows if entry.kind in PAYMENT_KINDS}
    given: dict[str, int] = defaultdict(int)
    returned: dict[str, int] = defaultdict(int)
    hosts: dict[Host, None] = {}
    for entry, donation in rows:
        if entry.kind == EntryKind.refund_failed or entry.stripe_object_id in undone:
            continue  # a refund that failed gave nothing back: neither row is shown
        payment = entry
        if entry.reverses_id is not None:  # the gift it reverses may be of an earlier year
            payment = payments.get(entry.reverses_id) or db.session.get(
                LedgerEntry, entry.reverses_id
            )
        line = _line(entry, donation, payment)
        hosts.setdefault(line.host)
        if entry.kind in PAYMENT_KINDS:
            statement.gifts.append(line)
            given[entry.currency] += entry.amount
        else:
            statement.reversals.append(line)
            returned[entry.currency] -= entry.amount
    statement.totals = [
        Total(currency, given[currency], returned[currency])
        for currency in sorted(set(given) | set(returned))
    ]
    statement.hosts = list(hosts) or [host_for(None)]
    return statement


def _line(entry: LedgerEntry, donation: Donation, payment: LedgerEntry | None) -> Line:
    """A ledger row as the statement shows it; `payment` is the gift a row is or reverses (its
    receipt number names it)."""
    monthly = donation.frequency == Frequency.monthly
    receipt = receipt_number(donation, payment) if payment is not None else f"D-{donation.id}"
    return Line(
        occurred_at=entry.occurred_at,
        kind=entry.kind,
        amount=entry.amount,
        currency=entry.currency,
        campaign=donation.campaign.title,
        outlet=donation.outlet.name if donation.outlet else "",
        receipt=receipt,
        monthly=monthly,
        host=host_for(donation.campaign),
    )


def _who(statement: Statement) -> None:
    """The donor's name and language: the account's, else the latest gift's language."""
    user = db.session.scalar(
        select(User).where(User.email == statement.address, User.deleted_at.is_(None))
    )
    if user is not None:
        statement.name, statement.locale, statement.has_account = user.name, user.locale, True
        return
    latest = db.session.scalar(
        select(Donation)
        .where(Donation.user_id.is_(None), Donation.email == statement.address)
        .order_by(Donation.created_at.desc(), Donation.id.desc())
        .limit(1)
    )
    if latest is not None:
        statement.locale = latest.locale or "en"


def public_name_of(address: str) -> str:
    """The name a donor without an account last gave for the wall ("" when none): whom the
    statement mail greets, as the receipts do."""
    name = db.session.scalar(
        select(Donation.public_name)
        .where(Donation.user_id.is_(None), Donation.email == address, Donation.public_name != "")
        .order_by(Donation.created_at.desc(), Donation.id.desc())
        .limit(1)
    )
    return name or ""


def donors_of(year: int) -> list[str]:
    """Every donor address with money moved in `year`, sorted: whom the yearly mail goes to."""
    start, end = year_bounds(year)
    address = case((Donation.user_id.is_(None), Donation.email), else_=User.email)
    query = (
        select(address)
        .distinct()
        .select_from(LedgerEntry)
        .join(Donation, LedgerEntry.donation_id == Donation.id)
        .outerjoin(User, Donation.user_id == User.id)
        .where(
            LedgerEntry.kind.in_(DONOR_KINDS),
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < end,
            or_(Donation.user_id.is_(None), User.deleted_at.is_(None)),
            address.is_not(None),
        )
    )
    return sorted(db.session.scalars(query))


def years_of(user: User) -> list[int]:
    """The years in which a signed-in reader gave (or got money back), newest first."""
    rows = db.session.scalars(
        select(LedgerEntry.occurred_at)
        .distinct()
        .join(Donation, LedgerEntry.donation_id == Donation.id)
        .outerjoin(User, Donation.user_id == User.id)
        .where(_owned_by(user.email), LedgerEntry.kind.in_(DONOR_KINDS))
    )
    return sorted({moment.year for moment in rows}, reverse=True)
