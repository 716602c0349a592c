"""The transparency page and API: raised, Stripe's fees, the host's fee and grants per outlet,
exact, cached by version (ETag, 304) and current after every change, in every language."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers.models import Campaign, CampaignStatus
from membership.host import grants, hosts
from tests.fundraisers.conftest import SLUG, progress
from tests.host.conftest import DE_CARD, pay_gift, refund, transparency_json


def test_the_json_is_exact_to_the_minor_unit(app, client, campaign, stripe_world):
    with app.app_context():
        hosts.save_host(
            db.session.get(Campaign, campaign),
            {"legal_name": "Media Support Foundation", "fee_basis_points": 750},
            None,
        )
        db.session.commit()
    split = pay_gift(app, stripe_world, campaign, "100.01")  # 10001 = 3334 + 3334 + 3333
    pay_gift(app, stripe_world, campaign, "50", outlet="valley-voice", card=DE_CARD)
    stripe_world.deliver()
    refund(app, split, 1001)
    stripe_world.deliver()
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        grants.record_grant(
            c,
            c.outlets[0],
            grants.GrantInput("10", "eur", date(2026, 12, 1)),
            grants.new_token(),
            None,
            date(2026, 12, 4),
        )
        db.session.commit()
    card_fee_split = (10001 * 325 + 5000) // 10000 + 25  # 350
    card_fee_de = (5000 * 150 + 5000) // 10000 + 25  # 100
    raised = 10001 - 1001 + 5000  # 14000
    # Shares: the split gift's 3334/3334/3333 less the refund taken back in proportion
    # (floor(1001·C_i/10001) along the running sum: 333, 334, 334).
    gross = {
        "mountain-post": 3334 - 333,
        "river-daily": 3334 - 334,
        "valley-voice": 3333 - 334 + 5000,
    }
    host_fee = raised * 750 // 10000  # 1050, shared in proportion to the gross shares
    expected_host = {"mountain-post": 225, "river-daily": 225, "valley-voice": 600}
    fees = {"mountain-post": 117, "river-daily": 117, "valley-voice": 116 + card_fee_de}
    granted = {"mountain-post": 1000, "river-daily": 0, "valley-voice": 0}
    assert (
        sum(expected_host.values()) == host_fee
        and sum(fees.values()) == card_fee_split + card_fee_de
    )
    body = transparency_json(client)
    assert body == {
        "slug": SLUG,
        "currency": "eur",
        "raised": raised,
        "fees": card_fee_split + card_fee_de,
        "host_fee": host_fee,
        "granted": 1000,
        "outlets": [
            {
                "slug": slug,
                "name": name,
                "raised": gross[slug],
                "fees": fees[slug],
                "host_fee": expected_host[slug],
                "granted": granted[slug],
                "balance": gross[slug] - fees[slug] - expected_host[slug] - granted[slug],
            }
            for slug, name in (
                ("mountain-post", "Mountain Post"),
                ("river-daily", "River Daily"),
                ("valley-voice", "Valley Voice"),
            )
        ],
    }
    assert body["raised"] == progress(client)["raised"]  # the bar counts gross gifts


def test_cached_by_version_and_current_after_a_grant(app, client, campaign, stripe_world):
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 60  # the memo may hold: the version decides
    first = client.get(f"/api/v1/fundraisers/{SLUG}/transparency")
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    etag = first.headers["ETag"]
    again = client.get(f"/api/v1/fundraisers/{SLUG}/transparency", headers={"If-None-Match": etag})
    assert again.status_code == 304
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 0
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        grants.record_grant(
            c,
            c.outlets[2],
            grants.GrantInput("5", "eur", date(2026, 12, 1)),
            grants.new_token(),
            None,
            date(2026, 12, 4),
        )
        db.session.commit()
    after = client.get(f"/api/v1/fundraisers/{SLUG}/transparency", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert after.get_json()["granted"] == 500


@pytest.mark.parametrize(
    "lang,words",
    [
        ("en", ["Where the money went", "Card fees"]),
        ("ka", ['lang="ka"']),
        ("hy", ['lang="hy"']),
        ("az", ['lang="az"']),
        ("ru", ['lang="ru"']),
    ],
)
def test_the_page_speaks_every_language_and_is_linked_from_the_campaign(
    client, campaign, lang, words
):
    page = client.get(f"/fundraisers/{SLUG}/transparency?lang={lang}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for word in words:
        assert word in html
    assert f"/api/v1/fundraisers/{SLUG}/transparency" in html
    campaign_page = client.get(f"/fundraisers/{SLUG}?lang={lang}").get_data(as_text=True)
    assert f"/fundraisers/{SLUG}/transparency" in campaign_page


def test_drafts_and_unknown_campaigns_are_404(app, client, campaign):
    with app.app_context():
        db.session.scalar(select(Campaign)).status = CampaignStatus.draft
        db.session.commit()
    assert client.get(f"/fundraisers/{SLUG}/transparency").status_code == 404
    assert client.get(f"/api/v1/fundraisers/{SLUG}/transparency").status_code == 404
    assert client.get("/api/v1/fundraisers/nope/transparency").status_code == 404
    assert client.get("/fundraisers/nope/transparency").status_code == 404


def test_openapi_documents_the_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    route = doc["paths"]["/fundraisers/{slug}/transparency"]["get"]
    schema = route["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["required"] == [
        "slug",
        "currency",
        "raised",
        "fees",
        "host_fee",
        "granted",
        "outlets",
    ]
    assert schema["properties"]["outlets"]["items"]["required"] == [
        "slug",
        "name",
        "raised",
        "fees",
        "host_fee",
        "granted",
        "balance",
    ]
