"""`flask donors statements --year YYYY` mails each donor of the year once, in their language,
with links that open their statement; the receipt of every gift links to its year's statement."""

from __future__ import annotations

import re

from membership.extensions import db
from membership.fundraisers.models import Donation
from membership.timeutil import utcnow
from tests.donors.conftest import LAST_YEAR, at, gift, refund
from tests.factories import make_user
from tests.fundraisers.conftest import give_and_pay, text_of


def _donors(app, campaigns):
    with app.app_context():
        first = gift(campaigns["eur"], 5000, at(LAST_YEAR, 2), email="ana@example.org")
        db.session.get(Donation, first.donation_id).public_name = "Ana"
        refund(first, 2000, at(LAST_YEAR, 3))
        gift(campaigns["gel"], 3000, at(LAST_YEAR, 4), email="ana@example.org")
        nino = make_user(email="nino@example.org", name="Nino", locale="ka")
        gift(campaigns["eur"], 1000, at(LAST_YEAR, 5), user=nino)
        gift(campaigns["eur"], 7700, at(LAST_YEAR - 1, 5), email="earlier@example.org")
        db.session.commit()


def test_each_donor_is_mailed_once_and_a_second_run_sends_nothing(
    app, runner, campaigns, mailbox, client
):
    _donors(app, campaigns)
    result = runner.invoke(args=["donors", "statements", "--year", str(LAST_YEAR)])
    assert result.exit_code == 0, result.output
    assert f"Statements {LAST_YEAR}: 2 mailed, 0 mailed before, 2 donors." in result.output
    assert sorted(m["To"] for m in mailbox.messages) == ["ana@example.org", "nino@example.org"]

    ana = mailbox.body(mailbox.last_to("ana@example.org"))
    assert ana.startswith("Hello Ana,")  # the name she gave on the wall, as her receipts say
    assert f"Here is your statement of gifts for {LAST_YEAR}" in ana
    assert "Total EUR: €30.00 (given €50.00, given back €20.00)" in ana
    assert "Total GEL: GEL30.00" in ana
    page = client.get(mailbox.link_in(mailbox.last_to("ana@example.org"), "/donors/statement/"))
    assert page.status_code == 200
    assert "€30.00" in text_of(page.get_data(as_text=True))
    pdf_link = re.search(r"(/donors/statement/\S+\.pdf\?lang=en)", ana).group(1)
    assert client.get(pdf_link).mimetype == "application/pdf"

    nino = mailbox.last_to("nino@example.org")  # in the language of her account
    assert mailbox.body(nino).startswith("გამარჯობა, Nino!")  # her account's name
    assert "?lang=ka" in mailbox.body(nino)
    assert "10,00\xa0€" in mailbox.body(nino)

    mailbox.clear()
    again = runner.invoke(args=["donors", "statements", "--year", str(LAST_YEAR)])
    assert again.exit_code == 0, again.output
    assert f"Statements {LAST_YEAR}: 0 mailed, 2 mailed before, 2 donors." in again.output
    assert mailbox.messages == []


def test_a_year_without_donors_mails_nobody(app, runner, campaigns, mailbox):
    result = runner.invoke(args=["donors", "statements", "--year", str(LAST_YEAR - 3)])
    assert result.exit_code == 0, result.output
    assert "0 mailed, 0 mailed before, 0 donors." in result.output
    assert mailbox.messages == []


def test_a_running_year_sends_a_statement_so_far_and_still_the_final_one_later(
    app, runner, campaigns, mailbox
):
    this_year = utcnow().year
    with app.app_context():
        gift(campaigns["eur"], 1000, utcnow(), email="now@example.org")
        db.session.commit()
    result = runner.invoke(args=["donors", "statements", "--year", str(this_year)])
    assert result.exit_code == 0, result.output
    assert "is not over yet" in result.output
    assert f"Statements {this_year} so far: 1 mailed" in result.output
    assert "so far, up to" in mailbox.body(mailbox.last_to("now@example.org"))
    again = runner.invoke(args=["donors", "statements", "--year", str(this_year)])
    assert "0 mailed, 1 mailed before" in again.output


def test_a_year_to_come_or_long_gone_is_refused(app, runner):
    for year in (str(utcnow().year + 1), "1999", "nineteen"):
        result = runner.invoke(args=["donors", "statements", "--year", year])
        assert result.exit_code != 0, year
        assert "Traceback" not in result.output
    result = runner.invoke(args=["donors", "statements", "--year", str(utcnow().year + 1)])
    assert "Error: --year must be between 2000 and" in result.output


def test_the_receipt_links_to_the_years_statement(app, campaign, auth, client, stripe_world,
                                                  mailbox):  # fmt: skip
    give_and_pay(auth, stripe_world, amount="42", email="guest@example.org")
    receipt = mailbox.last_to("guest@example.org")
    body = mailbox.body(receipt)
    year = utcnow().year
    assert f"Your statement of every gift you made in {year}" in body
    page = client.get(mailbox.link_in(receipt, "/donors/statement/"))
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert f"Statement of gifts {year}" in text
    assert "€42.00" in text
    assert "guest@example.org" in text


def test_after_a_statement_so_far_the_final_one_still_goes_out_in_january(app, campaigns):
    from datetime import UTC, datetime

    from membership.donors import mailing

    with app.app_context():
        gift(campaigns["eur"], 1000, at(LAST_YEAR, 6), email="ana@example.org")
        december = datetime(LAST_YEAR, 12, 1, tzinfo=UTC)
        january = datetime(LAST_YEAR + 1, 1, 5, tzinfo=UTC)
        assert mailing.queue_statement("ana@example.org", LAST_YEAR, december)  # so far
        assert not mailing.queue_statement("ana@example.org", LAST_YEAR, december)
        assert mailing.queue_statement("ana@example.org", LAST_YEAR, january)  # the final one
        assert not mailing.queue_statement("ana@example.org", LAST_YEAR, january)
        assert not mailing.queue_statement("nobody@example.org", LAST_YEAR, january)
        db.session.rollback()
