"""Reward perks for gifts: granted when a gift reaches a tier, ended when refunds or lost
disputes take it below again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from membership import audit
from membership.extensions import db
from membership.fundraisers.models import Donation, RewardTier
from membership.gifts.services import add_months
from membership.ledger.models import LedgerEntry
from membership.ledger.services import effective_reversals
from membership.perks.models import GrantSource, PerkGrant
from membership.timeutil import utcnow


def grant_rewards(donation: Donation, amount: int) -> list[PerkGrant]:
    """Grant the reward tiers a gift reaches (donors with an account only), once per donation.

    Per perk the longest qualifying tier wins; the grant starts when the gift was paid. Refunds
    and lost disputes already in the ledger then end it where they would have (end_rewards).
    """
    if donation.user_id is None:
        return []
    best: dict[int, RewardTier] = {}
    for tier in donation.campaign.reward_tiers:
        current = best.get(tier.perk_id)
        if amount >= tier.minimum and (current is None or tier.months > current.months):
            best[tier.perk_id] = tier
    grants = []
    ref = f"donation-{donation.id}"
    start = donation.paid_at or utcnow()
    for perk_id, tier in best.items():
        exists = db.session.scalar(
            select(PerkGrant.id).where(
                PerkGrant.user_id == donation.user_id,
                PerkGrant.perk_id == perk_id,
                PerkGrant.source == GrantSource.reward,
                PerkGrant.source_ref == ref,
            )
        )
        if exists is not None:
            continue
        grant = PerkGrant(
            user_id=donation.user_id,
            perk_id=perk_id,
            source=GrantSource.reward,
            source_ref=ref,
            starts_at=start,
            ends_at=add_months(start, tier.months),
            reason=f"reward: {tier.title or donation.campaign.title}"[:255],
        )
        db.session.add(grant)
        db.session.flush()
        audit.record("perk.reward", "user", donation.user_id, perk=tier.perk.slug,
                     donation=donation.id, months=tier.months)  # fmt: skip
        grants.append(grant)
    if grants:
        end_rewards(donation)
    return grants


REWARD_ENDED = "reward ended: the gift was refunded or disputed"
REWARD_RESTORED = "reward: given back, the refund that ended it failed"


def _crossing(payments: list[LedgerEntry], reversals: list[LedgerEntry], minimum: int):
    """When the gift stopped reaching `minimum`: None while one of its payments still does.

    Each payment nets its own refunds and lost disputes in the order they happened; the gift
    stops qualifying when the last payment that reached the minimum falls below it.
    """
    moments = []
    for payment in payments:
        if payment.amount < minimum:
            continue
        net = payment.amount
        fell = None
        for row in reversals:
            if row.reverses_id == payment.id:
                net += row.amount
                if net < minimum:
                    fell = row.occurred_at
                    break
        if fell is None:
            return None
        moments.append(fell)
    return max(moments) if moments else None


def _entitled_until(
    tiers: list[RewardTier],
    payments: list[LedgerEntry],
    reversals: list[LedgerEntry],
    start: datetime,
) -> datetime | None:
    """Until when the gift's payments, net of reversals, earn a perk from these tiers.

    A tier the gift still reaches lasts its months; one it reached before a refund or a lost
    dispute lasts until that moment (never past its months). The longest wins, so a gift that
    still reaches a lower tier keeps the perk for that tier's months. None: no tier was reached.
    """
    ends = []
    for tier in tiers:
        if not any(payment.amount >= tier.minimum for payment in payments):
            continue
        end = add_months(start, tier.months)
        fell = _crossing(payments, reversals, tier.minimum)
        ends.append(end if fell is None else min(end, fell))
    return max(ends) if ends else None


def end_rewards(donation: Donation) -> list[PerkGrant]:
    """End the donation's reward grants its net gift no longer earns (refunds, lost disputes);
    give back one that a refund ended when that refund failed or was canceled.

    The end is worked out from the ledger rows alone (when each payment fell below a tier's
    minimum, counting only refunds that were not undone), so duplicated or reordered refund and
    dispute events end in the same state. The grant stays, revoked, with the reason; a grant
    someone else revoked earlier is left alone.
    """
    if donation.user_id is None:
        return []
    grants = list(
        db.session.scalars(
            select(PerkGrant).where(
                PerkGrant.user_id == donation.user_id,
                PerkGrant.source == GrantSource.reward,
                PerkGrant.source_ref == f"donation-{donation.id}",
            )
        )
    )
    if not grants:
        return []
    rows = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.donation_id == donation.id)
            .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
        )
    )
    payments = [row for row in rows if row.reverses_id is None and row.amount > 0]
    reversals = effective_reversals(rows)
    if not reversals and not any(grant.reason == REWARD_ENDED for grant in grants):
        return []
    changed = []
    for grant in grants:
        tiers = [t for t in donation.campaign.reward_tiers if t.perk_id == grant.perk_id]
        until = _entitled_until(tiers, payments, reversals, grant.starts_at)
        if until is None:
            continue  # no current tier to judge by (staff removed it)
        ours = grant.revoked_at is not None and grant.reason == REWARD_ENDED
        if grant.ends_at is not None and until >= grant.ends_at:
            if ours:  # the refund that ended it failed or was canceled
                grant.revoked_at = None
                grant.reason = REWARD_RESTORED
                audit.record("perk.reward_restored", "user", donation.user_id,
                             perk=grant.perk.slug, donation=donation.id)  # fmt: skip
                changed.append(grant)
            continue
        until = max(until, grant.starts_at)
        if grant.revoked_at == until:
            continue
        if not ours and grant.revoked_at is not None and grant.revoked_at < until:
            continue  # revoked earlier for another reason
        grant.revoked_at = until
        grant.reason = REWARD_ENDED
        audit.record("perk.reward_ended", "user", donation.user_id, perk=grant.perk.slug,
                     donation=donation.id, until=until.isoformat())  # fmt: skip
        changed.append(grant)
    if changed:
        db.session.flush()
    return changed
