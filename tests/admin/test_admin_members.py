"""Member search, a member's page, notes, complimentary perks and resending verification."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from membership.audit import AuditEntry
from membership.billing.models import Membership, StripeEvent
from membership.extensions import db
from membership.ledger.models import EntryKind
from membership.perks.models import GrantSource, Perk, PerkGrant
from membership.timeutil import utcnow
from tests.admin.conftest import add_entry, add_membership, at
from tests.conftest import Actions
from tests.factories import make_user


def actions(app, action: str) -> list[AuditEntry]:
    """Audit entries with this action."""
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_search_by_email_or_name(app, client, staff):
    with app.app_context():
        make_user(email="ana@example.org", name="Ana Lomidze")
        make_user(email="beka@example.org", name="Beka")
        make_user(email="percent@example.org", name="100% reader")
    page = client.get("/admin/members?q=LOMIDZE").get_data(as_text=True)
    assert "ana@example.org" in page and "beka@example.org" not in page
    page = client.get("/admin/members?q=beka@").get_data(as_text=True)
    assert "beka@example.org" in page and "ana@example.org" not in page
    page = client.get("/admin/members?q=%25").get_data(as_text=True)  # a literal %, not a wildcard
    assert "percent@example.org" in page and "ana@example.org" not in page
    assert client.get("/admin/members?q=" + "x" * 300).status_code == 200


def test_member_page_shows_the_whole_file(app, client, staff, catalogue):
    with app.app_context():
        user = make_user(email="ana@example.org", name="Ana")
        membership = add_membership(user.id, ref="investigation-42")
        add_entry(EntryKind.membership, 500, at(2026, 1, 5), user_id=user.id,
                  membership_id=membership.id, description="Supporter (month)")  # fmt: skip
        add_entry(EntryKind.gift, 2500, at(2026, 2, 1), user_id=user.id, description="A gift")
        db.session.add(StripeEvent(id="evt_page", type="customer.subscription.created",
                                   object_id=membership.stripe_subscription_id,
                                   created=utcnow(), payload={}))  # fmt: skip
        db.session.commit()
        user_id = user.id
    page = client.get(f"/admin/members/{user_id}").get_data(as_text=True)
    for expected in ("Membership, monthly", "A gift", "€25.00", "investigation-42", "evt_page",
                     "customer.subscription.created", "sub_t"):  # fmt: skip
        assert expected in page, expected
    assert client.get("/admin/members/999999").status_code == 404


def test_notes_are_kept_and_audited(app, client, auth, staff):
    with app.app_context():
        user_id = make_user(email="ana@example.org").id
    response = auth.post(f"/admin/members/{user_id}/notes", {"body": "Called about a <b>card</b>"},
                         form_page=f"/admin/members/{user_id}")  # fmt: skip
    assert response.status_code == 303
    page = client.get(f"/admin/members/{user_id}").get_data(as_text=True)
    assert "Called about a &lt;b&gt;card&lt;/b&gt;" in page
    [entry] = actions(app, "staff.note_added")
    assert entry.actor_id == staff and entry.target_id == str(user_id)
    too_long = auth.post(f"/admin/members/{user_id}/notes", {"body": "x" * 10_000},
                         form_page=f"/admin/members/{user_id}")  # fmt: skip
    assert too_long.status_code == 400
    assert len(actions(app, "staff.note_added")) == 1


def test_complimentary_perk_granted_then_withdrawn(app, client, auth, staff, catalogue):
    with app.app_context():
        user_id = make_user(email="ana@example.org").id
    today = utcnow().date()  # one "today" for the form and the check, even across midnight
    until = (today + timedelta(days=30)).isoformat()
    page = f"/admin/members/{user_id}"
    response = auth.post(f"/admin/members/{user_id}/grants",
                         {"perk": "ad-free", "until": until, "reason": "press friend"},
                         form_page=page)  # fmt: skip
    assert response.status_code == 303
    with app.app_context():
        grant = db.session.scalar(select(PerkGrant))
        assert grant.source == GrantSource.complimentary and grant.granted_by_id == staff
        assert grant.ends_at == datetime.combine(today + timedelta(days=31), time(), UTC)
        grant_id = grant.id
    [entry] = actions(app, "perk.granted")
    assert entry.actor_id == staff and entry.details["perk"] == "ad-free"
    assert "press friend" in client.get(page).get_data(as_text=True)

    # The reader sees the perk on their account page.
    auth.logout()
    auth.login(email="ana@example.org")
    assert "Ad-free reading" in client.get("/account").get_data(as_text=True)
    auth.logout()
    auth.login(email="staff@example.org")

    response = auth.post(f"/admin/members/{user_id}/grants/{grant_id}/withdraw",
                         {"reason": "asked to stop"}, form_page=page)  # fmt: skip
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(PerkGrant, grant_id).revoked_at is not None
    [entry] = actions(app, "perk.withdrawn")
    assert entry.actor_id == staff and entry.details["reason"] == "asked to stop"


def test_grant_refuses_a_past_date_or_an_unknown_perk(app, auth, staff, catalogue):
    with app.app_context():
        user_id = make_user(email="ana@example.org").id
    page = f"/admin/members/{user_id}"
    past = auth.post(f"/admin/members/{user_id}/grants", {"perk": "ad-free", "until": "2020-01-01"},
                     form_page=page)  # fmt: skip
    unknown = auth.post(f"/admin/members/{user_id}/grants", {"perk": "nope", "until": "2099-01-01"},
                        form_page=page)  # fmt: skip
    bad_date = auth.post(f"/admin/members/{user_id}/grants", {"perk": "ad-free", "until": "soon"},
                         form_page=page)  # fmt: skip
    assert past.status_code == unknown.status_code == bad_date.status_code == 400
    assert "The end date must be in the future." in past.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(PerkGrant)) is None


def test_grant_until_the_last_representable_day_answers_400(app, auth, staff, catalogue):
    with app.app_context():
        user_id = make_user(email="ana@example.org").id
    page = f"/admin/members/{user_id}"
    response = auth.post(f"/admin/members/{user_id}/grants",
                         {"perk": "ad-free", "until": "9999-12-31"}, form_page=page)  # fmt: skip
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(PerkGrant)) is None


def test_membership_perks_cannot_be_withdrawn_by_hand(app, auth, staff, catalogue):
    with app.app_context():
        user_id = make_user(email="ana@example.org").id
        perk = db.session.scalar(select(Perk).where(Perk.slug == "ad-free"))
        grant = PerkGrant(user_id=user_id, perk_id=perk.id, source=GrantSource.membership,
                          source_ref="1", starts_at=utcnow() - timedelta(days=1))  # fmt: skip
        db.session.add(grant)
        db.session.commit()
        grant_id = grant.id
    page = f"/admin/members/{user_id}"
    response = auth.post(f"/admin/members/{user_id}/grants/{grant_id}/withdraw", {},
                         form_page=page, follow_redirects=True)  # fmt: skip
    assert "Membership perks follow the membership" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PerkGrant, grant_id).revoked_at is None


def test_resend_verification_sends_a_mail(app, auth, staff, mailbox):
    with app.app_context():
        user_id = make_user(email="ana@example.org", verified=False).id
    page = f"/admin/members/{user_id}"
    response = auth.post(f"/admin/members/{user_id}/resend-verification", {}, form_page=page)
    assert response.status_code == 303
    message = mailbox.last_to("ana@example.org")
    assert mailbox.link_in(message, "/verify-email/")
    [entry] = actions(app, "staff.verification_resent")
    assert entry.actor_id == staff


def test_member_file_shows_no_end_on_a_membership_cancelled_then_resumed(
    app, client, staff, catalogue, stripe_world, mailbox
):
    from tests.billing.conftest import join

    with app.app_context():
        reader_id = make_user(email="ana@example.org", name="Ana").id
    reader = Actions(app.test_client(), mailbox)
    reader.login(email="ana@example.org")
    stripe_world.pay(join(reader))
    stripe_world.deliver()
    with app.app_context():
        membership_id = db.session.scalar(select(Membership.id))
    for action in ("cancel", "resume"):
        path = f"/account/membership/{membership_id}/{action}"
        assert reader.post(path, form_page="/account").status_code == 303
    stripe_world.deliver()
    page = client.get(f"/admin/members/{reader_id}").get_data(as_text=True)
    row = page.split('id="memberships"')[1].split("</tr>", 2)[1]
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td.*?</td>", row, re.S)]
    plan, status, _amount, started, paid_until, ended = cells[:6]
    assert (plan, status) == ("Supporter", "active")
    assert started and paid_until
    assert ended == "", "an active membership has not ended"


def test_a_member_without_a_name_is_headed_by_their_address(app, client, staff):
    with app.app_context():
        user_id = make_user(email="lela@example.org", name="").id  # joined by e-mail alone
    page = client.get(f"/admin/members/{user_id}").get_data(as_text=True)
    assert re.search(r"<h1>\s*lela@example.org\s*</h1>", page), page[page.find("<h1>") :][:200]
