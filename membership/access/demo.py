"""Demo: access rules for the demo perks, and a fake CMS article page that asks the access API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, abort, current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from membership.access.models import AccessRule, RuleKind
from membership.extensions import db
from membership.perks.models import Perk

if TYPE_CHECKING:
    from membership.demo import Summary

bp = Blueprint("access_demo", __name__)

DEMO_PERKS = {
    "members-only-articles": "Members-only articles",
    "ad-free": "Ad-free reading",
    "insider-newsletter": "Insider newsletter",
    "event-invitations": "Event invitations",
}
# (kind, value, perk slug or None, note)
DEMO_RULES = [
    (RuleKind.path, "/investigations", "members-only-articles", "the investigations section"),
    (RuleKind.slug, "the-river-report", "members-only-articles", "flagship investigation"),
    (RuleKind.tag, "insider", "insider-newsletter", "insider briefings"),
    (RuleKind.slug, "city-council-notes", None, "free sample, even inside /investigations"),
]


def _articles() -> dict[str, dict]:
    """The fake CMS: slug → title, path, tags and text."""
    body = _l(
        "The full text of the article. In a real newsroom the CMS renders this on its server only "
        "when the access API (or the access_token cookie, verified offline) says yes."
    )
    return {
        "the-river-report": {
            "title": _l("The river report: where the money went"),
            "path": "/investigations/the-river-report",
            "tags": [],
            "teaser": _l("Two years of records on the river clean-up fund."),
            "body": body,
        },
        "city-council-notes": {
            "title": _l("City council notes"),
            "path": "/investigations/city-council-notes",
            "tags": [],
            "teaser": _l("What the council decided this week."),
            "body": body,
        },
        "insider-briefing": {
            "title": _l("Insider briefing"),
            "path": "/briefings/insider-briefing",
            "tags": ["insider"],
            "teaser": _l("What our editors are watching."),
            "body": body,
        },
        "weather-week": {
            "title": _l("The week's weather"),
            "path": "/news/weather-week",
            "tags": [],
            "teaser": _l("Sun, then rain."),
            "body": body,
        },
    }


@bp.route("/article/<slug>")
def article(slug: str):
    """A fake CMS article page (sandbox mode only) whose script asks /api/v1/access."""
    if not current_app.config.get("STRIPE_SANDBOX"):
        abort(404)
    articles = _articles()
    item = articles.get(slug) or abort(404)
    return render_template("access/demo_article.html", slug=slug, item=item, articles=articles)


def seed_access(summary: Summary, members: int, echo: Callable[[str], None]) -> None:
    """Access rules for the demo perks (creating a perk only when the catalogue lacks it)."""
    perks = {perk.slug: perk for perk in db.session.scalars(select(Perk))}
    for position, (slug, name) in enumerate(DEMO_PERKS.items()):
        if slug not in perks:
            perks[slug] = Perk(slug=slug, name=name, position=position)
            db.session.add(perks[slug])
    db.session.flush()
    added = 0
    for kind, value, slug, note in DEMO_RULES:
        exists = db.session.scalar(
            select(AccessRule.id).where(AccessRule.kind == kind, AccessRule.value == value)
        )
        if exists is None:
            perk_id = perks[slug].id if slug else None
            db.session.add(AccessRule(kind=kind, value=value, perk_id=perk_id, note=note))
            added += 1
    db.session.flush()
    if added:
        summary.parts.append(f"{added} access rules (see /demo/article/the-river-report)")
