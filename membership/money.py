"""Money: integer minor units plus an ISO currency code. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask_babel import format_currency

# Stripe's zero-decimal currencies (amounts are already whole units).
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
}  # fmt: skip


class MoneyError(ValueError):
    """An amount that cannot be money: not a number, negative, too precise or too large."""


def exponent(currency: str) -> int:
    """Digits after the decimal point in Stripe's minor units for `currency`."""
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    return min(get_currency_precision(code.upper()), 2)


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
    scale = Decimal(10) ** exponent(currency)
    minor = value * scale
    if minor != minor.to_integral_value():
        raise MoneyError("too many decimal places")
    result = int(minor)
    if result > maximum:
        raise MoneyError("the amount is too large")
    return result


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units to a Decimal in major units (for display and Stripe-free arithmetic)."""
    scale = Decimal(10) ** exponent(currency)
    return (Decimal(minor) / scale).quantize(1 / scale if scale > 1 else Decimal(1), ROUND_HALF_UP)


def format_money(minor: int, currency: str) -> str:
    """Format minor units for the reader's locale, e.g. "€12.50" or "12,50 ₾"."""
    return format_currency(to_major(minor, currency), currency.upper())
