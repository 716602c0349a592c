"""The pages a person sees: hosted Checkout, billing portal, hosted invoice and receipts."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from werkzeug.wrappers import Request, Response

from stripe_sandbox.engine import Engine
from stripe_sandbox.errors import StripeError
from stripe_sandbox.shapes import ZERO_DECIMAL

Obj = dict[str, Any]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f8fa;
color:#1a1f36}
.banner{background:#ffd54f;color:#3e2723;padding:.6em 1em;font-weight:600;text-align:center}
main{max-width:38em;margin:2em auto;background:#fff;padding:1.5em 2em;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
table{width:100%;border-collapse:collapse}td,th{padding:.35em 0;text-align:left}
td.amt,th.amt{text-align:right}label{display:block;margin:.8em 0 .2em;font-weight:600}
input,select{width:100%;padding:.5em;font-size:1em;box-sizing:border-box;border:1px solid #c1c9d2;
border-radius:4px}.row{display:flex;gap:1em}.row>div{flex:1}
button{margin-top:1em;padding:.6em 1.4em;font-size:1em;border:0;border-radius:4px;
background:#635bff;color:#fff;cursor:pointer}button.secondary{background:#e3e8ee;color:#1a1f36}
.error{background:#fdecea;color:#b3261e;padding:.6em;border-radius:4px;margin:1em 0}
.note{color:#697386;font-size:.9em}.sub{border-top:1px solid #e3e8ee;padding:1em 0}
form.inline{display:inline}
"""
BANNER = "Sandbox payments: no real money"


def format_amount(amount: int | None, currency: str | None) -> str:
    """Format minor units for people, e.g. ``1250, 'eur'`` -> ``12.50 EUR``."""
    if amount is None or not currency:
        return ""
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount:,} {currency.upper()}"
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency.upper()}"


def _date(ts: int | None) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def layout(title: str, body: str) -> str:
    """Wrap page content with the banner and inline styles (no CDN, no web fonts)."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} - Stripe sandbox</title><style>{_STYLE}</style></head>"
        f"<body><div class=banner role=note>{BANNER}</div><main><h1>{escape(title)}</h1>"
        f"{body}</main></body></html>"
    )


def html_response(html: str, status: int = 200) -> Response:
    """An HTML response that is never cached."""
    return Response(html, status=status, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})  # fmt: skip


def redirect(url: str) -> Response:
    """A 303 See Other, what Stripe's pages answer after a form post."""
    return Response("", status=303, headers={"Location": url})


def _error_box(error: str | None) -> str:
    return f"<div class=error role=alert>{escape(error)}</div>" if error else ""


def index_page(url: str) -> str:
    """The sandbox's home page."""
    return layout("Stripe sandbox", f"<p>An offline stand-in for Stripe's API at "
                  f"<code>{escape(url)}/v1</code>. Nothing here reaches Stripe.</p>")  # fmt: skip


def _not_found(what: str) -> Response:
    return html_response(layout("Not found", f"<p>No such {escape(what)}.</p>"), 404)


# ------------------------------------------------------------------ checkout


def checkout(engine: Engine, request: Request, sid: str) -> Response:
    """GET renders the Checkout page; POST pays, applies a code, or cancels."""
    with engine.lock:
        sess = engine.objects.get(sid)
        if sess is None or sess["object"] != "checkout.session":
            return _not_found("checkout session")
        if sess["status"] == "open" and sess["expires_at"] <= engine.now():
            with engine.operation():
                engine.expire_checkout_session(sess)
        if request.method == "GET":
            return html_response(_checkout_html(engine, sess, None, {}))
        form = request.form
        action = form.get("action", "pay")
        if action == "cancel":
            if sess["cancel_url"]:
                return redirect(sess["cancel_url"])
            return html_response(_checkout_html(engine, sess, "Payment canceled.", form))
        if sess["status"] != "open":
            return html_response(_checkout_html(engine, sess, None, form), 400)
        try:
            with engine.operation():
                if action == "apply_code":
                    engine.apply_checkout_promotion_code(sess, form.get("promotion_code", ""))
                    return html_response(_checkout_html(engine, sess, None, form))
                engine.complete_checkout(
                    sess, form.get("card", ""), email=form.get("email"),
                    promotion_code=form.get("promotion_code") or None,
                )  # fmt: skip
        except StripeError as exc:
            return html_response(_checkout_html(engine, sess, exc.message, form), exc.status)
        return redirect(sess["success_url"].replace("{CHECKOUT_SESSION_ID}", sess["id"]))


def _checkout_html(engine: Engine, sess: Obj, error: str | None, form: Any) -> str:
    cur = sess["currency"]
    rows = []
    for item in engine.checkout_line_items(sess):
        rec = item["price"]["recurring"]
        every = ""
        if rec:
            n = rec["interval_count"]
            every = f" / {rec['interval']}" if n == 1 else f" every {n} {rec['interval']}s"
        rows.append(
            f"<tr><td>{escape(item['description'] or '')} \N{MULTIPLICATION SIGN} "
            f"{item['quantity']}</td>"
            f"<td class=amt>{escape(format_amount(item['amount_subtotal'], cur))}"
            f"{escape(every)}</td></tr>"
        )
    discount = sess["total_details"]["amount_discount"]
    if discount:
        rows.append(f"<tr><td>Discount</td><td class=amt>"
                    f"-{escape(format_amount(discount, cur))}</td></tr>")  # fmt: skip
    rows.append(f"<tr><th>Total due today</th><th class=amt>"
                f"{escape(format_amount(sess['amount_total'], cur))}</th></tr>")  # fmt: skip
    summary = f"<table>{''.join(rows)}</table>"
    if sess["status"] == "complete":
        link = sess["success_url"].replace("{CHECKOUT_SESSION_ID}", sess["id"])
        return layout("Payment complete", f"{summary}<p>This checkout is complete. "
                      f'<a href="{escape(link)}">Continue</a></p>')  # fmt: skip
    if sess["status"] == "expired":
        back = (f'<a href="{escape(sess["cancel_url"])}">Go back</a>'
                if sess["cancel_url"] else "")  # fmt: skip
        return layout("Checkout expired", f"{summary}<p>This checkout session has expired. "
                      f"{back}</p>")  # fmt: skip
    fields = []
    if not sess["customer"]:
        fields.append(
            "<label for=email>Email</label><input id=email name=email type=email required "
            f'autocomplete=email value="{escape(form.get("email", sess["customer_email"] or ""))}"'
            + (" readonly" if sess["customer_email"] else "")
            + ">"
        )
    fields.append(
        "<label for=card>Card number</label><input id=card name=card inputmode=numeric "
        f'autocomplete=cc-number placeholder="4242 4242 4242 4242" '
        f'value="{escape(form.get("card", ""))}" required>'
        "<div class=row><div><label for=exp>Expiry</label><input id=exp name=exp "
        'placeholder="MM / YY" autocomplete=cc-exp></div><div><label for=cvc>CVC</label>'
        '<input id=cvc name=cvc placeholder="123" autocomplete=cc-csc></div></div>'
    )
    if sess["allow_promotion_codes"]:
        fields.append(
            "<label for=promotion_code>Promotion code</label><input id=promotion_code "
            f'name=promotion_code value="{escape(form.get("promotion_code", ""))}">'
            "<button class=secondary name=action value=apply_code formnovalidate>Apply"
            "</button>"
        )
    verb = "Subscribe" if sess["mode"] == "subscription" else "Pay"
    body = (
        f"{summary}{_error_box(error)}<form method=post>{''.join(fields)}"
        f"<button name=action value=pay>{verb} {escape(format_amount(sess['amount_total'], cur))}"
        "</button> <button class=secondary name=action value=cancel formnovalidate>Cancel"
        "</button></form><p class=note>Test cards: 4242 4242 4242 4242 succeeds; "
        "4000 0000 0000 0002 is declined; 4000 0000 0000 9995 has insufficient funds; "
        "4000 0000 0000 0341 fails on renewal; 4000 0000 0000 0259 is disputed; "
        "refunds of 4000 0000 0000 7726 stay pending a day, of 4000 0000 0000 5126 fail a day "
        "later.</p>"
    )
    return layout("Checkout", body)


# -------------------------------------------------------------------- portal


def portal(engine: Engine, request: Request, sid: str) -> Response:
    """GET lists the customer's subscriptions; POST performs one portal action."""
    with engine.lock:
        ps = engine.objects.get(sid)
        if ps is None or ps["object"] != "billing_portal.session":
            return _not_found("portal session")
        cus = engine.objects[ps["customer"]]
        if request.method == "GET":
            return html_response(_portal_html(engine, ps, cus, None,
                                              request.args.get("done")))  # fmt: skip
        form = request.form
        action = form.get("action")
        try:
            with engine.operation():
                message = _portal_action(engine, cus, action, form)
        except StripeError as exc:
            return html_response(_portal_html(engine, ps, cus, exc.message, None), exc.status)
        return redirect(f"{engine.base_url()}/p/session/{ps['id']}?done={message}")


def _portal_action(engine: Engine, cus: Obj, action: str | None, form: Any) -> str:
    if action == "card":
        errors = engine.update_card(cus, form.get("card", ""))
        if errors:
            raise errors[0]
        return "card"
    sub = engine.objects.get(form.get("subscription", ""))
    if sub is None or sub["object"] != "subscription" or sub["customer"] != cus["id"]:
        raise StripeError(404, "No such subscription.")
    if action == "cancel":
        engine.update_subscription(sub, {"cancel_at_period_end": "true"})
        return "canceled"
    if action == "resume":
        engine.update_subscription(sub, {"cancel_at_period_end": "false"})
        return "resumed"
    if action == "switch":
        item = sub["items"]["data"][0]
        engine.update_subscription(
            sub, {"items": [{"id": item["id"], "price": form.get("price", "")}],
                  "proration_behavior": "none"})  # fmt: skip
        return "switched"
    raise StripeError(400, "Unknown portal action.")


def _switchable(engine: Engine, sub: Obj) -> list[Obj]:
    current = sub["items"]["data"][0]["price"]
    return [
        p for p in reversed(engine.of_kind("price"))
        if p["active"] and p["type"] == "recurring" and not p.get("_adhoc")
        and p["currency"] == sub["currency"] and p["id"] != current
    ]  # fmt: skip


def _price_label(engine: Engine, price: Obj) -> str:
    product = engine.objects[price["product"]]
    rec = price["recurring"]
    return (
        f"{product['name']}: {format_amount(price['unit_amount'], price['currency'])} / "
        f"{rec['interval_count'] if rec['interval_count'] > 1 else ''}{rec['interval']}"
    )


_DONE = {"card": "Your card was updated.", "canceled": "Your subscription will end at the end "
         "of the period.", "resumed": "Your subscription was renewed.",
         "switched": "Your plan was changed."}  # fmt: skip


def _portal_html(engine: Engine, ps: Obj, cus: Obj, error: str | None, done: str | None) -> str:
    parts = [f"<p>Signed in as <strong>{escape(cus['email'] or cus['id'])}</strong></p>",
             _error_box(error)]  # fmt: skip
    if done in _DONE:
        parts.append(f"<p class=note role=status>{escape(_DONE[done])}</p>")
    pm_id = cus["invoice_settings"]["default_payment_method"]
    if pm_id and pm_id in engine.objects:
        card = engine.objects[pm_id]["card"]
        parts.append(f"<p>Card: {escape(card['brand'])} ending in {escape(card['last4'])}</p>")
    subs = [
        s
        for s in engine.of_kind("subscription")
        if s["customer"] == cus["id"] and s["status"] not in ("canceled", "incomplete_expired")
    ]
    if not subs:
        parts.append("<p>No current subscriptions.</p>")
    for sub in subs:
        item = sub["items"]["data"][0]
        price = engine.objects[item["price"]]
        sid = escape(sub["id"])
        hidden = f'<input type=hidden name=subscription value="{sid}">'
        state = f"Renews {escape(_date(item['current_period_end']))}"
        if sub["cancel_at_period_end"] or sub["cancel_at"]:
            state = f"Cancels {escape(_date(sub['cancel_at']))}"
            toggle = (f"<form method=post class=inline>{hidden}<button name=action "
                      "value=resume>Renew subscription</button></form>")  # fmt: skip
        else:
            toggle = (
                f"<form method=post class=inline>{hidden}<button class=secondary "
                "name=action value=cancel>Cancel subscription</button></form>"
            )
        options = "".join(
            f'<option value="{escape(p["id"])}">{escape(_price_label(engine, p))}</option>'
            for p in _switchable(engine, sub)
        )
        switch = (f'<form method=post>{hidden}<label for="price-{sid}">Change plan</label>'
                  f'<select id="price-{sid}" name=price>{options}</select>'
                  "<button name=action value=switch>Switch plan</button></form>"
                  if options else "")  # fmt: skip
        parts.append(
            f"<div class=sub><h2>{escape(_price_label(engine, price))}</h2>"
            f"<p>Status: <strong>{escape(sub['status'])}</strong>. {state}</p>"
            f"{toggle}{switch}</div>"
        )
    parts.append(
        "<div class=sub><form method=post><label for=card>New card number</label>"
        '<input id=card name=card inputmode=numeric placeholder="4242 4242 4242 4242" '
        "required><button name=action value=card>Update card</button></form></div>"
    )
    if ps["return_url"]:
        parts.append(f'<p><a href="{escape(ps["return_url"])}">Return to the site</a></p>')
    return layout("Your subscriptions", "".join(parts))


# ------------------------------------------------------------------- invoice


def invoice(engine: Engine, request: Request, iid: str) -> Response:
    """The hosted invoice page; an open invoice can be paid with a test card."""
    with engine.lock:
        inv = engine.objects.get(iid)
        if inv is None or inv["object"] != "invoice":
            return _not_found("invoice")
        error = None
        status = 200
        if request.method == "POST":
            try:
                with engine.operation():
                    engine.pay_invoice_with_card(inv, request.form.get("card", ""))
                return redirect(inv["hosted_invoice_url"])
            except StripeError as exc:
                error, status = exc.message, exc.status
        cur = inv["currency"]
        rows = "".join(
            f"<tr><td>{escape(li['description'] or '')}</td>"
            f"<td class=amt>{escape(format_amount(li['amount'], cur))}</td></tr>"
            for li in inv["lines"]["data"]
        )
        body = (
            f"<p>Invoice {escape(inv['number'] or inv['id'])} · status "
            f"<strong>{escape(inv['status'])}</strong></p><table>{rows}"
            f"<tr><th>Amount due</th><th class=amt>"
            f"{escape(format_amount(inv['amount_due'], cur))}</th></tr>"
            f"<tr><td>Amount paid</td><td class=amt>"
            f"{escape(format_amount(inv['amount_paid'], cur))}</td></tr></table>"
            f"{_error_box(error)}"
        )
        if inv["status"] == "open":
            body += (
                "<form method=post><label for=card>Card number</label><input id=card "
                'name=card inputmode=numeric placeholder="4242 4242 4242 4242" required>'
                f"<button>Pay {escape(format_amount(inv['amount_remaining'], cur))}</button>"
                "</form>"
            )
        return html_response(layout("Invoice", body), status)


def invoice_pdf(engine: Engine, iid: str) -> Response:
    """A plain-text stand-in for the invoice PDF."""
    with engine.lock:
        inv = engine.objects.get(iid)
        if inv is None or inv["object"] != "invoice":
            return Response("Not found", status=404, content_type="text/plain")
        text = (f"{BANNER}\nInvoice {inv['number'] or inv['id']}\nStatus: {inv['status']}\n"
                f"Total: {format_amount(inv['total'], inv['currency'])}\n")  # fmt: skip
        return Response(text, content_type="text/plain; charset=utf-8")


def receipt(engine: Engine, cid: str) -> Response:
    """A charge receipt page."""
    with engine.lock:
        ch = engine.objects.get(cid)
        if ch is None or ch["object"] != "charge":
            return _not_found("receipt")
        card = ch["payment_method_details"]["card"]
        body = (
            f"<p>Amount: {escape(format_amount(ch['amount'], ch['currency']))}</p>"
            f"<p>Refunded: {escape(format_amount(ch['amount_refunded'], ch['currency']))}</p>"
            f"<p>Paid with {escape(card['brand'])} ending in {escape(card['last4'])} on "
            f"{escape(_date(ch['created']))}</p>"
        )
        return html_response(layout("Receipt", body))
