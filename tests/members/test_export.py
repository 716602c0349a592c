"""`flask members export`, the round trip through our CSV, Stripe customers and --invite."""

from __future__ import annotations

import csv
import re

from sqlalchemy import delete, select

from membership.accounts.models import User
from membership.billing.models import Membership, Plan, Price
from membership.extensions import db
from membership.ledger.models import LedgerEntry
from membership.members.formats import CSV_COLUMNS
from membership.perks.models import GrantSource, PerkGrant
from tests.billing.test_lifecycle import sdk
from tests.members.conftest import run_import, sample, user

KEEP = {"plans", "prices", "perks", "plan_perks", "alembic_version"}


def export(runner, path) -> list[dict[str, str]]:
    """`flask members export PATH`, read back."""
    result = runner.invoke(args=["members", "export", str(path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"Exported \d+ readers", result.output)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == CSV_COLUMNS
        return list(reader)


def forget_everyone(app) -> None:
    """Empty every table but the catalogue: the newsroom's new, empty installation."""
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in KEEP:
                db.session.execute(delete(table))
        db.session.commit()


def test_export_then_import_gives_the_same_data(app, catalogue, runner, tmp_path):
    for fmt in ("csv", "substack", "patreon", "ghost"):
        run_import(runner, sample(fmt), fmt)
    first = export(runner, tmp_path / "first.csv")
    by_email = {row["email"]: row for row in first}
    assert by_email["salome@example.ge"]["name"] == "სალომე ლომიძე"
    assert by_email["salome@example.ge"]["language"] == "ka"
    assert by_email["salome@example.ge"]["complimentary"] == "members-only-articles:2030-12-31"
    assert by_email["mariam@example.ge"]["complimentary"] == (
        "members-only-articles:2030-06-30; ad-free:2030-06-30"
    )
    assert by_email["giorgi.kapanadze@example.ge"]["email_consent"] == "no"
    assert by_email["formula@example.org"]["name"] == "'=HYPERLINK()"  # defused for spreadsheets
    assert by_email["anahit.petrosyan@example.am"]["stripe_customer_id"] == "cus_GhostAnahit01"

    forget_everyone(app)
    run = run_import(runner, tmp_path / "first.csv", "csv")
    assert f"{len(first)} created" in run.output.splitlines()[-1]
    second = export(runner, tmp_path / "second.csv")
    assert second == first


def test_imported_customer_gets_its_subscription_on_reconcile_and_round_trips(
    app, catalogue, runner, stripe_world, tmp_path
):
    """A Ghost newsroom's paying reader: Stripe has the customer and the subscription; the
    import links the customer, reconcile brings the membership, its perks and its payment."""
    assert runner.invoke(args=["stripe", "sync-plans"]).exit_code == 0
    client = sdk(stripe_world)
    customer = client.v1.customers.create(params={"email": "anahit@example.am"})
    engine = stripe_world.sandbox.engine
    with engine.operation():
        card = engine.attach_card(engine.get(customer.id, "customer"), "4242424242424242", True)
    with app.app_context():
        price = db.session.scalar(
            select(Price.stripe_price_id)
            .join(Plan, Plan.id == Price.plan_id)
            .where(Plan.slug == "supporter", Price.interval == "month", Price.active)
        )
    subscription = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price}],
                "default_payment_method": card["id"]}
    )  # fmt: skip
    ghost = tmp_path / "ghost.csv"
    ghost.write_text(
        "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,"
        "created_at,deleted_at,labels,tiers\n"
        f"6571a1f0,Anahit@Example.am,Անահիտ,,true,false,{customer.id},"
        "2022-11-15T10:20:00.000Z,,,Supporter\n",
        encoding="utf-8",
    )
    run_import(runner, ghost, "ghost")
    reconciled = runner.invoke(args=["stripe", "reconcile"])
    assert reconciled.exit_code == 0, reconciled.output

    anahit = user(app, "anahit@example.am")
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(Membership.user_id == anahit.id))
        assert membership.stripe_subscription_id == subscription.id
        assert membership.status == "active" and membership.plan.slug == "supporter"
        paid = db.session.scalars(select(LedgerEntry).where(LedgerEntry.user_id == anahit.id))
        assert [(e.kind.value, e.amount) for e in paid] == [("membership", 500)]
        sources = set(
            db.session.scalars(select(PerkGrant.source).where(PerkGrant.user_id == anahit.id))
        )
        assert sources == {GrantSource.membership}

    first = export(runner, tmp_path / "first.csv")
    assert first[0]["membership_status"] == "active" and first[0]["plan"] == "supporter"
    assert first[0]["stripe_subscription_id"] == subscription.id
    # money as staff read it, in the currency's digits, and the minor units after
    assert (first[0]["amount"], first[0]["currency"], first[0]["amount_minor"]) == (
        "5.00",
        "eur",
        "500",
    )
    assert first[0]["perks"] == "members-only-articles ad-free"
    forget_everyone(app)
    run_import(runner, tmp_path / "first.csv", "csv")
    assert runner.invoke(args=["stripe", "reconcile"]).exit_code == 0
    assert export(runner, tmp_path / "second.csv") == first


def test_invite_mails_new_readers_in_their_language_once(app, catalogue, runner, mailbox):
    run_import(runner, sample("csv"), "csv", "--invite")
    assert sorted(m["To"] for m in mailbox.messages) == sorted(
        ["salome@example.ge", "gayane@example.am", "anna@example.ru", "formula@example.org"]
    )
    georgian = mailbox.body(mailbox.last_to("salome@example.ge"))
    assert re.search("[\u10d0-\u10ff]", georgian)  # the reader's language: Georgian
    assert "/login/email/" in georgian  # a sign-in link (and its code), not a reset
    armenian = mailbox.body(mailbox.last_to("gayane@example.am"))
    assert re.search("[\u0531-\u058f]", armenian)
    mailbox.clear()
    run = run_import(runner, sample("csv"), "csv", "--invite")
    assert "invited" not in run.output.splitlines()[-1]
    assert mailbox.messages == []  # nobody new, nobody mailed


def test_dry_run_with_invite_mails_nobody(app, catalogue, runner, mailbox):
    run_import(runner, sample("csv"), "csv", "--invite", "--dry-run")
    assert mailbox.messages == []
    with app.app_context():
        assert db.session.scalar(select(User.id).limit(1)) is None
