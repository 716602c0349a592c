"""Fixtures: the app on a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL),
a real SMTP server that catches mail, and helpers to act as a reader or staff."""

from __future__ import annotations

import email
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import NoReturn

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, delete, inspect, text
from sqlalchemy.engine import make_url

from membership import create_app
from membership.accounts.background import background
from membership.config import SANDBOX_WEBHOOK_SECRET, test_config
from membership.extensions import db, limiter

PASSWORD = "correct horse battery staple"
# The WordPress site's fixtures, shared by tests/wordpress/ and tests/browser/.
pytest_plugins = ["tests.wordpress.fixtures"]


# --- database ------------------------------------------------------------------------------


def _worker_database(url: str, worker: str) -> str:
    """Give each xdist worker its own PostgreSQL database, creating it when missing."""
    if worker in ("", "master"):
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """The catalogues compiled as `make install` compiles them (a .po newer than its .mo is
    compiled again), so that a suite run straight with pytest speaks every language too."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")  # xdist workers compile side by side
        with partial.open("wb") as target:
            write_mo(target, catalog)
        partial.replace(mo)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id) -> str:
    """A database built by running the migrations, once per test session (and worker)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = _worker_database(url, worker_id)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:  # start from nothing: the migrations build everything
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    app = create_app(test_config(url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    """Whether the suite runs on PostgreSQL."""
    return database_url.startswith("postgresql")


# --- mail ----------------------------------------------------------------------------------


class Mailbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def clear(self) -> None:
        self.messages.clear()

    def to(self, address: str) -> list[Message]:
        """Messages addressed to `address`."""
        return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> Message:
        """The newest message to `address` (fails the test when there is none)."""
        found = self.to(address)
        assert found, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]

    @staticmethod
    def body(message: Message) -> str:
        """The plain-text part."""
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode()
        raise AssertionError("no text part")

    def link_in(self, message: Message, path: str) -> str:
        """The path of the first link under `path` in the message (e.g. '/verify-email/')."""
        match = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s\"<]+)", self.body(message))
        assert match, f"no link to {path} in:\n{self.body(message)}"
        return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on localhost (aiosmtpd) for the whole session."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, box
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    """The mail received during this test."""
    _, box = smtp_server
    box.clear()
    return box


# --- app -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox():
    """The offline Stripe sandbox, for the whole session; no test can reach real Stripe."""
    from stripe_sandbox.testing import running_sandbox

    with running_sandbox(retry_base=0.05, max_attempts=3) as server:
        yield server


@pytest.fixture
def app(request, database_url, smtp_server, sandbox, tmp_path):
    """The app, configured for tests; `@pytest.mark.config(NAME=value)` overrides settings."""
    controller, _ = smtp_server
    settings = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "MAIL_USE_TLS": False,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "STRIPE_API_BASE": sandbox.url,
    }
    for marker in reversed(list(request.node.iter_markers("config"))):
        settings.update(marker.kwargs)
    settings = with_private_redis(request, settings)  # see "Redis" below
    app = create_app(test_config(database_url, **settings))
    with app.app_context():
        limiter.reset()
    yield app
    background(app).wait()  # what a request left to run after its answer (accounts' mail)
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            existing = set(inspect(conn).get_table_names())
            for table in reversed(db.metadata.sorted_tables):
                if table.name in existing:  # a missing table is the migration test's to report
                    conn.execute(delete(table))
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A browser-like test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Runs `flask` commands."""
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    """An application context for service-level tests."""
    with app.app_context():
        yield


def csrf_token(client, path: str, required: bool = True) -> str | None:
    """GET a page and read the CSRF token of its first form (None, when not `required`, for a
    page without one, such as the campaign page of an anonymous visitor)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match or not required, f"no CSRF token on {path}"
    return match.group(1) if match else None


class Actions:
    """What a reader does through the web forms."""

    def __init__(self, client, mailbox: Mailbox) -> None:
        self.client = client
        self.mailbox = mailbox

    def post(self, path: str, data: dict | None = None, form_page: str | None = None, **kw):
        """POST a form with the CSRF token of the page that shows it."""
        data = dict(data or {})
        token = csrf_token(self.client, form_page or path, required=False)
        if token is not None:
            data.setdefault("csrf_token", token)
        return self.client.post(path, data=data, **kw)

    def register(
        self, email="reader@example.org", password=PASSWORD, name="Nino", follow=False, **extra
    ):
        """Register through the form."""
        data = {"email": email, "password": password, "name": name, "locale": "en", **extra}
        return self.post("/register", data, follow_redirects=follow)

    def login(self, email="reader@example.org", password=PASSWORD, follow=False, **extra):
        """Sign in through the form."""
        data = {"email": email, "password": password, **extra}
        return self.post("/login", data, follow_redirects=follow)

    def logout(self):
        """Sign out with the button every page shows."""
        return self.post("/logout", form_page="/account")


@pytest.fixture
def auth(client, mailbox) -> Actions:
    """Act as a reader through the forms."""
    return Actions(client, mailbox)


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**settings): override app settings for a test")


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    """xdist worker name, or 'master' without xdist."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "master"


ROOT = Path(__file__).resolve().parent.parent


class StripeWorld:
    """The sandbox as a test sees it: complete Checkouts, then deliver its events, signed."""

    def __init__(self, sandbox, client) -> None:
        self.sandbox = sandbox
        self.client = client
        self.delivered: set[str] = set()

    def new_events(self) -> list[dict]:
        """Events the sandbox made that this test has not delivered yet, oldest first."""
        return [e for e in self.sandbox.events() if e["id"] not in self.delivered]

    def post(self, event: dict, secret: str | None = None, timestamp: int | None = None):
        """POST one event to /webhooks/stripe, signed as Stripe signs."""
        import json
        import time

        import stripe

        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            body, secret or SANDBOX_WEBHOOK_SECRET, timestamp=timestamp or int(time.time())
        )
        return self.client.post(
            "/webhooks/stripe",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def deliver(self, events: list[dict] | None = None, expect: int = 200) -> list:
        """Deliver the new events (or the given ones) in order; every answer must be `expect`."""
        batch = self.new_events() if events is None else events
        responses = []
        for event in batch:
            response = self.post(event)
            assert response.status_code == expect, (event["type"], response.get_json())
            self.delivered.add(event["id"])
            responses.append(response)
        return responses

    def redeliver_as_new(self) -> None:
        """Send every event of this test again under a new id, as Stripe may (a delivery it
        thought failed, two updates for one change): a handler must not tell anything twice."""
        import copy

        for event in self.sandbox.events():
            again = copy.deepcopy(event)
            again["id"] = f"{event['id']}_again"
            self.deliver([again])

    def pay(self, checkout_url: str, card: str = "4242424242424242", email: str | None = None):
        """Complete the Checkout Session behind a URL with a test card, as the reader would."""
        session_id = checkout_url.rstrip("/").rsplit("/", 1)[-1]
        return self.sandbox.complete_checkout(session_id, card=card, email=email)

    def advance(self, days: float) -> None:
        """Move the sandbox's clock (renewals, retries, period ends happen)."""
        self.sandbox.advance_clock(seconds=int(days * 86400))


@pytest.fixture
def stripe_world(sandbox, client) -> StripeWorld:
    """A fresh sandbox (state reset) driven by this test's client."""
    sandbox.reset()
    sandbox.set_webhook_url(None)
    sandbox.set_chaos(False)
    return StripeWorld(sandbox, client)


# --- services a run needs: REQUIRE_REDIS, REQUIRE_POSTGRES, REQUIRE_BROWSER ------------------
# On a developer's machine a test that needs a missing service skips and says why; in CI
# (.ci/run sets all three to 1) the same test fails, so a missing service can never pass silently.

REQUIREMENTS = {
    # service: (environment variable, words by which a skip's reason names the service)
    "redis": ("REQUIRE_REDIS", ("redis",)),
    "postgres": ("REQUIRE_POSTGRES", ("postgres", "sqlite")),
    "browser": ("REQUIRE_BROWSER", ("chromium", "browser")),
}


def required(service: str) -> bool:
    """Whether this run must have `service` (its REQUIRE_… variable is 1)."""
    return os.environ.get(REQUIREMENTS[service][0]) == "1"


def unavailable(service: str, reason: str) -> NoReturn:
    """Skip the test for want of `service`, or fail it where the run requires the service."""
    if required(service):
        pytest.fail(f"{REQUIREMENTS[service][0]}=1, but {reason}", pytrace=False)
    pytest.skip(reason)


def _testing_on_postgres() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


def pytest_sessionstart(session):
    """REQUIRE_POSTGRES=1 without a PostgreSQL TEST_DATABASE_URL is a broken CI set-up."""
    if required("postgres") and not _testing_on_postgres():
        raise pytest.UsageError("REQUIRE_POSTGRES=1, but TEST_DATABASE_URL names no PostgreSQL")


def pytest_collection_modifyitems(config, items):
    """`postgres_only` tests skip on SQLite (and say why)."""
    if _testing_on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://…")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip whose reason names a required service is a failure, wherever the skip was written."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    for service, (variable, words) in REQUIREMENTS.items():
        if required(service) and any(word in reason.lower() for word in words):
            report.outcome = "failed"
            report.longrepr = f"{variable}=1, but the test skipped: {reason}"
            return


# --- Redis: a private server per run ---------------------------------------------------------
# Tests never touch the machine's Redis on 6379 (other runs and developers use it): each test
# session (each xdist worker) starts its own redis-server on a free port, without persistence,
# and every test that asks for it starts from an empty server.


class RedisServer:
    """A redis-server of this test session's own, on a free port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait until it answers; FileNotFoundError without `redis-server`."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def client(self):
        """A redis.Redis on this server (use it in a `with` block: it closes its connections)."""
        from redis import Redis

        return Redis.from_url(self.url, socket_timeout=2)

    def _answers(self) -> bool:
        from redis.exceptions import ConnectionError as RedisDown

        try:
            with self.client() as client:
                return bool(client.ping())
        except RedisDown:
            return False

    def stop(self) -> None:
        """Stop it (its data goes with it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_redis(directory: Path) -> RedisServer:
    """A private Redis, or skip (fail under REQUIRE_REDIS=1) where none can start."""
    try:
        return RedisServer(directory).start()
    except FileNotFoundError:
        unavailable("redis", "no redis-server on PATH: apt-get install redis-server")
    except RuntimeError as exc:
        unavailable("redis", str(exc))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """This session's private Redis."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The URL of the session's private Redis, emptied for this test."""
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url


# `@pytest.mark.config(REDIS_URL=PRIVATE_REDIS)`: the app uses the session's private Redis (a
# string, so that it compares equal however this module was imported).
PRIVATE_REDIS = "private-test-redis://"


def with_private_redis(request, settings: dict) -> dict:
    """Settings with PRIVATE_REDIS replaced by the URL of the (emptied) private Redis."""
    if PRIVATE_REDIS in settings.values():
        url = request.getfixturevalue("redis_url")
        settings = {k: url if v == PRIVATE_REDIS else v for k, v in settings.items()}
    return settings


# --- the app's clock -------------------------------------------------------------------------


class AppClock:
    """The time the app reads: every `utcnow` a membership module imported answers the real time
    plus an offset that a test sets, e.g. to follow the sandbox's test clock (column defaults
    such as `created_at` keep the real time)."""

    def __init__(self, monkeypatch) -> None:
        from membership import timeutil

        self._real = timeutil.utcnow
        self.offset = timedelta(0)
        for name, module in list(sys.modules.items()):
            if name.partition(".")[0] == "membership" and getattr(module, "utcnow", None) is (
                self._real
            ):
                monkeypatch.setattr(module, "utcnow", self.now)

    def now(self) -> datetime:
        """The app's now."""
        return self._real() + self.offset

    def move_to(self, when: datetime) -> None:
        """From now on the app's clock reads `when` (and runs on from there)."""
        self.offset = when - self._real()


@pytest.fixture
def app_clock(app, monkeypatch) -> AppClock:
    """Move the app's clock (the app is created first, so that every module is loaded)."""
    return AppClock(monkeypatch)


@pytest.fixture
def make_app(app, database_url):
    """Another app on the test database, built from environment variables as in production."""
    from tests.webclient import build_app, close_app  # it imports this module's PASSWORD

    built = []

    def build(**environ):
        built.append(build_app(app, database_url, **environ))
        return built[-1]

    yield build
    for other in built:
        close_app(other)
