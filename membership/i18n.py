"""Language choice: the reader's setting, then ?lang=, then the browser's preference."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user

from membership.extensions import babel


def select_locale() -> str:
    """Pick the interface language for this request."""
    if not has_request_context():  # commands and workers: mails pass their locale explicitly
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        session["locale"] = asked
        return asked
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    remembered = session.get("locale")
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or "en"


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our selector and expose the language list to templates."""
    babel.init_app(app, locale_selector=select_locale)
    # After Flask-Babel, which registers its own `dateformat`/`datetimeformat`: those format a
    # missing date as today's (format_date(None) is now), so an empty "Ended" showed today.
    app.jinja_env.filters["dateformat"] = lambda value, fmt="medium": (
        format_date(value, fmt) if value else ""
    )
    app.jinja_env.filters["datetimeformat"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )

    @app.after_request
    def _vary_on_language(response):
        """Pages may be in the language the browser prefers: shared caches must key on it."""
        if response.mimetype == "text/html":
            response.vary.add("Accept-Language")
        return response

    @app.context_processor
    def _languages():
        return {
            "languages": current_app.config["LANGUAGES"],
            "format_decimal": format_decimal,
            "get_locale": get_locale,
        }
