"""The reader-independent parts of the campaign page, rendered once per version and locale.

An entry is keyed by (campaign id, `campaigns.totals_version`, locale, days left, open/ended,
script root). The version comes from the campaign row each request loads anyway, and every gift,
staff edit and moderation bumps it in the same transaction, so a cached part is never older
than the database says. Changes that do not bump the version (a perk renamed, shown in the reward
list) show within FUNDRAISER_PAGE_CACHE_SECONDS (default 60): every entry is rebuilt after that.
The per-request bits (a signed-in reader's CSRF token and navigation, flash messages, the form's
values and errors) are rendered around the parts on every request, except for an anonymous GET
with no pending flash and no ?ref=: that page is the same for every such visitor (an anonymous
donation form carries no CSRF token), so it is kept whole, as one string keyed like the parts
plus the preselected outlet and the sandbox flag, and as old as the parts it was rendered from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, render_template, request
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from membership.extensions import db
from membership.fundraisers import campaigns, totals
from membership.fundraisers.models import Campaign
from membership.money import format_money, to_major

MAX_ENTRIES = 256


@dataclass(frozen=True)
class PageParts:
    """Rendered fragments and the form's static pieces of one campaign page."""

    top: Markup
    story: Markup
    bottom: Markup
    presets: tuple[tuple[str, str], ...]
    amount_hint: str
    outlets: tuple[tuple[str, str], ...]
    rewards: tuple[str, ...]
    figures: dict


class PartsCache:
    """One app's parts in this process, keyed by version (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[tuple, tuple[float, PageParts]] = {}

    def clear(self) -> None:
        """Forget every entry."""
        with self.lock:
            self.entries.clear()


def cache() -> PartsCache:
    """The current app's cache (one per app, so apps in one process never share entries)."""
    return current_app.extensions.setdefault("fundraiser_page_parts", PartsCache())


def _key(campaign: Campaign, days_left: int, is_open: bool, has_ended: bool) -> tuple:
    """The parts' key: the row's version, this request's locale and what the clock decides."""
    return (
        campaign.id,
        campaign.totals_version,
        str(get_locale()),
        days_left,
        is_open,
        has_ended,
        request.script_root,
    )


def _max_age() -> float:
    """Seconds an entry may be reused for changes that do not bump the version."""
    return float(current_app.config.get("FUNDRAISER_PAGE_CACHE_SECONDS", 60))


def _entry(campaign: Campaign, days_left: int, is_open: bool, has_ended: bool) -> tuple:
    """(key, built at, parts) for this request, rendering the parts on a miss."""
    key = _key(campaign, days_left, is_open, has_ended)
    now = time.monotonic()
    store = cache()
    cached = store.entries.get(key)
    if cached is not None and now - cached[0] < _max_age():
        return key, cached[0], cached[1]
    built = _build(campaign, days_left, has_ended)
    with store.lock:
        if len(store.entries) >= MAX_ENTRIES:
            store.entries.clear()
        store.entries[key] = (now, built)
    return key, now, built


def parts(campaign: Campaign, days_left: int, is_open: bool, has_ended: bool) -> PageParts:
    """The campaign page's cached parts for this request's locale, rendered on a miss."""
    return _entry(campaign, days_left, is_open, has_ended)[2]


def head(slug: str):
    """The columns the page's key and clock need (id, version, status, dates), or None.

    A light row read on every request: the version check, without loading the ORM object.
    """
    table = Campaign.__table__
    columns = (table.c.id, table.c.slug, table.c.totals_version, table.c.status,
               table.c.starts_at, table.c.ends_at)  # fmt: skip
    return db.session.execute(select(*columns).where(table.c.slug == slug)).first()


def anonymous_page(
    row,
    outlet: str,
    load: Callable[[], Campaign],
    render: Callable[[Campaign, PageParts, bool, bool], str],
) -> str:
    """The whole anonymous GET page, cached as one string per key and rendered on a miss."""
    days_left = campaigns.days_left(row)
    is_open, has_ended = campaigns.is_open(row), campaigns.has_ended(row)
    key = _key(row, days_left, is_open, has_ended)
    store = cache()
    entry = store.entries.get(key)
    if entry is not None and time.monotonic() - entry[0] < _max_age():
        cached = store.entries.get(_page_key(key, entry[1], outlet))
        if cached is not None and cached[0] == entry[0]:
            return cached[1]
    campaign = load()  # the full row, at least as new as `row`: key and clock from it
    days_left = campaigns.days_left(campaign)
    is_open, has_ended = campaigns.is_open(campaign), campaigns.has_ended(campaign)
    key, built_at, page_parts = _entry(campaign, days_left, is_open, has_ended)
    html = render(campaign, page_parts, is_open, has_ended)
    with store.lock:
        if len(store.entries) >= MAX_ENTRIES:
            store.entries.clear()
        store.entries[_page_key(key, page_parts, outlet)] = (built_at, html)
    return html


def _page_key(key: tuple, page_parts: PageParts, outlet: str) -> tuple:
    """The whole page's key: the parts' key, the preselected outlet and the sandbox banner."""
    if outlet not in {slug for slug, _name in page_parts.outlets}:
        outlet = ""  # any other value selects nothing, like "all"
    return ("page", *key, outlet, bool(current_app.config.get("STRIPE_SANDBOX", False)))


def _build(campaign: Campaign, days_left: int, has_ended: bool) -> PageParts:
    """Render the parts (figures at least as new as the campaign row's version)."""
    figures = totals.snapshot(campaign.slug, min_version=campaign.totals_version).figures
    context = {
        "campaign": campaign,
        "figures": figures,
        "days_left": days_left,
        "has_ended": has_ended,
    }
    currency = campaign.currency
    top = render_template("fundraisers/_campaign_top.html", **context)
    wall = campaigns.wall(campaign.id)
    bottom = render_template("fundraisers/_campaign_bottom.html", wall=wall, **context)
    # Both rendered by Jinja with autoescape: safe to insert as they are.
    top, bottom = Markup(top), Markup(bottom)  # noqa: S704  # nosec B704
    return PageParts(
        top=top,
        story=campaigns.render_story(campaign.story),
        bottom=bottom,
        presets=tuple(
            (str(to_major(amount, currency)), format_money(amount, currency))
            for amount in campaigns.presets(campaign)
        ),
        amount_hint=_(
            "From %(min)s to %(max)s. Leave empty to use the amount chosen above.",
            min=format_money(campaign.min_amount, currency),
            max=format_money(campaign.max_amount, currency),
        ),
        outlets=tuple((o.slug, o.name) for o in campaign.outlets),
        rewards=tuple(
            ngettext(
                "From %(amount)s: %(perk)s for %(num)d month",
                "From %(amount)s: %(perk)s for %(num)d months",
                tier.months,
                amount=format_money(tier.minimum, currency),
                perk=tier.perk.name,
            )
            for tier in campaign.reward_tiers
        ),
        figures=figures,
    )
