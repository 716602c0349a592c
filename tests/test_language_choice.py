"""Which language a reader gets: the account's setting, then the switcher's choice (a cookie,
saved to the account when signed in), then the browser's Accept-Language."""

from __future__ import annotations

from sqlalchemy import select

from membership.accounts.models import User
from membership.extensions import db
from tests.conftest import Actions
from tests.factories import make_user

HEADING = {"en": "Become a member", "ka": "გახდით წევრი", "hy": "Դարձեք անդամ",
           "ru": "Оформить подписку"}  # fmt: skip


def language_of(client, path="/plans", **headers) -> str:
    page = client.get(path, headers=headers).get_data(as_text=True)
    found = [code for code, heading in HEADING.items() if f"<h1>{heading}" in page]
    assert len(found) == 1, page[:400]
    assert f'<html lang="{found[0]}" dir="ltr">' in page
    return found[0]


def test_the_browser_preference_decides_until_the_reader_chooses(client):
    assert language_of(client, **{"Accept-Language": "ru-RU,ru;q=0.9"}) == "ru"
    response = client.get("/plans?lang=ka", headers={"Accept-Language": "ru"})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=ka;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert language_of(client, **{"Accept-Language": "ru"}) == "ka"  # remembered


def test_the_switcher_shows_each_language_in_its_own_name_and_needs_no_script(client):
    page = client.get("/plans").get_data(as_text=True)
    form = page[page.index('<form method="get" action="" class="inline lang-switch">') :]
    form = form[: form.index("</form>")]
    for name in ("English", "ქართული", "Հայերեն", "Azərbaycanca", "Русский"):
        assert name in form
    assert '<button type="submit"' in form and "<script" not in form


def test_a_signed_in_readers_choice_becomes_the_accounts_language(app, client, auth, mailbox):
    with app.app_context():
        make_user("ani@example.org", locale="en")
    assert auth.login("ani@example.org").status_code == 303
    assert language_of(client, **{"Accept-Language": "ru"}) == "en"  # the account's setting
    assert language_of(client, "/plans?lang=hy") == "hy"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ani@example.org"))
        assert user.locale == "hy"  # so the mails are in Armenian too
    other_device = app.test_client()
    assert Actions(other_device, mailbox).login("ani@example.org").status_code == 303
    assert language_of(other_device, **{"Accept-Language": "ru"}) == "hy"


def test_an_unknown_language_changes_nothing(client):
    response = client.get("/plans?lang=xx", headers={"Accept-Language": "ru"})
    assert "lang=" not in response.headers.get("Set-Cookie", "")
    assert language_of(client, **{"Accept-Language": "ru"}) == "ru"
