"""Stripe's lists, a page at a time, for reconciliation: split from stripe_gateway by job.

Still no `import stripe` here: every call goes through the gateway's client and `_call`, which
turn Stripe's errors into PaymentProviderError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from membership.billing import stripe_gateway as gateway
from membership.billing.stripe_objects import (
    BalanceTransaction,
    CompletedCheckout,
    Dispute,
    Invoice,
    Subscription,
)

# Objects per list call (Stripe's maximum). Callers work a page at a time: whatever they write for
# one page is committed before the next page is asked for, so no lock waits on Stripe.
PAGE_SIZE = 100


def _pages(service, created_gte: int | None, **params: Any) -> Iterator[list[dict[str, Any]]]:
    """Each page of a list endpoint (newest first), created at or after `created_gte` if given."""
    params["limit"] = PAGE_SIZE
    if created_gte:
        params["created"] = {"gte": created_gte}
    while True:
        page = gateway._call(service.list, params=params)
        data = page.get("data") or []
        if data:
            yield data
        if not page.get("has_more") or not data:
            return
        params["starting_after"] = data[-1]["id"]


def completed_checkout_pages(created_gte: int | None = None) -> Iterator[list[CompletedCheckout]]:
    """Completed Checkout Sessions with their payment intent or subscription and its latest
    invoice (expanded: one call per page)."""
    service = gateway.client().v1.checkout.sessions
    expand = ["data.payment_intent", "data.subscription.latest_invoice"]
    for page in _pages(service, created_gte, status="complete", expand=expand):
        yield [CompletedCheckout.from_stripe(o) for o in page]


def subscription_pages(created_gte: int | None = None) -> Iterator[list[Subscription]]:
    """Subscriptions of every status, with their latest invoice."""
    service = gateway.client().v1.subscriptions
    for page in _pages(service, created_gte, status="all", expand=["data.latest_invoice"]):
        yield [Subscription.from_stripe(o) for o in page]


def paid_invoice_pages(created_gte: int | None = None) -> Iterator[list[Invoice]]:
    """Paid invoices."""
    for page in _pages(gateway.client().v1.invoices, created_gte, status="paid"):
        yield [Invoice.from_stripe(o) for o in page]


def refunded_charge_pages(created_gte: int | None = None) -> Iterator[list[str]]:
    """The ids of the charges refunds were made of (in the order of the refunds, once each per
    page)."""
    for page in _pages(gateway.client().v1.refunds, created_gte):
        charges = [gateway._id(r.get("charge")) for r in page]
        yield list(dict.fromkeys(c for c in charges if c))


def dispute_pages(created_gte: int | None = None) -> Iterator[list[Dispute]]:
    """Disputes."""
    for page in _pages(gateway.client().v1.disputes, created_gte):
        yield [Dispute.from_stripe(o) for o in page]


def balance_transaction_pages(
    created_gte: int | None = None,
) -> Iterator[list[BalanceTransaction]]:
    """Balance transactions (charges, refunds, dispute adjustments), each with its fee and its
    source expanded (for the payment intent behind it: one call per page)."""
    service = gateway.client().v1.balance_transactions
    for page in _pages(service, created_gte, expand=["data.source"]):
        yield [t for t in map(BalanceTransaction.from_stripe, page) if t is not None]
