"""Article access: /api/v1/access answers per second for a signed-in member vs a bare Flask app.

Both run under the same gunicorn settings (4 sync workers on loopback); several client processes
drive each for a few seconds, twice, alternating, and the best run of each counts. The database is
BENCH_DATABASE_URL when set (a scratch database: it is migrated), else a temporary SQLite file.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKERS = 4
CLIENTS = 4
SECONDS = 4.0
ROUNDS = 2
USER_AGENT = "membership-bench"
ARTICLE = "/investigations/the-river-report"
ARTICLES = 1000  # the reader asks about this many different articles, in turn


def _free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(database_url: str, port: int) -> dict[str, str]:
    """The app's settings for the benchmark server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "MAIL_"))}
    env.update(
        SECRET_KEY="bench-secret-key-not-for-production",  # noqa: S106 - a throw-away server
        DATABASE_URL=database_url,
        BASE_URL=f"http://127.0.0.1:{port}",
        FLASK_DEBUG="",
        MEMBERSHIP_DEV_SERVER="",
        REDIS_URL="",
    )
    return env


def _prepare(env: dict[str, str]) -> tuple[str, str]:
    """Migrate, add a member with the perk and a rule; return (Cookie header, expected body)."""
    migrated = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if migrated.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed: {migrated.stderr[-2000:]}")
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from flask_login import login_user
        from sqlalchemy import select

        from membership import create_app
        from membership.access import tokens
        from membership.access.models import AccessRule, RuleKind
        from membership.accounts.models import User
        from membership.extensions import db
        from membership.perks.models import GrantSource, Perk, PerkGrant
        from membership.timeutil import utcnow

        app = create_app()
        with app.app_context():
            email = "bench-member@example.org"
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                user = User(email=email, password_hash="!", name="B", verified_at=utcnow())  # noqa: S106
                db.session.add(user)
            perk = db.session.scalar(select(Perk).where(Perk.slug == "members-only-articles"))
            if perk is None:
                perk = Perk(slug="members-only-articles", name="Members-only articles")
                db.session.add(perk)
            db.session.flush()
            db.session.add(
                PerkGrant(user_id=user.id, perk_id=perk.id, source=GrantSource.complimentary,
                          source_ref=f"bench-{time.time()}", starts_at=utcnow() - timedelta(1))
            )  # fmt: skip
            if not db.session.scalar(
                select(AccessRule.id).where(AccessRule.value == "/investigations")
            ):
                db.session.add(
                    AccessRule(kind=RuleKind.path, value="/investigations", perk_id=perk.id)
                )
            db.session.commit()
            environ = {"REMOTE_ADDR": "127.0.0.1"}
            with app.test_request_context(environ_base=environ, headers={"User-Agent": USER_AGENT}):
                from flask import session

                login_user(user)
                cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
                perks = sorted({"members-only-articles", *_other_perks(db, user.id)})
                token, _ = tokens.issue(user.id, perks)
        with app.test_client() as client:
            client.set_cookie("session", cookie)
            client.set_cookie("access_token", token)
            response = client.get(
                f"/api/v1/access?article={ARTICLE}", headers={"User-Agent": USER_AGENT}
            )
            body = response.get_data(as_text=True)
            assert response.get_json()["allowed"], body
            assert "Set-Cookie" not in response.headers, response.headers
        with app.app_context():
            db.engine.dispose()
        return f"session={cookie}; access_token={token}", body
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _other_perks(db, user_id: int) -> list[str]:
    """Perks the member holds already (a reused benchmark database)."""
    from membership.access.services import perk_slugs

    return perk_slugs(user_id)


def _serve(app_path: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    """gunicorn with the same settings for both apps; waits until it answers."""
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn and arguments
        [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_path],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            time.sleep(0.1)
    _stop(process)
    raise RuntimeError(f"gunicorn for {app_path} did not start")


def _stop(process: subprocess.Popen) -> None:
    """Stop one gunicorn (its own process group) that this benchmark started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _client(port: int, paths: list[str], headers: dict[str, str], seconds: float, out) -> None:
    """One client process: sequential requests (gunicorn sync closes each connection), going
    round `paths` (a reader reading one article after another)."""
    done = failed = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", paths[(done + failed) % len(paths)], headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                done += 1
            else:
                failed += 1
        except OSError:
            failed += 1
        finally:
            connection.close()
    out.put((done, failed))


def _load(port: int, paths: list[str], headers: dict[str, str]) -> float:
    """Requests per second with CLIENTS processes for SECONDS, each starting elsewhere in
    `paths`."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    clients = []
    for i in range(CLIENTS):
        start = i * len(paths) // CLIENTS
        own = paths[start:] + paths[:start]
        clients.append(context.Process(target=_client, args=(port, own, headers, SECONDS, out)))
    started = time.perf_counter()
    for client in clients:
        client.start()
    results = [out.get(timeout=SECONDS + 30) for _ in clients]
    for client in clients:
        client.join()
    elapsed = time.perf_counter() - started
    done = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    if failed:
        print(f"  ({failed} failed requests on port {port})", flush=True)
    return done / max(elapsed, SECONDS)


def run(report) -> None:
    """Measure both servers and report their requests per second and the ratio."""
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        ours_port, bare_port = _free_port(), _free_port()
        env = _environment(url, ours_port)
        cookie, body = _prepare(env)
        bare_env = dict(env, BENCH_BODY_SIZE=str(len(body.encode())))
        servers = []
        try:
            servers.append(_serve("wsgi:app", ours_port, env))
            servers.append(_serve("benchmarks._bare:app", bare_port, bare_env))
            ours_headers = {
                "Cookie": cookie,
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            }
            bare_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            # A different article each time: none of them open, all under the rule's path.
            ours_paths = [f"/api/v1/access?article={ARTICLE}-{i}" for i in range(ARTICLES)]
            _load(ours_port, ours_paths, ours_headers)  # warm up both
            best_ours = best_bare = 0.0
            for _ in range(ROUNDS):
                best_bare = max(best_bare, _load(bare_port, ["/bare"], bare_headers))
                best_ours = max(best_ours, _load(ours_port, ours_paths, ours_headers))
        finally:
            for server in servers:
                _stop(server)
        database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        report.figure(f"bare Flask JSON endpoint ({WORKERS} sync workers)", best_bare, "req/s")
        report.figure(f"/api/v1/access, signed-in member, {ARTICLES} articles ({database})",
                      best_ours, "req/s")  # fmt: skip
        report.ratio("access answers / bare Flask", best_ours, best_bare, goal=0.75)
