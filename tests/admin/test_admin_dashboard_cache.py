"""The dashboard's revenue is cached under the ledger's version: every new row is seen at once."""

from __future__ import annotations

import pytest

from membership.admin import cache, reports
from membership.extensions import db
from membership.ledger.models import EntryKind, LedgerEntry
from membership.timeutil import utcnow
from tests.admin.conftest import add_entry


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


def test_a_new_row_shows_at_once_and_an_unchanged_ledger_is_not_queried_again(
    app, client, staff, calls
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


class FakeRedis:
    """Just enough of redis.Redis; `down` makes every call fail."""

    def __init__(self, down: bool = False) -> None:
        self.data: dict[str, bytes] = {}
        self.down = down

    def get(self, key):
        if self.down:
            raise ConnectionError("down")
        return self.data.get(key)

    def set(self, key, value, ex=None):
        if self.down:
            raise ConnectionError("down")
        self.data[key] = value.encode()


def test_redis_is_shared_and_its_failure_is_only_a_miss(app, client, staff, calls, monkeypatch):
    fake = FakeRedis()
    monkeypatch.setattr(cache, "_redis", lambda: fake)
    _add(app, 5000)
    client.get("/admin/")
    with app.app_context():
        cache.clear()  # another process: no memo of its own
    assert "€50.00" in client.get("/admin/").get_data(as_text=True)
    assert calls["n"] == 1 and len(fake.data) == 1
    fake.down = True
    assert "€50.00" in client.get("/admin/").get_data(as_text=True)
    assert calls["n"] == 2


def test_the_dashboard_links_every_report_and_the_webhook_health(app, client, staff):
    page = client.get("/admin/").get_data(as_text=True)
    for slug in ("members", "movement", "mrr", "revenue", "grace", "conversions", "fundraisers"):
        assert f'href="/admin/reports/{slug}"' in page, slug
    assert page.count('href="/admin/webhooks"') >= 2  # the navigation and the list
