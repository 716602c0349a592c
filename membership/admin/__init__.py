"""The staff area: members, catalogue, reports, webhooks, the fundraiser and access rules."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Mount every staff page under /admin (the domains never import these screens)."""
    from membership.admin import (  # noqa: F401 - import_views, search_views: their routes
        access_views,
        fundraiser_views,
        host_views,
        import_views,
        search_views,
        views,
    )

    app.register_blueprint(views.bp, url_prefix="/admin")
    app.register_blueprint(access_views.bp, url_prefix="/admin/access")
    app.register_blueprint(fundraiser_views.bp, url_prefix="/admin/fundraisers")
    app.register_blueprint(host_views.bp, url_prefix="/admin/host")
