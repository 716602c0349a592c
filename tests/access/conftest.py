"""Helpers for the article-access tests: perks, grants and rules as rows, signed-in readers."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

import pytest

from membership.access.models import AccessRule, RuleKind
from membership.extensions import db
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.timeutil import utcnow
from tests.factories import make_user

# (before the test modules import it: its assertions explain themselves too)
pytest.register_assert_rewrite("tests.access.fastpath_helpers")


class AccessWorld:
    """Builds catalogue rows and grants directly, as the billing code would."""

    def __init__(self, app) -> None:
        self.app = app

    def perk(self, slug: str = "members-only-articles") -> int:
        """A perk's id, creating it when missing."""
        with self.app.app_context():
            found = db.session.scalar(db.select(Perk).where(Perk.slug == slug))
            if found is None:
                found = Perk(slug=slug, name=slug.replace("-", " ").title())
                db.session.add(found)
                db.session.commit()
            return found.id

    def rule(self, kind: str, value: str, perk: str | None = "members-only-articles") -> None:
        """A rule that articles matching kind/value need `perk`."""
        perk_id = self.perk(perk) if perk else None
        with self.app.app_context():
            db.session.add(AccessRule(kind=RuleKind(kind), value=value, perk_id=perk_id))
            db.session.commit()

    def user(self, email: str = "reader@example.org", **kw) -> int:
        """A verified reader's id."""
        with self.app.app_context():
            return make_user(email=email, **kw).id

    def grant(
        self,
        user_id: int,
        perk: str = "members-only-articles",
        starts: timedelta = timedelta(days=-1),
        ends: timedelta | None = None,
        source: GrantSource = GrantSource.complimentary,
    ) -> int:
        """Give a perk from now+starts until now+ends (open-ended when None)."""
        perk_id = self.perk(perk)
        now = utcnow()
        with self.app.app_context():
            grant = PerkGrant(
                user_id=user_id,
                perk_id=perk_id,
                source=source,
                source_ref=f"test-{perk}-{now.timestamp()}",
                starts_at=now + starts,
                ends_at=now + ends if ends is not None else None,
                reason="test",
            )
            db.session.add(grant)
            db.session.commit()
            return grant.id

    def revoke(self, grant_id: int) -> None:
        """Withdraw a grant now."""
        with self.app.app_context():
            grant = db.session.get(PerkGrant, grant_id)
            grant.revoked_at = utcnow()
            db.session.commit()


@pytest.fixture
def world(app) -> AccessWorld:
    """Rows for access tests."""
    return AccessWorld(app)


@pytest.fixture
def ask(client):
    """GET /api/v1/access as the client, returning (status, json)."""

    def ask(article: str | None = "some-article", headers=None, **params):
        if article is not None:
            params["article"] = article
        response = client.get("/api/v1/access", query_string=params, headers=headers or {})
        assert response.mimetype == "application/json"
        return response.status_code, response.get_json()

    return ask


@pytest.fixture
def stopped_clock(app, monkeypatch) -> datetime:
    """The app's clock stopped at one moment, so that two answers that carry the time (a meter
    cookie, its Expires) can be compared byte for byte."""
    from membership import timeutil

    real = timeutil.utcnow  # (kept: timeutil itself is among the modules patched)
    moment = real()
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] == "membership" and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", lambda: moment)
    return moment
