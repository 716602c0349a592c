"""The pages a person sees: hosted Checkout, billing portal, hosted invoice and receipts.

Each is in the language Stripe would choose (stripe_sandbox/i18n.py), with amounts and dates
written by Babel for it, as Stripe's hosted pages write them for the customer's locale.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape
from typing import Any

from werkzeug.wrappers import Request, Response

from stripe_sandbox import i18n
from stripe_sandbox.engine import Engine
from stripe_sandbox.errors import StripeError
from stripe_sandbox.i18n import _, ngettext
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


def banner() -> str:
    """The line on every page saying no money moves here."""
    return _("Sandbox payments: no real money")


def format_amount(amount: int | None, currency: str | None) -> str:
    """Minor units as the page's language writes them, e.g. ``1250, 'eur'`` -> ``€12.50`` in
    English, ``12,50 €`` in Russian."""
    if amount is None or not currency:
        return ""
    digits = 0 if currency.lower() in ZERO_DECIMAL else 2
    return i18n.money(Decimal(amount).scaleb(-digits), currency)


def _date(ts: int | None) -> str:
    if not ts:
        return ""
    return i18n.when(dt.datetime.fromtimestamp(ts, dt.UTC))


def h(text: str) -> str:
    """Text for HTML (translations included): escaped."""
    return escape(text)


def layout(title: str, body: str) -> str:
    """Wrap page content with the banner and inline styles (no CDN, no web fonts)."""
    sandbox = _("Stripe sandbox")
    return (
        f'<!doctype html><html lang="{i18n.current()}" dir="{i18n.direction()}"><head>'
        '<meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} - {h(sandbox)}</title><style>{_STYLE}</style>"
        f"</head><body><div class=banner role=note>{h(banner())}</div><main>"
        f"<h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def _speak(request: Request | None, locale: str | None = None) -> None:
    """Choose the page's language: the session's locale, else the browser's."""
    i18n.use(i18n.choose(locale, request.accept_languages if request is not None else None))


# Stripe's messages as its hosted pages show them, in the customer's language.
_MESSAGES = {
    "Your card was declined.": lambda: _("Your card was declined."),
    "Your card has insufficient funds.": lambda: _("Your card has insufficient funds."),
    "Your card number is incorrect. Use a Stripe test card such as 4242 4242 4242 4242.": (
        lambda: _("Your card number is incorrect. Use a Stripe test card such as %(card)s.",
                  card="4242 4242 4242 4242")
    ),
    "Enter your email address.": lambda: _("Enter your email address."),
    "Your email address is invalid.": lambda: _("Your email address is invalid."),
    "This code is invalid.": lambda: _("This code is invalid."),
    "This Checkout Session has expired.": lambda: _("This checkout has expired."),
    "This invoice is not open.": lambda: _("This invoice is not open for payment."),
    "The customer has no default payment method.": lambda: _("There is no card to charge."),
    "No such subscription.": lambda: _("No such subscription."),
    "Unknown portal action.": lambda: _("That action is not available."),
    "Payment canceled.": lambda: _("Payment canceled."),
}  # fmt: skip


def _message(text: str) -> str:
    """An error for the page: Stripe's words in the page's language when they are known."""
    known = _MESSAGES.get(text)
    return known() if known else text


def html_response(html: str, status: int = 200) -> Response:
    """An HTML response that is never cached."""
    return Response(html, status=status, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})  # fmt: skip


def redirect(url: str) -> Response:
    """A 303 See Other, what Stripe's pages answer after a form post."""
    return Response("", status=303, headers={"Location": url})


def _error_box(error: str | None) -> str:
    return f"<div class=error role=alert>{escape(_message(error))}</div>" if error else ""


def index_page(url: str, request: Request | None = None) -> str:
    """The sandbox's home page."""
    _speak(request)
    # The sentence escaped first, then the address (markup) put in its place.
    text = h(_("An offline stand-in for Stripe's API at %(url)s. Nothing here reaches Stripe."))
    address = f"<code>{escape(url)}/v1</code>"
    return layout(_("Stripe sandbox"), "<p>" + text % {"url": address} + "</p>")


def _not_found(what: str) -> Response:
    return html_response(layout(_("Not found"), f"<p>{escape(what)}</p>"), 404)


def _every(interval: str, count: int) -> str:
    """How often a price recurs: "per month", "every 3 months"."""
    if count == 1:
        return {"day": _("per day"), "week": _("per week"), "month": _("per month"),
                "year": _("per year")}.get(interval, interval)  # fmt: skip
    if interval == "day":
        return ngettext("every %(num)d day", "every %(num)d days", count)
    if interval == "week":
        return ngettext("every %(num)d week", "every %(num)d weeks", count)
    if interval == "year":
        return ngettext("every %(num)d year", "every %(num)d years", count)
    return ngettext("every %(num)d month", "every %(num)d months", count)


def _status(status: str) -> str:
    """A subscription's or an invoice's status as the page's language names it."""
    names = {
        "active": _("active"), "trialing": _("in trial"), "past_due": _("past due"),
        "canceled": _("canceled"), "incomplete": _("incomplete"), "unpaid": _("unpaid"),
        "paused": _("paused"), "draft": _("draft"), "open": _("open"), "paid": _("paid"),
        "void": _("void"), "uncollectible": _("uncollectible"),
    }  # fmt: skip
    return names.get(status, status)


# ------------------------------------------------------------------ checkout


def checkout(engine: Engine, request: Request, sid: str) -> Response:
    """GET renders the Checkout page; POST pays, applies a code, or cancels."""
    with engine.lock:
        sess = engine.objects.get(sid)
        _speak(request, sess.get("locale") if sess else None)
        if sess is None or sess["object"] != "checkout.session":
            return _not_found(_("No such checkout session."))
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
            return html_response(_checkout_html(engine, sess, _("Payment canceled."), form))
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
    # Every word is translated here, outside the f-strings: Babel's extractor reads no
    # calls inside them (Python 3.11 tokenizes an f-string as one string).
    discount_label, total_label = h(_("Discount")), h(_("Total due today"))
    cur = sess["currency"]
    rows = []
    for item in engine.checkout_line_items(sess):
        rec = item["price"]["recurring"]
        every = " " + _every(rec["interval"], rec["interval_count"]) if rec else ""
        rows.append(
            f"<tr><td>{escape(item['description'] or '')} \N{MULTIPLICATION SIGN} "
            f"{item['quantity']}</td>"
            f"<td class=amt>{escape(format_amount(item['amount_subtotal'], cur))}"
            f"{escape(every)}</td></tr>"
        )
    discount = sess["total_details"]["amount_discount"]
    if discount:
        rows.append(f"<tr><td>{discount_label}</td><td class=amt>"
                    f"-{escape(format_amount(discount, cur))}</td></tr>")  # fmt: skip
    rows.append(f"<tr><th>{total_label}</th><th class=amt>"
                f"{escape(format_amount(sess['amount_total'], cur))}</th></tr>")  # fmt: skip
    summary = f"<table>{''.join(rows)}</table>"
    if sess["status"] == "complete":
        link = sess["success_url"].replace("{CHECKOUT_SESSION_ID}", sess["id"])
        done, go_on = h(_("This checkout is complete.")), h(_("Continue"))
        return layout(_("Payment complete"),
                      f'{summary}<p>{done} <a href="{escape(link)}">{go_on}</a></p>')  # fmt: skip
    if sess["status"] == "expired":
        back_label, gone = h(_("Go back")), h(_("This checkout session has expired."))
        cancel_url = sess["cancel_url"]
        back = f'<a href="{escape(cancel_url)}">{back_label}</a>' if cancel_url else ""
        return layout(_("Checkout expired"), f"{summary}<p>{gone} {back}</p>")
    email_label, card_label = h(_("Email")), h(_("Card number"))
    expiry_label, expiry_hint, cvc_label = h(_("Expiry")), h(_("MM / YY")), h(_("CVC"))
    fields = []
    if not sess["customer"]:
        fields.append(
            f"<label for=email>{email_label}</label><input id=email name=email "
            "type=email required autocomplete=email "
            f'value="{escape(form.get("email", sess["customer_email"] or ""))}"'
            + (" readonly" if sess["customer_email"] else "")
            + ">"
        )
    fields.append(
        f"<label for=card>{card_label}</label><input id=card name=card "
        'inputmode=numeric autocomplete=cc-number placeholder="4242 4242 4242 4242" '
        f'value="{escape(form.get("card", ""))}" required>'
        f"<div class=row><div><label for=exp>{expiry_label}</label><input id=exp "
        f'name=exp placeholder="{expiry_hint}" autocomplete=cc-exp></div><div>'
        f"<label for=cvc>{cvc_label}</label>"
        '<input id=cvc name=cvc placeholder="123" autocomplete=cc-csc></div></div>'
    )
    if sess["allow_promotion_codes"]:
        code_label, apply_label = h(_("Promotion code")), h(_("Apply"))
        fields.append(
            f"<label for=promotion_code>{code_label}</label>"
            "<input id=promotion_code name=promotion_code "
            f'value="{escape(form.get("promotion_code", ""))}">'
            "<button class=secondary name=action value=apply_code formnovalidate>"
            f"{apply_label}</button>"
        )
    total = format_amount(sess["amount_total"], cur)
    verb = h(_("Subscribe for %(amount)s", amount=total) if sess["mode"] == "subscription"
             else _("Pay %(amount)s", amount=total))  # fmt: skip
    cards = [
        ("4242 4242 4242 4242", _("succeeds")),
        ("4000 0000 0000 0002", _("is declined")),
        ("4000 0000 0000 9995", _("has insufficient funds")),
        ("4000 0000 0000 0341", _("fails on renewal")),
        ("4000 0000 0000 0259", _("is disputed")),
        ("4000 0000 0000 7726", _("its refunds stay pending a day")),
        ("4000 0000 0000 5126", _("its refunds fail a day later")),
    ]
    notes = "; ".join(f"{number} {escape(what)}" for number, what in cards)
    cancel_label, cards_label = h(_("Cancel")), h(_("Test cards:"))
    body = (
        f"{summary}{_error_box(error)}<form method=post>{''.join(fields)}"
        f"<button name=action value=pay>{verb}</button> "
        f"<button class=secondary name=action value=cancel formnovalidate>{cancel_label}"
        f"</button></form><p class=note>{cards_label} {notes}.</p>"
    )
    return layout(_("Checkout"), body)


# -------------------------------------------------------------------- portal


def portal(engine: Engine, request: Request, sid: str) -> Response:
    """GET lists the customer's subscriptions; POST performs one portal action."""
    with engine.lock:
        ps = engine.objects.get(sid)
        _speak(request, ps.get("locale") if ps else None)
        if ps is None or ps["object"] != "billing_portal.session":
            return _not_found(_("No such portal session."))
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
        f"{product['name']}: {format_amount(price['unit_amount'], price['currency'])} "
        f"{_every(rec['interval'], rec['interval_count'])}"
    )


_DONE = {
    "card": lambda: _("Your card was updated."),
    "canceled": lambda: _("Your subscription will end at the end of the period."),
    "resumed": lambda: _("Your subscription will continue."),
    "switched": lambda: _("Your plan was changed."),
}


def _portal_html(engine: Engine, ps: Obj, cus: Obj, error: str | None, done: str | None) -> str:
    who = f"<strong>{escape(cus['email'] or cus['id'])}</strong>"
    signed_in = h(_("Signed in as %(email)s")) % {"email": who}
    parts = [f"<p>{signed_in}</p>", _error_box(error)]
    if done in _DONE:
        parts.append(f"<p class=note role=status>{h(_DONE[done]())}</p>")
    pm_id = cus["invoice_settings"]["default_payment_method"]
    if pm_id and pm_id in engine.objects:
        card = engine.objects[pm_id]["card"]
        card_text = h(_("Card: %(brand)s ending in %(last4)s", brand=card["brand"],
                        last4=card["last4"]))  # fmt: skip
        parts.append(f"<p>{card_text}</p>")
    subs = [
        s
        for s in engine.of_kind("subscription")
        if s["customer"] == cus["id"] and s["status"] not in ("canceled", "incomplete_expired")
    ]
    if not subs:
        parts.append("<p>" + h(_("No current subscriptions.")) + "</p>")
    renew_label, cancel_label = h(_("Renew subscription")), h(_("Cancel subscription"))
    change_label, switch_label = h(_("Change plan")), h(_("Switch plan"))
    for sub in subs:
        item = sub["items"]["data"][0]
        price = engine.objects[item["price"]]
        sid = escape(sub["id"])
        hidden = f'<input type=hidden name=subscription value="{sid}">'
        state = _("Renews %(date)s", date=_date(item["current_period_end"]))
        if sub["cancel_at_period_end"] or sub["cancel_at"]:
            state = _("Cancels %(date)s", date=_date(sub["cancel_at"]))
            toggle = (f"<form method=post class=inline>{hidden}<button name=action "
                      f"value=resume>{renew_label}</button></form>")  # fmt: skip
        else:
            toggle = (
                f"<form method=post class=inline>{hidden}<button class=secondary "
                f"name=action value=cancel>{cancel_label}</button></form>"
            )
        options = "".join(
            f'<option value="{escape(p["id"])}">{escape(_price_label(engine, p))}</option>'
            for p in _switchable(engine, sub)
        )
        switch = (f'<form method=post>{hidden}<label for="price-{sid}">{change_label}</label>'
                  f'<select id="price-{sid}" name=price>{options}</select>'
                  f"<button name=action value=switch>{switch_label}</button></form>"
                  if options else "")  # fmt: skip
        status = h(_("Status: %(status)s.")) % {
            "status": f"<strong>{escape(_status(sub['status']))}</strong>"
        }
        parts.append(
            f"<div class=sub><h2>{escape(_price_label(engine, price))}</h2>"
            f"<p>{status} {escape(state)}</p>{toggle}{switch}</div>"
        )
    new_card, update_card = h(_("New card number")), h(_("Update card"))
    parts.append(
        f"<div class=sub><form method=post><label for=card>{new_card}</label>"
        '<input id=card name=card inputmode=numeric placeholder="4242 4242 4242 4242" '
        f"required><button name=action value=card>{update_card}</button></form></div>"
    )
    if ps["return_url"]:
        back = h(_("Return to the site"))
        parts.append(f'<p><a href="{escape(ps["return_url"])}">{back}</a></p>')
    return layout(_("Your subscriptions"), "".join(parts))


# ------------------------------------------------------------------- invoice


def invoice(engine: Engine, request: Request, iid: str) -> Response:
    """The hosted invoice page; an open invoice can be paid with a test card."""
    with engine.lock:
        inv = engine.objects.get(iid)
        _speak(request)
        if inv is None or inv["object"] != "invoice":
            return _not_found(_("No such invoice."))
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
        number = h(_("Invoice %(number)s", number=inv["number"] or inv["id"]))
        status_text = h(_("status %(status)s")) % {
            "status": f"<strong>{escape(_status(inv['status']))}</strong>"
        }
        due_label, paid_label = h(_("Amount due")), h(_("Amount paid"))
        body = (
            f"<p>{number} · {status_text}</p>"
            f"<table>{rows}<tr><th>{due_label}</th><th class=amt>"
            f"{escape(format_amount(inv['amount_due'], cur))}</th></tr>"
            f"<tr><td>{paid_label}</td><td class=amt>"
            f"{escape(format_amount(inv['amount_paid'], cur))}</td></tr></table>"
            f"{_error_box(error)}"
        )
        if inv["status"] == "open":
            card_label = h(_("Card number"))
            pay = h(_("Pay %(amount)s", amount=format_amount(inv["amount_remaining"], cur)))
            body += (
                f"<form method=post><label for=card>{card_label}</label>"
                '<input id=card name=card inputmode=numeric placeholder="4242 4242 4242 4242" '
                f"required><button>{pay}</button></form>"
            )
        return html_response(layout(_("Invoice"), body), status)


def invoice_pdf(engine: Engine, iid: str, request: Request | None = None) -> Response:
    """A plain-text stand-in for the invoice PDF."""
    with engine.lock:
        _speak(request)
        inv = engine.objects.get(iid)
        if inv is None or inv["object"] != "invoice":
            return Response(_("Not found"), status=404, content_type="text/plain")
        text = "\n".join([
            banner(),
            _("Invoice %(number)s", number=inv["number"] or inv["id"]),
            _("Status: %(status)s.", status=_status(inv["status"])),
            _("Total: %(amount)s", amount=format_amount(inv["total"], inv["currency"])),
        ]) + "\n"  # fmt: skip
        return Response(text, content_type="text/plain; charset=utf-8")


def receipt(engine: Engine, cid: str, request: Request | None = None) -> Response:
    """A charge receipt page."""
    with engine.lock:
        _speak(request)
        ch = engine.objects.get(cid)
        if ch is None or ch["object"] != "charge":
            return _not_found(_("No such receipt."))
        card = ch["payment_method_details"]["card"]
        cur = ch["currency"]
        lines = [
            _("Amount: %(amount)s", amount=format_amount(ch["amount"], cur)),
            _("Refunded: %(amount)s", amount=format_amount(ch["amount_refunded"], cur)),
            _("Paid with %(brand)s ending in %(last4)s on %(date)s", brand=card["brand"],
              last4=card["last4"], date=_date(ch["created"])),
        ]  # fmt: skip
        body = "".join(f"<p>{escape(line)}</p>" for line in lines)
        return html_response(layout(_("Receipt"), body))
