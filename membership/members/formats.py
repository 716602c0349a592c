"""Member files: Ghost's, Substack's and Patreon's exports and our plain CSV, read into Rows.

Each reader checks its header once, then turns one CSV record at a time into a `Row` (what the
newsroom knows about one reader, in our terms) or a `Bad` (the line and why it cannot be used).
Nothing here touches the database: plans and perks come in as a `Catalogue`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from membership.accounts.services import AccountError, normalize_email

FORMATS = ("ghost", "substack", "patreon", "csv")
PLATFORM_NAMES = {"ghost": "Ghost", "substack": "Substack", "patreon": "Patreon", "csv": "CSV"}
CUSTOMER_ID = re.compile(r"^cus_[A-Za-z0-9_]{1,250}$")
MAX_NAME = 100  # users.name
MAX_FIELD = 10_000  # one cell; a longer one is not a member file
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Our plain CSV: the columns `members export` writes and `members import --format csv` reads.
CSV_COLUMNS = [
    "email", "name", "language", "email_consent", "stripe_customer_id", "created_at",
    "complimentary", "perks", "membership_status", "plan", "interval", "amount", "currency",
    "paid_through", "stripe_subscription_id", "amount_minor",
]  # fmt: skip
REQUIRED = {
    "ghost": ("email", "name", "subscribed_to_emails", "complimentary_plan",
              "stripe_customer_id", "created_at"),
    "substack": ("email", "active_subscription", "expiry", "plan", "email_disabled",
                 "created_at"),
    "patreon": ("Name", "Email", "Patron Status", "Tier", "Next Charge Date"),
    "csv": ("email",),
}  # fmt: skip


class FileProblem(Exception):
    """The file as a whole cannot be read in this format; the message is safe to show."""


@dataclass(frozen=True)
class Catalogue:
    """What tiers and perk names in a file can mean here."""

    perks: dict[str, int]  # active perk slug -> id
    plans: dict[str, tuple[str, ...]]  # plan slug or name, case-folded -> its perk slugs
    default: tuple[str, ...]  # the first offered plan's perks: a paid tier without a name

    def tier(self, name: str) -> tuple[str, ...] | None:
        """The perks of a tier named in a file (a plan's slug or name), None when unknown."""
        name = name.strip().casefold()
        return self.default if not name else self.plans.get(name)


@dataclass(frozen=True)
class Row:
    """One reader from a file, in our terms."""

    line: int
    email: str  # normalised (case-folded)
    name: str = ""
    locale: str | None = None  # None: the site's default
    consent: bool = False
    customer: str | None = None
    created_at: datetime | None = None
    perks: tuple[tuple[str, datetime | None], ...] = ()  # complimentary: slug, end (None: open)
    note: str = ""  # why the perks (for the grant's reason): "paid through 2027-01-31"
    skip: str = ""  # a reason to leave the row alone (deleted on the platform)


@dataclass(frozen=True)
class Bad:
    """A line that cannot be imported, and why (a message for staff)."""

    line: int
    reason: str
    email: str = ""


@dataclass
class Reader:
    """A member file being read: its format and its records, one at a time."""

    fmt: str
    records: Iterator[tuple[int, dict[str, str]]]
    catalogue: Catalogue
    languages: tuple[str, ...]
    columns: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Row | Bad]:
        convert = CONVERTERS[self.fmt]
        for line, record in self.records:
            if not any(value.strip() for value in record.values()):
                continue  # a blank line
            try:
                yield convert(line, record, self)
            except Problem as exc:
                yield Bad(line, str(exc.message), (record.get(_email_column(self.fmt)) or "")[:254])


def open_reader(
    stream: Iterable[str], fmt: str, catalogue: Catalogue, languages: Iterable[str]
) -> Reader:
    """Check the header of a text stream for `fmt`; raises FileProblem when it is not one."""
    if fmt not in FORMATS:
        raise FileProblem(str(_l("Unknown format %(fmt)s.", fmt=fmt)))
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(_checked_lines(stream))
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError, ValueError) as exc:
        raise FileProblem(_not_csv()) from exc
    if not header or not any(cell.strip() for cell in header):
        raise FileProblem(str(_l("The file is empty.")))
    columns = [cell.strip().lstrip("\ufeff") for cell in header]
    missing = [name for name in REQUIRED[fmt] if name not in columns]
    if missing:
        raise FileProblem(
            str(
                _l(
                    "This is not %(platform)s's member export: the columns %(columns)s are "
                    "missing. Check the format chosen.",
                    platform=PLATFORM_NAMES[fmt],
                    columns=", ".join(missing),
                )
            )
        )
    return Reader(fmt, _records(reader, columns), catalogue, tuple(languages), columns)


def _not_csv() -> str:
    return str(_l("This is not a CSV file in UTF-8 (comma-separated, one header line)."))


def _checked_lines(stream: Iterable[str]) -> Iterator[str]:
    """The stream's lines; a NUL character means a binary file, not a CSV."""
    for line in stream:
        if "\x00" in line:
            raise FileProblem(_not_csv())
        yield line


def _records(reader, columns: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: value}) for every record after the header."""
    width = len(columns)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise FileProblem(_not_csv()) from exc
        except csv.Error as exc:  # an over-long field, an unclosed quote at the end
            raise FileProblem(
                str(_l("Line %(line)d cannot be read as CSV.", line=reader.line_num))
            ) from exc
        cells = cells[:width] + [""] * (width - len(cells))
        yield reader.line_num, dict(zip(columns, cells, strict=True))


class Problem(Exception):
    """One cell cannot be used; `message` says which and why."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def _email_column(fmt: str) -> str:
    return "Email" if fmt == "patreon" else "email"


# --- cells ------------------------------------------------------------------------------------


def email(value: str) -> str:
    """A valid address, case-folded."""
    if not value.strip():
        raise Problem(_l("No e-mail address."))
    try:
        return normalize_email(value)
    except AccountError as exc:
        raise Problem(_l("Not an e-mail address: %(value)s", value=value.strip()[:80])) from exc


def text(value: str, limit: int = MAX_NAME) -> str:
    """A cell as text: trimmed, cut to `limit`, without the quote that defuses formulas."""
    value = value.strip()
    if value.startswith("'") and value[1:2] and value[1:2] in FORMULA_STARTS:
        value = value[1:]  # our own export's guard against spreadsheet formulas
    return value[:limit]


TRUE = {"true", "yes", "1", "y", "t"}
FALSE = {"false", "no", "0", "n", "f", ""}


def flag(value: str, column: str) -> bool:
    """true/false, yes/no, 1/0 (empty: false)."""
    folded = value.strip().casefold()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    raise Problem(_l("%(column)s is not yes or no: %(value)s", column=column, value=value[:40]))


def moment(value: str, column: str) -> datetime | None:
    """An ISO date or date and time (UTC unless it says otherwise); empty: None."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), time(), UTC)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Problem(
            _l("%(column)s is not a date: %(value)s", column=column, value=value[:40])
        ) from exc
    if not 1970 <= parsed.year <= 2200:
        raise Problem(_l("%(column)s is not a date: %(value)s", column=column, value=value[:40]))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def through(value: str, column: str) -> datetime | None:
    """A paid-through date: the perk stays open all that day (UTC); a time: until that moment."""
    parsed = moment(value, column)
    if parsed is None or len(value.strip()) != 10:
        return parsed
    return parsed + timedelta(days=1)


def day_text(end: datetime) -> str:
    """How a paid-through end is written back: the last day when it ends at midnight."""
    if end.astimezone(UTC).time() == time():
        return (end.astimezone(UTC) - timedelta(days=1)).date().isoformat()
    return end.astimezone(UTC).isoformat().replace("+00:00", "Z")


def customer(value: str) -> str | None:
    """A Stripe customer id (cus_…) or None."""
    value = value.strip()
    if not value:
        return None
    if not CUSTOMER_ID.match(value):
        raise Problem(_l("Not a Stripe customer id: %(value)s", value=value[:40]))
    return value


def tier_perks(catalogue: Catalogue, name: str) -> tuple[str, ...]:
    """The perks of a tier, or a Problem naming it."""
    perks = catalogue.tier(name)
    if perks is None:
        raise Problem(_l("Unknown tier: %(tier)s", tier=name.strip()[:60]))
    return perks


# --- one converter per format -----------------------------------------------------------------


def ghost(line: int, r: dict[str, str], reader: Reader) -> Row:
    """Ghost's members export: paid members keep paying through Stripe (their customer id links
    them: `flask stripe reconcile` brings the subscription); complimentary members get the
    perks of their tiers with no end date."""
    address = email(r["email"])
    created = moment(r["created_at"], "created_at")
    comp = flag(r["complimentary_plan"], "complimentary_plan")
    perks: tuple[tuple[str, datetime | None], ...] = ()
    if comp:
        tiers = [t for t in (r.get("tiers") or "").split(",") if t.strip()] or [""]
        slugs = dict.fromkeys(s for t in tiers for s in tier_perks(reader.catalogue, t))
        perks = tuple((slug, None) for slug in slugs)
    deleted = moment(r.get("deleted_at") or "", "deleted_at")
    return Row(
        line, address, text(r["name"]), None,
        consent=flag(r["subscribed_to_emails"], "subscribed_to_emails"),
        customer=customer(r["stripe_customer_id"]), created_at=created, perks=perks,
        note="complimentary in Ghost" if comp else "",
        skip=str(_l("Deleted in Ghost.")) if deleted else "",
    )  # fmt: skip


SUBSTACK_PLANS = {"", "free", "monthly", "month", "yearly", "annual", "year", "founding",
                  "comp", "gift", "trial", "other"}  # fmt: skip


def substack(line: int, r: dict[str, str], reader: Reader) -> Row:
    """Substack's subscriber export: Substack keeps the billing, so a paid subscriber gets the
    perks of the plan (or of the first plan here) until `expiry`, complimentary."""
    address = email(r["email"])
    created = moment(r["created_at"], "created_at")
    paid = flag(r["active_subscription"], "active_subscription")
    perks: tuple[tuple[str, datetime | None], ...] = ()
    note = ""
    if paid:
        plan = r["plan"].strip().casefold()
        slugs = (
            reader.catalogue.default
            if plan in SUBSTACK_PLANS
            else tier_perks(reader.catalogue, plan)
        )
        end = through(r["expiry"], "expiry")
        if end is None:
            raise Problem(_l("A paid subscriber without an expiry date."))
        perks = tuple((slug, end) for slug in slugs)
        note = f"paid through {day_text(end)}"
    return Row(
        line, address, text(r.get("name") or ""), None,
        consent=not flag(r["email_disabled"], "email_disabled"), created_at=created,
        perks=perks, note=note,
    )  # fmt: skip


def patreon(line: int, r: dict[str, str], reader: Reader) -> Row:
    """Patreon's members export: Patreon keeps the billing, so an active patron gets the perks
    of their tier until the paid period ends (Access Expiration, else Next Charge Date).
    Patreon records no newsletter consent: imported patrons have none."""
    address = email(r["Email"])
    status = r["Patron Status"].strip().casefold()
    created = moment(r.get("Patronage Since Date") or "", "Patronage Since Date")
    perks: tuple[tuple[str, datetime | None], ...] = ()
    note = ""
    if status == "active patron":
        slugs = tier_perks(reader.catalogue, r["Tier"])
        end = through(r.get("Access Expiration") or "", "Access Expiration") or through(
            r["Next Charge Date"], "Next Charge Date"
        )
        if end is None:
            raise Problem(_l("An active patron without a next charge date."))
        perks = tuple((slug, end) for slug in slugs)
        note = f"paid through {day_text(end)}"
    elif status not in ("declined patron", "former patron", ""):
        raise Problem(_l("Unknown patron status: %(value)s", value=r["Patron Status"][:40]))
    else:
        moment(r["Next Charge Date"], "Next Charge Date")  # still a date when present
    return Row(line, address, text(r["Name"]), None, consent=False, created_at=created,
               perks=perks, note=note)  # fmt: skip


def plain(line: int, r: dict[str, str], reader: Reader) -> Row:
    """Our plain CSV (docs/staff.md): the membership columns are Stripe's and are read back from
    it by `flask stripe reconcile`, so only the account, consent and complimentary perks are
    imported."""
    address = email(r["email"])
    locale = (r.get("language") or "").strip().lower() or None
    if locale is not None and locale not in reader.languages:
        raise Problem(_l("Unknown language: %(value)s", value=locale[:20]))
    perks = []
    for part in (r.get("complimentary") or "").split(";"):
        if not part.strip():
            continue
        slug, _, until = part.strip().partition(":")
        slug = slug.strip()
        if slug not in reader.catalogue.perks:
            raise Problem(_l("Unknown perk: %(perk)s", perk=slug[:64]))
        perks.append((slug, through(until, "complimentary")))
    return Row(
        line, address, text(r.get("name") or ""), locale,
        consent=flag(r.get("email_consent") or "", "email_consent"),
        customer=customer(r.get("stripe_customer_id") or ""),
        created_at=moment(r.get("created_at") or "", "created_at"), perks=tuple(perks),
        note="complimentary (CSV)" if perks else "",
    )  # fmt: skip


CONVERTERS: dict[str, Callable[[int, dict[str, str], Reader], Row]] = {
    "ghost": ghost,
    "substack": substack,
    "patreon": patreon,
    "csv": plain,
}


def text_stream(binary) -> io.TextIOWrapper:
    """UTF-8 text over a binary file (a byte-order mark is dropped), lines kept as written."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
