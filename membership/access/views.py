"""The CMS-facing API under /api/v1: access answers, access tokens, public keys, OpenAPI.

All routes are GET (read-only, so CSRF does not apply). The one write a GET may make is spending
a free metered read; browser navigations and sub-resource loads (img, iframe, script) never spend
one, so another site cannot burn a reader's meter by linking to this endpoint.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, g, jsonify, request, session
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in, user_logged_out
from werkzeug.exceptions import HTTPException

from membership.access import api_keys, meter, openapi, readers, services, tokens
from membership.access.services import AccessError
from membership.errors import render_error
from membership.extensions import db
from membership.timeutil import utcnow

bp = Blueprint("access_api", __name__)

MAX_TAGS = 20
# Endpoints any origin may read without credentials.
PUBLIC_ENDPOINTS = {"access_api.keys", "access_api.openapi_document"}


class ApiError(HTTPException):
    """A 4xx JSON error with a message for the CMS developer."""

    def __init__(self, code: int, message: str, authenticate: bool = False) -> None:
        super().__init__(description=message)
        self.code = code
        self.authenticate = authenticate


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    """Render our errors through the app's JSON error shape."""
    response, status = render_error(error.code, error.description)
    if error.authenticate:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    response.headers["Cache-Control"] = "no-store"
    return response, status


def _checked(value: str | None, what: str) -> str:
    """A validated reference parameter, or a 400."""
    try:
        return services.check_ref(value or "", what)
    except AccessError as exc:
        raise ApiError(400, str(exc)) from exc


def _may_spend() -> bool:
    """Whether this request may spend a free read (meter.may_spend)."""
    return meter.may_spend(
        request.args.get("peek"),
        request.headers.get("Sec-Fetch-Mode"),
        request.headers.get("Sec-Fetch-Dest"),
    )


def _reader():
    """Who asks: ("key", (id, perks) of the member asked about, or None), ("token", (id,
    perks)), ("session", (id, perks)) or ("anon", None). Perks are always read live."""
    api_key = request.headers.get("X-API-Key")
    if api_key is not None:
        if api_keys.find_api_key(api_key.strip()) is None:
            raise ApiError(401, _("That API key is unknown or revoked."))
        member, email = request.args.get("member"), request.args.get("email")
        if not member and not email:
            return "key", None
        try:
            by, who = readers.member_lookup(member, email)
        except AccessError as exc:
            raise ApiError(400, str(exc)) from exc
        found = readers.reader_named(by, who)
        if found is None:
            raise ApiError(404, _("There is no member with that id or e-mail."))
        return "key", found
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _sep, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise ApiError(401, _("Use Authorization: Bearer <access token>."), True)
        try:
            claims = tokens.verify(token.strip())
        except tokens.InvalidAccessToken as exc:
            raise ApiError(401, _("The access token is invalid or expired."), True) from exc
        # The token says who; what they hold is read now, so a revoked perk is refused at once
        # (offline verifiers accept the token's perks until it expires).
        found = readers.reader_by_id(claims.user_id)
        if found is None:  # the account was deleted after the token was issued
            raise ApiError(401, _("The access token is invalid or expired."), True)
        return "token", found
    # The hot path: Flask-Login's session id straight to (user, perks) in one query, instead of
    # loading the User and then its perks. Remember-me cookies go through Flask-Login.
    session_id = session.get("_user_id")
    found = readers.session_reader(session_id) if isinstance(session_id, str) else None
    if found is None and session_id is None and current_user.is_authenticated:
        found = current_user.id, readers.perk_slugs(current_user.id)
    if found is not None:
        g.access_reader = found  # the token-cookie hook reuses it
        return "session", found
    return "anon", None


@bp.get("/access")
def access():
    """May the reader behind the session, token or API key read `article` (or use `perk`)?"""
    article = _checked(request.args.get("article"), "article")
    tags = request.args.getlist("tag")
    if len(tags) > MAX_TAGS:  # counted before each is checked: bounded work for any query
        raise ApiError(400, _("At most %(n)s tags.", n=MAX_TAGS))
    tags = [_checked(tag, "tag") for tag in tags]
    perk = request.args.get("perk")
    if perk is not None:
        perk = _checked(perk, "perk")
        if not services.perk_exists(perk):
            raise ApiError(404, _("There is no perk %(slug)s.", slug=perk))

    kind, who = _reader()
    user_id, perks = who if who is not None else (None, [])
    required = perk if perk is not None else services.requirement(article, tags).perk
    free = None
    meter_cookie = None
    if required is not None and required not in perks:
        spend = _may_spend()
        if user_id is not None:
            free = services.account_meter(user_id, article, spend)
        elif kind == "anon":
            signer = meter.serializer(current_app.config["SECRET_KEY"])
            reads = meter.reads_in(request.cookies.get(meter.COOKIE_NAME), signer)
            now = utcnow()
            free, updated = meter.anonymous_meter(
                reads, article, spend, services.meter_limit(), now
            )
            if updated != reads:
                secure = current_app.config.get("ACCESS_COOKIE_SECURE", True)
                meter_cookie = meter.cookie_header(signer, updated, secure, now)
    decision = services.decide(required, perks, free)
    if db.session.info.pop(services.WROTE, False):
        db.session.commit()  # a spent free read, or the key's hourly last-use mark

    response = jsonify(decision.as_dict())
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.update(("Cookie", "Authorization", "X-API-Key"))
    if meter_cookie is not None:
        response.headers.add("Set-Cookie", meter_cookie)
    return response


@bp.get("/token")
def token():
    """The signed-in reader's access token, also set as the `access_token` cookie."""
    if not current_user.is_authenticated:
        raise ApiError(401, _("Sign in first."))
    perks = readers.perk_slugs(current_user.id)
    value, expires = tokens.issue(current_user.id, perks)
    response = jsonify(token=value, expires_at=expires)
    response.headers["Cache-Control"] = "no-store"
    set_token_cookie(response, value, expires)
    g.access_token_done = True
    return response


@bp.get("/keys")
def keys():
    """The public keys (JWKS) that verify access tokens offline."""
    response = jsonify(tokens.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI document of /api/v1."""
    return jsonify(openapi.document(current_app.config["BASE_URL"]))


# --- CORS ------------------------------------------------------------------------------------


@bp.after_request
def _cors(response):
    """Credentials only for the configured CMS origins; keys and the document for anyone."""
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if request.endpoint in PUBLIC_ENDPOINTS:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin.rstrip("/") in current_app.config.get("CMS_ORIGINS", ()):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    else:
        return response
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


# --- the access-token cookie -------------------------------------------------------------------


def set_token_cookie(response, value: str, expires: int) -> None:
    """Set `access_token` on COOKIE_DOMAIN: HttpOnly (the CMS reads it server-side), Lax."""
    config = current_app.config
    response.set_cookie(
        tokens.COOKIE_NAME,
        value,
        max_age=max(expires - int(time.time()), 0),
        domain=config.get("COOKIE_DOMAIN") or None,
        secure=config.get("ACCESS_COOKIE_SECURE", True),
        httponly=True,
        samesite="Lax",
    )


def clear_token_cookie(response) -> None:
    """Remove `access_token` (sign-out)."""
    response.delete_cookie(
        tokens.COOKIE_NAME,
        domain=current_app.config.get("COOKIE_DOMAIN") or None,
        secure=current_app.config.get("ACCESS_COOKIE_SECURE", True),
        httponly=True,
        samesite="Lax",
    )


def _mark_login(sender, user, **extra) -> None:
    """Flask-Login signal: this response must carry a fresh token cookie."""
    g.access_signed_in = True


def _mark_logout(sender, user, **extra) -> None:
    """Flask-Login signal: this response must delete the token cookie."""
    g.access_signed_out = True


# Module-level receivers, connected once for every app (they only set request flags).
user_logged_in.connect(_mark_login)
user_logged_out.connect(_mark_logout)


@bp.after_app_request
def _sync_token_cookie(response):
    """Keep the `access_token` cookie in step with the session: set at sign-in, renewed when perks
    change or expiry nears, cleared at sign-out.

    Kept cheap: nothing for static files, API calls with their own credentials, or non-page
    answers of readers who hold a cookie already; one indexed query for page views of signed-in
    readers; none on the access API, which has the perks already.
    """
    if (
        g.get("access_token_done")
        or request.endpoint == "static"
        or response.status_code >= 500
        or "Authorization" in request.headers
        or "X-API-Key" in request.headers
    ):
        return response
    present = request.cookies.get(tokens.COOKIE_NAME)
    if g.get("access_signed_out"):
        if present is not None:
            clear_token_cookie(response)
        return response
    reader = g.get("access_reader")
    if reader is None:
        if response.mimetype != "text/html" and not g.get("access_signed_in"):
            # Machine answers (webhooks, progress, JSON) never start or renew a token: the
            # access API passes its reader in g, and pages renew it for people.
            return response
        if not current_user.is_authenticated:
            if present is not None:
                clear_token_cookie(response)
            return response
        reader = current_user.id, readers.perk_slugs(current_user.id)
    user_id, perks = reader
    claims = tokens.peek(present) if present else None
    ttl = int(current_app.config["ACCESS_TOKEN_TTL"])
    if tokens.needs_renewal(claims, user_id, perks, int(time.time()), ttl):
        value, expires = tokens.issue(user_id, perks)
        set_token_cookie(response, value, expires)
        response.vary.add("Cookie")
        response.headers.setdefault("Cache-Control", "private")
    return response
