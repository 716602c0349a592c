"""What staff read instead of codes: event statuses, ledger kinds, perk sources, roles, and the
audit trail as sentences in the page's language (its raw details stay one click away)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from membership.audit import AuditEntry
from membership.billing.labels import interval_label, status_label
from membership.billing.models import Plan
from membership.extensions import db
from membership.money import format_money
from membership.perks.models import Perk

EVENT_STATUS = {
    "received": _l("received"),
    "processed": _l("processed"),
    "ignored": _l("ignored"),
    "failed": _l("failed"),
}
ENTRY_KIND = {
    "membership": _l("membership"),
    "gift": _l("one-time gift"),
    "monthly_gift": _l("monthly gift"),
    "offline": _l("recorded by hand"),
    "refund": _l("refund"),
    "dispute": _l("lost dispute"),
    "refund_failed": _l("refund reversed"),
}
GRANT_SOURCE = {
    "membership": _l("membership"),
    "complimentary": _l("on the house"),
    "gift": _l("gift membership"),
    "reward": _l("fundraiser reward"),
}
ROLE = {"member": _l("member"), "staff": _l("staff member"), "admin": _l("administrator")}
CAMPAIGN_STATUS = {"draft": _l("draft"), "live": _l("live"), "ended": _l("ended")}
DONATION_STATUS = {
    "pending": _l("awaiting payment"),
    "paid": _l("paid"),
    "active": _l("active"),
    "ended": _l("stopped"),
}
GIFT_STATUS = {
    "pending": _l("awaiting payment"),
    "paid": _l("paid"),
    "redeemed": _l("redeemed"),
    "refunded": _l("refunded"),
    "disputed": _l("disputed"),
}
# Refunds, disputes and payments as Stripe names their states (the unattributed money list).
STRIPE_STATUS = {
    "succeeded": _l("succeeded"),
    "pending": _l("pending"),
    "failed": _l("failed"),
    "canceled": _l("cancelled"),
    "requires_action": _l("awaiting the card holder"),
    "lost": _l("lost"),
    "won": _l("won"),
    "needs_response": _l("awaiting our answer"),
    "under_review": _l("under review"),
    "warning_needs_response": _l("awaiting our answer"),
    "warning_under_review": _l("under review"),
    "warning_closed": _l("closed"),
}


def _word(table: dict) -> Callable[[object], str]:
    """A filter: the word for a code, or the code itself when there is none yet."""

    def word(code: object) -> str:
        key = getattr(code, "value", code)
        found = table.get(key)
        return str(found) if found else str(key or "—")

    return word


event_status_label = _word(EVENT_STATUS)
entry_kind_label = _word(ENTRY_KIND)
grant_source_label = _word(GRANT_SOURCE)
role_label = _word(ROLE)
campaign_status_label = _word(CAMPAIGN_STATUS)
donation_status_label = _word(DONATION_STATUS)
gift_status_label = _word(GIFT_STATUS)
stripe_status_label = _word(STRIPE_STATUS)


def rule_kind_label(kind: object) -> str:
    """An access rule's kind of reference as the rule form names it ("Article slug")."""
    from membership.access.forms import kind_choices  # the form's own words, one place

    key = getattr(kind, "value", kind)
    return str(dict(kind_choices()).get(key, key))


def touch_text(row) -> str:
    """Where a reader came from, in a line: "newsletter / email / spring · article housing-series
    · linked from news.example.org · landed on /plans" (membership.attribution's row)."""
    if row is None:
        return ""
    parts = []
    tags = " / ".join(v for v in (row.source, row.medium, row.campaign) if v)
    if tags:
        parts.append(tags)
    if row.referrer:
        parts.append(_("linked from %(host)s", host=row.referrer))
    if row.ref:
        parts.append(_("article %(ref)s", ref=row.ref))
    if row.landing:
        parts.append(_("landed on %(path)s", path=row.landing))
    return " · ".join(parts)


# --- the audit trail ------------------------------------------------------------------------


class Names:
    """Perk and plan names by slug, read once per page (details keep slugs)."""

    def __init__(self) -> None:
        self.perks = dict(db.session.execute(select(Perk.slug, Perk.name)).all())
        self.plans = dict(db.session.execute(select(Plan.slug, Plan.name)).all())

    def perk(self, slug: object) -> str:
        """A perk's name, or its slug when it is gone."""
        return self.perks.get(str(slug), str(slug or "—"))

    def plan(self, slug: object) -> str:
        """A plan's name, or its slug when it is gone."""
        return self.plans.get(str(slug), str(slug or "—"))


def _day(value: object) -> str:
    """An ISO date or timestamp from the details, as a date in the page's language."""
    if not value:
        return "—"
    try:
        return format_date(datetime.fromisoformat(str(value)).date(), "medium")
    except ValueError:
        return str(value)


def _synced(details: dict) -> str:
    """A membership mirrored from Stripe: its new status, else which fields changed."""
    changes = details.get("changes") or {}
    status = changes.get("status")
    if isinstance(status, list) and len(status) == 2 and status[0] != status[1]:
        if status[0] is None:
            return _("Membership recorded from Stripe: %(status)s.", status=status_label(status[1]))
        return _(
            "Membership changed from %(old)s to %(new)s (from Stripe).",
            old=status_label(status[0]),
            new=status_label(status[1]),
        )
    if "current_period_end" in changes:
        return _(
            "Membership renewed: paid until %(day)s.", day=_day(changes["current_period_end"][-1])
        )
    if "recurring_amount" in changes or "amount" in changes:
        return _("Membership amount updated from Stripe.")
    return _("Membership updated from Stripe.")


def _window(details: dict, names: Names) -> str:
    """Perks opened or closed by a membership."""
    perks = [names.perk(g.get("perk")) for g in details.get("grants") or [] if isinstance(g, dict)]
    return _("Perks follow the membership: %(perks)s.", perks=", ".join(perks) or "—")


def _money(details: dict) -> str:
    """The amount of the details in their currency, when both are there."""
    amount, currency = details.get("amount"), details.get("currency")
    if isinstance(amount, int) and currency:
        return format_money(amount, str(currency))
    return "—"


SENTENCES: dict[str, Callable[[dict, Names], str]] = {
    "account.registered": lambda d, n: _("Account created."),
    "account.registration_refused": lambda d, n: _(
        "Someone tried to register again with this address (no second account was made)."
    ),
    "account.verified": lambda d, n: _("E-mail address confirmed."),
    "account.signed_out": lambda d, n: _("Signed out on every device."),
    "account.password_reset": lambda d, n: _("Password reset through the e-mailed link."),
    "account.password_changed": lambda d, n: _("Password changed."),
    "account.email_changed": lambda d, n: _("E-mail address changed."),
    "account.deleted": lambda d, n: _("Account deleted."),
    "account.role_set": lambda d, n: _("Role set to %(role)s.", role=role_label(d.get("role"))),
    "checkout.started": lambda d, n: _(
        "Checkout started for %(plan)s, every %(interval)s.",
        plan=n.plan(d.get("plan")),
        interval=interval_label(d.get("interval")),
    ),
    "checkout.others_expired": lambda d, n: _(
        "Other open checkouts closed after a payment went through."
    ),
    "membership.synced": lambda d, n: _synced(d),
    "membership.duplicate_cancelled": lambda d, n: _(
        "A second membership paid by mistake was cancelled and refunded."
    ),
    "membership.cancel_at_period_end": lambda d, n: _(
        "Asked to end the membership with the paid period."
    ),
    "membership.resumed": lambda d, n: _("Membership resumed: it renews again."),
    "perk.window": _window,
    "perk.granted": lambda d, n: _(
        "%(perk)s granted on the house until %(day)s.",
        perk=n.perk(d.get("perk")),
        day=_day(d.get("until")),
    ),
    "perk.withdrawn": lambda d, n: _("%(perk)s withdrawn.", perk=n.perk(d.get("perk"))),
    "perk.reward": lambda d, n: _(
        "%(perk)s given as a fundraiser reward.", perk=n.perk(d.get("perk"))
    ),
    "perk.reward_restored": lambda d, n: _(
        "%(perk)s given back as a fundraiser reward.", perk=n.perk(d.get("perk"))
    ),
    "perk.reward_ended": lambda d, n: _(
        "%(perk)s (fundraiser reward) ended on %(day)s.",
        perk=n.perk(d.get("perk")),
        day=_day(d.get("until")),
    ),
    "perk.gift_ended": lambda d, n: _(
        "Perks of a gift membership ended on %(day)s.", day=_day(d.get("until"))
    ),
    "gift.redeemed": lambda d, n: _(
        "Gift membership redeemed, until %(day)s.", day=_day(d.get("until"))
    ),
    "donation.stopped": lambda d, n: _("Monthly gift stopped."),
    "staff.note_added": lambda d, n: _("Staff note added."),
    "staff.verification_resent": lambda d, n: _("Confirmation link sent again."),
    "payment.refund_requested": lambda d, n: _(
        "Refund of %(amount)s asked of Stripe.", amount=_money(d)
    ),
    "stripe.customer_deleted": lambda d, n: _("Customer record deleted at Stripe."),
}


def sentence(entry: AuditEntry, names: Names) -> str:
    """What the entry records, as a sentence staff read; an action without one yet shows its
    code, so nothing is hidden."""
    build = SENTENCES.get(entry.action)
    if build is None:
        return entry.action
    try:
        return build(entry.details or {}, names)
    except (AttributeError, KeyError, TypeError, ValueError):  # details older than the sentence
        return entry.action


def details_text(details: dict) -> str:
    """The raw details, indented, for the folded part under the sentence."""

    def plain(value: object) -> object:
        return value.isoformat() if isinstance(value, (date, datetime)) else str(value)

    return json.dumps(details or {}, indent=2, ensure_ascii=False, sort_keys=True, default=plain)
