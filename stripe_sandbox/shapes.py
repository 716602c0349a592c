"""Builders for the current (2026-10-28.endive) shapes of the objects the sandbox serves."""

from __future__ import annotations

import secrets
import string
from typing import Any

_ALNUM = string.ascii_letters + string.digits
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
}  # fmt: skip


def new_id(prefix: str, length: int = 24) -> str:
    """Return a Stripe-looking random id with the given prefix."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def _address() -> dict[str, Any]:
    return dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state"))


def product(now: int, name: str) -> dict[str, Any]:
    """A product with every current top-level field."""
    return {
        "id": new_id("prod_", 14), "object": "product", "active": True, "created": now,
        "default_price": None, "description": None, "images": [], "livemode": False,
        "marketing_features": [], "metadata": {}, "name": name, "package_dimensions": None,
        "shippable": None, "statement_descriptor": None, "tax_code": None, "type": "service",
        "unit_label": None, "updated": now, "url": None,
    }  # fmt: skip


def price(now: int, product_id: str, currency: str, unit_amount: int) -> dict[str, Any]:
    """A one-time per-unit price; callers fill ``recurring`` for subscriptions."""
    return {
        "id": new_id("price_"), "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": now, "currency": currency, "custom_unit_amount": None, "livemode": False,
        "lookup_key": None, "metadata": {}, "nickname": None, "product": product_id,
        "recurring": None, "tax_behavior": "unspecified", "tiers_mode": None,
        "transform_quantity": None, "type": "one_time", "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }  # fmt: skip


def recurring(interval: str, count: int, trial_days: int | None = None) -> dict[str, Any]:
    """The ``recurring`` hash of a price."""
    return {
        "interval": interval, "interval_count": count, "meter": None,
        "trial_period_days": trial_days, "usage_type": "licensed",
    }  # fmt: skip


def plan_from_price(p: dict[str, Any]) -> dict[str, Any]:
    """The legacy ``plan`` view of a recurring price, still present on subscription items."""
    rec = p.get("recurring") or {}
    return {
        "id": p["id"], "object": "plan", "active": p["active"], "amount": p["unit_amount"],
        "amount_decimal": p["unit_amount_decimal"], "billing_scheme": "per_unit",
        "created": p["created"], "currency": p["currency"], "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count"), "livemode": False,
        "metadata": p["metadata"], "meter": None, "nickname": p["nickname"],
        "product": p["product"], "tiers_mode": None, "transform_usage": None,
        "trial_period_days": rec.get("trial_period_days"), "usage_type": "licensed",
    }  # fmt: skip


def customer(now: int, email: str | None, name: str | None) -> dict[str, Any]:
    """A customer with every current top-level field."""
    return {
        "id": new_id("cus_", 14), "object": "customer", "address": None, "balance": 0,
        "created": now, "currency": None, "default_source": None, "delinquent": False,
        "description": None, "discount": None, "email": email,
        "invoice_prefix": new_id("", 8).upper(),
        "invoice_settings": {
            "custom_fields": None, "default_payment_method": None, "footer": None,
            "rendering_options": None,
        },
        "livemode": False, "metadata": {}, "name": name, "next_invoice_sequence": 1,
        "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        "test_clock": None,
    }  # fmt: skip


def card_details(number: str) -> dict[str, Any]:
    """Brand and last four digits of a test card number."""
    brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(number[:1], "unknown")
    return {"brand": brand, "last4": number[-4:], "exp_month": 12, "exp_year": 2034}


def payment_method(now: int, number: str, email: str | None) -> dict[str, Any]:
    """A card payment method built from a test card number."""
    card = card_details(number)
    return {
        "id": new_id("pm_"), "object": "payment_method", "allow_redisplay": "unspecified",
        "billing_details": {"address": _address(), "email": email, "name": None, "phone": None,
                            "tax_id": None},
        "card": {
            "brand": card["brand"], "checks": {"address_line1_check": None,
            "address_postal_code_check": None, "cvc_check": "pass"}, "country": "US",
            "display_brand": card["brand"], "exp_month": card["exp_month"],
            "exp_year": card["exp_year"], "fingerprint": "sbx" + number[-8:],
            "funding": "credit", "generated_from": None, "last4": card["last4"],
            "networks": {"available": [card["brand"]], "preferred": None},
            "regulated_status": "unregulated", "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now, "customer": None, "customer_account": None, "livemode": False,
        "metadata": {}, "type": "card", "_number": number,
    }  # fmt: skip


def payment_intent(now: int, amount: int, currency: str) -> dict[str, Any]:
    """A card payment intent awaiting a payment method."""
    pid = new_id("pi_")
    return {
        "id": pid, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
        "application_fee_amount": None, "automatic_payment_methods": None,
        "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{pid}_secret_{new_id('', 25)}", "confirmation_method": "automatic",
        "created": now, "currency": currency, "customer": None, "customer_account": None,
        "description": None, "excluded_payment_method_types": None,
        "last_payment_error": None, "latest_charge": None, "livemode": False,
        "managed_payments": None, "metadata": {}, "next_action": None, "on_behalf_of": None,
        "payment_method": None, "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "processing": None, "receipt_email": None,
        "review": None, "setup_future_usage": None, "shipping": None, "source": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": "requires_payment_method", "transfer_data": None, "transfer_group": None,
    }  # fmt: skip


def charge(now: int, pi: dict[str, Any], pm: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A card charge for a payment intent's amount."""
    cid = new_id("ch_")
    return {
        "id": cid, "object": "charge", "amount": pi["amount"], "amount_captured": 0,
        "amount_refunded": 0, "application": None, "application_fee": None,
        "application_fee_amount": None, "balance_transaction": None,
        "billing_details": pm["billing_details"], "calculated_statement_descriptor": "SANDBOX",
        "captured": False, "created": now, "currency": pi["currency"],
        "customer": pi["customer"], "description": pi["description"], "disputed": False,
        "failure_balance_transaction": None, "failure_code": None, "failure_message": None,
        "fraud_details": {}, "livemode": False, "metadata": dict(pi["metadata"]),
        "on_behalf_of": None, "outcome": None, "paid": False, "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {"card": {
            "amount_authorized": pi["amount"], "brand": pm["card"]["brand"],
            "checks": pm["card"]["checks"], "country": "US",
            "exp_month": pm["card"]["exp_month"], "exp_year": pm["card"]["exp_year"],
            "fingerprint": pm["card"]["fingerprint"], "funding": "credit",
            "last4": pm["card"]["last4"], "network": pm["card"]["brand"],
        }, "type": "card"},
        "receipt_email": pi["receipt_email"], "receipt_number": None,
        "receipt_url": f"{base_url}/receipts/{cid}", "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False,
                    "url": f"/v1/charges/{cid}/refunds"},
        "review": None, "shipping": None, "source": None, "source_transfer": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": "pending", "transfer_data": None, "transfer_group": None,
    }  # fmt: skip


_DECLINED_MESSAGE = "The bank did not return any further details with this decline."


def outcome(ok: bool, decline_code: str | None = None) -> dict[str, Any]:
    """The ``outcome`` hash of a charge."""
    return {
        "advice_code": None, "network_advice_code": None, "network_decline_code": None,
        "network_status": "approved_by_network" if ok else "declined_by_network",
        "reason": None if ok else decline_code, "risk_level": "normal", "risk_score": 20,
        "seller_message": "Payment complete." if ok else _DECLINED_MESSAGE,
        "type": "authorized" if ok else "issuer_declined",
    }  # fmt: skip


def refund(now: int, ch: dict[str, Any], amount: int, reason: str | None) -> dict[str, Any]:
    """A succeeded card refund."""
    return {
        "id": new_id("re_"), "object": "refund", "amount": amount, "balance_transaction": None,
        "charge": ch["id"], "created": now, "currency": ch["currency"],
        "customer": ch["customer"], "customer_account": None,
        "failure_balance_transaction": None,
        "destination_details": {"card": {"reference_status": "pending",
                                         "reference_type": "acquirer_reference_number",
                                         "type": "refund"}, "type": "card"},
        "metadata": {}, "payment_intent": ch["payment_intent"],
        "payment_method": ch["payment_method"], "reason": reason, "receipt_number": None,
        "source_transfer_reversal": None, "status": "succeeded", "transfer_reversal": None,
    }  # fmt: skip


def dispute(now: int, ch: dict[str, Any], reason: str) -> dict[str, Any]:
    """A dispute opened against a whole charge."""
    return {
        "id": new_id("dp_"), "object": "dispute", "amount": ch["amount"],
        "balance_transactions": [], "charge": ch["id"], "created": now,
        "currency": ch["currency"], "enhanced_eligibility_types": [],
        "evidence": {}, "evidence_details": {"due_by": now + 7 * 86400, "has_evidence": False,
                                             "past_due": False, "submission_count": 0,
                                             "enhanced_eligibility": {}},
        "is_charge_refundable": False, "livemode": False, "metadata": {},
        "payment_intent": ch["payment_intent"],
        "payment_method_details": {"card": {"brand": ch["payment_method_details"]["card"]["brand"],
                                            "case_type": "chargeback",
                                            "network_reason_code": "10.4"}, "type": "card"},
        "reason": reason, "status": "needs_response",
    }  # fmt: skip


def coupon(now: int, cid: str | None) -> dict[str, Any]:
    """A coupon; callers set the discount and duration."""
    return {
        "id": cid or new_id("", 8), "object": "coupon", "amount_off": None, "created": now,
        "currency": None, "duration": "once", "duration_in_months": None, "livemode": False,
        "max_redemptions": None, "metadata": {}, "name": None, "percent_off": None,
        "redeem_by": None, "times_redeemed": 0, "valid": True,
    }  # fmt: skip


def promotion_code(now: int, code: str, coupon_id: str) -> dict[str, Any]:
    """A promotion code in the current shape (``promotion.coupon``, no top-level ``coupon``)."""
    return {
        "id": new_id("promo_"), "object": "promotion_code", "active": True, "code": code,
        "created": now, "customer": None, "customer_account": None, "expires_at": None,
        "livemode": False, "max_redemptions": None, "metadata": {},
        "promotion": {"coupon": coupon_id, "type": "coupon"},
        "restrictions": {"first_time_transaction": False, "minimum_amount": None,
                         "minimum_amount_currency": None},
        "times_redeemed": 0,
    }  # fmt: skip


def checkout_session(now: int, mode: str) -> dict[str, Any]:
    """An open Checkout Session; callers fill amounts, urls and customer fields."""
    return {
        "id": new_id("cs_test_", 58), "object": "checkout.session", "adaptive_pricing": None,
        "after_expiration": None, "allow_promotion_codes": None, "amount_subtotal": 0,
        "amount_total": 0, "automatic_tax": {"enabled": False, "liability": None,
                                             "provider": None, "status": None},
        "billing_address_collection": None, "cancel_url": None, "client_reference_id": None,
        "client_secret": None, "collected_information": None, "consent": None,
        "consent_collection": None, "created": now, "currency": None,
        "currency_conversion": None, "custom_fields": [], "custom_text": {
            "after_submit": None, "shipping_address": None, "submit": None,
            "terms_of_service_acceptance": None},
        "customer": None, "customer_account": None, "customer_creation": None,
        "customer_details": None, "customer_email": None, "discounts": [],
        "expires_at": now + 86400, "integration_identifier": None, "invoice": None,
        "invoice_creation": None, "livemode": False, "locale": None, "managed_payments": None,
        "metadata": {}, "mode": mode, "origin_context": None, "payment_intent": None,
        "payment_link": None, "payment_method_collection": "always",
        "payment_method_configuration_details": None, "payment_method_options": {},
        "payment_method_types": ["card"], "payment_status": "unpaid", "permissions": None,
        "phone_number_collection": {"enabled": False}, "recovered_from": None,
        "saved_payment_method_options": None, "setup_intent": None,
        "shipping_address_collection": None, "shipping_cost": None, "shipping_options": [],
        "status": "open", "submit_type": None, "subscription": None, "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted", "url": None, "wallet_options": None,
    }  # fmt: skip


def customer_details(email: str | None) -> dict[str, Any]:
    """The ``customer_details`` hash a completed Checkout Session carries."""
    return {
        "address": None, "business_name": None, "email": email, "individual_name": None,
        "name": None, "phone": None, "tax_exempt": "none", "tax_ids": [],
    }  # fmt: skip


def portal_session(now: int, customer_id: str, return_url: str | None) -> dict[str, Any]:
    """A billing portal session; the url is filled by the caller."""
    return {
        "id": new_id("bps_"), "object": "billing_portal.session",
        "configuration": "bpc_sandbox_default", "created": now, "customer": customer_id,
        "customer_account": None, "flow": None, "livemode": False, "locale": None,
        "on_behalf_of": None, "return_url": return_url, "url": None,
    }  # fmt: skip


def subscription(now: int, customer_id: str, currency: str) -> dict[str, Any]:
    """An incomplete subscription without items."""
    sid = new_id("sub_")
    return {
        "id": sid, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now, "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"}, "billing_schedules": [],
        "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": False,
        "canceled_at": None, "cancellation_details": {"comment": None, "feedback": None,
                                                      "reason": None},
        "collection_method": "charge_automatically", "created": now, "currency": currency,
        "customer": customer_id, "customer_account": None, "days_until_due": None,
        "default_payment_method": None, "default_source": None, "default_tax_rates": [],
        "description": None, "discounts": [], "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                  "url": f"/v1/subscription_items?subscription={sid}"},
        "latest_invoice": None, "livemode": False, "managed_payments": None, "metadata": {},
        "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None,
        "pending_update": None, "schedule": None, "start_date": now, "status": "incomplete",
        "test_clock": None, "transfer_data": None, "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }  # fmt: skip


def subscription_item(now: int, sub_id: str, price_id: str, quantity: int) -> dict[str, Any]:
    """A subscription item; ``price`` holds the id and is rendered as the full price."""
    return {
        "id": new_id("si_", 14), "object": "subscription_item", "billing_thresholds": None,
        "created": now, "current_period_end": now, "current_period_start": now,
        "discounts": [], "metadata": {}, "plan": None, "price": price_id,
        "quantity": quantity, "subscription": sub_id, "tax_rates": [],
    }  # fmt: skip


def invoice(now: int, cus: dict[str, Any], currency: str, base_url: str) -> dict[str, Any]:
    """A draft invoice for a customer; callers add lines, parent and totals."""
    iid = new_id("in_")
    return {
        "id": iid, "object": "invoice", "account_country": "US",
        "account_name": "Sandbox newsroom", "account_tax_ids": None, "amount_due": 0,
        "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": 0, "amount_shipping": 0,
        "application": None, "attempt_count": 0, "attempted": False, "auto_advance": True,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None,
                          "provider": None, "status": None},
        "automatically_finalizes_at": None, "billing_reason": "manual",
        "collection_method": "charge_automatically", "created": now, "currency": currency,
        "custom_fields": None, "customer": cus["id"], "customer_account": None,
        "customer_address": None, "customer_email": cus["email"],
        "customer_name": cus["name"], "customer_phone": None, "customer_shipping": None,
        "customer_tax_exempt": "none", "customer_tax_ids": [], "default_payment_method": None,
        "default_source": None, "default_tax_rates": [], "description": None,
        "discounts": [], "due_date": None, "effective_at": None, "ending_balance": None,
        "footer": None, "from_invoice": None, "hosted_invoice_url": f"{base_url}/i/{iid}",
        "invoice_pdf": f"{base_url}/i/{iid}/pdf", "issuer": {"type": "self"},
        "last_finalization_error": None, "latest_revision": None,
        "lines": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                  "url": f"/v1/invoices/{iid}/lines"},
        "livemode": False, "metadata": {}, "next_payment_attempt": None, "number": None,
        "on_behalf_of": None, "parent": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": now, "period_start": now, "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "receipt_number": None, "rendering": None,
        "shipping_cost": None, "shipping_details": None, "starting_balance": 0,
        "statement_descriptor": None, "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                               "paid_at": None, "voided_at": None},
        "subtotal": 0, "subtotal_excluding_tax": 0, "test_clock": None, "total": 0,
        "total_discount_amounts": [], "total_excluding_tax": 0,
        "total_pretax_credit_amounts": [], "total_taxes": [], "webhooks_delivered_at": None,
    }  # fmt: skip


def invoice_line(
    inv: dict[str, Any],
    sub_id: str | None,
    item: dict[str, Any] | None,
    price: dict[str, Any],
    quantity: int,
    amount: int,
    start: int,
    end: int,
    description: str,
) -> dict[str, Any]:
    """An invoice line for a subscription item, in the current ``parent``/``pricing`` shape."""
    return {
        "id": new_id("il_"), "object": "line_item", "amount": amount,
        "currency": inv["currency"], "description": description, "discount_amounts": [],
        "discountable": True, "discounts": [], "invoice": inv["id"], "livemode": False,
        "metadata": {},
        "parent": {"invoice_item_details": None, "subscription_item_details": {
            "invoice_item": None, "proration": False, "proration_details": {
                "credited_items": None}, "subscription": sub_id,
            "subscription_item": item["id"] if item else None},
            "type": "subscription_item_details"},
        "period": {"end": end, "start": start}, "pretax_credit_amounts": [],
        "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details", "unit_amount_decimal": price["unit_amount_decimal"]},
        "quantity": quantity, "quantity_decimal": str(quantity), "subscription": sub_id,
        "subtotal": amount, "taxes": [],
    }  # fmt: skip


def invoice_payment(now: int, inv: dict[str, Any], pi_id: str) -> dict[str, Any]:
    """The payment record linking an invoice to the payment intent that pays it."""
    return {
        "id": new_id("inpay_"), "object": "invoice_payment", "amount_paid": None,
        "amount_requested": inv["amount_due"], "created": now, "currency": inv["currency"],
        "invoice": inv["id"], "is_default": True, "livemode": False,
        "payment": {"payment_intent": pi_id, "type": "payment_intent"}, "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }  # fmt: skip
