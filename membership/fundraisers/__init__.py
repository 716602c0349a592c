"""The collective fundraiser: campaigns of several outlets, donations, progress and the widget."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the campaign pages and the progress API; wire the webhook and ledger hooks.

    The staff pages live in membership/admin (fundraiser_views), mounted by the admin package."""
    from membership.fundraisers import (  # noqa: F401 - handlers and ledger hooks register
        api,
        display,
        giving,
        handlers,
        page_fastpath,
        totals,
        views,
    )
    from membership.money import to_major

    app.jinja_env.filters["minor_to_major"] = lambda minor, currency: str(to_major(minor, currency))
    # The progress block's strings, written as the progress API's `display` writes them.
    app.jinja_env.globals["progress_text"] = display.figures_text

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    api.init_app(app)
    page_fastpath.init_app(app)  # outermost: the anonymous campaign page's micro-cache
