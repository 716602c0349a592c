"""Article access: /api/v1/access answers per second for each kind of question vs bare Flask.

Six questions, each a reader asking about 1,000 different articles in turn: an anonymous reader
on open articles; an anonymous reader on metered articles, without a meter cookie and with one
(each answer spends a free read and sets the cookie again); a member signed in by the session
cookie; a Bearer access token; and a CMS's API key asking about a member. Each is measured at the
same time as a bare Flask endpoint answering a body of the same size (benchmarks/_bare.py), both
under the same gunicorn settings (4 sync workers on loopback), CLIENTS client processes driving
each for SLICE seconds, ROUNDS times. Sharing the machine at the same moment, the two get the
same CPU whatever else runs on it, so their ratio is the ratio of what one answer costs, which a
busy machine shared with other work cannot tilt (one measured after the other, a burst of
someone else's load lands on one side only). The database is BENCH_DATABASE_URL when set (a
scratch database: it is migrated), else a temporary SQLite file.
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
SECONDS = 4.0  # one load, for the benchmarks that share these helpers
SLICE = 2.0  # one load of one kind here: short, alternating with the bare endpoint
ROUNDS = 3
USER_AGENT = "membership-bench"
ARTICLE = "/investigations/the-river-report"
OPEN_ARTICLE = "/news/weather-week"
ARTICLES = 1000  # the reader asks about this many different articles, in turn
# (label, what the answer must say): the kinds of question, in the order they are printed
KINDS = [
    ("anonymous, open article", "open"),
    ("anonymous, metered article, no meter cookie", "metered"),
    ("anonymous, metered article, meter cookie", "metered"),
    ("signed-in member (session cookie)", "perk"),
    ("Bearer access token", "perk"),
    ("API key asking about a member", "perk"),
]


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


def _prepare(env: dict[str, str]) -> list[tuple[list[str], dict[str, str], int]]:
    """Migrate; add a member with the perk, a rule, an API key; return each kind's (paths,
    headers, body size), checked once through the app."""
    migrated = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if migrated.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed: {migrated.stderr[-2000:]}")
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from membership import create_app

        app = create_app()
        kinds = _credentials(app)
        checked = []
        for (paths, headers), (label, reason) in zip(kinds, KINDS, strict=True):
            response = app.test_client(use_cookies=False).get(paths[0], headers=headers)
            body = response.get_json()
            if response.status_code != 200 or body["reason"] != reason:
                raise RuntimeError(f"{label}: {response.status_code} {body}")
            metered = reason == "metered"
            if metered != ("Set-Cookie" in response.headers):
                raise RuntimeError(f"{label}: unexpected cookies {response.headers}")
            checked.append((paths, headers, len(response.get_data())))
        from membership.extensions import db

        with app.app_context():
            db.engine.dispose()
        return checked
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _credentials(app) -> list[tuple[list[str], dict[str, str]]]:
    """Each kind's paths and headers (KINDS order): the member, their session cookie, access
    token and an API key, and a meter cookie holding one free read."""
    from flask import session
    from flask_login import login_user
    from sqlalchemy import select

    from membership.access import api_keys, meter, tokens
    from membership.access.models import AccessRule, RuleKind
    from membership.access.readers import perk_slugs
    from membership.accounts.models import User
    from membership.extensions import db
    from membership.perks.models import GrantSource, Perk, PerkGrant
    from membership.timeutil import utcnow

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
            db.session.add(AccessRule(kind=RuleKind.path, value="/investigations", perk_id=perk.id))
        _row, key = api_keys.create_api_key("bench", user)
        db.session.commit()
        member = user.id
        environ = {"REMOTE_ADDR": "127.0.0.1"}
        with app.test_request_context(environ_base=environ, headers={"User-Agent": USER_AGENT}):
            login_user(user)
            cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
            token, _ = tokens.issue(member, perk_slugs(member))
        signer = meter.serializer(app.config["SECRET_KEY"])
        read = [meter.article_digest("/investigations/read-before"), int(time.time())]
        meter_cookie = signer.dumps([read])
    common = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    premium = [f"/api/v1/access?article={ARTICLE}-{i}" for i in range(ARTICLES)]
    opened = [f"/api/v1/access?article={OPEN_ARTICLE}-{i}" for i in range(ARTICLES)]
    return [
        (opened, common),
        (premium, common),
        (premium, dict(common, Cookie=f"meter={meter_cookie}")),
        (premium, dict(common, Cookie=f"session={cookie}; access_token={token}")),
        (premium, dict(common, Authorization=f"Bearer {token}")),
        ([f"{path}&member={member}" for path in premium], dict(common, **{"X-API-Key": key})),
    ]


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


def _client(
    port: int, paths: list[str], headers: dict[str, str], seconds: float, ready, out
) -> None:
    """One client process: once every client is up, sequential requests for `seconds`
    (gunicorn sync closes each connection), going round `paths` (a reader reading one article
    after another); reports (answered, failed, seconds it ran)."""
    done = failed = 0
    ready.wait()
    started = time.perf_counter()
    deadline = started + seconds
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
    out.put((done, failed, time.perf_counter() - started))


def _load(port: int, paths: list[str], headers: dict[str, str], seconds: float = SECONDS) -> float:
    """Requests per second with CLIENTS processes driving one server for `seconds`."""
    return _loads([(port, paths, headers)], seconds)[0]


def _loads(targets: list[tuple[int, list[str], dict[str, str]]], seconds: float) -> list[float]:
    """Requests per second of each (port, paths, headers) target, CLIENTS processes each, all
    driving their servers at the same time for `seconds` (counted from when every client is up,
    so starting processes costs nobody), each client starting elsewhere in `paths`."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(CLIENTS * len(targets))
    runs = []
    for port, paths, headers in targets:
        out = context.Queue()
        clients = []
        for i in range(CLIENTS):
            start = i * len(paths) // CLIENTS
            own = paths[start:] + paths[:start]
            clients.append(
                context.Process(target=_client, args=(port, own, headers, seconds, ready, out))
            )
        runs.append((port, out, clients))
    for _port, _out, clients in runs:
        for client in clients:
            client.start()
    rates = []
    for port, out, clients in runs:
        results = [out.get(timeout=seconds + 60) for _ in clients]
        for client in clients:
            client.join()
        failed = sum(r[1] for r in results)
        if failed:
            print(f"  ({failed} failed requests on port {port})", flush=True)
        rates.append(sum(r[0] for r in results) / max(max(r[2] for r in results), seconds))
    return rates


def run(report) -> None:
    """Measure each kind of question together with the bare endpoint; report rates and ratios."""
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        ours_port, bare_port = _free_port(), _free_port()
        env = _environment(url, ours_port)
        kinds = _prepare(env)
        servers = []
        ours = [0.0] * len(kinds)
        bare = [0.0] * len(kinds)
        try:
            servers.append(_serve("wsgi:app", ours_port, env))
            servers.append(_serve("benchmarks._bare:app", bare_port, env))
            bare_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            for paths, headers, _size in kinds:  # warm up every worker on every kind
                _load(ours_port, paths, headers, SLICE / 2)
            for _ in range(ROUNDS):
                for i, (paths, headers, size) in enumerate(kinds):
                    beside = (bare_port, [f"/bare/{size}"], bare_headers)
                    rate, bare_rate = _loads([(ours_port, paths, headers), beside], SLICE)
                    ours[i] += rate / ROUNDS
                    bare[i] += bare_rate / ROUNDS
        finally:
            for server in servers:
                _stop(server)
        database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        for (label, _reason), rate, beside in zip(KINDS, ours, bare, strict=True):
            report.figure(f"{label} ({database})", rate, "req/s")
            report.figure("  bare Flask JSON endpoint at the same time", beside, "req/s")
        for (label, _reason), rate, beside in zip(KINDS, ours, bare, strict=True):
            report.ratio(f"{label} / bare", rate, beside, goal=0.75)
