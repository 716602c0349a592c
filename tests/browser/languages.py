"""What a page in a given language should say: the catalogues' words and Babel's amounts, for
the browser tests to compare with what Chromium shows."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from flask_babel import force_locale, format_decimal, gettext, ngettext

from membership.money import format_money

LANGUAGES = ("en", "ka", "hy", "az", "ru")
TEMPLATE = Path(__file__).resolve().parents[2] / "translations" / "messages.pot"


def say(app, lang: str, msgid: str, **variables) -> str:
    """`msgid` as the page in `lang` shows it; outside English, never the English itself."""
    with app.test_request_context(), force_locale(lang):
        text = gettext(msgid, **variables)
    english = msgid % variables if variables else msgid
    assert lang == "en" or text != english, f"{lang}: {msgid!r} is not translated"
    return text


def say_count(app, lang: str, singular: str, plural: str, count: int) -> str:
    """A counted phrase ("1 backer") as the page in `lang` shows it; the messages name their
    number `number`, formatted by Babel."""
    with app.test_request_context(), force_locale(lang):
        return ngettext(singular, plural, count, number=format_decimal(count))


def backers(app, lang: str, count: int) -> str:
    """The fundraiser's "1 backer" as the page in `lang` shows it."""
    return say_count(app, lang, "%(number)s backer", "%(number)s backers", count)


def money(app, lang: str, minor: int, currency: str) -> str:
    """An amount as Babel writes it for `lang` ("30,00 €" in Georgian and Russian)."""
    with app.test_request_context(), force_locale(lang):
        return format_money(minor, currency)


@cache
def _english_sentences() -> tuple[str, ...]:
    """The interface's English sentences and phrases (two words or more, no placeholder)."""
    with TEMPLATE.open("rb") as handle:
        catalog = read_po(handle)
    ids = (m.id for m in catalog if isinstance(m.id, str) and m.id)
    return tuple(i for i in ids if " " in i.strip() and "%" not in i and len(i) >= 10)


def english_left(page) -> list[str]:
    """The interface's English sentences still visible on `page` (none, once translated)."""
    text = page.locator("body").inner_text()
    return [sentence for sentence in _english_sentences() if sentence in text]
