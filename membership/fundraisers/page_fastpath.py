"""WSGI micro-cache of the campaign page for anonymous visitors, in front of Flask.

`GET /fundraisers/<slug>` with no query string and none of the cookies that could change the
answer (the session cookie, Flask-Login's remember cookie, `access_token`) is the same page for
every such visitor who prefers the same language. Its whole answer (status, headers, body) is kept
per (script root, path, locale) for FUNDRAISER_PAGE_FRESHNESS seconds (default 0.5; 0 turns the
cache off) and served from here without a request context, a session, a database read or a
render. The locale is the one Flask picks for a request without cookies or `?lang=`: the best
match of Accept-Language among LANGUAGES, else "en" (membership.i18n.select_locale).

Everything else goes to Flask untouched: other methods, a query string, those cookies, a stale or
missing entry. Only what Flask itself marked shareable is stored: the view marks the anonymous,
pristine, non-draft page (`mark_shareable`, with the locale it rendered in), and the answer must
be a 200 that sets no cookie. Entries live in one process, at most 256 of them, so instances
behind a load balancer never disagree for longer than the freshness bound.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie

from membership import i18n
from membership.access import tokens

PREFIX = "/fundraisers/"
SHAREABLE = "membership.fundraiser_page.shareable"  # environ key: the locale the view used
MAX_ENTRIES = 256
MAX_LANGUAGE_HEADERS = 256


def mark_shareable(environ: dict[str, Any], locale: str) -> None:
    """Let the micro-cache keep this answer (anonymous, pristine, not a draft) for `locale`."""
    environ[SHAREABLE] = locale


class PageFastPath:
    """WSGI middleware: the anonymous campaign page from a short-lived per-process entry."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.lock = threading.Lock()
        # (script root, path, locale) → (stored at, status, headers, body)
        self.entries: dict[tuple[str, str, str], tuple[float, str, list, bytes]] = {}
        self._locales: dict[str, str] = {}  # Accept-Language header → locale
        self._cookies: frozenset[str] | None = None

    def clear(self) -> None:
        """Forget every entry."""
        with self.lock:
            self.entries.clear()

    def __call__(self, environ, start_response):
        """Serve a fresh entry, or pass the request to Flask (and keep a shareable answer)."""
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or not path.startswith(PREFIX)
            or "/" in path[len(PREFIX) :]
            or len(path) == len(PREFIX)
            or environ.get("QUERY_STRING")
            or not self._cookieless(environ.get("HTTP_COOKIE"))
        ):
            return self.wsgi_app(environ, start_response)
        freshness = float(self.app.config.get("FUNDRAISER_PAGE_FRESHNESS", 0.5))
        if freshness <= 0:
            return self.wsgi_app(environ, start_response)
        key = (environ.get("SCRIPT_NAME", ""), path, self._locale(environ))
        now = time.monotonic()
        entry = self.entries.get(key)
        if entry is not None and now - entry[0] < freshness:
            start_response(entry[1], list(entry[2]))
            return [entry[3]]
        return self._pass(key, now, environ, start_response)

    def _pass(self, key: tuple[str, str, str], started: float, environ, start_response):
        """Flask's answer; stored (dated from before Flask read anything) when shareable."""
        seen: list = []

        def capture(status, headers, exc_info=None):
            seen[:] = [status, headers]
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        body = self.wsgi_app(environ, capture)
        if not (
            seen
            and environ.get(SHAREABLE) == key[2]
            and seen[0].startswith("200 ")
            and not any(name.lower() == "set-cookie" for name, _value in seen[1])
        ):
            return body
        try:
            payload = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        with self.lock:
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
            self.entries[key] = (started, seen[0], list(seen[1]), payload)
        return [payload]

    def _cookieless(self, header: str | None) -> bool:
        """Whether the request carries none of the cookies that could change the page."""
        if not header:
            return True
        if self._cookies is None:
            config = self.app.config
            self._cookies = frozenset(
                (
                    config["SESSION_COOKIE_NAME"],
                    config.get("REMEMBER_COOKIE_NAME", "remember_token"),
                    tokens.COOKIE_NAME,
                    i18n.COOKIE,  # the switcher's language: Flask picks the page's locale
                )
            )
        return self._cookies.isdisjoint(parse_cookie(header))

    def _locale(self, environ: dict[str, Any]) -> str:
        """The locale Flask picks for a request without cookies or ?lang= (i18n.select_locale)."""
        header = environ.get("HTTP_ACCEPT_LANGUAGE", "")
        locale = self._locales.get(header)
        if locale is None:
            accepted = parse_accept_header(header, LanguageAccept)
            locale = accepted.best_match(self.app.config["LANGUAGES"]) or "en"
            if len(self._locales) >= MAX_LANGUAGE_HEADERS:
                self._locales.clear()
            self._locales[header] = locale
        return locale


def init_app(app: Flask) -> None:
    """Put the page micro-cache in front of the app (outermost: its check is the cheapest)."""
    fast_path = PageFastPath(app, app.wsgi_app)
    app.extensions["fundraiser_page_fastpath"] = fast_path
    app.wsgi_app = fast_path
