"""The supporters' wall shows what donors wrote, without characters that could spoof it."""

from __future__ import annotations

from sqlalchemy import select, update

from membership.accounts.models import Role
from membership.extensions import db
from membership.fundraisers.models import Donation
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, give_and_pay

RLO, PDF, LRI, PDI, ZWSP = "\u202e", "\u202c", "\u2066", "\u2069", "\u200b"
SPOOFING = [RLO, PDF, LRI, PDI, ZWSP, "\u202a", "\u202b", "\u202d", "\u2067", "\u2068", "\ufeff"]


def wall_html(client) -> str:
    html = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    return html[html.index('id="wall"') :]


def stored(app) -> list[tuple[str, str]]:
    with app.app_context():
        return list(db.session.execute(select(Donation.public_name, Donation.message)).all())


def test_a_name_with_a_right_to_left_override_shows_on_the_wall_without_it(
    app, campaign, auth, client, stripe_world
):
    name, message = f"{RLO}Eka{PDF} Tsereteli", f"Keep\r\ngoing{LRI}!{PDI}\x07{ZWSP}"
    give_and_pay(auth, stripe_world, amount="10", public_name=name, message=message,
                 email="eka@example.org")  # fmt: skip
    assert stored(app) == [("Eka Tsereteli", "Keep\ngoing!")]  # clean from the form on
    wall = wall_html(client)
    assert "Eka Tsereteli" in wall and "Keep\ngoing!" in wall
    assert not any(char in wall for char in SPOOFING)


def test_rows_stored_before_the_form_cleaned_them_show_clean(
    app, campaign, auth, client, stripe_world
):
    give_and_pay(auth, stripe_world, amount="10", public_name="Nino", email="n@example.org")
    with app.app_context():  # as a row written by an older version holds it
        db.session.execute(
            update(Donation).values(public_name=f"Nino{RLO}gnp.exe", message=f"a{LRI}b\x1bc")
        )
        db.session.commit()
    wall = wall_html(client)
    assert "Ninognp.exe" in wall and "abc" in wall
    assert not any(char in wall for char in [*SPOOFING, "\x1b"])


def test_writing_that_needs_joiners_and_marks_keeps_them(app, campaign, auth, client, stripe_world):
    # A zero-width joiner builds the emoji, a non-joiner spells the Persian word, an RLM
    # places the full stop: none of them can reorder the text around the entry.
    name = "\U0001f469\u200d\U0001f4bb Dana"
    message = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0645\u200f."
    give_and_pay(auth, stripe_world, amount="10", public_name=name, message=message,
                 email="dana@example.org")  # fmt: skip
    assert stored(app) == [(name, message)]
    wall = wall_html(client)
    assert name in wall and message in wall


def test_staff_offline_gifts_are_cleaned_the_same_way(app, campaign, auth, client):
    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
    auth.login(email="staff@example.org")
    page = f"/admin/fundraisers/{campaign}"
    response = auth.post(
        f"{page}/offline-gifts",
        {"g-amount": "150", "g-outlet": "all", "g-public_name": f"Village{RLO} council",
         "g-message": f"From all{ZWSP} of us"},
        form_page=page,
    )  # fmt: skip
    assert response.status_code == 303
    assert stored(app) == [("Village council", "From all of us")]
    assert "Village council" in wall_html(client)
