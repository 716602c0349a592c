"""One way of writing numbers per page: the campaign page, the front page, the widget and the
progress API's display strings write every amount, percent and count as Babel writes them for
the page's language, and never as another language would."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from babel.numbers import format_currency, format_decimal, format_percent
from sqlalchemy import select

from membership.accounts.models import Role
from membership.extensions import db
from membership.fundraisers import editing
from membership.fundraisers.models import Campaign
from tests.factories import make_user
from tests.fundraisers.conftest import SLUG, make_campaign, text_of

LANGUAGES = ["en", "ka", "hy", "az", "ru"]
GEL = "gel-together"


@pytest.fixture
def gel_campaign(app, campaign):
    """A campaign in lari with a goal of 15,000 GEL and 1,234.50 GEL raised, a gift recorded
    by hand (one figure with thousands, one with decimals)."""
    with app.app_context():
        make_campaign(slug=GEL, currency="gel", goal=1_500_000)
        row = db.session.scalar(select(Campaign).where(Campaign.slug == GEL))
        staff = make_user(email="staff@example.org", role=Role.staff)
        editing.record_offline_gift(row, 123_450, staff, outlet=row.outlets[0])
        db.session.commit()
    return GEL


def money(major: str, currency: str, locale: str) -> str:
    return format_currency(Decimal(major), currency, locale=locale, decimal_quantization=False)


# Every amount the GEL campaign's page shows, in major units.
AMOUNTS = ["1234.50", "15000.00", "3000.00", "0.00", "50.00", "20000.00"]


def written_elsewhere(major: str, locale: str) -> set[str]:
    """How the other languages write an amount, where that differs from `locale`'s way."""
    mine = money(major, "GEL", locale)
    return {money(major, "GEL", other) for other in LANGUAGES} - {mine}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_page_and_the_api_write_the_figures_as_babel_does(app, gel_campaign, locale):
    client = app.test_client()
    page = unescape(client.get(f"/fundraisers/{GEL}?lang={locale}").get_data(as_text=True))
    answer = client.get(f"/api/v1/fundraisers/{GEL}/progress?lang={locale}").get_json()
    shown = answer["display"]

    raised, goal = money("1234.50", "GEL", locale), money("15000.00", "GEL", locale)
    assert (shown["raised"], shown["goal"]) == (raised, goal)
    assert shown["locale"] == locale
    assert shown["percent"] == format_percent(Decimal("0.08"), locale=locale)
    assert shown["backers"] == format_decimal(1, locale=locale)
    assert shown["outlets"]["mountain-post"] == raised
    # The page shows exactly the strings the script later puts in their place.
    assert f'data-field="raised" data-minor="123450">{raised}<' in page
    assert goal in page and f'data-field="percent">{shown["percent"]}<' in page
    assert f'data-outlet="mountain-post">{raised}<' in page
    assert f"progress?lang={locale}" in page
    for major in AMOUNTS:
        mixed = {text for text in written_elsewhere(major, locale) if text in text_of(page)}
        assert not mixed, f"{locale}: {major} also written as {mixed}"


@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_widget_writes_them_the_same_way(app, gel_campaign, locale):
    html = unescape(app.test_client().get(f"/fundraisers/{GEL}/embed?lang={locale}").get_data(
        as_text=True))  # fmt: skip
    raised = money("1234.50", "GEL", locale)
    assert f'data-field="raised" data-minor="123450">{raised}<' in html
    assert f"progress?lang={locale}" in html
    for major in ("1234.50", "15000.00"):
        assert not {text for text in written_elsewhere(major, locale) if text in html}


@pytest.mark.parametrize("locale", ["ka", "ru"])
def test_the_front_page_writes_them_the_same_way(app, campaign, locale):
    html = unescape(app.test_client().get(f"/?lang={locale}").get_data(as_text=True))
    goal = format_currency(Decimal("10000.00"), "EUR", locale=locale)
    assert goal in html and "€10,000.00" not in html and "€0.00" not in html


def test_counts_follow_the_languages_plural_rules(app, campaign, client):
    english = client.get(f"/fundraisers/{SLUG}?lang=en").get_data(as_text=True)
    assert "0</strong> backers" in english
    assert "days left" in english
    one = client.get(f"/api/v1/fundraisers/{SLUG}/progress?lang=en").get_json()["display"]
    assert one["backers_text"] == "0 backers"
    russian = client.get(f"/api/v1/fundraisers/{SLUG}/progress?lang=ru").get_json()["display"]
    assert russian["backers_text"] != "0 backers" and russian["backers_text"].startswith("0")


def test_without_lang_the_answer_is_the_documented_shape(app, campaign, client):
    plain = client.get(f"/api/v1/fundraisers/{SLUG}/progress")
    assert "display" not in plain.get_json()
    asked = client.get(f"/api/v1/fundraisers/{SLUG}/progress?lang=ka")
    assert asked.headers["ETag"] != plain.headers["ETag"]
    again = client.get(f"/api/v1/fundraisers/{SLUG}/progress?lang=ka",
                       headers={"If-None-Match": asked.headers["ETag"]})  # fmt: skip
    assert again.status_code == 304
    assert "Set-Cookie" not in asked.headers  # ?lang= here chooses nothing for a reader
    unknown = client.get(f"/api/v1/fundraisers/{SLUG}/progress?lang=xx").get_json()
    assert "display" not in unknown


def test_the_fast_path_answers_each_language_as_flask_does(app, campaign, client):
    app.config["FUNDRAISER_PROGRESS_FRESHNESS"] = 60
    url = f"/api/v1/fundraisers/{SLUG}/progress"
    from_flask = {lang: client.get(f"{url}?lang={lang}") for lang in LANGUAGES}
    for lang, first in from_flask.items():  # now answered below Flask, from the memo
        again = client.get(f"{url}?lang={lang}")
        assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert client.get(url).data != from_flask["en"].data  # no display strings unless asked
    assert from_flask["ka"].get_json()["display"]["locale"] == "ka"
