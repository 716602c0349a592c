"""The sandbox speaks Stripe's HTTP API: encoding, auth, errors, idempotency, lists, expand."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import SandboxServer
from stripe_sandbox.forms import parse_form


def test_sandbox_form_decoding_nested_and_arrays():
    """Nested keys, indexed arrays and ``[]`` arrays decode as Stripe reads them."""
    raw = (
        "line_items[0][price]=p1&line_items[0][quantity]=2&line_items[1][price_data][currency]=eur"
        "&metadata[a]=1&expand[]=customer&expand[]=subscription&lookup_keys[0]=x&flag=true"
    )
    assert parse_form(raw) == {
        "line_items": [{"price": "p1", "quantity": "2"},
                       {"price_data": {"currency": "eur"}}],
        "metadata": {"a": "1"},
        "expand": ["customer", "subscription"],
        "lookup_keys": ["x"],
        "flag": "true",
    }  # fmt: skip


def test_sandbox_customer_crud_and_metadata(client):
    """Create, retrieve, update (metadata merge and unset), list by email, delete."""
    cus = client.v1.customers.create(
        params={"email": "ada@news.example", "name": "Ada", "metadata": {"a": "1", "b": "2"}}
    )
    assert cus.id.startswith("cus_") and cus.email == "ada@news.example"
    cus = client.v1.customers.update(cus.id, params={"metadata": {"a": "", "c": "3"}})
    assert cus.metadata.to_dict() == {"b": "2", "c": "3"}
    found = client.v1.customers.list(params={"email": "ada@news.example"})
    assert [c.id for c in found.data] == [cus.id]
    deleted = client.v1.customers.delete(cus.id)
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(cus.id).deleted is True


def test_sandbox_prices_by_lookup_key_and_transfer(client, monthly):
    """``lookup_keys[]`` finds prices; ``transfer_lookup_key`` moves a key to a new price."""
    found = client.v1.prices.list(params={"lookup_keys": ["monthly"], "expand": ["data.product"]})
    assert [p.id for p in found.data] == [monthly.id]
    assert found.data[0].product.name == "Membership"
    with pytest.raises(stripe.InvalidRequestError, match="already uses that lookup key"):
        client.v1.prices.create(params={"currency": "eur", "unit_amount": 700,
                                        "product": monthly.product, "lookup_key": "monthly",
                                        "recurring": {"interval": "month"}})  # fmt: skip
    newer = client.v1.prices.create(params={"currency": "eur", "unit_amount": 700,
                                             "product": monthly.product, "lookup_key": "monthly",
                                             "transfer_lookup_key": True,
                                             "recurring": {"interval": "month"}})  # fmt: skip
    found = client.v1.prices.list(params={"lookup_keys": ["monthly"]})
    assert [p.id for p in found.data] == [newer.id]
    assert client.v1.prices.retrieve(monthly.id).lookup_key is None
    client.v1.prices.update(monthly.id, params={"active": False})
    active = client.v1.prices.list(params={"active": True})
    assert monthly.id not in [p.id for p in active.data]


def test_sandbox_list_pagination_and_created_filter(client, sandbox):
    """Newest first, ``limit``/``starting_after``/``ending_before``, ``has_more``, ``created``."""
    ids = [client.v1.customers.create(params={"email": f"r{i}@x.example"}).id for i in range(5)]
    first = client.v1.customers.list(params={"limit": 2})
    assert [c.id for c in first.data] == ids[::-1][:2] and first.has_more
    assert first.url == "/v1/customers"
    second = client.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == ids[::-1][2:4]
    back = client.v1.customers.list(params={"limit": 2, "ending_before": second.data[0].id})
    assert [c.id for c in back.data] == ids[::-1][:2]
    everything = [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()]
    assert everything == ids[::-1]
    later = client.v1.customers.list(params={"created": {"gt": sandbox.now() + 10}})
    assert later.data == []


def test_sandbox_errors_have_stripe_envelope(client, sandbox):
    """Missing objects are 404 resource_missing; bad params are 400 with ``param``."""
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_missing")
    assert exc.value.http_status == 404 and exc.value.code == "resource_missing"
    assert exc.value.json_body["error"]["type"] == "invalid_request_error"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"emali": "typo@x.example"})
    assert exc.value.param == "emali" and exc.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError, match="promotion\\[coupon\\]"):
        client.v1.promotion_codes.create(params={"coupon": "X"})  # type: ignore[typeddict-item]


def test_sandbox_auth_refuses_bad_and_live_keys(sandbox):
    """Unknown keys get 401; live keys get 401 saying the sandbox refuses them."""
    base = {"api": sandbox.url}
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("nonsense", base_addresses=base).v1.customers.list()
    with pytest.raises(stripe.AuthenticationError, match="refuses live keys"):
        stripe.StripeClient("sk_live_123", base_addresses=base).v1.customers.list()
    other = stripe.StripeClient("sk_test_other", base_addresses=base, max_network_retries=0)
    assert other.v1.customers.list().data == []
    with pytest.raises(ValueError, match="refuses live keys"):
        SandboxServer(api_key="sk_live_abc")


def test_sandbox_idempotency_replay_and_conflict(client, sandbox):
    """Same key and params replay the stored response; different params are an error."""
    params = {"email": "once@x.example"}
    a = client.v1.customers.create(params=params, options={"idempotency_key": "idem-1"})
    b = client.v1.customers.create(params=params, options={"idempotency_key": "idem-1"})
    assert a.id == b.id
    assert b.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.customers.create(params={"email": "two@x.example"},
                                   options={"idempotency_key": "idem-1"})  # fmt: skip
    assert exc.value.http_status == 400
    assert exc.value.json_body["error"]["type"] == "idempotency_error"


def test_sandbox_unknown_url_is_404(client):
    """An endpoint the sandbox does not serve answers like Stripe's unrecognized URL."""
    with pytest.raises(stripe.InvalidRequestError, match="Unrecognized request URL"):
        client.raw_request("get", "/v1/terminal/readers")


def test_sandbox_global_api_base_style(sandbox, monkeypatch):
    """The module-level ``stripe.api_base`` style reaches the sandbox too."""
    monkeypatch.setattr(stripe, "api_key", "sk_test_sandbox")
    monkeypatch.setattr(stripe, "api_base", sandbox.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    cus = stripe.Customer.create(email="global@x.example")
    assert stripe.Customer.retrieve(cus.id).email == "global@x.example"


def test_sandbox_subscription_expand_and_list_filters(client, sandbox, monthly):
    """Expand nested fields; list by customer, status and price; canceled hidden by default."""
    cus = client.v1.customers.create(params={"email": "sub@x.example"})
    sess = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "customer": cus.id, "success_url": "https://n.example/ok",
        "line_items": [{"price": monthly.id, "quantity": 1}]})  # fmt: skip
    sandbox.complete_checkout(sess.id)
    subs = client.v1.subscriptions.list(params={"customer": cus.id, "price": monthly.id,
                                                "expand": ["data.latest_invoice"]})  # fmt: skip
    sub = subs.data[0]
    assert sub.latest_invoice.status == "paid"
    got = client.v1.subscriptions.retrieve(
        sub.id, params={"expand": ["customer", "items.data.price.product"]}
    )
    assert got.customer.email == "sub@x.example"
    assert got["items"].data[0].price.product.name == "Membership"
    client.v1.subscriptions.cancel(sub.id)
    assert client.v1.subscriptions.list(params={"customer": cus.id}).data == []
    ended = client.v1.subscriptions.list(params={"customer": cus.id, "status": "canceled"})
    assert [s.id for s in ended.data] == [sub.id]
    invoices = client.v1.invoices.list(params={"subscription": sub.id})
    assert len(invoices.data) == 1
