"""In-memory Stripe state and the billing rules that change it; every caller holds ``lock``."""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from stripe_sandbox import API_VERSION, balance, shapes
from stripe_sandbox.errors import StripeError, invalid, missing
from stripe_sandbox.i18n import STRIPE_LOCALES

Obj = dict[str, Any]

#: Stripe's published test cards and what each does in the sandbox.
CARD_OK = {"4242424242424242", "5555555555554444", "4000056655665556", *balance.CARD_COUNTRIES}
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT = "4000000000009995"
CARD_FAILS_LATER = "4000000000000341"
CARD_DISPUTED = "4000000000000259"
CARD_REFUND_PENDING = "4000000000007726"  # refunds start pending, succeed a day later
CARD_REFUND_FAILS = "4000000000005126"  # refunds start succeeded, fail a day later
KNOWN_CARDS = CARD_OK | {CARD_DECLINED, CARD_INSUFFICIENT, CARD_FAILS_LATER, CARD_DISPUTED,
                         CARD_REFUND_PENDING, CARD_REFUND_FAILS}  # fmt: skip
#: Seconds after which a refund of those two cards changes state by itself (test clock).
REFUND_SETTLE_SECONDS = 86400
#: The moves a refund's status can make (``refund_status`` control, and the cards above).
REFUND_MOVES = {
    "pending": ("succeeded", "failed", "canceled"),
    "requires_action": ("succeeded", "failed", "canceled"),
    "succeeded": ("failed",),
}

#: Days after a failed renewal at which the next attempt happens; after the last one, cancel.
RETRY_SCHEDULE_DAYS = (3, 5, 7)
#: ``customer.subscription.trial_will_end`` comes this long before a trial ends (as Stripe's);
#: ``invoice.upcoming`` this long before a renewal (in Stripe, a setting of the account).
TRIAL_WILL_END_SECONDS = 3 * 86400
UPCOMING_RENEWAL_SECONDS = 7 * 86400
INCOMPLETE_EXPIRY = 23 * 3600

_KIND_NAMES = {
    "checkout.session": "checkout.session",
    "billing_portal.session": "billing_portal.session",
}


def add_interval(ts: int, interval: str, count: int) -> int:
    """Add ``count`` days/weeks/months/years to a unix time, clamping the day of month."""
    if interval == "day":
        return ts + 86400 * count
    if interval == "week":
        return ts + 7 * 86400 * count
    d = dt.datetime.fromtimestamp(ts, dt.UTC)
    months = count * (12 if interval == "year" else 1)
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def normalize_card(number: str) -> str:
    """Strip the spaces and dashes people type inside card numbers."""
    return "".join(ch for ch in str(number) if ch not in " -")


def card_error(number: str, off_session: bool) -> StripeError | None:
    """The card error charging this test card raises, or None when the charge succeeds."""
    if number == CARD_DECLINED or (number == CARD_FAILS_LATER and off_session):
        return StripeError(
            402, "Your card was declined.", type="card_error", code="card_declined",
            decline_code="generic_decline",
        )  # fmt: skip
    if number == CARD_INSUFFICIENT:
        return StripeError(
            402, "Your card has insufficient funds.", type="card_error", code="card_declined",
            decline_code="insufficient_funds",
        )  # fmt: skip
    return None


def validate_card(number: str, param: str = "card") -> str:
    """Return the normalized test card number or raise Stripe's incorrect_number error."""
    number = normalize_card(number)
    if number not in KNOWN_CARDS:
        raise StripeError(
            402, "Your card number is incorrect. Use a Stripe test card such as "
            "4242 4242 4242 4242.", type="card_error", code="incorrect_number", param=param,
        )  # fmt: skip
    return number


def check_locale(p: dict[str, Any]) -> None:
    """Stripe refuses a `locale` its hosted pages do not speak (Georgian, Armenian, …)."""
    locale = p.get("locale")
    if locale is not None and locale not in STRIPE_LOCALES:
        raise invalid(
            f"Invalid locale: must be one of {', '.join(sorted(STRIPE_LOCALES))}", "locale"
        )


def as_int(value: Any, param: str) -> int:
    """Parse a form value as an integer or raise Stripe's invalid integer error."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param) from None


def as_bool(value: Any, param: str) -> bool:
    """Parse a form value as a boolean the way Stripe does."""
    if isinstance(value, bool):
        return value
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0", ""):
        return False
    raise invalid(f"Invalid boolean: {value}", param)


def apply_metadata(target: Obj, value: Any) -> None:
    """Merge metadata the Stripe way: empty string unsets a key, ``metadata=""`` clears all."""
    if value is None:
        return
    if value == "":
        target["metadata"] = {}
        return
    if not isinstance(value, dict):
        raise invalid("Invalid hash", "metadata")
    md = dict(target.get("metadata") or {})
    for k, v in value.items():
        if v == "":
            md.pop(k, None)
        else:
            md[k] = str(v)
    target["metadata"] = md


def diff(old: Any, new: Any) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old values of what changed, nested for hashes."""
    prev: dict[str, Any] = {}
    for key in dict.fromkeys([*old, *new]):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if (
            isinstance(before, dict)
            and isinstance(after, dict)
            and before.get("object") is None
            and after.get("object") is None
        ):
            prev[key] = diff(before, after)
        else:
            prev[key] = before
    return prev


def check_params(params: dict[str, Any], allowed: set[str]) -> None:
    """Reject unknown top-level parameters as Stripe does."""
    for key in params:
        if key not in allowed and key != "expand":
            raise invalid(f"Received unknown parameter: {key}", key)


class Engine:
    """All sandbox objects plus the operations the API, pages and clock perform on them."""

    def __init__(self, base_url: Callable[[], str], state_file: str | None = None) -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        self.state_file = state_file
        self.webhook_enabled = False
        self.on_batch: Callable[[list[Obj]], None] = lambda events: None
        self._request: dict[str, Any] = {"id": None, "idempotency_key": None}
        self._frozen: int | None = None
        self._batch: list[Obj] | None = None
        self.reset()
        if state_file and os.path.exists(state_file):
            self.load()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Forget every object, event and idempotency key, and the clock offset."""
        self.objects: dict[str, Obj] = {}
        self.offset = 0
        self.seq = 0
        self.idempotency: dict[str, Obj] = {}

    def load(self) -> None:
        """Reload the state saved by :meth:`save`."""
        with open(self.state_file or "", encoding="utf-8") as fh:
            data = json.load(fh)
        self.objects = data["objects"]
        self.offset = data["offset"]
        self.seq = data["seq"]
        self.idempotency = data.get("idempotency", {})

    def save(self) -> None:
        """Write the whole state atomically so a restarted demo remembers it."""
        if not self.state_file:
            return
        tmp = f"{self.state_file}.tmp"
        data = {
            "objects": self.objects,
            "offset": self.offset,
            "seq": self.seq,
            "idempotency": self.idempotency,
        }
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, self.state_file)

    def now(self) -> int:
        """Sandbox time: wall clock plus the test clock offset."""
        if self._frozen is not None:
            return self._frozen
        return int(time.time()) + self.offset

    @contextmanager
    def operation(self, request_id: str | None = None, idempotency_key: str | None = None):
        """Group the events of one change into a delivery batch and persist afterwards."""
        with self.lock:
            outer = self._batch is not None
            if not outer:
                self._batch = []
                self._request = {"id": request_id, "idempotency_key": idempotency_key}
            try:
                yield
            finally:
                if not outer:
                    batch, self._batch = self._batch, None
                    self._request = {"id": None, "idempotency_key": None}
                    self.save()
                    if batch:
                        self.on_batch(batch)

    def store(self, obj: Obj) -> Obj:
        """Keep an object and remember its creation order for lists."""
        self.seq += 1
        obj["_seq"] = self.seq
        self.objects[obj["id"]] = obj
        return obj

    def get(self, obj_id: Any, kind: str, param: str = "id") -> Obj:
        """Fetch a live object of the given kind or raise Stripe's 404."""
        obj = self.objects.get(obj_id) if isinstance(obj_id, str) else None
        if obj is None or obj["object"] != kind:
            raise missing(kind.split(".")[-1] if kind != "checkout.session" else kind, obj_id,
                          param)  # fmt: skip
        return obj

    def of_kind(self, kind: str) -> list[Obj]:
        """Every object of a kind, newest first as Stripe lists them."""
        found = [o for o in self.objects.values() if o["object"] == kind]
        found.sort(key=lambda o: (o["created"], o["_seq"]), reverse=True)
        return found

    # -------------------------------------------------------------- rendering

    def render(self, obj: Obj) -> Obj:
        """The public JSON of an object: private keys dropped, ids turned into nested objects."""
        if obj.get("_deleted"):
            return {"id": obj["id"], "object": obj["object"], "deleted": True}
        out = {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}
        if obj["object"] == "subscription":
            for item in out["items"]["data"]:
                price = self.objects[item["price"]]
                item["price"] = self.render(price)
                item["plan"] = shapes.plan_from_price(item["price"])
        return out

    def expand(self, out: Any, paths: list[str]) -> Any:
        """Replace ids by objects along each dotted ``expand`` path."""
        for path in paths:
            out = self._expand_one(out, path.split("."), 0)
        return out

    def _expand_one(self, node: Any, parts: list[str], depth: int) -> Any:
        if not parts or depth > 4:
            return node
        if isinstance(node, list):
            return [self._expand_one(n, parts, depth) for n in node]
        if not isinstance(node, dict):
            return node
        head, rest = parts[0], parts[1:]
        if head not in node:
            raise invalid(
                f"This property cannot be expanded ({head}).", "expand"
            )  # the SDK surfaces this like Stripe's own message
        value = node[head]
        if isinstance(value, str) and value in self.objects:
            value = self.render(self.objects[value])
        elif isinstance(value, list):  # a list of ids, such as a subscription's discounts
            value = [self.render(self.objects[v]) if isinstance(v, str) and v in self.objects
                     else v for v in value]  # fmt: skip
        node[head] = self._expand_one(value, rest, depth + 1)
        return node

    def page(
        self,
        items: list[Obj],
        params: dict[str, Any],
        url: str,
    ) -> Obj:
        """Cut a newest-first list into Stripe's list envelope using limit and cursors."""
        limit = as_int(params.get("limit", 10), "limit")
        if not 1 <= limit <= 100:
            raise invalid("Invalid limit: must be between 1 and 100.", "limit")
        created = params.get("created")
        if isinstance(created, dict):
            ops = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
            for op, bound in created.items():
                if op not in ops:
                    raise invalid(f"Received unknown parameter: created[{op}]", f"created[{op}]")
                b = as_int(bound, f"created[{op}]")
                items = [o for o in items if ops[op](o["created"], b)]
        elif created is not None:
            b = as_int(created, "created")
            items = [o for o in items if o["created"] == b]
        ids = [o["id"] for o in items]
        if params.get("starting_after"):
            cursor = params["starting_after"]
            if cursor not in ids:
                raise missing("object", cursor, "starting_after")
            items = items[ids.index(cursor) + 1 :]
            data, has_more = items[:limit], len(items) > limit
        elif params.get("ending_before"):
            cursor = params["ending_before"]
            if cursor not in ids:
                raise missing("object", cursor, "ending_before")
            items = items[: ids.index(cursor)]
            data, has_more = items[-limit:], len(items) > limit
        else:
            data, has_more = items[:limit], len(items) > limit
        return {
            "object": "list",
            "data": [self.render(o) for o in data],
            "has_more": has_more,
            "url": url,
        }

    # ----------------------------------------------------------------- events

    def emit(self, kind: str, obj: Obj, previous: dict[str, Any] | None = None) -> Obj:
        """Record an event whose ``data.object`` is the object as it is right now."""
        data: dict[str, Any] = {"object": self.render(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = self.store(
            {
                "id": shapes.new_id("evt_"),
                "object": "event",
                "api_version": API_VERSION,
                "created": self.now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1 if self.webhook_enabled else 0,
                "request": dict(self._request),
                "type": kind,
            }
        )
        if self._batch is not None:
            self._batch.append(event)
        else:  # pragma: no cover - every change runs inside operation()
            self.on_batch([event])
        return event

    @contextmanager
    def updating(self, obj: Obj, kind: str):
        """Emit ``kind`` with ``previous_attributes`` if the block changed the object."""
        before = self.render(obj)
        yield
        after = self.render(obj)
        previous = diff(before, after)
        if previous:
            self.emit(kind, obj, previous)

    # ------------------------------------------------------ products & prices

    def create_product(self, p: dict[str, Any]) -> Obj:
        """POST /v1/products."""
        check_params(
            p,
            {
                "name",
                "description",
                "active",
                "metadata",
                "id",
                "default_price_data",
                "images",
                "url",
                "type",
                "statement_descriptor",
                "unit_label",
            },
        )
        if not p.get("name"):
            raise invalid("Missing required param: name.", "name", "parameter_missing")
        prod = shapes.product(self.now(), p["name"])
        if p.get("id"):
            if p["id"] in self.objects:
                raise invalid("Product already exists.", "id", "resource_already_exists")
            prod["id"] = p["id"]
        prod["description"] = p.get("description")
        prod["active"] = as_bool(p.get("active", "true"), "active")
        apply_metadata(prod, p.get("metadata"))
        self.store(prod)
        self.emit("product.created", prod)
        if isinstance(p.get("default_price_data"), dict):
            price = self.create_price({**p["default_price_data"], "product": prod["id"]})
            with self.updating(prod, "product.updated"):
                prod["default_price"] = price["id"]
        return prod

    def update_product(self, prod: Obj, p: dict[str, Any]) -> Obj:
        """POST /v1/products/{id}."""
        check_params(p, {"name", "description", "active", "metadata", "default_price"})
        with self.updating(prod, "product.updated"):
            for key in ("name", "description"):
                if key in p:
                    prod[key] = p[key] or None
            if "active" in p:
                prod["active"] = as_bool(p["active"], "active")
            if "default_price" in p:
                prod["default_price"] = self.get(p["default_price"], "price", "default_price")["id"]
            apply_metadata(prod, p.get("metadata"))
            prod["updated"] = self.now()
        return prod

    def create_price(self, p: dict[str, Any]) -> Obj:
        """POST /v1/prices."""
        check_params(p, {"product", "product_data", "currency", "unit_amount", "recurring",
                         "lookup_key", "transfer_lookup_key", "active", "metadata", "nickname",
                         "unit_amount_decimal", "tax_behavior", "billing_scheme"})  # fmt: skip
        if not p.get("currency"):
            raise invalid("Missing required param: currency.", "currency", "parameter_missing")
        if "unit_amount" not in p:
            raise invalid("Missing required param: unit_amount.", "unit_amount",
                          "parameter_missing")  # fmt: skip
        amount = as_int(p["unit_amount"], "unit_amount")
        if amount < 0:
            raise invalid("unit_amount must be at least 0.", "unit_amount")
        if p.get("product"):
            product_id = self.get(p["product"], "product", "product")["id"]
        elif isinstance(p.get("product_data"), dict):
            product_id = self.create_product(p["product_data"])["id"]
        else:
            raise invalid("Missing required param: product.", "product", "parameter_missing")
        price = shapes.price(self.now(), product_id, p["currency"].lower(), amount)
        if isinstance(p.get("recurring"), dict):
            rec = p["recurring"]
            interval = rec.get("interval")
            if interval not in ("day", "week", "month", "year"):
                raise invalid("Invalid recurring[interval]", "recurring[interval]")
            count = as_int(rec.get("interval_count", 1), "recurring[interval_count]")
            trial = rec.get("trial_period_days")
            price["recurring"] = shapes.recurring(
                interval, count, as_int(trial, "recurring[trial_period_days]") if trial else None
            )
            price["type"] = "recurring"
        price["nickname"] = p.get("nickname")
        price["active"] = as_bool(p.get("active", "true"), "active")
        apply_metadata(price, p.get("metadata"))
        self._set_lookup_key(price, p)
        self.store(price)
        self.emit("price.created", price)
        return price

    def _set_lookup_key(self, price: Obj, p: dict[str, Any]) -> None:
        key = p.get("lookup_key")
        if key is None:
            return
        holder = next((o for o in self.of_kind("price") if o["lookup_key"] == key), None)
        if holder and holder["id"] != price["id"]:
            if not as_bool(p.get("transfer_lookup_key", "false"), "transfer_lookup_key"):
                raise invalid(
                    f"A price ({holder['id']}) already uses that lookup key.", "lookup_key"
                )
            with self.updating(holder, "price.updated"):
                holder["lookup_key"] = None
        price["lookup_key"] = key or None

    def update_price(self, price: Obj, p: dict[str, Any]) -> Obj:
        """POST /v1/prices/{id}."""
        check_params(p, {"active", "metadata", "nickname", "lookup_key", "transfer_lookup_key",
                         "tax_behavior"})  # fmt: skip
        with self.updating(price, "price.updated"):
            if "active" in p:
                price["active"] = as_bool(p["active"], "active")
            if "nickname" in p:
                price["nickname"] = p["nickname"] or None
            apply_metadata(price, p.get("metadata"))
            self._set_lookup_key(price, p)
        return price

    # -------------------------------------------------------------- customers

    def create_customer(self, p: dict[str, Any]) -> Obj:
        """POST /v1/customers."""
        check_params(p, {"email", "name", "metadata", "description", "phone", "address",
                         "payment_method", "invoice_settings", "preferred_locales"})  # fmt: skip
        cus = shapes.customer(self.now(), p.get("email") or None, p.get("name") or None)
        cus["description"] = p.get("description")
        cus["phone"] = p.get("phone")
        apply_metadata(cus, p.get("metadata"))
        self.store(cus)
        self.emit("customer.created", cus)
        return cus

    def update_customer(self, cus: Obj, p: dict[str, Any]) -> Obj:
        """POST /v1/customers/{id}."""
        check_params(p, {"email", "name", "metadata", "description", "phone", "address",
                         "invoice_settings", "preferred_locales"})  # fmt: skip
        with self.updating(cus, "customer.updated"):
            for key in ("email", "name", "description", "phone"):
                if key in p:
                    cus[key] = p[key] or None
            apply_metadata(cus, p.get("metadata"))
            settings = p.get("invoice_settings")
            if isinstance(settings, dict) and "default_payment_method" in settings:
                pm_id = settings["default_payment_method"]
                if pm_id:
                    param = "invoice_settings[default_payment_method]"
                    pm = self.get(pm_id, "payment_method", param)
                    if pm["customer"] != cus["id"]:
                        raise invalid(
                            f"The customer does not have a payment method with the ID {pm_id}.",
                            "invoice_settings[default_payment_method]", "resource_missing",
                        )  # fmt: skip
                cus["invoice_settings"]["default_payment_method"] = pm_id or None
        return cus

    def delete_customer(self, cus: Obj) -> Obj:
        """DELETE /v1/customers/{id}: cancels the customer's subscriptions first, like Stripe."""
        for sub in self.of_kind("subscription"):
            if sub["customer"] == cus["id"] and sub["status"] not in (
                "canceled",
                "incomplete_expired",
            ):
                self.cancel_subscription(sub, {})
        snapshot = self.render(cus)
        cus["_deleted"] = True
        self.emit_snapshot("customer.deleted", cus, snapshot)
        return cus

    def emit_snapshot(self, kind: str, obj: Obj, snapshot: Obj) -> None:
        """Emit an event carrying a snapshot taken earlier (deletions show the last state)."""
        event = self.emit(kind, obj)
        event["data"]["object"] = snapshot

    def attach_card(self, cus: Obj, number: str, make_default: bool) -> Obj:
        """Create a card payment method from a test card and attach it to the customer."""
        pm = shapes.payment_method(self.now(), number, cus["email"])
        pm["customer"] = cus["id"]
        self.store(pm)
        self.emit("payment_method.attached", pm)
        if make_default:
            with self.updating(cus, "customer.updated"):
                cus["invoice_settings"]["default_payment_method"] = pm["id"]
        return pm

    # ------------------------------------------------------ coupons and codes

    def create_coupon(self, p: dict[str, Any]) -> Obj:
        """POST /v1/coupons."""
        check_params(p, {"id", "percent_off", "amount_off", "currency", "duration",
                         "duration_in_months", "name", "max_redemptions", "redeem_by",
                         "metadata", "applies_to"})  # fmt: skip
        if p.get("id") and p["id"] in self.objects:
            raise invalid("Coupon already exists.", "id", "resource_already_exists")
        c = shapes.coupon(self.now(), p.get("id"))
        if p.get("percent_off"):
            pct = float(p["percent_off"])
            if not 0 < pct <= 100:
                raise invalid("percent_off must be between 0 and 100.", "percent_off")
            c["percent_off"] = pct
        elif p.get("amount_off"):
            if not p.get("currency"):
                raise invalid("You must pass currency when passing amount_off.", "currency")
            c["amount_off"] = as_int(p["amount_off"], "amount_off")
            c["currency"] = p["currency"].lower()
        else:
            raise invalid("You must pass either percent_off or amount_off.", "percent_off")
        duration = p.get("duration", "once")
        if duration not in ("once", "repeating", "forever"):
            raise invalid("Invalid duration", "duration")
        c["duration"] = duration
        if duration == "repeating":
            c["duration_in_months"] = as_int(p.get("duration_in_months"), "duration_in_months")
        c["name"] = p.get("name")
        if p.get("max_redemptions"):
            c["max_redemptions"] = as_int(p["max_redemptions"], "max_redemptions")
        apply_metadata(c, p.get("metadata"))
        self.store(c)
        self.emit("coupon.created", c)
        return c

    def create_promotion_code(self, p: dict[str, Any]) -> Obj:
        """POST /v1/promotion_codes (current shape: ``promotion[type]=coupon``)."""
        if "coupon" in p:
            raise invalid(
                "Received unknown parameter: coupon. Since 2025-09-30 pass "
                "promotion[type]=coupon and promotion[coupon].", "coupon",
            )  # fmt: skip
        check_params(p, {"promotion", "code", "active", "max_redemptions", "expires_at",
                         "metadata", "customer", "restrictions"})  # fmt: skip
        promo = p.get("promotion") if isinstance(p.get("promotion"), dict) else {}
        coupon = self.get(promo.get("coupon"), "coupon", "promotion[coupon]")
        code = p.get("code") or shapes.new_id("", 8).upper()
        if any(o["code"].lower() == code.lower() and o["active"]
               for o in self.of_kind("promotion_code")):  # fmt: skip
            raise invalid("An active promotion code with that code already exists.", "code")
        pc = shapes.promotion_code(self.now(), code, coupon["id"])
        pc["active"] = as_bool(p.get("active", "true"), "active")
        if p.get("max_redemptions"):
            pc["max_redemptions"] = as_int(p["max_redemptions"], "max_redemptions")
        if p.get("expires_at"):
            pc["expires_at"] = as_int(p["expires_at"], "expires_at")
        apply_metadata(pc, p.get("metadata"))
        self.store(pc)
        self.emit("promotion_code.created", pc)
        return pc

    def update_promotion_code(self, pc: Obj, p: dict[str, Any]) -> Obj:
        """POST /v1/promotion_codes/{id}."""
        check_params(p, {"active", "metadata", "restrictions"})
        with self.updating(pc, "promotion_code.updated"):
            if "active" in p:
                pc["active"] = as_bool(p["active"], "active")
            apply_metadata(pc, p.get("metadata"))
        return pc

    def find_promotion_code(self, code: str) -> Obj | None:
        """The usable promotion code a person typed, matched case-insensitively."""
        for pc in self.of_kind("promotion_code"):
            if pc["code"].lower() == code.strip().lower() and self._promo_usable(pc):
                return pc
        return None

    def _promo_usable(self, pc: Obj) -> bool:
        coupon = self.objects[pc["promotion"]["coupon"]]
        return (
            pc["active"]
            and coupon["valid"]
            and (pc["expires_at"] is None or pc["expires_at"] > self.now())
            and (pc["max_redemptions"] is None or pc["times_redeemed"] < pc["max_redemptions"])
        )

    @staticmethod
    def discount_amount(coupon: Obj, subtotal: int, currency: str) -> int:
        """How much a coupon takes off a subtotal."""
        if coupon["percent_off"]:
            return min(subtotal, round(subtotal * coupon["percent_off"] / 100))
        if coupon["amount_off"] and coupon["currency"] == currency:
            return min(subtotal, coupon["amount_off"])
        return 0

    # ------------------------------------------------------- checkout sessions

    def create_checkout_session(self, p: dict[str, Any]) -> Obj:
        """POST /v1/checkout/sessions (modes ``payment`` and ``subscription``)."""
        check_params(p, {
            "mode", "line_items", "metadata", "client_reference_id", "customer",
            "customer_email", "customer_creation", "subscription_data", "payment_intent_data",
            "allow_promotion_codes", "discounts", "success_url", "cancel_url", "expires_at",
            "payment_method_types", "locale", "billing_address_collection", "ui_mode",
            "submit_type", "consent_collection", "custom_text", "invoice_creation",
            "phone_number_collection", "payment_method_collection", "customer_update",
            "automatic_tax", "tax_id_collection", "saved_payment_method_options",
            "adaptive_pricing",
        })  # fmt: skip
        check_locale(p)
        mode = p.get("mode")
        if mode not in ("payment", "subscription"):
            if mode == "setup":
                raise invalid("The sandbox does not support setup mode.", "mode")
            raise invalid("Missing required param: mode.", "mode", "parameter_missing")
        if not p.get("success_url"):
            raise invalid("Missing required param: success_url.", "success_url",
                          "parameter_missing")  # fmt: skip
        if p.get("customer") and p.get("customer_email"):
            raise invalid("You may only specify one of these parameters: customer, "
                          "customer_email.", "customer_email")  # fmt: skip
        if p.get("customer_creation") and mode != "payment":
            raise invalid("`customer_creation` can only be used in `payment` mode.",
                          "customer_creation")  # fmt: skip
        if p.get("customer_creation") not in (None, "always", "if_required"):
            raise invalid("Invalid customer_creation", "customer_creation")
        if "allow_promotion_codes" in p and p.get("discounts"):
            raise invalid("You may only specify one of these parameters: "
                          "allow_promotion_codes, discounts.", "discounts")  # fmt: skip
        if mode == "subscription" and p.get("payment_intent_data"):
            raise invalid("You can not pass `payment_intent_data` in `subscription` mode.",
                          "payment_intent_data")  # fmt: skip
        if mode == "payment" and p.get("subscription_data"):
            raise invalid("You can not pass `subscription_data` in `payment` mode.",
                          "subscription_data")  # fmt: skip
        items = p.get("line_items")
        if not isinstance(items, list) or not items:
            raise invalid("Missing required param: line_items.", "line_items",
                          "parameter_missing")  # fmt: skip
        sess = shapes.checkout_session(self.now(), mode)
        lines, currency = [], None
        for i, li in enumerate(items):
            price = self._checkout_price(li, i)
            if mode == "subscription" and price["type"] != "recurring":
                raise invalid("You must specify at least one recurring price in "
                              "`subscription` mode when using prices.",
                              f"line_items[{i}][price]")  # fmt: skip
            if mode == "payment" and price["type"] == "recurring":
                raise invalid("You specified `payment` mode but passed a recurring price. "
                              "Either switch to `subscription` mode or use only one-time "
                              "prices.", f"line_items[{i}][price]")  # fmt: skip
            if currency and price["currency"] != currency:
                raise invalid("All prices must use the same currency.",
                              f"line_items[{i}][price]")  # fmt: skip
            currency = price["currency"]
            quantity = as_int(li.get("quantity", 1), f"line_items[{i}][quantity]")
            lines.append({"id": shapes.new_id("li_"), "price": price["id"], "quantity": quantity})
        sess["_line_items"] = lines
        sess["currency"] = currency
        if p.get("customer"):
            sess["customer"] = self.get(p["customer"], "customer", "customer")["id"]
        sess["customer_email"] = p.get("customer_email") or None
        if mode == "payment":
            sess["customer_creation"] = p.get("customer_creation") or "if_required"
        for key in ("client_reference_id", "success_url", "cancel_url", "locale",
                    "submit_type", "billing_address_collection"):  # fmt: skip
            if p.get(key):
                sess[key] = p[key]
        if "allow_promotion_codes" in p:
            sess["allow_promotion_codes"] = as_bool(p["allow_promotion_codes"],
                                                    "allow_promotion_codes")  # fmt: skip
        adaptive = p.get("adaptive_pricing")
        if adaptive is not None:
            if not isinstance(adaptive, dict):
                raise invalid("Invalid object", "adaptive_pricing")
            check_params(adaptive, {"enabled"})
            enabled = as_bool(adaptive.get("enabled", True), "adaptive_pricing[enabled]")
            sess["adaptive_pricing"] = {"enabled": enabled}
        apply_metadata(sess, p.get("metadata"))
        sub_data = p.get("subscription_data") or {}
        if isinstance(sub_data, dict):
            check_params(
                sub_data,
                {
                    "metadata",
                    "trial_period_days",
                    "description",
                    "trial_end",
                    "default_tax_rates",
                    "billing_cycle_anchor",
                },
            )
            sess["_subscription_data"] = sub_data
        pi_data = p.get("payment_intent_data") or {}
        if isinstance(pi_data, dict):
            check_params(
                pi_data,
                {
                    "metadata",
                    "description",
                    "receipt_email",
                    "setup_future_usage",
                    "statement_descriptor",
                },
            )
            sess["_payment_intent_data"] = pi_data
        if p.get("expires_at"):
            expires = as_int(p["expires_at"], "expires_at")
            if not 1800 <= expires - self.now() <= 86400:
                raise invalid("The `expires_at` timestamp must be between 30 minutes and 24 "
                              "hours from Checkout Session creation.", "expires_at")  # fmt: skip
            sess["expires_at"] = expires
        discounts = p.get("discounts")
        if isinstance(discounts, list) and discounts:
            d = discounts[0]
            if d.get("promotion_code"):
                pc = self.get(d["promotion_code"], "promotion_code", "discounts[0][promotion_code]")
                sess["_promotion_code"], sess["_coupon"] = pc["id"], pc["promotion"]["coupon"]
            elif d.get("coupon"):
                sess["_coupon"] = self.get(d["coupon"], "coupon", "discounts[0][coupon]")["id"]
        sess["url"] = f"{self.base_url()}/c/pay/{sess['id']}"
        self._price_session(sess)
        self.store(sess)
        return sess

    def _checkout_price(self, li: dict[str, Any], i: int) -> Obj:
        if li.get("price"):
            price = self.get(li["price"], "price", f"line_items[{i}][price]")
            if not price["active"]:
                raise invalid(f"The price `{price['id']}` is not active.",
                              f"line_items[{i}][price]")  # fmt: skip
            return price
        data = li.get("price_data")
        if not isinstance(data, dict):
            raise invalid("You must specify either `price` or `price_data`.",
                          f"line_items[{i}][price]")  # fmt: skip
        params = {
            k: v
            for k, v in data.items()
            if k in ("currency", "unit_amount", "recurring", "product", "product_data")
        }
        with self._hidden():
            price = self.create_price(params)
        price["_adhoc"] = True
        return price

    @contextmanager
    def _hidden(self) -> Iterator[None]:
        """Suppress the events of objects Stripe creates inline (price_data, product_data)."""
        saved = self._batch
        self._batch = []
        try:
            yield
        finally:
            for event in self._batch:
                self.objects.pop(event["id"], None)
            self._batch = saved

    def _price_session(self, sess: Obj) -> None:
        subtotal = sum(
            self.objects[li["price"]]["unit_amount"] * li["quantity"] for li in sess["_line_items"]
        )
        discount, sess["discounts"] = 0, []
        if sess.get("_coupon"):
            discount = self.discount_amount(self.objects[sess["_coupon"]], subtotal,
                                            sess["currency"])  # fmt: skip
            sess["discounts"] = [{"coupon": sess["_coupon"],
                                  "promotion_code": sess.get("_promotion_code")}]  # fmt: skip
        if sess.get("_subscription_data", {}).get("trial_period_days"):
            subtotal = discount = 0  # Stripe shows what is due today: nothing during a trial
        sess["amount_subtotal"] = subtotal
        sess["amount_total"] = subtotal - discount
        sess["total_details"]["amount_discount"] = discount

    def checkout_line_items(self, sess: Obj) -> list[Obj]:
        """The ``item`` objects of a session, as ``/line_items`` and ``expand`` show them."""
        out, share_left = [], sess["total_details"]["amount_discount"]
        for n, li in enumerate(sess["_line_items"]):
            price = self.render(self.objects[li["price"]])
            subtotal = price["unit_amount"] * li["quantity"]
            disc = share_left if n == len(sess["_line_items"]) - 1 else min(
                share_left, round(subtotal * sess["total_details"]["amount_discount"]
                                  / max(sess["amount_subtotal"], 1)))  # fmt: skip
            share_left -= disc
            product = self.objects[price["product"]]
            out.append({
                "id": li["id"], "object": "item", "adjustable_quantity": None,
                "amount_discount": disc, "amount_subtotal": subtotal, "amount_tax": 0,
                "amount_total": subtotal - disc, "currency": price["currency"],
                "description": product["name"], "metadata": {}, "price": price,
                "quantity": li["quantity"],
            })  # fmt: skip
        return out

    def render_session(self, sess: Obj, with_line_items: bool = False) -> Obj:
        """A session's JSON, optionally with the includable ``line_items`` list."""
        out = self.render(sess)
        if with_line_items:
            out["line_items"] = {
                "object": "list", "data": self.checkout_line_items(sess), "has_more": False,
                "url": f"/v1/checkout/sessions/{sess['id']}/line_items",
            }  # fmt: skip
        return out

    def expire_checkout_session(self, sess: Obj) -> Obj:
        """POST /v1/checkout/sessions/{id}/expire."""
        if sess["status"] != "open":
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{sess["status"]}".'
            )
        sess["status"] = "expired"
        sess["url"] = None
        self.emit("checkout.session.expired", sess)
        return sess

    def apply_checkout_promotion_code(self, sess: Obj, code: str) -> None:
        """Apply a code a person typed on the Checkout page."""
        if not sess["allow_promotion_codes"]:
            raise invalid("Promotion codes are not enabled for this session.", "promotion_code")
        pc = self.find_promotion_code(code)
        if pc is None:
            raise invalid("This code is invalid.", "promotion_code", "promotion_code_invalid")
        sess["_promotion_code"], sess["_coupon"] = pc["id"], pc["promotion"]["coupon"]
        self._price_session(sess)

    def complete_checkout(
        self, sess: Obj, card: str, email: str | None = None, promotion_code: str | None = None
    ) -> Obj:
        """Pay a session the way a person on the Checkout page does; raises card errors."""
        if sess["status"] != "open":
            raise invalid(f"This Checkout Session is {sess['status']}.", "checkout_session")
        if sess["expires_at"] <= self.now():
            self.expire_checkout_session(sess)
            raise invalid("This Checkout Session has expired.", "checkout_session")
        if promotion_code:
            self.apply_checkout_promotion_code(sess, promotion_code)
        number = validate_card(card)
        cus = self.objects[sess["customer"]] if sess["customer"] else None
        email = (cus or {}).get("email") or sess["customer_email"] or (email or "").strip() or None
        if cus is None and not email:
            raise invalid("Enter your email address.", "email", "email_invalid")
        if email and "@" not in email:
            raise invalid("Your email address is invalid.", "email", "email_invalid")
        err = card_error(number, off_session=False)
        if err is not None:
            if sess["mode"] == "payment":
                self._checkout_payment_failed(sess, number, email, err)
            raise err
        new_customer = cus is None and (
            sess["mode"] == "subscription" or sess["customer_creation"] == "always"
        )
        if new_customer:
            cus = self.create_customer({"email": email})
        sess["customer_details"] = shapes.customer_details(email)
        if sess.get("_coupon"):
            coupon = self.objects[sess["_coupon"]]
            coupon["times_redeemed"] += 1
            if sess.get("_promotion_code"):
                self.objects[sess["_promotion_code"]]["times_redeemed"] += 1
        charge = None
        if sess["mode"] == "payment":
            charge = self._checkout_payment(sess, cus, number, email)
        else:
            assert cus is not None
            pm = self.attach_card(cus, number, make_default=True)
            data = sess.get("_subscription_data", {})
            sub = self._start_subscription(
                cus,
                [(self.objects[li["price"]], li["quantity"]) for li in sess["_line_items"]],
                metadata=data.get("metadata"),
                trial_days=data.get("trial_period_days"),
                description=data.get("description"),
                coupon_id=sess.get("_coupon"),
                promotion_code_id=sess.get("_promotion_code"),
                payment_method=pm,
                off_session=False,
            )
            inv = self.objects[sub["latest_invoice"]]
            sess["subscription"], sess["invoice"] = sub["id"], inv["id"]
            if inv.get("_charge"):
                charge = self.objects[inv["_charge"]]
        sess["customer"] = cus["id"] if cus else None
        sess["status"] = "complete"
        sess["payment_status"] = "paid" if charge else "no_payment_required"
        sess["url"] = None
        self.emit("checkout.session.completed", sess)
        if number == CARD_DISPUTED and charge is not None:
            self.dispute_charge(charge, "fraudulent")
        return sess

    def _checkout_pi(self, sess: Obj, cus: Obj | None, email: str | None) -> Obj:
        if sess["payment_intent"]:
            pi = self.objects[sess["payment_intent"]]
            pi["customer"] = cus["id"] if cus else None
            return pi
        pi = shapes.payment_intent(self.now(), sess["amount_total"], sess["currency"])
        data = sess.get("_payment_intent_data", {})
        apply_metadata(pi, data.get("metadata"))
        pi["description"] = data.get("description")
        pi["receipt_email"] = data.get("receipt_email") or email
        pi["customer"] = cus["id"] if cus else None
        self.store(pi)
        sess["payment_intent"] = pi["id"]
        self.emit("payment_intent.created", pi)
        return pi

    def _checkout_payment_failed(self, sess: Obj, number: str, email: str | None,
                                 err: StripeError) -> None:  # fmt: skip
        cus = self.objects[sess["customer"]] if sess["customer"] else None
        pi = self._checkout_pi(sess, cus, email)
        pm = self.store(shapes.payment_method(self.now(), number, email))
        self._attempt(pi, pm, err)

    def _checkout_payment(self, sess: Obj, cus: Obj | None, number: str,
                          email: str | None) -> Obj:  # fmt: skip
        pi = self._checkout_pi(sess, cus, email)
        pm = self.store(shapes.payment_method(self.now(), number, email))
        self._attempt(pi, pm, None)
        charge = self.objects[pi["latest_charge"]]
        self.emit("payment_intent.succeeded", pi)
        self.emit("charge.succeeded", charge)
        return charge

    def _attempt(self, pi: Obj, pm: Obj, err: StripeError | None) -> Obj:
        """One charge attempt on a payment intent; emits only the failure events."""
        ch = shapes.charge(self.now(), pi, pm, self.base_url())
        self.store(ch)
        pi["payment_method"] = pm["id"]
        pi["latest_charge"] = ch["id"]
        if err is None:
            ch.update(status="succeeded", paid=True, captured=True, amount_captured=ch["amount"],
                      outcome=shapes.outcome(True))  # fmt: skip
            pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None)
            balance.charge_succeeded(self, ch, pm.get("_number"))
            return ch
        ch.update(status="failed", failure_code=err.code, failure_message=err.message,
                  outcome=shapes.outcome(False, err.decline_code))  # fmt: skip
        pi.update(status="requires_payment_method", payment_method=None, last_payment_error={
            "type": err.type, "code": err.code, "decline_code": err.decline_code,
            "message": err.message, "charge": ch["id"],
            "payment_method": self.render(pm), "doc_url": None, "param": None,
        })  # fmt: skip
        self.emit("charge.failed", ch)
        self.emit("payment_intent.payment_failed", pi)
        return ch

    # ----------------------------------------------------------- subscriptions

    def _start_subscription(
        self,
        cus: Obj,
        items: list[tuple[Obj, int]],
        *,
        metadata: Any = None,
        trial_days: Any = None,
        trial_end: Any = None,
        description: str | None = None,
        coupon_id: str | None = None,
        promotion_code_id: str | None = None,
        payment_method: Obj | None = None,
        off_session: bool = True,
        payment_behavior: str = "allow_incomplete",
        cancel_at_period_end: bool = False,
    ) -> Obj:
        """Create a subscription, its first invoice, and try to pay it."""
        now = self.now()
        first = items[0][0]
        sub = shapes.subscription(now, cus["id"], first["currency"])
        apply_metadata(sub, metadata)
        sub["description"] = description
        rec = first["recurring"]
        if trial_end is not None:
            end = as_int(trial_end, "trial_end")
        elif trial_days:
            end = now + 86400 * as_int(trial_days, "trial_period_days")
        else:
            end = None
        period_end = end if end else add_interval(now, rec["interval"], rec["interval_count"])
        for price, quantity in items:
            item = shapes.subscription_item(now, sub["id"], price["id"], quantity)
            item["current_period_start"], item["current_period_end"] = now, period_end
            sub["items"]["data"].append(item)
        sub["items"]["total_count"] = len(items)
        if end:
            sub.update(status="trialing", trial_start=now, trial_end=end)
        if coupon_id:
            self._attach_discount(sub, coupon_id, promotion_code_id)
        if cancel_at_period_end:
            sub.update(cancel_at_period_end=True, cancel_at=period_end, canceled_at=now)
        self.store(sub)
        inv = self._make_invoice(sub, "subscription_create", now, now, first_period=True)
        if inv["status"] == "paid" and sub["status"] == "incomplete":
            sub["status"] = "active"  # nothing due (a 100 % first-invoice coupon): active at once
        self.emit("customer.subscription.created", sub)
        if inv["status"] == "paid":
            return sub
        pm = payment_method or self._default_pm(sub)
        if payment_behavior == "default_incomplete" or pm is None:
            self._invoice_pi(inv)
            return sub
        err = self._pay_invoice(inv, pm, off_session)
        if err is None:
            with self.updating(sub, "customer.subscription.updated"):
                sub["status"] = "active"
        elif payment_behavior == "error_if_incomplete":
            raise err
        return sub

    def _attach_discount(self, sub: Obj, coupon_id: str, promo_id: str | None) -> Obj:
        """Put a coupon on a subscription as a discount object (``discounts`` lists its id)."""
        coupon = self.objects[coupon_id]
        end = None
        if coupon["duration"] == "repeating":
            end = add_interval(self.now(), "month", coupon["duration_in_months"])
        disc = self.store({
            "id": shapes.new_id("di_"), "object": "discount", "checkout_session": None,
            "customer": sub["customer"], "customer_account": None, "end": end,
            "invoice": None, "invoice_item": None, "promotion_code": promo_id,
            "source": {"coupon": coupon_id, "type": "coupon"}, "start": self.now(),
            "subscription": sub["id"], "subscription_item": None, "_invoices": 0,
        })  # fmt: skip
        sub["_discount"], sub["discounts"] = disc["id"], [disc["id"]]
        self.emit("customer.discount.created", disc)
        return disc

    def _end_discount(self, sub: Obj) -> None:
        """A repeating coupon's months are over (or it was removed): the discount goes."""
        disc = self.objects.get(sub.get("_discount") or "")
        if disc is None:
            return
        with self.updating(sub, "customer.subscription.updated"):
            sub["_discount"], sub["discounts"] = None, []
        self.emit("customer.discount.deleted", disc)

    def _default_pm(self, sub: Obj) -> Obj | None:
        pm_id = sub["default_payment_method"]
        if not pm_id:
            cus = self.objects[sub["customer"]]
            pm_id = cus["invoice_settings"]["default_payment_method"]
        return self.objects.get(pm_id) if pm_id else None

    def _make_invoice(self, sub: Obj, reason: str, period_start: int, period_end: int,
                      first_period: bool = False, lines: list[tuple[Obj, int, int]] | None = None,
                      ) -> Obj:  # fmt: skip
        """Create, emit and finalize a subscription invoice; zero totals are paid at once."""
        cus = self.objects[sub["customer"]]
        inv = shapes.invoice(self.now(), cus, sub["currency"], self.base_url())
        inv["billing_reason"] = reason
        inv["period_start"], inv["period_end"] = period_start, period_end
        inv["parent"] = {
            "quote_details": None, "type": "subscription_details",
            "subscription_details": {"metadata": dict(sub["metadata"]),
                                     "subscription": sub["id"]},
        }  # fmt: skip
        if lines is None:
            lines = []
            for item in sub["items"]["data"]:
                price = self.objects[item["price"]]
                amount = 0 if sub["status"] == "trialing" else price["unit_amount"] * item[
                    "quantity"]  # fmt: skip
                lines.append((item, amount, item["quantity"]))
        for item, amount, quantity in lines:
            price = self.objects[item["price"]]
            product = self.objects[price["product"]]
            desc = f"{quantity} \N{MULTIPLICATION SIGN} {product['name']}"
            if sub["status"] == "trialing":
                desc = f"Trial period for {product['name']}"
            inv["lines"]["data"].append(shapes.invoice_line(
                inv, sub["id"], item, price, quantity, amount, item["current_period_start"],
                item["current_period_end"], desc))  # fmt: skip
        inv["lines"]["total_count"] = len(inv["lines"]["data"])
        subtotal = sum(li["amount"] for li in inv["lines"]["data"])
        discount = 0
        disc = self.objects.get(sub.get("_discount") or "")
        if disc and (disc["end"] is None or disc["end"] > self.now()) and subtotal:
            coupon = self.objects[disc["source"]["coupon"]]
            if coupon["duration"] != "once" or disc["_invoices"] == 0:
                discount = self.discount_amount(coupon, subtotal, inv["currency"])
                disc["_invoices"] += 1
                inv["discounts"] = [disc["id"]]
                inv["total_discount_amounts"] = [{"amount": discount, "discount": disc["id"]}]
        total = subtotal - discount
        inv.update(subtotal=subtotal, subtotal_excluding_tax=subtotal, total=total,
                   total_excluding_tax=total, amount_due=total, amount_remaining=total)  # fmt: skip
        self.store(inv)
        sub["latest_invoice"] = inv["id"]
        self.emit("invoice.created", inv)
        pause = sub.get("pause_collection")
        if pause and not first_period:
            if pause["behavior"] == "keep_as_draft":
                return inv
            self._finalize(inv)
            if pause["behavior"] == "void":
                self._set_invoice_status(inv, "void", "voided_at", "invoice.voided")
            else:
                self._set_invoice_status(inv, "uncollectible", "marked_uncollectible_at",
                                         "invoice.marked_uncollectible")  # fmt: skip
            return inv
        self._finalize(inv)
        if total == 0:
            inv.update(status="paid", attempted=True, auto_advance=False)
            inv["status_transitions"]["paid_at"] = self.now()
            self.emit("invoice.paid", inv)
            self.emit("invoice.payment_succeeded", inv)
        return inv

    def _finalize(self, inv: Obj) -> None:
        cus = self.objects[inv["customer"]]
        inv["number"] = f"{cus['invoice_prefix']}-{cus['next_invoice_sequence']:04d}"
        cus["next_invoice_sequence"] += 1
        inv["status"] = "open"
        inv["status_transitions"]["finalized_at"] = self.now()
        inv["effective_at"] = self.now()
        self.emit("invoice.finalized", inv)

    def _set_invoice_status(self, inv: Obj, status: str, stamp: str, kind: str) -> None:
        inv["status"] = status
        inv["status_transitions"][stamp] = self.now()
        inv["next_payment_attempt"] = None
        inv["auto_advance"] = False
        self.emit(kind, inv)

    def _invoice_pi(self, inv: Obj) -> Obj:
        """The invoice's payment intent and invoice_payment, created on first need."""
        if inv.get("_payment_intent"):
            return self.objects[inv["_payment_intent"]]
        pi = shapes.payment_intent(self.now(), inv["amount_due"], inv["currency"])
        pi["customer"] = inv["customer"]
        pi["description"] = {
            "subscription_create": "Subscription creation",
            "subscription_cycle": "Subscription update",
            "subscription_update": "Subscription update",
        }.get(inv["billing_reason"], "Payment for Invoice")
        pi["_invoice"] = inv["id"]
        self.store(pi)
        inv["_payment_intent"] = pi["id"]
        payment = self.store(shapes.invoice_payment(self.now(), inv, pi["id"]))
        inv["_invoice_payment"] = payment["id"]
        self.emit("payment_intent.created", pi)
        return pi

    def _pay_invoice(self, inv: Obj, pm: Obj | None, off_session: bool) -> StripeError | None:
        """Charge an open invoice; emits Stripe's success or failure events in order."""
        pi = self._invoice_pi(inv)
        inv["attempt_count"] += 1
        inv["attempted"] = True
        if pm is None:
            err = StripeError(402, "The customer has no default payment method.",
                              type="card_error", code="payment_method_missing")  # fmt: skip
            self._invoice_failed(inv)
            return err
        err = card_error(pm["_number"], off_session)
        charge = self._attempt(pi, pm, err)
        if err is not None:
            self._invoice_failed(inv)
            return err
        inv["_charge"] = charge["id"]
        payment = self.objects[inv["_invoice_payment"]]
        payment.update(status="paid", amount_paid=inv["amount_due"])
        payment["status_transitions"]["paid_at"] = self.now()
        inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0,
                   next_payment_attempt=None, auto_advance=False)  # fmt: skip
        inv["status_transitions"]["paid_at"] = self.now()
        self.emit("invoice_payment.paid", payment)
        self.emit("invoice.paid", inv)
        self.emit("invoice.payment_succeeded", inv)
        self.emit("payment_intent.succeeded", pi)
        self.emit("charge.succeeded", charge)
        return None

    def _invoice_failed(self, inv: Obj) -> None:
        n = inv["attempt_count"]
        if inv["billing_reason"] != "subscription_create" and n <= len(RETRY_SCHEDULE_DAYS):
            inv["next_payment_attempt"] = self.now() + 86400 * RETRY_SCHEDULE_DAYS[n - 1]
        else:
            inv["next_payment_attempt"] = None
        self.emit("invoice.payment_failed", inv)

    def create_subscription(self, p: dict[str, Any]) -> Obj:
        """POST /v1/subscriptions."""
        check_params(p, {"customer", "items", "metadata", "trial_period_days", "trial_end",
                         "default_payment_method", "payment_behavior", "cancel_at_period_end",
                         "description", "discounts", "off_session", "collection_method",
                         "proration_behavior", "payment_settings"})  # fmt: skip
        cus = self.get(p.get("customer"), "customer", "customer")
        items = p.get("items")
        if not isinstance(items, list) or not items:
            raise invalid("Missing required param: items.", "items", "parameter_missing")
        resolved = []
        for i, it in enumerate(items):
            price = self.get(it.get("price"), "price", f"items[{i}][price]")
            if price["type"] != "recurring":
                raise invalid("The price specified is set to `type=one_time` but this field "
                              "only accepts prices with `type=recurring`.",
                              f"items[{i}][price]")  # fmt: skip
            resolved.append((price, as_int(it.get("quantity", 1), f"items[{i}][quantity]")))
        if len({pr["currency"] for pr, _ in resolved}) > 1:
            raise invalid("All prices on a subscription must use the same currency.", "items")
        pm = None
        if p.get("default_payment_method"):
            pm = self.get(p["default_payment_method"], "payment_method", "default_payment_method")
        behavior = p.get("payment_behavior", "allow_incomplete")
        if behavior not in ("allow_incomplete", "default_incomplete", "error_if_incomplete",
                            "pending_if_incomplete"):  # fmt: skip
            raise invalid("Invalid payment_behavior", "payment_behavior")
        coupon_id = promo_id = None
        if isinstance(p.get("discounts"), list) and p["discounts"]:
            d = p["discounts"][0]
            if d.get("promotion_code"):
                pc = self.get(d["promotion_code"], "promotion_code", "discounts[0][promotion_code]")
                promo_id, coupon_id = pc["id"], pc["promotion"]["coupon"]
            elif d.get("coupon"):
                coupon_id = self.get(d["coupon"], "coupon", "discounts[0][coupon]")["id"]
        trial_end = p.get("trial_end")
        sub = self._start_subscription(
            cus, resolved, metadata=p.get("metadata"), trial_days=p.get("trial_period_days"),
            trial_end=None if trial_end in (None, "now") else trial_end,
            description=p.get("description"), coupon_id=coupon_id, promotion_code_id=promo_id,
            payment_method=pm, off_session=True, payment_behavior=behavior,
            cancel_at_period_end=as_bool(p.get("cancel_at_period_end", "false"),
                                         "cancel_at_period_end"),
        )  # fmt: skip
        if pm:
            sub["default_payment_method"] = pm["id"]
        return sub

    def update_subscription(self, sub: Obj, p: dict[str, Any]) -> Obj:
        """POST /v1/subscriptions/{id}."""
        check_params(p, {"cancel_at_period_end", "cancel_at", "items", "metadata",
                         "pause_collection", "proration_behavior", "default_payment_method",
                         "trial_end", "cancellation_details", "description", "payment_behavior",
                         "proration_date", "billing_cycle_anchor", "off_session",
                         "discounts"})  # fmt: skip
        ended = sub["status"] in ("canceled", "incomplete_expired")
        if ended and set(p) - {"metadata", "cancellation_details", "expand"}:
            raise invalid("A canceled subscription can only update its cancellation_details "
                              "and metadata.")  # fmt: skip
        extra_invoice = None
        with self.updating(sub, "customer.subscription.updated"):
            apply_metadata(sub, p.get("metadata"))
            if "description" in p:
                sub["description"] = p["description"] or None
            details = p.get("cancellation_details")
            if isinstance(details, dict):
                for key in ("comment", "feedback"):
                    if key in details:
                        sub["cancellation_details"][key] = details[key] or None
            if "default_payment_method" in p:
                pm_id = p["default_payment_method"]
                if pm_id:
                    self.get(pm_id, "payment_method", "default_payment_method")
                sub["default_payment_method"] = pm_id or None
            period_end = sub["items"]["data"][0]["current_period_end"]
            if "cancel_at_period_end" in p:
                if as_bool(p["cancel_at_period_end"], "cancel_at_period_end"):
                    sub.update(cancel_at_period_end=True, cancel_at=period_end,
                               canceled_at=self.now())  # fmt: skip
                    sub["cancellation_details"]["reason"] = "cancellation_requested"
                else:
                    sub.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
                    sub["cancellation_details"]["reason"] = None
            if "cancel_at" in p:
                if p["cancel_at"] in ("", None):
                    sub.update(cancel_at=None, canceled_at=None, cancel_at_period_end=False)
                else:
                    at = as_int(p["cancel_at"], "cancel_at")
                    sub.update(cancel_at=at, canceled_at=self.now(),
                               cancel_at_period_end=at == period_end)  # fmt: skip
            if "pause_collection" in p:
                pause = p["pause_collection"]
                if pause in ("", None):
                    sub["pause_collection"] = None
                else:
                    if pause.get("behavior") not in ("keep_as_draft", "mark_uncollectible",
                                                     "void"):  # fmt: skip
                        raise invalid("Invalid pause_collection[behavior]",
                                      "pause_collection[behavior]")  # fmt: skip
                    resumes = pause.get("resumes_at")
                    sub["pause_collection"] = {
                        "behavior": pause["behavior"],
                        "resumes_at": as_int(resumes, "pause_collection[resumes_at]")
                        if resumes else None,
                    }  # fmt: skip
            if "discounts" in p:
                self._replace_discount(sub, p["discounts"])
            if p.get("trial_end") == "now" and sub["status"] == "trialing":
                self._renew(sub)
            if isinstance(p.get("items"), list):
                extra_invoice = self._change_items(sub, p["items"],
                                                   p.get("proration_behavior"))  # fmt: skip
        if extra_invoice is not None and extra_invoice["status"] != "paid":
            err = self._pay_invoice(extra_invoice, self._default_pm(sub), off_session=True)
            if err is not None and p.get("payment_behavior") == "error_if_incomplete":
                raise err
        return sub

    def _replace_discount(self, sub: Obj, discounts: Any) -> None:
        """``discounts=[{coupon}|{promotion_code}]`` puts a coupon on; ``discounts=""`` clears."""
        if sub.get("_discount"):
            self._end_discount(sub)
        if not isinstance(discounts, list) or not discounts:
            return
        d = discounts[0] if isinstance(discounts[0], dict) else {}
        if d.get("promotion_code"):
            pc = self.get(d["promotion_code"], "promotion_code", "discounts[0][promotion_code]")
            self._attach_discount(sub, pc["promotion"]["coupon"], pc["id"])
        elif d.get("coupon"):
            coupon = self.get(d["coupon"], "coupon", "discounts[0][coupon]")
            self._attach_discount(sub, coupon["id"], None)
        else:
            raise invalid("Pass discounts[0][coupon] or discounts[0][promotion_code].", "discounts")

    def _change_items(self, sub: Obj, items: list[Any], proration: Any) -> Obj | None:
        if proration not in (None, "none", "create_prorations", "always_invoice"):
            raise invalid("Invalid proration_behavior", "proration_behavior")
        by_id = {it["id"]: it for it in sub["items"]["data"]}
        changes, cycle_change = [], []
        for i, change in enumerate(items):
            if change.get("id"):
                item = by_id.get(change["id"])
                if item is None:
                    raise missing("subscription_item", change["id"], f"items[{i}][id]")
                if as_bool(change.get("deleted", "false"), f"items[{i}][deleted]"):
                    sub["items"]["data"].remove(item)
                    continue
            else:
                first = sub["items"]["data"][0]
                item = shapes.subscription_item(self.now(), sub["id"], "", 1)
                item["current_period_start"] = first["current_period_start"]
                item["current_period_end"] = first["current_period_end"]
                sub["items"]["data"].append(item)
            old_amount = (self.objects[item["price"]]["unit_amount"] * item["quantity"]
                          if item["price"] else 0)  # fmt: skip
            old_recurring = self.objects[item["price"]]["recurring"] if item["price"] else None
            if change.get("price"):
                price = self.get(change["price"], "price", f"items[{i}][price]")
                if price["type"] != "recurring" or price["currency"] != sub["currency"]:
                    raise invalid("The price must be recurring and in the subscription's "
                                  "currency.", f"items[{i}][price]")  # fmt: skip
                item["price"] = price["id"]
            if change.get("quantity"):
                item["quantity"] = as_int(change["quantity"], f"items[{i}][quantity]")
            if not item["price"]:
                raise invalid("Missing required param: items[{i}][price].", f"items[{i}][price]")
            new_amount = self.objects[item["price"]]["unit_amount"] * item["quantity"]
            changes.append((item, new_amount - old_amount))
            new_recurring = self.objects[item["price"]]["recurring"]
            if old_recurring and old_recurring["interval"] != new_recurring["interval"]:
                cycle_change.append((item, old_amount, new_amount))
        sub["items"]["total_count"] = len(sub["items"]["data"])
        if not sub["items"]["data"]:
            raise invalid("A subscription must have at least one item.", "items")
        if cycle_change and sub["status"] in ("active", "past_due"):
            return self._new_billing_cycle(sub, cycle_change, proration)
        if proration != "always_invoice" or sub["status"] not in ("active", "past_due"):
            return None
        lines = []
        for item, delta in changes:
            start, end = item["current_period_start"], item["current_period_end"]
            share = max(0, end - self.now()) / max(end - start, 1)
            amount = round(delta * share)
            if amount > 0:
                lines.append((item, amount, item["quantity"]))
        if not lines:
            return None
        return self._make_invoice(sub, "subscription_update", self.now(), self.now(),
                                  lines=lines)  # fmt: skip

    def _new_billing_cycle(self, sub: Obj, changed: list[tuple[Obj, int, int]],
                           proration: Any) -> Obj:  # fmt: skip
        """A switch to another interval (monthly to yearly): as Stripe, the billing cycle starts
        again now and the new price is invoiced at once, less the unused part of the old period
        unless ``proration_behavior=none``."""
        now, lines = self.now(), []
        for item, old_amount, new_amount in changed:
            start, end = item["current_period_start"], item["current_period_end"]
            unused = max(0, end - now) / max(end - start, 1)
            credit = 0 if proration == "none" else round(old_amount * unused)
            lines.append((item, max(0, new_amount - credit), item["quantity"]))
        for item in sub["items"]["data"]:
            rec = self.objects[item["price"]]["recurring"]
            item["current_period_start"] = now
            item["current_period_end"] = add_interval(now, rec["interval"], rec["interval_count"])
        return self._make_invoice(sub, "subscription_update", now, now, lines=lines)

    def cancel_subscription(self, sub: Obj, p: dict[str, Any], reason: str | None = None) -> Obj:
        """DELETE /v1/subscriptions/{id}: cancel at once."""
        check_params(p, {"invoice_now", "prorate", "cancellation_details"})
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise invalid(f"No such subscription: '{sub['id']}'; it is already canceled.",
                          code="resource_missing")  # fmt: skip
        now = self.now()
        sub["status"] = "incomplete_expired" if sub["status"] == "incomplete" else "canceled"
        sub["canceled_at"] = sub["canceled_at"] if sub["cancel_at_period_end"] else now
        sub["ended_at"] = now
        sub["cancellation_details"]["reason"] = reason or (
            sub["cancellation_details"]["reason"] or "cancellation_requested"
        )
        details = p.get("cancellation_details")
        if isinstance(details, dict):
            for key in ("comment", "feedback"):
                if key in details:
                    sub["cancellation_details"][key] = details[key] or None
        if sub["latest_invoice"]:
            inv = self.objects[sub["latest_invoice"]]
            if inv["status"] == "open":
                inv["next_payment_attempt"] = None
                inv["auto_advance"] = False
        self.emit("customer.subscription.deleted", sub)
        return sub

    # ---------------------------------------------------------------- invoices

    def pay_invoice(self, inv: Obj, p: dict[str, Any]) -> Obj:
        """POST /v1/invoices/{id}/pay with the customer's saved card."""
        check_params(p, {"payment_method", "off_session", "paid_out_of_band"})
        if inv["status"] != "open":
            raise invalid("Invoice is already paid." if inv["status"] == "paid"
                          else f"You can only pay an open invoice (status {inv['status']}).",
                          code="invoice_not_open")  # fmt: skip
        sub = self._invoice_sub(inv)
        pm = (self.get(p["payment_method"], "payment_method", "payment_method")
              if p.get("payment_method") else (self._default_pm(sub) if sub else None))  # fmt: skip
        err = self._pay_invoice(inv, pm, off_session=True)
        self._after_payment(inv, err)
        if err is not None:
            raise err
        return inv

    def pay_invoice_with_card(self, inv: Obj, card: str) -> None:
        """Pay an open invoice from the hosted invoice page (the person is present)."""
        if inv["status"] != "open":
            raise invalid("This invoice is not open.")
        number = validate_card(card)
        cus = self.objects[inv["customer"]]
        pm = self.attach_card(cus, number, make_default=True)
        err = self._pay_invoice(inv, pm, off_session=False)
        self._after_payment(inv, err)
        if err is not None:
            raise err

    def _invoice_sub(self, inv: Obj) -> Obj | None:
        parent = inv.get("parent") or {}
        details = parent.get("subscription_details") or {}
        return self.objects.get(details.get("subscription") or "")

    def _after_payment(self, inv: Obj, err: StripeError | None) -> None:
        """Move the invoice's subscription to the status the payment outcome implies."""
        sub = self._invoice_sub(inv)
        if sub is None or sub["status"] in ("canceled", "incomplete_expired"):
            return
        if err is None and sub["status"] in ("incomplete", "past_due", "unpaid"):
            with self.updating(sub, "customer.subscription.updated"):
                sub["status"] = "active"
        elif err is not None and sub["status"] in ("active", "trialing"):
            with self.updating(sub, "customer.subscription.updated"):
                sub["status"] = "past_due"
        elif (
            err is not None
            and inv["next_payment_attempt"] is None
            and sub["status"] == "past_due"
            and inv["billing_reason"] != "subscription_create"
        ):
            self.cancel_subscription(sub, {}, reason="payment_failed")

    def update_card(self, cus: Obj, card: str) -> list[StripeError]:
        """Portal card update: new default card, then retry the customer's open invoices."""
        number = validate_card(card)
        pm = self.attach_card(cus, number, make_default=True)
        errors = []
        for inv in self.of_kind("invoice"):
            sub = self._invoice_sub(inv)
            if (inv["customer"] == cus["id"] and inv["status"] == "open" and sub
                    and sub["status"] in ("past_due", "unpaid", "incomplete")):  # fmt: skip
                err = self._pay_invoice(inv, pm, off_session=True)
                self._after_payment(inv, err)
                if err is not None:
                    errors.append(err)
        return errors

    # ------------------------------------------------------ refunds, disputes

    def create_refund(self, p: dict[str, Any]) -> Obj:
        """POST /v1/refunds by ``charge`` or ``payment_intent``, whole or partial."""
        check_params(p, {"charge", "payment_intent", "amount", "reason", "metadata",
                         "instructions_email"})  # fmt: skip
        if p.get("charge"):
            ch = self.get(p["charge"], "charge", "charge")
        elif p.get("payment_intent"):
            pi = self.get(p["payment_intent"], "payment_intent", "payment_intent")
            if pi["status"] != "succeeded":
                raise invalid(f"This PaymentIntent ({pi['id']}) does not have a successful "
                              "charge to refund.", "payment_intent")  # fmt: skip
            ch = self.objects[pi["latest_charge"]]
        else:
            raise invalid("One of the following params should be provided for this request: "
                          "payment_intent or charge.", "charge", "parameter_missing")  # fmt: skip
        if ch["status"] != "succeeded":
            raise invalid("This charge cannot be refunded.", "charge")
        left = ch["amount"] - ch["amount_refunded"]
        if left <= 0:
            raise invalid(f"Charge {ch['id']} has already been refunded.", "charge",
                          "charge_already_refunded")  # fmt: skip
        amount = as_int(p.get("amount", left), "amount")
        if amount <= 0:
            raise invalid("Refund amount must be positive.", "amount")
        if amount > left:
            raise invalid(f"Refund amount ({amount}) is greater than unrefunded amount on "
                          f"charge ({left})", "amount")  # fmt: skip
        reason = p.get("reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise invalid("Invalid reason", "reason")
        ref = shapes.refund(self.now(), ch, amount, reason)
        number = (self.objects.get(ch.get("payment_method") or "") or {}).get("_number")
        if number == CARD_REFUND_PENDING:
            ref.update(status="pending", _moves_at=self.now() + REFUND_SETTLE_SECONDS,
                       _moves_to="succeeded")  # fmt: skip
        elif number == CARD_REFUND_FAILS:
            ref.update(_moves_at=self.now() + REFUND_SETTLE_SECONDS, _moves_to="failed")
        apply_metadata(ref, p.get("metadata"))
        self.store(ref)
        balance.refund_created(self, ref)
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] == ch["amount"]
        ch["refunds"]["data"].insert(0, self.render(ref))
        ch["refunds"]["total_count"] = len(ch["refunds"]["data"])
        self.emit("charge.refunded", ch, {"amount_refunded": ch["amount_refunded"] - amount,
                                          "refunded": False})  # fmt: skip
        self.emit("refund.created", ref)
        return ref

    def move_refund(self, ref: Obj, status: str) -> Obj:
        """A refund changes state as Stripe's do: a pending one succeeds, fails or is canceled;
        a succeeded one can still fail. A failed or canceled refund's money is back on the
        charge. Sends ``refund.updated``, ``charge.refund.updated`` (and ``refund.failed``)."""
        if status not in REFUND_MOVES.get(ref["status"], ()):
            raise invalid(f"A {ref['status']} refund cannot become {status}.", "status")
        previous = {"status": ref["status"]}
        ref["status"] = status
        ref.pop("_moves_at", None)
        if status in ("failed", "canceled"):
            previous["failure_reason"] = ref.get("failure_reason")
            ref["failure_reason"] = "expired_or_canceled_card" if status == "failed" else None
            balance.refund_failed(self, ref)
            ch = self.objects[ref["charge"]]
            ch["amount_refunded"] -= ref["amount"]
            ch["refunded"] = False
        ch = self.objects[ref["charge"]]
        ch["refunds"]["data"] = [self.render(ref) if r["id"] == ref["id"] else r
                                 for r in ch["refunds"]["data"]]  # fmt: skip
        self.emit("refund.updated", ref, previous)
        self.emit("charge.refund.updated", ref, previous)
        if status == "failed":
            self.emit("refund.failed", ref)
        return ref

    def _move_refund_when_due(self, ref: Obj) -> None:
        self.move_refund(ref, ref.pop("_moves_to"))

    def dispute_charge(self, ch: Obj, reason: str = "fraudulent") -> Obj:
        """Open a dispute on a successful charge (what card 0259 does by itself)."""
        if ch["status"] != "succeeded":
            raise invalid("Only successful charges can be disputed.", "charge")
        if ch["disputed"]:
            raise invalid(f"Charge {ch['id']} is already disputed.", "charge")
        dp = self.store(shapes.dispute(self.now(), ch, reason))
        balance.dispute_created(self, dp)
        ch["disputed"] = True
        self.emit("charge.dispute.created", dp)
        return dp

    def close_dispute(self, dp: Obj, outcome: str) -> Obj:
        """Settle a dispute as ``won`` or ``lost``."""
        if outcome not in ("won", "lost"):
            raise invalid("outcome must be won or lost", "outcome")
        if dp["status"] in ("won", "lost"):
            raise invalid(f"Dispute {dp['id']} is already closed.", "dispute")
        dp["status"] = outcome
        if outcome == "won":
            balance.dispute_won(self, dp)
        self.emit("charge.dispute.closed", dp)
        return dp

    # ------------------------------------------------------------------ portal

    def create_portal_session(self, p: dict[str, Any]) -> Obj:
        """POST /v1/billing_portal/sessions."""
        check_params(p, {"customer", "return_url", "configuration", "flow_data", "locale",
                         "on_behalf_of"})  # fmt: skip
        check_locale(p)
        cus = self.get(p.get("customer"), "customer", "customer")
        if cus.get("_deleted"):
            raise missing("customer", cus["id"], "customer")
        ps = shapes.portal_session(self.now(), cus["id"], p.get("return_url"))
        ps["locale"] = p.get("locale") or None
        ps["url"] = f"{self.base_url()}/p/session/{ps['id']}"
        return self.store(ps)

    # -------------------------------------------------------------- test clock

    def advance(self, seconds: int | None = None, to: int | None = None) -> int:
        """Move sandbox time forward, running renewals, retries and expiries on the way."""
        target = to if to is not None else self.now() + int(seconds or 0)
        if target < self.now():
            raise invalid("The sandbox clock only moves forward.", "to")
        while True:
            due = self._next_due(target)
            if due is None:
                break
            at, action, obj = due
            self._frozen = max(at, self.now())
            try:
                action(obj)
            finally:
                self._frozen = None
                self.offset = max(self.offset, at - int(time.time()))
        self.offset = target - int(time.time())
        return self.now()

    def _next_due(self, target: int) -> tuple[int, Callable[[Obj], Any], Obj] | None:
        best: tuple[int, Callable[[Obj], Any], Obj] | None = None

        def consider(at: int | None, action: Callable[[Obj], Any], obj: Obj) -> None:
            nonlocal best
            if at is not None and at <= target and (best is None or at < best[0]):
                best = (at, action, obj)

        for obj in list(self.objects.values()):
            kind = obj["object"]
            if kind == "subscription":
                status = obj["status"]
                if status in ("active", "trialing", "past_due", "unpaid"):
                    end = obj["items"]["data"][0]["current_period_end"]
                    consider(end, self._renew, obj)
                    if obj["cancel_at"] and obj["cancel_at"] < end:
                        consider(obj["cancel_at"], self._cancel_scheduled, obj)
                    disc = self.objects.get(obj.get("_discount") or "")
                    if disc and disc["end"]:
                        consider(disc["end"], self._end_discount, obj)
                    pause = obj["pause_collection"]
                    if pause and pause["resumes_at"]:
                        consider(pause["resumes_at"], self._resume_collection, obj)
                    trial_end = obj["trial_end"]
                    if status == "trialing" and trial_end and obj.get("_trial_notice") != trial_end:
                        consider(max(trial_end - TRIAL_WILL_END_SECONDS, obj["created"]),
                                 self._trial_will_end, obj)  # fmt: skip
                    renews = not (obj["cancel_at_period_end"] or pause
                                  or (obj["cancel_at"] and obj["cancel_at"] <= end))  # fmt: skip
                    if renews and obj.get("_upcoming_for") != end:
                        consider(max(end - UPCOMING_RENEWAL_SECONDS, obj["created"]),
                                 self._upcoming_invoice, obj)  # fmt: skip
                elif status == "incomplete":
                    consider(obj["created"] + INCOMPLETE_EXPIRY, self._expire_incomplete, obj)
            elif kind == "invoice" and obj["status"] == "open" and obj["next_payment_attempt"]:
                consider(obj["next_payment_attempt"], self._retry_invoice, obj)
            elif kind == "refund" and obj.get("_moves_at"):
                consider(obj["_moves_at"], self._move_refund_when_due, obj)
            elif kind == "checkout.session" and obj["status"] == "open":
                consider(obj["expires_at"], self.expire_checkout_session, obj)
        return best

    def _trial_will_end(self, sub: Obj) -> None:
        sub["_trial_notice"] = sub["trial_end"]
        self.emit("customer.subscription.trial_will_end", sub)

    def _upcoming_invoice(self, sub: Obj) -> None:
        """``invoice.upcoming``: a preview of the renewal invoice, which (as Stripe's) has no
        id, no number and no hosted page; lines and discount as the renewal will have them."""
        end = sub["items"]["data"][0]["current_period_end"]
        sub["_upcoming_for"] = end
        cus = self.objects[sub["customer"]]
        inv = shapes.invoice(self.now(), cus, sub["currency"], self.base_url())
        inv.update(id=None, billing_reason="upcoming", hosted_invoice_url=None, invoice_pdf=None,
                   created=end, period_start=sub["items"]["data"][0]["current_period_start"],
                   period_end=end, next_payment_attempt=end)  # fmt: skip
        inv["lines"]["url"] = "/v1/invoices/upcoming/lines"
        inv["parent"] = {
            "quote_details": None, "type": "subscription_details",
            "subscription_details": {"metadata": dict(sub["metadata"]),
                                     "subscription": sub["id"]},
        }  # fmt: skip
        for item in sub["items"]["data"]:
            price = self.objects[item["price"]]
            product = self.objects[price["product"]]
            amount = price["unit_amount"] * item["quantity"]
            next_end = add_interval(end, price["recurring"]["interval"],
                                    price["recurring"]["interval_count"])  # fmt: skip
            desc = f"{item['quantity']} \N{MULTIPLICATION SIGN} {product['name']}"
            line = shapes.invoice_line(inv, sub["id"], item, price, item["quantity"], amount, end,
                                       next_end, desc)  # fmt: skip
            line["invoice"] = None
            inv["lines"]["data"].append(line)
        inv["lines"]["total_count"] = len(inv["lines"]["data"])
        subtotal = sum(li["amount"] for li in inv["lines"]["data"])
        discount = 0
        disc = self.objects.get(sub.get("_discount") or "")
        if disc and (disc["end"] is None or disc["end"] > end) and subtotal:
            coupon = self.objects[disc["source"]["coupon"]]
            if coupon["duration"] != "once" or disc["_invoices"] == 0:
                discount = self.discount_amount(coupon, subtotal, inv["currency"])
        total = subtotal - discount
        inv.update(subtotal=subtotal, subtotal_excluding_tax=subtotal, total=total,
                   total_excluding_tax=total, amount_due=total, amount_remaining=total)  # fmt: skip
        self.emit("invoice.upcoming", inv)

    def _cancel_scheduled(self, sub: Obj) -> None:
        self.cancel_subscription(sub, {})

    def _resume_collection(self, sub: Obj) -> None:
        with self.updating(sub, "customer.subscription.updated"):
            sub["pause_collection"] = None

    def _expire_incomplete(self, sub: Obj) -> None:
        inv = self.objects.get(sub["latest_invoice"] or "")
        if inv and inv["status"] == "open":
            self._set_invoice_status(inv, "void", "voided_at", "invoice.voided")
        sub.update(status="incomplete_expired", ended_at=self.now())
        self.emit("customer.subscription.deleted", sub)

    def _retry_invoice(self, inv: Obj) -> None:
        sub = self._invoice_sub(inv)
        if sub is None or sub["status"] in ("canceled", "incomplete_expired"):
            inv["next_payment_attempt"] = None
            return
        err = self._pay_invoice(inv, self._default_pm(sub), off_session=True)
        self._after_payment(inv, err)

    def _renew(self, sub: Obj) -> None:
        """Period end: cancel if scheduled, else start the next period and invoice it."""
        items = sub["items"]["data"]
        end = items[0]["current_period_end"]
        if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= end):
            self.cancel_subscription(sub, {})
            return
        ending_trial = sub["status"] == "trialing"
        old_start = items[0]["current_period_start"]
        with self.updating(sub, "customer.subscription.updated"):
            for item in items:
                rec = self.objects[item["price"]]["recurring"]
                item["current_period_start"] = end
                item["current_period_end"] = add_interval(end, rec["interval"],
                                                          rec["interval_count"])  # fmt: skip
            if ending_trial:
                sub["status"] = "active"
                sub["trial_end"] = min(sub["trial_end"] or end, end)
        inv = self._make_invoice(sub, "subscription_cycle", old_start, end)
        if inv["status"] != "open":
            return
        err = self._pay_invoice(inv, self._default_pm(sub), off_session=True)
        self._after_payment(inv, err)
