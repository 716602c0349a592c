"""The demo: rules for the demo perks, and a fake CMS page that asks the access API."""

from __future__ import annotations

import pytest

from membership.access.demo import seed_access
from membership.demo import SEEDERS, Summary
from membership.extensions import db


def test_the_seeder_is_registered_and_idempotent(app):
    assert seed_access in SEEDERS
    with app.app_context():
        first = Summary()
        seed_access(first, 0, print)
        db.session.commit()
        second = Summary()
        seed_access(second, 0, print)
        db.session.commit()
    assert first.parts and not second.parts


def test_the_demo_article_page_uses_a_same_origin_script(app, client, ask):
    with app.app_context():
        seed_access(Summary(), 0, print)
        db.session.commit()
    html = client.get("/demo/article/the-river-report").get_data(as_text=True)
    assert '<script src="/static/js/access-demo.js"' in html
    assert 'data-access-url="/api/v1/access?article=/investigations/the-river-report"' in html
    script = client.get("/static/js/access-demo.js")
    assert script.status_code == 200
    assert "dataset.accessUrl" in script.get_data(as_text=True)  # the page names the URL
    script.close()
    assert ask("/investigations/the-river-report", peek="1")[1]["required_perk"] == (
        "members-only-articles"
    )
    assert ask("/investigations/city-council-notes")[1]["reason"] == "open"


@pytest.mark.config(STRIPE_SANDBOX=False)
def test_the_demo_page_exists_only_in_sandbox_mode(client):
    assert client.get("/demo/article/the-river-report").status_code == 404
