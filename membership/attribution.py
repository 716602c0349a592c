"""Where members come from: the first touch (utm_source/medium/campaign, the article `ref`, the
referring site's host, the landing page), kept from the landing request until signup and the
first payment.

The landing request's values go into the signed session cookie (validated and size-bounded:
short printable values only, an outside referrer reduced to its host, our own pages never a
referrer). The first request that carries any of them sets it; a visit with none (a typed
address, a bookmark) sets nothing, and nothing overwrites it afterwards. Signup copies it onto an
`attributions` row of the account; Checkout carries it in the subscription's metadata, and the
first mirror of the subscription copies it onto a row of the membership (or the account's own,
when the session had none): each row is written once and never changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from flask import Flask, current_app, request, session
from sqlalchemy import CheckConstraint, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from membership.extensions import db
from membership.timeutil import UTCDateTime, utcnow

SESSION_KEY = "first_touch"
# What a touch holds, and how long each value may be (the session cookie stays small).
FIELDS = {"source": 100, "medium": 100, "campaign": 100, "ref": 200, "referrer": 253,
          "landing": 200}  # fmt: skip
UTM = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "campaign"}
# Printable text without control characters, quotes or angle brackets: what a campaign tag is.
PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f<>\"'`\\]+$")
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")
# Paths that are never a landing: machines, staff, the reader's own pages, Stripe's return.
NOT_LANDINGS = ("/static/", "/api/", "/webhooks/", "/healthz", "/admin", "/account", "/checkout",
                "/verify-email", "/reset-password", "/logout")  # fmt: skip


class Attribution(db.Model):
    """The first touch of an account at signup, or of a membership at its first payment."""

    __tablename__ = "attributions"
    __table_args__ = (
        CheckConstraint(
            "(user_id IS NULL) <> (membership_id IS NULL)", name="one_owner"
        ),  # an account's signup, or a membership's first payment: exactly one
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id"), unique=True)
    source: Mapped[str | None] = mapped_column(String(100), index=True)
    medium: Mapped[str | None] = mapped_column(String(100))
    campaign: Mapped[str | None] = mapped_column(String(100))
    ref: Mapped[str | None] = mapped_column(String(200))
    referrer: Mapped[str | None] = mapped_column(String(253))  # the referring site's host
    landing: Mapped[str | None] = mapped_column(String(200))  # the path of the landing page
    touched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the landing visit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def touch(self) -> dict[str, str]:
        """The row's values as a touch."""
        return {k: v for k in FIELDS if (v := getattr(self, k))}


# --- validating ---------------------------------------------------------------------------


def clean(value: object, limit: int) -> str | None:
    """A short printable value, trimmed; None for anything else (too long, control characters,
    markup): a bad tag is dropped, never cut into something that looks right."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > limit or not PRINTABLE.match(value):
        return None
    return value


def referrer_host(header: str | None, own_hosts: set[str]) -> str | None:
    """The host of an outside page that linked here (`news.example.org`), None for our own
    pages, a missing or odd header."""
    if not header or len(header) > 2000:
        return None
    try:
        parts = urlsplit(header)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not HOST.match(host) or host in own_hosts:
        return None
    return host.removeprefix("www.")


def validated(touch: Mapping | None) -> dict[str, str]:
    """Only the known fields with acceptable values (what the session or metadata held may be
    anything: the cookie is signed, Stripe's metadata is ours, but both outlive their code)."""
    if not isinstance(touch, Mapping):
        return {}
    out = {}
    for name, limit in FIELDS.items():
        value = clean(touch.get(name), limit)
        if value and name == "referrer" and not HOST.match(value):
            value = None
        if value:
            out[name] = value
    if isinstance(touch.get("at"), str) and clean(touch["at"], 40):
        out["at"] = touch["at"]
    return out


# --- the landing request ------------------------------------------------------------------


def _own_hosts() -> set[str]:
    """This site's host names: a link from one of our pages is no referrer."""
    hosts = {request.host.split(":")[0].lower()}
    base = urlsplit(current_app.config.get("BASE_URL") or "").hostname
    return hosts | ({base.lower()} if base else set())


def from_request() -> dict[str, str]:
    """The touch the current request carries: utm_* and ref from its query, the referrer's
    host; empty when it carries none of them."""
    args = request.args
    touch = {name: v for key, name in UTM.items() if (v := clean(args.get(key), FIELDS[name]))}
    if ref := clean(args.get("ref"), FIELDS["ref"]):
        touch["ref"] = ref
    if host := referrer_host(request.headers.get("Referer"), _own_hosts()):
        touch["referrer"] = host
    if touch:
        if landing := clean(request.path, FIELDS["landing"]):
            touch["landing"] = landing
        touch["at"] = utcnow().isoformat(timespec="seconds")
    return touch


def capture() -> None:
    """before_request: keep the first touch in the session; never replace one."""
    if request.method != "GET" or request.path.startswith(NOT_LANDINGS):
        return
    if request.path.endswith("/embed"):  # the widget framed by a newsroom's page: not a visit
        return
    touch = from_request()
    # The session only when there is a touch to keep: a page that never reads it stays
    # cacheable by everyone (no `Vary: Cookie`), as the public APIs and widget must be.
    if touch and SESSION_KEY not in session:
        session[SESSION_KEY] = touch


def current() -> dict[str, str]:
    """The first touch kept in this visitor's session (empty when there is none)."""
    return validated(session.get(SESSION_KEY))


def init_app(app: Flask) -> None:
    """Capture first touches on every landing page; keep them through sign-in."""
    from membership.security import KEPT_AT_SIGN_IN

    KEPT_AT_SIGN_IN.add(SESSION_KEY)
    app.before_request(capture)


# --- recording ----------------------------------------------------------------------------


def _row(touch: Mapping, **owner) -> Attribution | None:
    """A new row for the touch, or None when it holds nothing."""
    values = validated(touch)
    at = values.pop("at", None)
    if not values:
        return None
    try:
        touched = datetime.fromisoformat(at) if at else None
    except ValueError:
        touched = None
    return Attribution(**owner, **values, touched_at=touched)


def signup_of(user_id: int) -> Attribution | None:
    """The first touch an account signed up with."""
    return db.session.scalar(select(Attribution).where(Attribution.user_id == user_id))


def membership_of(membership_id: int) -> Attribution | None:
    """The first touch a membership was paid with."""
    return db.session.scalar(select(Attribution).where(Attribution.membership_id == membership_id))


def record_signup(user_id: int, touch: Mapping) -> Attribution | None:
    """Keep the touch a new account signed up with (once: an existing row stays)."""
    if signup_of(user_id) is not None:
        return None
    row = _row(touch, user_id=user_id)
    if row is not None:
        db.session.add(row)
        db.session.flush()
    return row


def for_checkout(user_id: int, touch: Mapping) -> dict[str, str]:
    """Checkout metadata for the first touch: the session's, else the account's signup touch
    (a reader who joins weeks later, from a new browser). Keys prefixed `ft_`, values short."""
    values = validated(touch) or (row.touch() if (row := signup_of(user_id)) else {})
    return {f"ft_{k}": v for k, v in values.items()}


def from_metadata(metadata: Mapping) -> dict[str, str]:
    """The touch Checkout carried (for_checkout's keys)."""
    return validated({k.removeprefix("ft_"): v for k, v in metadata.items() if k.startswith("ft_")})


def record_membership(membership_id: int, user_id: int | None, metadata: Mapping) -> None:
    """At a membership's first mirror: its first touch from the Checkout metadata, else the
    account's signup touch. Written once; a later event never changes it."""
    if membership_of(membership_id) is not None:
        return
    touch = from_metadata(metadata)
    if not touch and user_id is not None and (signup := signup_of(user_id)) is not None:
        touch = signup.touch()
    row = _row(touch, membership_id=membership_id)
    if row is not None:
        db.session.add(row)
        db.session.flush()


def source_of(row: Attribution | None) -> str:
    """A row's source as the report groups it: utm_source, else the referring host, else ""
    (direct, or unknown)."""
    if row is None:
        return ""
    return row.source or row.referrer or ""
