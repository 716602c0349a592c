"""Money: integer minor units plus an ISO currency code. Never a float.

The minor unit is Stripe's, not Babel's: how many decimals an `amount` carries in Stripe's API
is Stripe's own table, which differs from CLDR's (ISK and UGX have no fractions yet two
decimals in the API; KWD has three; CLDR's digits also change between Babel releases). Babel
only formats, in the reader's locale.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency
from flask_babel import get_locale

# Source: https://docs.stripe.com/currencies, "Minor units in API amounts" and "Special cases"
# (read 2026-12-03). Every other currency has two decimals in the API.
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf",
    "xof", "xpf",
}  # fmt: skip
# Three decimals in the API, but the last digit must be 0 ("round amounts to the nearest ten").
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
# "Transitioned to a zero-decimal currency, but backwards compatibility requires you to represent
# it as a two-decimal value, where the decimal amount is always 00": 5 ISK is 500. Stripe still
# lists UGX among the zero-decimal currencies; its special case is what the API takes.
WHOLE_UNITS_ONLY = {"isk", "ugx"}
# HUF and TWD are zero-decimal for payouts only; charges take two decimals, as usual here.


class MoneyError(ValueError):
    """An amount that cannot be money: not a number, negative, too precise or too large."""


def exponent(currency: str) -> int:
    """Digits after the decimal point in Stripe's minor units for `currency`."""
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def step(currency: str) -> int:
    """The smallest amount, in minor units, that Stripe charges in `currency`: 100 for whole
    króna and shillings, 10 for the three-decimal dinars, else 1."""
    code = currency.lower()
    if code in WHOLE_UNITS_ONLY:
        return 100
    if code in THREE_DECIMAL:
        return 10
    return 1


def to_minor(major: str | int | Decimal, currency: str, maximum: int = 10**9) -> int:
    """Parse an amount in major units ("12.50", "12,50") into minor units; raises MoneyError."""
    text = str(major).strip().replace(" ", "").replace("\u00a0", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    if not text or len(text) > 20:
        raise MoneyError("not an amount")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyError("not an amount") from exc
    if not value.is_finite() or value <= 0:
        raise MoneyError("the amount must be positive")
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value() or int(minor) % step(currency):
        raise MoneyError("too many decimal places")
    result = int(minor)
    if result > maximum:
        raise MoneyError("the amount is too large")
    return result


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units to a Decimal in major units (for display and Stripe-free arithmetic)."""
    digits = exponent(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)


def format_money(minor: int, currency: str, locale: str | None = None) -> str:
    """Format minor units for the reader's locale (or `locale`), e.g. "€12.50" or "12,50 ₾".

    The locale's pattern and digits, except that nothing charged is rounded away (HUF 12.45
    stays 12.45 although CLDR shows forints without decimals). The one way money is written
    for people: pages, the widget, the progress API's display strings, mails.
    """
    return format_currency(
        to_major(minor, currency),
        currency.upper(),
        locale=locale or get_locale(),
        decimal_quantization=False,
    )
