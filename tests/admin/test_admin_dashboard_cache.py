"""The dashboard's revenue is cached under the ledger's version: every new row is seen at once."""

from __future__ import annotations

import pytest

from membership.admin import cache, reports
from membership.extensions import db
from membership.ledger.models import EntryKind, LedgerEntry
from membership.timeutil import utcnow
from tests.admin.conftest import add_entry
from tests.conftest import start_redis


@pytest.fixture
def calls(monkeypatch):
    """Count the revenue queries actually run."""
    counter = {"n": 0}
    original = reports.revenue

    def counted(period):
        counter["n"] += 1
        return original(period)

    monkeypatch.setattr(reports, "revenue", counted)
    return counter


def _add(app, amount: int) -> None:
    with app.app_context():
        add_entry(EntryKind.gift, amount, utcnow())
        db.session.commit()


@pytest.fixture(params=["memo", "redis"])
def backend(request, app):
    """The cache each test runs against: the per-process memo, or a real Redis of its own."""
    if request.param == "memo":
        yield None
        return
    server = start_redis(request.getfixturevalue("tmp_path"))
    app.config["REDIS_URL"] = server.url
    yield server
    server.stop()


def test_a_new_row_shows_at_once_and_an_unchanged_ledger_is_not_queried_again(
    app, client, staff, calls, backend
):
    _add(app, 1234)
    assert "€12.34" in client.get("/admin/").get_data(as_text=True)
    assert "€12.34" in client.get("/admin/").get_data(as_text=True)
    assert calls["n"] == 1
    _add(app, 1000)
    assert "€22.34" in client.get("/admin/").get_data(as_text=True)
    assert calls["n"] == 2


def test_a_late_commit_below_the_newest_id_changes_the_version(app):
    with app.app_context():
        add_entry(EntryKind.gift, 100, utcnow())
        newest = add_entry(EntryKind.gift, 200, utcnow())
        db.session.commit()
        before = cache.ledger_version()
        db.session.delete(db.session.get(LedgerEntry, newest.id - 1))  # as if not yet committed
        db.session.commit()
        assert cache.ledger_version() != before


def _cached_keys(server) -> list[bytes]:
    with server.client() as redis:
        return list(redis.scan_iter("membership:dashboard:*"))


def test_redis_holds_the_figures_for_every_process_and_its_failure_is_only_a_miss(
    app, client, staff, calls, tmp_path
):
    server = start_redis(tmp_path)
    app.config["REDIS_URL"] = server.url
    _add(app, 5000)
    assert "€50.00" in client.get("/admin/").get_data(as_text=True)
    [key] = _cached_keys(server)
    with server.client() as redis:
        assert 0 < redis.ttl(key) <= cache.TTL
    with app.app_context():
        cache.clear()  # another process: no memo of its own, only Redis
    assert "€50.00" in client.get("/admin/").get_data(as_text=True)
    assert calls["n"] == 1
    with server.client() as redis:
        redis.delete(key)  # the figures were in Redis, nowhere else: gone, they are computed again
    assert "€50.00" in client.get("/admin/").get_data(as_text=True)
    assert calls["n"] == 2 and len(_cached_keys(server)) == 1
    server.stop()  # Redis goes down: the page still shows the figures, from the database
    assert "€50.00" in client.get("/admin/").get_data(as_text=True)
    assert calls["n"] == 3


def test_the_dashboard_links_every_report_and_the_webhook_health(app, client, staff):
    page = client.get("/admin/").get_data(as_text=True)
    for slug in ("members", "movement", "mrr", "revenue", "grace", "conversions", "fundraisers"):
        assert f'href="/admin/reports/{slug}"' in page, slug
    assert page.count('href="/admin/webhooks"') >= 2  # the navigation and the list
