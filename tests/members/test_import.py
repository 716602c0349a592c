"""`flask members import` with each platform's file: dry run, real run, and the same file again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from membership.audit import AuditEntry
from membership.extensions import db
from tests.members.conftest import grants_of, run_import, sample, state, user

# Per format: rows created, rows with errors (line: words of the reason), rows skipped.
EXPECTED = {
    "ghost": (4, {5: "same address as line 2", 6: "No e-mail", 7: "Not an e-mail address",
                  8: "created_at is not a date", 9: "Unknown tier: Platinum"},
              {10: "Deleted in Ghost"}),
    "substack": (5, {7: "same address as line 2", 8: "No e-mail", 9: "Not an e-mail address",
                     10: "expiry is not a date", 11: "Unknown tier: platinum"}, {}),
    "patreon": (4, {6: "same address as line 2", 7: "No e-mail", 8: "Not an e-mail address",
                    9: "Next Charge Date is not a date", 10: "Unknown tier: Gold"}, {}),
    "csv": (4, {6: "same address as line 2", 7: "No e-mail", 8: "Unknown language: xx",
                9: "email_consent is not yes or no", 10: "Unknown perk: gold-badge"}, {}),
}  # fmt: skip
PAID_THROUGH = datetime(2030, 7, 1, tzinfo=UTC)  # Substack's 2030-06-30, the whole day


@pytest.mark.parametrize("fmt", list(EXPECTED))
def test_each_format_dry_run_then_real_run_twice(app, catalogue, runner, mailbox, fmt):
    created, errors, skipped = EXPECTED[fmt]
    before = state(app)

    dry = run_import(runner, sample(fmt), fmt, "--dry-run")
    assert state(app) == before  # nothing written
    summary = dry.output.splitlines()[-1]
    assert f"{created} to create" in summary and f"{len(errors)} with errors" in summary
    assert summary.endswith("Dry run: nothing was written.")
    for line, words in {**errors, **skipped}.items():
        listed = [out for out in dry.output.splitlines() if out.startswith(f"line {line}:")]
        assert listed and words in listed[0], (line, dry.output)

    first = run_import(runner, sample(fmt), fmt)
    summary = first.output.splitlines()[-1]
    assert f"{created} created" in summary and f"{len(errors)} with errors" in summary
    after_first = state(app)
    assert len(after_first["users"]) == created
    assert after_first["mails"] == 0 and mailbox.messages == []  # no mail unless --invite
    for reason_line in errors:
        assert f"line {reason_line}: error" in first.output

    second = run_import(runner, sample(fmt), fmt)
    summary = second.output.splitlines()[-1]
    assert f"{created} unchanged" in summary and "created" not in summary
    assert state(app) == after_first  # the same file again changes nothing
    again = run_import(runner, sample(fmt), fmt, "--dry-run")
    assert f"{created} unchanged" in again.output


def test_ghost_links_customers_keeps_consent_and_comps_named(app, catalogue, runner):
    run_import(runner, sample("ghost"), "ghost")
    nino = user(app, "nino.beridze@example.ge")
    assert nino.name == "ნინო ბერიძე" and nino.email_consent is True
    assert nino.password_hash == "!"  # no password: a sign-in link or a reset gives one
    assert nino.created_at == datetime(2023, 4, 2, 8, 3, 11, tzinfo=UTC)
    anahit = user(app, "anahit.petrosyan@example.am")
    assert anahit.name == "Անահիտ Պետրոսյան" and anahit.stripe_customer_id == "cus_GhostAnahit01"
    assert grants_of(app, "anahit.petrosyan@example.am") == []  # Stripe will say what she pays
    giorgi = user(app, "giorgi.kapanadze@example.ge")
    assert giorgi.email_consent is False
    assert grants_of(app, "giorgi.kapanadze@example.ge") == [
        (slug, "complimentary", None)
        for slug in ("members-only-articles", "ad-free", "insider-newsletter", "event-invitations")
    ]
    with app.app_context():
        granted = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "perk.granted", AuditEntry.target_id == str(giorgi.id)
            )
        ).all()
    assert len(granted) == 4 and {a.details["source"] for a in granted} == {"Ghost"}
    assert user(app, "gone@example.org") is None  # deleted in Ghost: left out


def test_substack_paid_subscribers_get_perks_until_their_paid_through_date(app, catalogue, runner):
    run_import(runner, sample("substack"), "substack")
    assert grants_of(app, "mariam@example.ge") == [
        ("members-only-articles", "complimentary", PAID_THROUGH),
        ("ad-free", "complimentary", PAID_THROUGH),
    ]
    assert grants_of(app, "lapsed@example.org") == []  # paid through 2024: over
    assert user(app, "olga@example.ru").email_consent is False  # email_disabled
    assert user(app, "lasha@example.ge").email_consent is True
    with app.app_context():
        mariam = user(app, "mariam@example.ge")
        entry = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "perk.granted", AuditEntry.target_id == str(mariam.id)
            )
        ).first()
    assert entry.details["source"] == "Substack"
    assert "paid through 2030-06-30" in entry.details["reason"]


def test_patreon_active_patrons_until_access_expiration_and_no_consent(app, catalogue, runner):
    run_import(runner, sample("patreon"), "patreon")
    assert {slug for slug, _, _ in grants_of(app, "hovhannes@example.am")} == {
        "members-only-articles", "ad-free", "insider-newsletter", "event-invitations"
    }  # fmt: skip
    assert {end for _, _, end in grants_of(app, "hovhannes@example.am")} == {
        datetime(2031, 3, 2, tzinfo=UTC)
    }
    assert {end for _, _, end in grants_of(app, "eka@example.ge")} == {
        datetime(2030, 6, 2, tzinfo=UTC)
    }
    assert grants_of(app, "dmitry@example.ru") == [] and grants_of(app, "ketevan@example.ge") == []
    assert not user(app, "eka@example.ge").email_consent  # Patreon records no consent


def test_plain_csv_languages_perks_and_formula_names(app, catalogue, runner):
    run_import(runner, sample("csv"), "csv")
    assert user(app, "salome@example.ge").locale == "ka"
    assert user(app, "gayane@example.am").locale == "hy"
    assert user(app, "formula@example.org").name == "=HYPERLINK()"  # our export's guard undone
    assert grants_of(app, "anna@example.ru") == [
        ("ad-free", "complimentary", None),
        ("insider-newsletter", "complimentary", datetime(2030, 2, 1, tzinfo=UTC)),
    ]


def test_an_existing_account_keeps_its_own_choices(app, catalogue, runner, tmp_path):
    from tests.factories import make_user

    with app.app_context():
        make_user(email="nino.beridze@example.ge", name="Nino B.")
    run = run_import(runner, sample("ghost"), "ghost")
    assert "3 created, 1 unchanged" in run.output
    nino = user(app, "nino.beridze@example.ge")
    assert nino.name == "Nino B." and nino.email_consent is False  # theirs, not Ghost's
    assert nino.password_hash != "!"  # still signs in with their password

    linked = tmp_path / "link.csv"
    linked.write_text("email,stripe_customer_id\nNino.Beridze@example.ge,cus_Nino0001\n")
    run = run_import(runner, linked, "csv")
    assert "1 updated" in run.output
    assert user(app, "nino.beridze@example.ge").stripe_customer_id == "cus_Nino0001"


def test_a_customer_id_of_another_account_is_refused(app, catalogue, runner, tmp_path):
    run_import(runner, sample("ghost"), "ghost")
    clash = tmp_path / "clash.csv"
    clash.write_text(
        "email,stripe_customer_id\n"
        "someone@example.org,cus_GhostAnahit01\n"
        "anahit.petrosyan@example.am,cus_Other000001\n"
        "a@example.org,cus_Twice0000001\n"
        "b@example.org,cus_Twice0000001\n"
        "c@example.org,sub_NotACustomer\n"
    )
    run = run_import(runner, clash, "csv")
    assert "line 2: error" in run.output and "belongs to another account" in run.output
    assert "line 3: error" in run.output and "another Stripe customer" in run.output
    assert "line 5: error" in run.output and "on line 4 too" in run.output
    assert "line 6: error" in run.output and "Not a Stripe customer id" in run.output
    assert user(app, "someone@example.org") is None
    assert user(app, "anahit.petrosyan@example.am").stripe_customer_id == "cus_GhostAnahit01"


def test_a_renewed_paid_through_date_moves_the_perk_and_a_withdrawal_stays(
    app, catalogue, runner, tmp_path
):
    header = "email,active_subscription,expiry,plan,email_disabled,created_at\n"
    first = tmp_path / "first.csv"
    first.write_text(header + "mariam@example.ge,true,2030-06-30,monthly,false,2023-07-01\n")
    run_import(runner, first, "substack")
    later = tmp_path / "later.csv"
    later.write_text(header + "mariam@example.ge,true,2031-06-30,monthly,false,2023-07-01\n")
    run = run_import(runner, later, "substack")
    assert "1 updated" in run.output
    assert {end for _, _, end in grants_of(app, "mariam@example.ge")} == {
        datetime(2031, 7, 1, tzinfo=UTC)
    }


@pytest.mark.parametrize(
    "content, fmt, words",
    [
        ("email,name\nnino@example.ge,Nino\n", "ghost", "not Ghost's member export"),
        ("", "csv", "empty"),
        ("\x00\x01PK\x03\x04 binary", "csv", "not a CSV file"),
    ],
)
def test_a_file_of_another_format_is_refused_whole(app, catalogue, runner, tmp_path, content,
                                                   fmt, words):  # fmt: skip
    path = tmp_path / "members.csv"
    path.write_text(content)
    result = runner.invoke(args=["members", "import", str(path), "--format", fmt])
    assert result.exit_code == 1 and words in result.output
    assert state(app)["users"] == {}


def test_not_utf8_is_refused(app, catalogue, runner, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,name\nzoe@example.org,Zoë\n".encode("latin-1"))
    result = runner.invoke(args=["members", "import", str(path), "--format", "csv"])
    assert result.exit_code == 1 and "UTF-8" in result.output
    assert state(app)["users"] == {}


def test_a_crash_mid_file_keeps_whole_batches_and_a_rerun_finishes(
    app, catalogue, runner, monkeypatch
):
    """Each batch is one transaction: a failure while writing the second batch leaves the first
    batch's readers whole (account, perks, audit) and nothing of the second; the same file run
    again completes the import."""
    from membership.members import formats, importer

    calls = {"n": 0}
    original = importer._write

    def failing_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            original(*args, **kwargs)  # the batch's rows are flushed, then the process dies
            raise RuntimeError("the machine went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(importer, "_write", failing_write)
    with app.app_context():
        cat = importer.catalogue()
        with sample("csv").open("rb") as raw:
            reader = formats.open_reader(formats.text_stream(raw), "csv", cat, ("en", "ka",
                                         "hy", "ru"))  # fmt: skip
            with pytest.raises(RuntimeError):
                importer.run(reader, "csv", cat, dry_run=False, commit=db.session.commit,
                             batch=2)  # fmt: skip
        db.session.rollback()
    kept = state(app)
    assert set(kept["users"]) == {"salome@example.ge", "gayane@example.am"}  # batch 1 only
    assert {g[0] for g in kept["grants"]} == {"salome@example.ge"}
    assert sum(a[0] == "account.imported" for a in kept["audits"]) == 2
    monkeypatch.setattr(importer, "_write", original)
    run = run_import(runner, sample("csv"), "csv")
    assert "2 created, 2 unchanged" in run.output.splitlines()[-1]
    assert len(state(app)["users"]) == 4


def test_an_account_made_meanwhile_is_seen_on_a_second_plan(app, catalogue, runner, monkeypatch):
    """A reader registers between the batch's plan and its commit: the insert fails on the
    unique address, the batch is rolled back and planned again, and the import goes on."""
    from membership.members import importer
    from tests.factories import make_user

    with app.app_context():
        make_user(email="salome@example.ge", name="Salome")
    original = importer._users_by_email
    calls = {"n": 0}

    def stale(emails):
        calls["n"] += 1
        return {} if calls["n"] == 1 else original(emails)  # the first plan missed her

    monkeypatch.setattr(importer, "_users_by_email", stale)
    run = run_import(runner, sample("csv"), "csv")
    assert "3 created, 1 updated" in run.output.splitlines()[-1]
    assert user(app, "salome@example.ge").name == "Salome"

    calls["n"] = -(10**6)  # every plan misses her now: the batch cannot be written
    monkeypatch.setattr(importer, "_users_by_email", lambda emails: {})
    failed = runner.invoke(args=["members", "import", str(sample("csv")), "--format", "csv"])
    assert failed.exit_code == 1 and "Run the import again" in failed.output


def test_a_bad_byte_late_in_the_file_refuses_it_whole(app, catalogue, runner, tmp_path):
    path = tmp_path / "late.csv"
    rows = "".join(f"r{i}@example.org,Reader {i}\n" for i in range(2500)).encode()
    path.write_bytes(b"email,name\n" + rows + "zoe@example.org,Zoë\n".encode("latin-1"))
    result = runner.invoke(args=["members", "import", str(path), "--format", "csv"])
    assert result.exit_code == 1 and "UTF-8" in result.output
    assert state(app)["users"] == {}  # not even the first batches
