"""Amounts in Stripe's minor units, whatever Babel's CLDR data says about a currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from membership.admin.forms import CURRENCIES
from membership.money import MoneyError, exponent, format_money, to_major, to_minor

# What Stripe expects for "12" in each currency (https://docs.stripe.com/currencies).
TWELVE = {
    # every currency the staff forms offer (membership.admin.forms.CURRENCIES)
    "eur": 1200, "usd": 1200, "gbp": 1200, "chf": 1200, "sek": 1200, "nok": 1200,
    "dkk": 1200, "pln": 1200, "czk": 1200, "gel": 1200,
    "huf": 1200,  # two decimals in charges (zero-decimal only for payouts)
    "jpy": 12,
    # and the region's others
    "amd": 1200, "azn": 1200,
    # Stripe's special cases: two decimals in the API, whole units only
    "isk": 1200, "ugx": 1200, "twd": 1200,
    # three-decimal currencies
    "kwd": 12000, "bhd": 12000, "jod": 12000, "omr": 12000, "tnd": 12000,
    # zero-decimal currencies
    "bif": 12, "clp": 12, "djf": 12, "gnf": 12, "kmf": 12, "krw": 12, "mga": 12, "pyg": 12,
    "rwf": 12, "vnd": 12, "vuv": 12, "xaf": 12, "xof": 12, "xpf": 12,
}  # fmt: skip


def test_every_currency_the_staff_forms_offer_is_covered():
    assert set(CURRENCIES) <= set(TWELVE)


@pytest.mark.parametrize(("currency", "minor"), sorted(TWELVE.items()))
def test_twelve_major_units_are_what_stripe_expects(currency, minor):
    assert to_minor("12", currency) == minor
    assert to_minor("12", currency.upper()) == minor
    assert to_major(minor, currency) == Decimal(12)


@pytest.mark.parametrize("currency", sorted(TWELVE))
@pytest.mark.parametrize("amount", [1, 7, 50, 1234, 999_999])
def test_parse_and_format_round_trip(app_ctx, currency, amount):
    step = 10 ** exponent(currency)
    minor = amount * step
    shown = str(to_major(minor, currency))  # what the staff forms prefill
    assert to_minor(shown, currency) == minor
    assert format_money(minor, currency)  # Babel formats it for the locale


@pytest.mark.parametrize(
    ("currency", "minor", "shown"),
    [
        ("eur", 1250, "€12.50"),
        ("jpy", 12, "¥12"),
        ("huf", 1245, "HUF12.45"),
        ("isk", 1200, "ISK12"),
        ("kwd", 12340, "KWD12.340"),
        ("gel", 1250, "GEL12.50"),
        ("amd", 1250, "AMD12.50"),
        ("azn", 1250, "AZN12.50"),
    ],
)
def test_formatting_shows_the_amount_stripe_charges(app_ctx, currency, minor, shown):
    # Babel's pattern for the locale (English here), never rounding away what is charged.
    assert format_money(minor, currency) == shown


@pytest.mark.parametrize(
    ("currency", "text"),
    [
        ("isk", "12.5"),  # Stripe refuses fractions of ISK and UGX
        ("ugx", "12.01"),
        ("jpy", "12.5"),
        ("kwd", "1.234"),  # three-decimal amounts must end in 0
        ("eur", "1.234"),
    ],
)
def test_amounts_stripe_would_refuse_are_refused(currency, text):
    with pytest.raises(MoneyError):
        to_minor(text, currency)


@pytest.mark.parametrize(
    ("currency", "text", "minor"),
    [("huf", "10.45", 1045), ("twd", "800.45", 80045), ("kwd", "5.12", 5120)],
)
def test_fractions_stripe_charges_are_kept(currency, text, minor):
    assert to_minor(text, currency) == minor
