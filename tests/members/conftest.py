"""Member-file fixtures: the demo catalogue, the sample files, what the database holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from membership.accounts.models import User
from membership.audit import AuditEntry
from membership.billing.demo import seed_catalogue
from membership.demo import Summary
from membership.extensions import db
from membership.mail import MailJob
from membership.perks.models import Perk, PerkGrant
from tests.admin.conftest import staff  # noqa: F401 - the signed-in staff fixture

DATA = Path(__file__).resolve().parent.parent / "data" / "imports"
FILES = {"ghost": "ghost.csv", "substack": "substack.csv", "patreon": "patreon.csv",
         "csv": "plain.csv"}  # fmt: skip


@pytest.fixture(autouse=True)
def upload_folder(request, tmp_path):
    """Uploads wait in the test's own folder, not the checkout's instance/."""
    if "app" not in request.fixturenames:
        return None
    app = request.getfixturevalue("app")
    app.config["MEMBER_IMPORT_DIR"] = str(tmp_path / "imports")
    return tmp_path / "imports"


@pytest.fixture
def catalogue(app):
    """The demo perks and plans (supporter, insider, solidarity)."""
    with app.app_context():
        seed_catalogue(Summary(), 0, print)
        db.session.commit()


def sample(fmt: str) -> Path:
    """The sample file of a format."""
    return DATA / FILES[fmt]


def run_import(runner, path, fmt, *flags: str):
    """`flask members import PATH --format FMT …`; the command must succeed."""
    result = runner.invoke(args=["members", "import", str(path), "--format", fmt, *flags])
    assert result.exit_code == 0, result.output
    return result


def state(app) -> dict:
    """What an import writes, by address: accounts, perk grants, audit entries, mail."""
    with app.app_context():
        users = {
            u.email: (u.name, u.locale, u.email_consent, u.stripe_customer_id, u.created_at,
                      u.password_hash, u.role.value)
            for u in db.session.scalars(select(User))
        }  # fmt: skip
        email_of = {u.id: u.email for u in db.session.scalars(select(User))}
        grants = sorted(
            (email_of[g.user_id], slug, g.source.value, g.source_ref, g.starts_at, g.ends_at,
             g.revoked_at, g.reason)
            for g, slug in db.session.execute(
                select(PerkGrant, Perk.slug).join(Perk, Perk.id == PerkGrant.perk_id)
            )
        )  # fmt: skip
        audits = sorted(
            (a.action, a.target_id, repr(sorted(a.details.items())))
            for a in db.session.scalars(
                select(AuditEntry).where(AuditEntry.action != "members.imported")
            )
        )
        mails = db.session.scalar(select(func.count()).select_from(MailJob))
    return {"users": users, "grants": grants, "audits": audits, "mails": mails}


def grants_of(app, address: str) -> list[tuple[str, str, object]]:
    """(perk slug, source, end) of a reader's grants."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == address))
        rows = db.session.execute(
            select(Perk.slug, PerkGrant.source, PerkGrant.ends_at)
            .join(Perk, Perk.id == PerkGrant.perk_id)
            .where(PerkGrant.user_id == user.id)
            .order_by(Perk.position)
        )
        return [(slug, source.value, end) for slug, source, end in rows]


def user(app, address: str) -> User | None:
    """The account at an address, detached."""
    with app.app_context():
        found = db.session.scalar(select(User).where(User.email == address))
        if found is not None:
            db.session.expunge(found)
        return found
