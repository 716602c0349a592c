"""The campaign page, its form's validation, the wall and its moderation, drafts and ended
campaigns, the progress API (shape, ETag, CORS), the widget, the front page and the demo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from membership.accounts.models import Role
from membership.extensions import db
from membership.fundraisers.models import Campaign, CampaignStatus, Donation
from membership.timeutil import utcnow
from tests.conftest import csrf_token
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, give_and_pay, make_campaign, progress, text_of


def count_donations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Donation.id)))


def test_page_shows_bar_outlets_milestones_and_safe_story(campaign, client):
    html = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    assert 'class="fundraiser-bar"' in html and "data-progress-url" in html
    for name in ("Mountain Post", "River Daily", "Valley Voice"):
        assert name in html
    assert "A first reporter" in html and "A data desk" in html
    assert "<strong>three</strong>" in html  # Markdown rendered
    assert "<script>alert" not in html  # … and cleaned
    assert "days left" in html
    assert "/static/js/fundraiser.js" in html
    script = '<script src="/static/js/fundraiser.js" defer></script>'
    assert "<script>" not in html.replace(script, "")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amount": "4.99"}, "The smallest gift is €5.00."),
        ({"amount": "5000.01"}, "The largest gift online is €5,000.00."),
        ({"amount": "ten"}, "Enter an amount"),
        ({"amount": "-5"}, "Enter an amount"),
        ({"amount": "1.234"}, "Enter an amount"),
        ({"amount": ""}, "Enter an amount"),
        ({"outlet": "nowhere-news"}, "Choose one of the newsrooms"),
        ({"frequency": "weekly"}, "Choose once or monthly."),
        ({"message": "x" * 10_000}, "Field cannot be longer than 500 characters."),
        ({"public_name": "n" * 81}, "Field cannot be longer than 80 characters."),
    ],
)
def test_invalid_gifts_are_refused_and_nothing_written(app, campaign, auth, fields, message):
    data = {"amount": "25", "frequency": "once", "outlet": "all", **fields}
    response = auth.post(f"/fundraisers/{SLUG}/donate", data, form_page=f"/fundraisers/{SLUG}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_donations(app) == 0


DONATE = f"/fundraisers/{SLUG}/donate"
GIFT = {"amount": "25", "frequency": "once", "outlet": "all"}


def test_an_anonymous_visitor_gives_without_a_token_or_cookie(app, campaign, client, stripe_world):
    page = client.get(f"/fundraisers/{SLUG}")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert 'name="csrf_token"' not in page.get_data(as_text=True)
    response = client.post(DONATE, data=GIFT)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(stripe_world.sandbox.url)
    assert count_donations(app) == 1


def test_a_signed_in_reader_needs_the_token(app, campaign, auth, client, stripe_world):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    assert client.post(DONATE, data=GIFT).status_code == 400
    assert client.post(DONATE, data={**GIFT, "csrf_token": "forged"}).status_code == 400
    assert count_donations(app) == 0
    token = csrf_token(client, f"/fundraisers/{SLUG}")  # the signed-in page carries it
    response = client.post(DONATE, data={**GIFT, "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(stripe_world.sandbox.url)
    assert count_donations(app) == 1


def test_a_remembered_reader_needs_the_token_too(app, campaign, auth, client):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login(remember="y")
    remembered = app.test_client()  # a new browser session: only the remember-me cookie
    remembered.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert "Sign out" in remembered.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert fresh.post(DONATE, data=GIFT).status_code == 400
    assert count_donations(app) == 0


@pytest.mark.config(RATE_LIMIT_DONATE="2 per minute")
def test_donation_posts_are_rate_limited_per_address(app, campaign, client, stripe_world):
    for _ in range(2):
        assert client.post(DONATE, data={**GIFT, "amount": "x"}).status_code == 422
    refused = client.post(DONATE, data=GIFT)
    assert refused.status_code == 429
    assert "Please wait a little and try again." in refused.get_data(as_text=True)
    assert count_donations(app) == 0
    other = app.test_client()
    elsewhere = other.post(DONATE, data=GIFT, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 303


def test_markup_in_name_and_message_is_escaped(app, campaign, auth, client, stripe_world):
    give_and_pay(auth, stripe_world, public_name='<img src=x onerror="alert(1)">',
                 message="<script>alert('wall')</script> & <b>bold</b>")  # fmt: skip
    html = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    assert "<script>alert('wall')" not in html and "<img src=x" not in html
    escaped = "&lt;script&gt;alert(&#39;wall&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert escaped in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_wall_hides_anonymous_and_moderated(app, campaign, auth, client, stripe_world):
    give_and_pay(auth, stripe_world, amount="10", public_name="", message="secret anon note",
                 email="anon@example.org")  # fmt: skip
    give_and_pay(auth, stripe_world, amount="10", public_name="Troll", message="rude words",
                 email="t@example.org")  # fmt: skip
    give_and_pay(auth, stripe_world, amount="10", public_name="Eka", message="Go on!",
                 email="e@example.org")  # fmt: skip
    html = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    assert "secret anon note" not in html
    assert "rude words" in html and "Go on!" in html
    before = progress(client)

    with app.app_context():
        make_user(email="staff@example.org", role=Role.staff)
        troll = db.session.scalar(select(Donation.id).where(Donation.public_name == "Troll"))
    auth.login(email="staff@example.org")
    admin_page = f"/admin/fundraisers/{campaign}"
    assert "rude words" in client.get(admin_page).get_data(as_text=True)
    response = auth.post(f"/admin/fundraisers/donations/{troll}/hide", {}, form_page=admin_page)
    assert response.status_code == 303
    html = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    assert "rude words" not in html and "Troll" not in html and "Go on!" in html
    assert progress(client)["raised"] == before["raised"] == 3000  # hidden still counts
    auth.post(f"/admin/fundraisers/donations/{troll}/show", {}, form_page=admin_page)
    assert "rude words" in client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)


def test_members_cannot_moderate(app, campaign, auth, client):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    for path in (f"/admin/fundraisers/{campaign}", "/admin/fundraisers/"):
        response = client.get(path)
        assert response.status_code == 403, path
        page = response.get_data(as_text=True)
        assert "You may not see this page" in page and 'class="admin-nav"' not in page, path


def test_ended_campaign_refuses_gifts_and_says_so(app, campaign, auth, client):
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        c.ends_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    html = client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)
    assert "has ended and takes no more gifts" in html and "give-button" not in html
    response = client.post(
        f"/fundraisers/{SLUG}/donate",
        data={"amount": "25", "frequency": "once"},
        follow_redirects=True,
    )
    assert "This fundraiser takes no more gifts." in response.get_data(as_text=True)
    assert count_donations(app) == 0
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        c.ends_at, c.status = utcnow() + timedelta(days=3), CampaignStatus.ended
        db.session.commit()
    assert "has ended" in client.get(f"/fundraisers/{SLUG}").get_data(as_text=True)


def test_draft_is_staff_only(app, campaign, auth, client):
    with app.app_context():
        make_campaign(slug="secret-plan", status=CampaignStatus.draft)
        make_user(email="staff@example.org", role=Role.staff)
    assert client.get("/fundraisers/secret-plan").status_code == 404
    assert client.get("/fundraisers/secret-plan/embed").status_code == 404
    assert client.get("/api/v1/fundraisers/secret-plan/progress").status_code == 404
    auth.login(email="staff@example.org")
    html = client.get("/fundraisers/secret-plan").get_data(as_text=True)
    assert "Draft: only staff see this page." in html


def test_progress_api_shape_etag_and_cors(app, campaign, auth, client, stripe_world):
    response = client.get(f"/api/v1/fundraisers/{SLUG}/progress")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"slug", "currency", "goal", "raised", "backers", "percent", "ends_at",
                         "outlets"}  # fmt: skip
    assert (body["slug"], body["currency"], body["goal"], body["raised"]) == (
        SLUG, "eur", 1_000_000, 0,
    )  # fmt: skip
    assert [set(o) for o in body["outlets"]] == [{"slug", "name", "raised"}] * 3
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert "max-age=" in response.headers["Cache-Control"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]

    again = client.get(f"/api/v1/fundraisers/{SLUG}/progress", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data

    preflight = client.options(
        f"/api/v1/fundraisers/{SLUG}/progress",
        headers={"Origin": "https://news.example.net", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"

    give_and_pay(auth, stripe_world, amount="5000")
    changed = client.get(f"/api/v1/fundraisers/{SLUG}/progress", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["raised"] == 500_000
    assert changed.get_json()["percent"] == 50
    assert client.get("/api/v1/fundraisers/nothing-here/progress").status_code == 404


def test_embed_may_be_framed(campaign, client):
    response = client.get(f"/fundraisers/{SLUG}/embed")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp
    assert 'class="fundraiser-bar"' in response.get_data(as_text=True)
    page = client.get(f"/fundraisers/{SLUG}")
    assert page.headers["X-Frame-Options"] == "DENY"


def test_front_page_shows_the_live_fundraiser(campaign, client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="fundraiser"' in html and "Reporters Together" in html
    assert f"/fundraisers/{SLUG}" in html


def test_demo_seeds_a_live_fundraiser_with_gifts(app, stripe_world, runner):
    from membership.demo import seed
    from membership.donors import demo as donors_demo

    with app.app_context():
        summary = seed(0, echo=lambda _line: None)
        db.session.commit()
        assert any("fundraiser" in part for part in summary.parts)
        campaign = db.session.scalar(select(Campaign).where(Campaign.status == CampaignStatus.live))
        assert len(campaign.outlets) == 3
        slug = campaign.slug
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 0
    figures = progress(app.test_client(), slug)
    mariam = sum(gift[0] for gift in donors_demo.GIFTS) - donors_demo.REFUNDED + 5_000
    # The host demo's card gifts (host/demo.py): €137 less a €5 refund and a €12 gift disputed
    # and lost.
    host = 13_700 - 500 - 1_200
    assert figures["raised"] == 20_000 + 7_500 + 2_500 + 5_000 + 1_000 + mariam + host
    # three donors online, two bank transfers without an address, Mariam (the statement's
    # demo donor: online and by bank transfer, one backer by her address), and four card donors
    # of the host demo (the fifth's gift was disputed and lost: it nets to nothing)
    assert figures["backers"] == 10
    assert "Independent Together" in app.test_client().get("/").get_data(as_text=True)


def _thanks_text(app, client) -> str:
    """The thank-you page of the newest donation, as its donor comes back from Checkout."""
    with app.app_context():
        donation = db.session.scalar(select(Donation).order_by(Donation.id.desc()))
        query = f"donation={donation.id}&session_id={donation.stripe_checkout_session_id}"
    return text_of(client.get(f"/fundraisers/{SLUG}/thanks?{query}").get_data(as_text=True))


def test_thanks_page_names_the_newsroom_a_gift_went_to(app, campaign, auth, client, stripe_world):
    give_and_pay(auth, stripe_world, amount="10", outlet="river-daily")
    text = _thanks_text(app, client)
    assert "Your gift of €10.00 to River Daily has arrived." in text
    assert "part of Reporters Together" in text


def test_thanks_page_names_the_fundraiser_of_a_gift_to_all(
    app, campaign, auth, client, stripe_world
):
    give_and_pay(auth, stripe_world, amount="10")
    text = _thanks_text(app, client)
    assert "Your gift of €10.00 to Reporters Together has arrived." in text
    assert "shared by all its newsrooms" in text


def test_thanks_page_of_a_monthly_gift_says_monthly(app, campaign, auth, client, stripe_world):
    give_and_pay(auth, stripe_world, amount="12", frequency="monthly", outlet="valley-voice")
    text = _thanks_text(app, client)
    assert "Your monthly gift of €12.00 to Valley Voice has arrived." in text
