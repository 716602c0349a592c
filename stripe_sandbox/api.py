"""The WSGI application: Stripe's v1 API, the person-facing pages and the ``/_sandbox`` controls."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from stripe_sandbox import API_VERSION, pages, shapes
from stripe_sandbox.engine import Engine, apply_metadata, as_bool, as_int
from stripe_sandbox.errors import StripeError, invalid, missing
from stripe_sandbox.forms import parse_form

if TYPE_CHECKING:
    from stripe_sandbox.server import SandboxServer

Obj = dict[str, Any]

_KINDS = {
    "products": "product", "prices": "price", "customers": "customer",
    "payment_methods": "payment_method", "checkout/sessions": "checkout.session",
    "subscriptions": "subscription", "invoices": "invoice",
    "invoice_payments": "invoice_payment", "payment_intents": "payment_intent",
    "charges": "charge", "refunds": "refund", "disputes": "dispute", "coupons": "coupon",
    "promotion_codes": "promotion_code", "events": "event",
    "balance_transactions": "balance_transaction",
}  # fmt: skip

# Simple equality filters each list endpoint accepts: query param -> field.
_FILTERS: dict[str, dict[str, str]] = {
    "product": {"active": "active"},
    "price": {"active": "active", "currency": "currency", "product": "product", "type": "type"},
    "customer": {"email": "email"},
    "payment_method": {"customer": "customer", "type": "type"},
    "checkout.session": {"customer": "customer", "payment_intent": "payment_intent",
                         "subscription": "subscription", "status": "status"},
    "subscription": {"customer": "customer"},
    "invoice": {"customer": "customer", "status": "status"},
    "invoice_payment": {"invoice": "invoice", "status": "status"},
    "payment_intent": {"customer": "customer"},
    "charge": {"customer": "customer", "payment_intent": "payment_intent"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
    "balance_transaction": {"type": "type", "source": "source", "currency": "currency"},
    "dispute": {"charge": "charge", "payment_intent": "payment_intent"},
    "coupon": {},
    "promotion_code": {"active": "active", "code": "code", "customer": "customer"},
    "event": {},
}  # fmt: skip
_LIST_PARAMS = {"limit", "starting_after", "ending_before", "created", "expand"}
_EXTRA_LIST_PARAMS = {
    "price": {"lookup_keys", "recurring"},
    "subscription": {"price", "status"},
    "invoice": {"subscription"},
    "invoice_payment": {"payment"},
    "promotion_code": {"coupon"},
    "event": {"type", "types", "delivery_success"},
    "product": {"ids"},
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, indent=2), status=status, headers=headers,
        content_type="application/json",
    )  # fmt: skip


class SandboxApp:
    """Routes HTTP requests to the engine, holding its lock for the whole request."""

    def __init__(self, engine: Engine, server: SandboxServer) -> None:
        self.engine = engine
        self.server = server
        self.url_map = Map(
            [
                Rule("/", endpoint="index", methods=["GET"]),
                Rule("/c/pay/<sid>", endpoint="checkout_page", methods=["GET", "POST"]),
                Rule("/p/session/<sid>", endpoint="portal_page", methods=["GET", "POST"]),
                Rule("/i/<iid>", endpoint="invoice_page", methods=["GET", "POST"]),
                Rule("/i/<iid>/pdf", endpoint="invoice_pdf", methods=["GET"]),
                Rule("/receipts/<cid>", endpoint="receipt_page", methods=["GET"]),
                Rule("/_sandbox/<path:rest>", endpoint="control", methods=["GET", "POST"]),
                Rule("/v1/<path:rest>", endpoint="api", methods=["GET", "POST", "DELETE"]),
            ]
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry point."""
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except (NotFound, MethodNotAllowed):
            if request.path.startswith("/v1/"):
                response = self._unrecognized(request)
            else:
                response = Response("Not found", status=404, content_type="text/plain")
        except HTTPException as exc:
            response = exc.get_response()
        return response(environ, start_response)

    # -------------------------------------------------------------------- API

    def _unrecognized(self, request: Request) -> Response:
        err = StripeError(404, f"Unrecognized request URL ({request.method}: {request.path}). "
                          "Please see https://stripe.com/docs or we can help at "
                          "https://support.stripe.com/.")  # fmt: skip
        return _json(err.body(), err.status)

    def _auth(self, request: Request) -> StripeError | None:
        header = request.headers.get("Authorization", "")
        key = header[7:].strip() if header.startswith("Bearer ") else ""
        if not key and request.authorization and request.authorization.type == "basic":
            key = request.authorization.username or ""
        if not key:
            return StripeError(401, "You did not provide an API key. You need to provide your "
                               "API key in the Authorization header, using Bearer auth "
                               "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")  # fmt: skip
        if key.startswith(("sk_live_", "rk_live_", "pk_live_")):
            return StripeError(401, "Invalid API Key provided: the sandbox refuses live keys. "
                               "It is an offline stand-in; use sk_test_sandbox.")  # fmt: skip
        if key != self.server.api_key and not key.startswith(("sk_test_", "rk_test_")):
            return StripeError(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}")
        return None

    def on_api(self, request: Request, rest: str) -> Response:
        """Answer one Stripe v1 call."""
        request_id = shapes.new_id("req_", 14)
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        err = self._auth(request)
        if err:
            return _json(err.body(), err.status, headers)
        raw = request.get_data(as_text=True) if request.method == "POST" else ""
        params = parse_form(raw if request.method == "POST" else request.query_string.decode())
        expand = params.pop("expand", [])
        if isinstance(expand, str):
            expand = [expand]
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        fingerprint = hashlib.sha256(f"{request.method} {request.path} {raw}".encode()).hexdigest()
        engine = self.engine
        with engine.lock:
            if key:
                stored = engine.idempotency.get(key)
                if stored is not None:
                    if stored["fingerprint"] != fingerprint:
                        err = StripeError(
                            400, "Keys for idempotent requests can only be used with the same "
                            f"parameters they were first used with. Try using a key other than "
                            f"'{key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )  # fmt: skip
                        return _json(err.body(), err.status, headers)
                    replay = {**headers, "Idempotent-Replayed": "true",
                              "Original-Request": stored["request_id"]}  # fmt: skip
                    return _json(stored["body"], stored["status"], replay)
            try:
                with engine.operation(request_id, key):
                    body = self._route(request.method, rest.strip("/"), params, expand)
                    if isinstance(body, dict) and expand:
                        body = engine.expand(body, [str(x) for x in expand])
                    status = 200
                    if key:
                        engine.idempotency[key] = {
                            "fingerprint": fingerprint,
                            "status": 200,
                            "body": body,
                            "request_id": request_id,
                        }
            except StripeError as exc:
                body, status = exc.body(), exc.status
                body["error"]["request_log_url"] = None
                if key and exc.status == 402:
                    # Stripe saves the outcome of a request that ran, declines included.
                    engine.idempotency[key] = {
                        "fingerprint": fingerprint,
                        "status": 402,
                        "body": body,
                        "request_id": request_id,
                    }
                    engine.save()
        return _json(body, status, headers)

    def _route(self, method: str, path: str, p: dict[str, Any], expand: list[Any]) -> Any:
        e = self.engine
        parts = path.split("/")
        if parts[0] in ("checkout", "billing_portal") and len(parts) > 1:
            parts = [f"{parts[0]}/{parts[1]}", *parts[2:]]
        collection = parts[0]
        if collection == "billing_portal/sessions" and method == "POST" and len(parts) == 1:
            return e.render(e.create_portal_session(p))
        if collection == "subscription_items" and method == "GET" and len(parts) == 1:
            sub = e.get(p.pop("subscription", None), "subscription", "subscription")
            items = e.render(sub)["items"]["data"]
            return {"object": "list", "data": items, "has_more": False,
                    "url": "/v1/subscription_items"}  # fmt: skip
        kind = _KINDS.get(collection)
        if kind is None:
            raise NotFound()
        creators = {
            "product": e.create_product, "price": e.create_price,
            "customer": e.create_customer, "checkout.session": e.create_checkout_session,
            "subscription": e.create_subscription, "refund": e.create_refund,
            "coupon": e.create_coupon, "promotion_code": e.create_promotion_code,
        }  # fmt: skip
        if len(parts) == 1:
            if method == "GET":
                return self._list(kind, p, f"/v1/{collection}")
            if method == "POST" and kind in creators:
                return e.render(creators[kind](p))
            raise NotFound()
        obj = e.get(parts[1], kind)
        action = parts[2] if len(parts) > 2 else None
        if len(parts) > 3:
            raise NotFound()
        if action is None and method == "GET":
            if kind == "checkout.session":
                wanted = any(str(x).split(".")[0] == "line_items" for x in expand)
                return e.render_session(obj, with_line_items=wanted)
            return e.render(obj)
        return self._object_action(kind, obj, method, action, p)

    def _object_action(self, kind: str, obj: Obj, method: str, action: str | None,
                       p: dict[str, Any]) -> Any:  # fmt: skip
        e = self.engine
        if obj.get("_deleted") and method != "GET":
            raise missing(kind, obj["id"])
        updaters = {
            "product": e.update_product, "price": e.update_price,
            "customer": e.update_customer, "subscription": e.update_subscription,
            "promotion_code": e.update_promotion_code,
        }  # fmt: skip
        if action is None and method == "POST" and kind in updaters:
            return e.render(updaters[kind](obj, p))
        if action is None and method == "POST" and kind in ("coupon", "refund", "dispute",
                                                             "checkout.session"):  # fmt: skip
            apply_metadata(obj, p.get("metadata"))
            return e.render(obj)
        if action is None and method == "DELETE":
            if kind == "customer":
                return e.render(e.delete_customer(obj))
            if kind == "subscription":
                return e.render(e.cancel_subscription(obj, p))
            if kind == "coupon":
                obj["_deleted"] = True
                obj["valid"] = False
                return {"id": obj["id"], "object": "coupon", "deleted": True}
        if kind == "checkout.session" and action == "expire" and method == "POST":
            return e.render(e.expire_checkout_session(obj))
        if kind == "checkout.session" and action == "line_items" and method == "GET":
            items = e.checkout_line_items(obj)
            for it in items:
                it["created"], it["_seq"] = 0, 0
            page = self._page_plain(items, p, f"/v1/checkout/sessions/{obj['id']}/line_items")
            return page
        if kind == "invoice" and action == "pay" and method == "POST":
            return e.render(e.pay_invoice(obj, p))
        if kind == "invoice" and action == "lines" and method == "GET":
            return self._page_plain(e.render(obj)["lines"]["data"], p,
                                    f"/v1/invoices/{obj['id']}/lines")  # fmt: skip
        if kind == "dispute" and action == "close" and method == "POST":
            return e.render(e.close_dispute(obj, "lost"))
        raise NotFound()

    def _page_plain(self, items: list[Obj], p: dict[str, Any], url: str) -> Obj:
        limit = as_int(p.get("limit", 10), "limit")
        ids = [it["id"] for it in items]
        if p.get("starting_after") in ids:
            items = items[ids.index(p["starting_after"]) + 1 :]
        for it in items:
            it.pop("_seq", None)
            if it.get("object") == "item":
                it.pop("created", None)
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit,
                "url": url}  # fmt: skip

    def _list(self, kind: str, p: dict[str, Any], url: str) -> Obj:
        e = self.engine
        filters = _FILTERS[kind]
        allowed = _LIST_PARAMS | set(filters) | _EXTRA_LIST_PARAMS.get(kind, set())
        for key in p:
            if key not in allowed:
                raise invalid(f"Received unknown parameter: {key}", key)
        items = [o for o in e.of_kind(kind) if not o.get("_adhoc") and not o.get("_deleted")]
        for param, field in filters.items():
            if param in p:
                want = p[param]
                if field == "active":
                    want = as_bool(want, param)
                items = [o for o in items if o.get(field) == want]
        if kind == "price":
            keys = p.get("lookup_keys")
            if keys is not None:
                keys = [keys] if isinstance(keys, str) else list(keys)
                items = [o for o in items if o["lookup_key"] in keys]
            rec = p.get("recurring")
            if isinstance(rec, dict) and rec.get("interval"):
                items = [o for o in items
                         if (o["recurring"] or {}).get("interval") == rec["interval"]]  # fmt: skip
        elif kind == "subscription":
            status = p.get("status")
            if status is None:
                items = [o for o in items if o["status"] not in ("canceled", "incomplete_expired")]
            elif status == "ended":
                items = [o for o in items if o["status"] in ("canceled", "incomplete_expired")]
            elif status != "all":
                items = [o for o in items if o["status"] == status]
            if p.get("price"):
                items = [o for o in items if any(it["price"] == p["price"]
                                                 for it in o["items"]["data"])]  # fmt: skip
        elif kind == "invoice" and p.get("subscription"):
            items = [o for o in items
                     if ((o["parent"] or {}).get("subscription_details") or {}).get(
                         "subscription") == p["subscription"]]  # fmt: skip
        elif kind == "invoice_payment" and isinstance(p.get("payment"), dict):
            pi = p["payment"].get("payment_intent")
            if pi:
                items = [o for o in items if o["payment"]["payment_intent"] == pi]
        elif kind == "promotion_code" and p.get("coupon"):
            items = [o for o in items if o["promotion"]["coupon"] == p["coupon"]]
        elif kind == "product" and p.get("ids"):
            ids = p["ids"] if isinstance(p["ids"], list) else [p["ids"]]
            items = [o for o in items if o["id"] in ids]
        elif kind == "event":
            types = p.get("types")
            if p.get("type"):
                types = [p["type"]]
            if types:
                types = [types] if isinstance(types, str) else types

                def match(t: str) -> bool:
                    return any(t == w or (w.endswith("*") and t.startswith(w[:-1]))
                               for w in types)  # fmt: skip

                items = [o for o in items if match(o["type"])]
        return e.page(items, p, url)

    # --------------------------------------------------------------- controls

    def on_control(self, request: Request, rest: str) -> Response:
        """The ``/_sandbox/...`` test and demo controls (JSON or form bodies)."""
        data: dict[str, Any] = {}
        if request.method == "POST":
            if request.is_json:
                data = request.get_json(silent=True) or {}
            else:
                data = parse_form(request.get_data(as_text=True))
        s = self.server
        parts = rest.strip("/").split("/")
        try:
            result = self._control(s, request.method, parts, data)
        except StripeError as exc:
            return _json(exc.body(), exc.status)
        return _json(result)

    def _control(self, s: SandboxServer, method: str, parts: list[str], data: Obj) -> Any:
        route = "/".join(parts)
        if route == "clock" and method == "GET":
            return {"now": s.now(), "offset": self.engine.offset}
        if route == "clock/advance" and method == "POST":
            seconds, to = data.get("seconds"), data.get("to")
            return {"now": s.advance_clock(
                seconds=as_int(seconds, "seconds") if seconds is not None else None,
                to=as_int(to, "to") if to is not None else None)}  # fmt: skip
        if route == "chaos" and method == "POST":
            s.set_chaos(as_bool(data.get("enabled", True), "enabled"))
            return {"chaos": s.chaos}
        if route == "webhook" and method == "POST":
            s.set_webhook_url(data.get("url") or None)
            return {"url": s.webhook_url}
        if route == "reset" and method == "POST":
            s.reset()
            return {"reset": True}
        if route == "deliveries" and method == "GET":
            return {"pending": s.pending_deliveries(), "deliveries": s.deliveries}
        if route == "deliveries/wait" and method == "POST":
            return {"done": s.wait_for_deliveries(float(data.get("timeout", 10)))}
        if len(parts) == 4 and parts[:2] == ["checkout", "sessions"] and parts[3] == "complete":
            return s.complete_checkout(parts[2], card=data.get("card", "4242424242424242"),
                                       email=data.get("email"),
                                       promotion_code=data.get("promotion_code"))  # fmt: skip
        if len(parts) == 3 and parts[0] == "charges" and parts[2] == "dispute":
            return s.dispute_charge(parts[1], reason=data.get("reason", "fraudulent"))
        if len(parts) == 3 and parts[0] == "disputes" and parts[2] == "close":
            return s.close_dispute(parts[1], outcome=data.get("outcome", "won"))
        if len(parts) == 3 and parts[0] == "refunds" and parts[2] == "status":
            return s.move_refund(parts[1], status=str(data.get("status", "")))
        if len(parts) == 3 and parts[0] == "events" and parts[2] == "resend":
            s.resend_event(parts[1])
            return {"resent": parts[1]}
        raise StripeError(404, f"Unknown sandbox control: {method} /_sandbox/{route}")

    # ------------------------------------------------------------------ pages

    def on_index(self, request: Request) -> Response:
        """A small page saying what this server is."""
        return pages.html_response(pages.index_page(self.server.url, request))

    def on_checkout_page(self, request: Request, sid: str) -> Response:
        """The hosted Checkout page: GET shows it, POST pays or cancels."""
        return pages.checkout(self.engine, request, sid)

    def on_portal_page(self, request: Request, sid: str) -> Response:
        """The billing portal page."""
        return pages.portal(self.engine, request, sid)

    def on_invoice_page(self, request: Request, iid: str) -> Response:
        """The hosted invoice page."""
        return pages.invoice(self.engine, request, iid)

    def on_invoice_pdf(self, request: Request, iid: str) -> Response:
        """A plain-text stand-in for the invoice PDF."""
        return pages.invoice_pdf(self.engine, iid, request)

    def on_receipt_page(self, request: Request, cid: str) -> Response:
        """A charge receipt."""
        return pages.receipt(self.engine, cid, request)
