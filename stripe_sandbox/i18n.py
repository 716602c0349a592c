"""The language of the sandbox's pages (Checkout, billing portal, invoice, receipt), as Stripe
chooses it: the session's `locale` when it names one, else (`auto`) the browser's
Accept-Language. The words come from the project's catalogues (translations/, the same files
the app uses), so a reader who pays in the demo reads the sandbox in their language.

Stripe's own Checkout speaks none of Georgian, Armenian or Azerbaijani, so the app asks for
`auto` there (membership/billing/stripe_gateway.checkout_locale); the sandbox then follows the
browser, as Stripe would, and has the words for them.
"""

from __future__ import annotations

import contextvars
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations
from werkzeug.datastructures import LanguageAccept

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT = "en"

# The values of `locale` Stripe's Checkout and billing portal accept
# (https://docs.stripe.com/js/appendix/supported_locales, the Checkout column).
STRIPE_LOCALES = frozenset({
    "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr",
    "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt",
    "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
})  # fmt: skip

_current: contextvars.ContextVar[str] = contextvars.ContextVar("sandbox_language", default="en")


@cache
def languages() -> tuple[str, ...]:
    """English and every language the project has a catalogue for."""
    found = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    return (DEFAULT, *found)


@cache
def _translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language` (nothing to translate for English or when the
    catalogue is not compiled yet: `make install` compiles it)."""
    if language == DEFAULT:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language])


def choose(session_locale: str | None, accept_language: LanguageAccept | None) -> str:
    """The page's language: the session's locale when the sandbox speaks it, else the browser's
    best match, else English."""
    spoken = languages()
    if session_locale and session_locale != "auto":
        base = session_locale.split("-")[0].lower()
        if base in spoken:
            return base
    if accept_language is not None:
        return accept_language.best_match(spoken) or DEFAULT
    return DEFAULT


def use(language: str) -> None:
    """Render this request's pages in `language` (per thread: the server is threaded)."""
    _current.set(language if language in languages() else DEFAULT)


def current() -> str:
    """The language of the page being rendered."""
    return _current.get()


def _(message: str, **values: object) -> str:
    """`message` in the page's language, with %(name)s placeholders filled."""
    text = _translations(current()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    """The plural form for `n` in the page's language; %(num)d is n."""
    text = _translations(current()).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def money(amount: float, currency: str) -> str:
    """An amount in major units as the page's language writes it."""
    return format_currency(amount, currency.upper(), locale=current(), decimal_quantization=False)


def when(moment) -> str:
    """A date and time (UTC) as the page's language writes it."""
    return format_datetime(moment, "medium", tzinfo=None, locale=current()) + " UTC"


def direction() -> str:
    """The writing direction of the page's language, from CLDR."""
    try:
        order = Locale.parse(current()).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"
