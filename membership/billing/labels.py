"""What a payments table says for each ledger row, in the page's language.

A row's `description` is a note in English written when the money moved ("Supporter (month)",
"refund"), kept for exports and for staff searching the ledger. The reader's account page and a
member's file name the row from what it is instead: its kind, the plan and interval, the outlet
or campaign, whose own names are the newsroom's data.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from membership.billing.models import Membership
from membership.extensions import db
from membership.fundraisers.models import Campaign, Outlet
from membership.ledger.models import EntryKind, LedgerEntry


def payment_label(entry: LedgerEntry) -> str:
    """The payment's name for people: "Supporter, monthly", "Gift to River Daily"."""
    kind = entry.kind
    if kind == EntryKind.membership:
        membership = entry.membership_id and db.session.get(Membership, entry.membership_id)
        if not membership:  # a membership bought as a gift for someone else
            return _("Gift membership")
        plan = membership.plan.name if membership.plan else _("Membership")
        if membership.interval == "year":
            return _("%(plan)s, yearly", plan=plan)
        return _("%(plan)s, monthly", plan=plan)
    gift = kind in (EntryKind.gift, EntryKind.monthly_gift, EntryKind.offline)
    target = _target(entry) if gift else None
    if target:
        if kind == EntryKind.monthly_gift:
            return _("Monthly gift to %(target)s", target=target)
        if kind == EntryKind.offline:
            return _("Gift to %(target)s by bank transfer", target=target)
        return _("Gift to %(target)s", target=target)
    if kind == EntryKind.refund:
        return _("Refund to the card")
    if kind == EntryKind.refund_failed:
        return _("Refund did not go through")
    if kind == EntryKind.dispute:
        return _("Disputed: returned to the card")
    return entry.description


def _target(entry: LedgerEntry) -> str | None:
    """The outlet a gift was for, else its campaign (None for a row of neither)."""
    outlet = entry.outlet_id and db.session.get(Outlet, entry.outlet_id)
    if outlet:
        return outlet.name
    campaign = entry.campaign_id and db.session.get(Campaign, entry.campaign_id)
    return campaign.title if campaign else None


# A membership's status as Stripe names it (`past_due`, `incomplete_expired` …), in words.
STATUS_WORDS = {
    "active": _l("active"),
    "trialing": _l("free trial"),
    "past_due": _l("payment due"),
    "unpaid": _l("unpaid"),
    "paused": _l("paused"),
    "canceled": _l("cancelled"),
    "incomplete": _l("awaiting the first payment"),
    "incomplete_expired": _l("first payment never made"),
}
INTERVAL_WORDS = {"month": _l("month"), "year": _l("year")}


def status_label(status: str | None) -> str:
    """A membership status in the page's language ("payment due" for `past_due`); a status
    Stripe adds later shows as it is, so that nothing is hidden."""
    word = STATUS_WORDS.get(status or "")
    return str(word) if word else (status or "—")


def interval_label(interval: str | None) -> str:
    """ "month" or "year" in the page's language."""
    word = INTERVAL_WORDS.get(interval or "")
    return str(word) if word else (interval or "")
