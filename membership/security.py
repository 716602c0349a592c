"""Safe redirects, role checks and the security headers every response carries."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, g, request, session
from flask_login import current_user

from membership.accounts.models import Role
from membership.extensions import login_manager


def safe_next(target: str | None, default: str = "/") -> str:
    """Return `target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or len(target) > 2000:
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


# Session keys that signing in carries into the fresh session it starts (everything else is
# dropped, so nothing put there before sign-in survives it): e.g. the plan a reader chose.
KEPT_AT_SIGN_IN: set[str] = set()


def fresh_session() -> None:
    """Empty the session for a sign-in (no fixation), keeping only the KEPT_AT_SIGN_IN keys."""
    kept = {key: session[key] for key in KEPT_AT_SIGN_IN if key in session}
    session.clear()
    session.update(kept)


def role_required(role: Role):
    """Anonymous visitors go to the login page; signed-in people below `role` get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(Role.staff)
admin_required = role_required(Role.admin)


def allow_framing(view):
    """Let other sites frame this view (the fundraiser widget); everything else refuses."""
    view._allow_framing = True
    return view


def _origin(url: str | None) -> str | None:
    """scheme://host[:port] of a URL."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(app: Flask, framing: bool) -> str:
    """The CSP: our own scripts and styles only; forms may post on to Stripe's hosted pages."""
    form_targets = ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"]
    sandbox = _origin(app.config.get("STRIPE_API_BASE"))
    if sandbox:
        form_targets.append(sandbox)
    ancestors = "*" if framing else "'none'"
    return "; ".join(
        [
            "default-src 'self'",
            "img-src 'self' data:",
            "style-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action {' '.join(form_targets)}",
            f"frame-ancestors {ancestors}",
        ]
    )


PRIVATE = "private, no-store"


def private(view):
    """Answer with `Cache-Control: private, no-store` even to anonymous visitors: for a view whose
    answer may sign someone in, so that it reads the same whether it did (registration)."""
    view._private = True
    return view


def rendered_for_a_signed_in_person() -> bool:
    """Whether this request loaded a signed-in reader or staff member (Flask-Login keeps whom it
    loaded in `g._login_user`). Asking `current_user` here instead would load the session for
    every public answer, and so mark it `Vary: Cookie`."""
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def init_app(app: Flask) -> None:
    """Add the security headers to every response."""
    policies = {
        False: content_security_policy(app, framing=False),
        True: content_security_policy(app, framing=True),
    }
    https = app.config["BASE_URL"].lower().startswith("https://")
    common = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if https:
        # No includeSubDomains: the app cannot know which sibling hosts of its own name still
        # serve plain HTTP (docs/deployment.md); an operator who knows adds it at the proxy.
        common.append(("Strict-Transport-Security", "max-age=31536000"))
    closed = [("Content-Security-Policy", policies[False]), ("X-Frame-Options", "DENY"), *common]
    framed = [("Content-Security-Policy", policies[True]), *common]
    views = app.view_functions
    # Fast paths that answer below Flask (the progress API) send exactly these headers.
    app.extensions["security_headers"] = {"closed": closed, "framed": framed}

    @app.after_request
    def _headers(response):
        view = views.get(request.endpoint or "")
        headers = response.headers
        for name, value in framed if getattr(view, "_allow_framing", False) else closed:
            if name not in headers:
                headers[name] = value
        # What a signed-in person sees is theirs: no browser history or shared cache keeps it.
        # Public answers that never looked at the reader keep their own caching.
        if rendered_for_a_signed_in_person() or getattr(view, "_private", False):
            headers["Cache-Control"] = PRIVATE
        return response
