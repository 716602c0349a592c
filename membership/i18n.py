"""Language choice: the reader's account setting, then the switcher's choice (a cookie, and the
account's setting when signed in), then the browser's Accept-Language."""

from __future__ import annotations

from babel import Locale
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user

from membership.extensions import babel, db

COOKIE = "lang"  # the switcher's choice, for readers who are not signed in (and after sign-out)


def select_locale() -> str:
    """Pick the interface language for this request."""
    if not has_request_context():  # commands and workers: mails pass their locale explicitly
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = g.get("chosen_language")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    remembered = request.cookies.get(COOKIE)
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or "en"


def direction() -> str:
    """The page's writing direction for <html dir>, from the locale's CLDR data."""
    order = Locale.parse(str(get_locale())).character_order
    return "rtl" if order == "right-to-left" else "ltr"


def _switch_language() -> None:
    """The switcher (`?lang=` on any page, a plain GET form that needs no JavaScript): the choice
    wins for this request, is remembered in a cookie and, for a signed-in reader, becomes the
    account's language, which pages and mails then follow on every device."""
    asked = request.args.get("lang")
    if asked not in current_app.config["LANGUAGES"] or request.path.startswith("/api/"):
        return  # the API's ?lang= asks for display strings, and chooses nothing for the reader
    g.chosen_language = asked
    if current_user.is_authenticated and current_user.locale != asked:
        current_user.locale = asked
        db.session.commit()


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

    app.before_request(_switch_language)

    @app.after_request
    def _remember_language(response):
        """The switcher's choice outlives the session (a year), like any site preference."""
        chosen = g.get("chosen_language")
        if chosen and request.cookies.get(COOKIE) != chosen:
            response.set_cookie(
                COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="Lax",
                secure=current_app.config.get("SESSION_COOKIE_SECURE", True),
            )  # fmt: skip
        return response

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
            "text_direction": direction,
        }
