"""The fundraiser's figures written for people, by Babel, in one language.

The progress block of the page, the front page and the widget, and the `display` strings of the
progress API (`?lang=`), all come from here: the script that keeps a page current only puts
the server's strings in place, so a page never mixes two ways of writing a number.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from babel.numbers import format_decimal, format_percent
from flask_babel import force_locale, get_locale, ngettext

from membership.money import format_money

if TYPE_CHECKING:
    from membership.fundraisers.totals import Snapshot


def figures_text(figures: dict[str, Any], locale: str | None = None) -> dict[str, Any]:
    """The progress figures as this language writes them: amounts, percent, backers."""
    locale = str(locale or get_locale())
    currency = figures["currency"]
    backers = format_decimal(figures["backers"], locale=locale)
    return {
        "locale": locale,
        "raised": format_money(figures["raised"], currency, locale),
        "goal": format_money(figures["goal"], currency, locale),
        "percent": format_percent(Decimal(figures["percent"]) / 100, locale=locale),
        "backers": backers,
        # The same message templates/fundraisers/_progress.html shows (with the number bold).
        "backers_text": ngettext(
            "%(number)s backer", "%(number)s backers", figures["backers"], number=backers
        ),
        "outlets": {
            outlet["slug"]: format_money(outlet["raised"], currency, locale)
            for outlet in figures["outlets"]
        },
    }


def localized(snap: Snapshot, locale: str) -> tuple[str, bytes]:
    """(ETag, JSON body) of the progress API in `locale`: the figures plus their `display`
    strings; built once per snapshot and language (the fast path then answers it)."""
    variant = snap.variants.get(locale)
    if variant is None:
        with force_locale(locale):
            shown = figures_text(snap.figures, locale)
        body = json.dumps({**snap.figures, "display": shown}, separators=(",", ":"),
                          sort_keys=True, ensure_ascii=False).encode()  # fmt: skip
        variant = (f"{snap.etag}-{locale}", body)
        snap.variants[locale] = variant
    return variant
