"""The collective fundraiser: campaigns of several outlets, donations, progress and the widget."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount the campaign pages, the progress API and the staff pages; wire the webhook handlers."""
    from membership.admin import fundraiser_views
    from membership.fundraisers import (  # noqa: F401 - handlers register
        api,
        handlers,
        page_fastpath,
        views,
    )
    from membership.money import to_major

    app.jinja_env.filters["minor_to_major"] = lambda minor, currency: str(to_major(minor, currency))

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    app.register_blueprint(fundraiser_views.bp, url_prefix="/admin/fundraisers")
    api.init_app(app)
    page_fastpath.init_app(app)  # outermost: the anonymous campaign page's micro-cache
