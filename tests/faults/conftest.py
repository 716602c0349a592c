"""Fault tests' own servers: a private PostgreSQL cluster, a redis-server and an SMTP sink per
test, on free ports, started and stopped by the test (never the machine's shared ones), plus
`flask worker` processes pointed at them.

The cluster is built once per session (`initdb` as the `postgres` user, then the migrations) and
copied for each test, so a test owns a migrated database it may stop, restart or kill in ~0.3 s.
Without PostgreSQL's or Redis's binaries these tests skip, unless REQUIRE_POSTGRES or
REQUIRE_REDIS is set (CI), where a missing binary fails them instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from membership import create_app
from membership.config import engine_options, test_config
from membership.extensions import db
from tests.conftest import Mailbox

ROOT = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path:
    """PostgreSQL's server binaries: PG_BIN, else Debian's newest /usr/lib/postgresql/*/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
REDIS_SERVER = shutil.which("redis-server")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "faults: starts and breaks its own PostgreSQL, Redis or SMTP server"
    )


def _required(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def need_postgres() -> None:
    """Skip without PostgreSQL's server binaries, or fail when REQUIRE_POSTGRES says CI has them."""
    if (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists():
        return
    message = f"PostgreSQL server binaries not found in {PG_BIN} (set PG_BIN)"
    if _required("REQUIRE_POSTGRES"):
        pytest.fail(message)
    pytest.skip(message)


def need_redis() -> None:
    """Skip without redis-server, or fail when REQUIRE_REDIS says CI has it."""
    if REDIS_SERVER:
        return
    if _required("REQUIRE_REDIS"):
        pytest.fail("redis-server not found on PATH")
    pytest.skip("redis-server not found on PATH")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], timeout: float = 20.0, what: str = "condition"):
    """Poll `check` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def _as_postgres(*args: str) -> list[str]:
    """A command run as the `postgres` OS user when we are root (initdb refuses root)."""
    command = [str(a) for a in args]
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _owned_tempdir(prefix: str) -> Path:
    """A temporary directory the `postgres` user may write (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


class PostgresCluster:
    """A private PostgreSQL server: start, stop (fast or immediate), restart."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/membership"

    def _ctl(self, *args: str) -> None:
        command = _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, *args)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(command, check=True, timeout=60, **quiet)

    def start(self) -> None:
        # fsync=off is safe here (no test crashes the machine), but commits stay synchronous:
        # with synchronous_commit=off an `immediate` stop loses the last commits (a webhook
        # answered 200 whose event is then gone), which production never does. Which commits
        # were lost depended on where the WAL happened to cut a page, so an unrelated
        # migration could flip a fault test.
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=60"
        )
        self._ctl("-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate` is a crash: no checkpoint, clients cut off)."""
        self._ctl("-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        if self.running():
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template():
    """A migrated PostgreSQL data directory, built once per session (and xdist worker)."""
    need_postgres()
    cluster = PostgresCluster(_owned_tempdir("faults-pg-template-"))
    initdb = [PG_BIN / "initdb", "-D", cluster.data, "-A", "trust", "-U", "postgres"]
    initdb += ["-E", "UTF8", "--no-sync", "--no-instructions"]
    subprocess.run(_as_postgres(*initdb), check=True, stdout=subprocess.DEVNULL, timeout=120)
    cluster.start()
    try:
        admin = create_engine(cluster.url.rsplit("/", 1)[0] + "/postgres",
                              isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE membership"))
        admin.dispose()
        app = create_app(test_config(cluster.url))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            db.engine.dispose()
    finally:
        cluster.stop()
    yield cluster.data
    shutil.rmtree(cluster.base, ignore_errors=True)


@pytest.fixture
def postgres(pg_template):
    """This test's own PostgreSQL server (a copy of the migrated template), running."""
    base = _owned_tempdir("faults-pg-")
    shutil.copytree(pg_template, base / "data", symlinks=True)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(base)], check=True)
    (base / "data" / "postmaster.pid").unlink(missing_ok=True)
    cluster = PostgresCluster(base)
    cluster.start()
    yield cluster
    cluster.remove()


class RedisServer:
    """A private redis-server without persistence: stopping it loses what it held."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(self._answers, 10, "redis-server to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server():
    """This test's own redis-server, running."""
    need_redis()
    server = RedisServer()
    server.start()
    yield server
    server.stop()


class SmtpSink:
    """An aiosmtpd server the test can stop and start again on the same port."""

    def __init__(self) -> None:
        self.box = Mailbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self, template_subject: str) -> list[str]:
        """Recipients of the messages with this subject, in arrival order."""
        return [m["To"] for m in self.box.messages if m["Subject"] == template_subject]


@pytest.fixture
def smtp_sink():
    """This test's own SMTP server, running."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def app_settings(postgres: PostgresCluster, smtp: SmtpSink, sandbox, **extra) -> dict:
    """Production-like settings on this test's servers: queued webhooks, the real pool options."""
    settings = {
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(postgres.url),
        "WEBHOOK_PROCESSING": "queued",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_USE_TLS": False,
        "STRIPE_API_BASE": sandbox.url,
        "FUNDRAISER_PROGRESS_FRESHNESS": 0,
        "FUNDRAISER_PAGE_FRESHNESS": 0,
    }
    return test_config(postgres.url, **(settings | extra))


class Workers:
    """`flask worker` processes on this test's servers; each one's output goes to a file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        log = open(self.logs / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        self.processes.append(process)
        return process

    def output(self, index: int = 0) -> str:
        return (self.logs / f"worker-{index}.log").read_text(errors="replace")

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes if p.returncode != -signal.SIGKILL)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture
def workers(tmp_path, postgres, smtp_sink, sandbox):
    """Start `flask worker` processes against this test's servers; all stopped afterwards."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "REDIS", "DATABASE", "STRIPE", "MAIL", "WEBHOOK"))
    }
    env.update(
        SECRET_KEY="test-secret-key",
        DATABASE_URL=postgres.url,
        WEBHOOK_PROCESSING="queued",
        STRIPE_SECRET_KEY="",
        STRIPE_WEBHOOK_SECRET="",
        STRIPE_API_BASE=sandbox.url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_sink.port),
        MAIL_USE_TLS="0",
        REDIS_URL="",
        MAIL_RETRY_SECONDS="0.5",
        PYTHONUNBUFFERED="1",
    )
    group = Workers(env, tmp_path)
    yield group
    group.stop_all()
    for index in range(len(group.processes)):  # shown when the test failed
        print(f"--- worker {index} ---\n{group.output(index)}")


# --- the newsroom on those servers ---------------------------------------------------------

RECEIPT = "Thank you for your gift: your receipt"


class Newsroom:
    """The app on this test's servers, a live campaign, and gifts paid on the sandbox whose
    Stripe events the test delivers itself (as Stripe would: signed, retried, duplicated)."""

    def __init__(self, app, sandbox, settings: dict, apps: list) -> None:
        from membership.billing.demo import seed_catalogue
        from membership.demo import Summary
        from tests.fundraisers.conftest import make_campaign

        self.app = app
        self.sandbox = sandbox
        self.settings = settings
        self.apps = apps
        sandbox.reset()
        sandbox.set_webhook_url(None)
        sandbox.set_chaos(False)
        with app.app_context():
            seed_catalogue(Summary(), 0, print)
            db.session.commit()
            self.campaign_id = make_campaign()
            db.session.remove()
        self.expected = 0
        self.gifts = 0
        self.seen: set[str] = set()

    def another_instance(self):
        """A second app (web server) on the same database and settings."""
        app = create_app(self.settings)
        self.apps.append(app)
        return app

    def give(self, count: int, first: int = 0) -> list[dict]:
        """`count` one-time gifts paid on the sandbox; returns their new Stripe events."""
        from membership.fundraisers import giving
        from membership.fundraisers.models import Campaign

        with self.app.app_context():
            campaign = db.session.get(Campaign, self.campaign_id)
            for n in range(first, first + count):
                cents = 500 + 137 * n
                gift = giving.GiftRequest(f"{cents / 100:.2f}", "once", "all", f"Donor {n}", "")
                _, url = giving.start_donation(campaign, gift, None)
                db.session.commit()
                session_id = url.rstrip("/").rsplit("/", 1)[-1]
                self.sandbox.complete_checkout(session_id, email=f"donor{n}@example.org")
                self.expected += cents
                self.gifts += 1
            db.session.remove()
        fresh = [e for e in self.sandbox.events() if e["id"] not in self.seen]
        self.seen.update(e["id"] for e in fresh)
        return fresh

    def post(self, event: dict, client=None):
        """POST one event to /webhooks/stripe, signed as Stripe signs."""
        import json

        import stripe

        from membership.config import SANDBOX_WEBHOOK_SECRET

        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            body, SANDBOX_WEBHOOK_SECRET, timestamp=int(time.time())
        )
        return (client or self.app.test_client()).post(
            "/webhooks/stripe",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def deliver(self, events: list[dict]) -> None:
        """Deliver events; each must be accepted (200) at once."""
        client = self.app.test_client()
        for event in events:
            response = self.post(event, client)
            assert response.status_code == 200, (event["type"], response.get_data(as_text=True))

    def ledger(self) -> int:
        """The campaign's ledger sum, straight from the table."""
        from tests.fundraisers.conftest import ledger_sum

        return ledger_sum(self.app, self.campaign_id)

    def raised(self) -> int:
        """What the public progress API says was raised."""
        from membership.fundraisers import totals
        from tests.fundraisers.conftest import SLUG

        totals.MEMO.clear()
        response = self.app.test_client().get(f"/api/v1/fundraisers/{SLUG}/progress")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["raised"]

    def counted(self) -> bool:
        """Whether the ledger reached the expected total (for wait_for)."""
        return self.ledger() == self.expected

    def unprocessed(self) -> int:
        """Stored Stripe events not processed (or ignored) yet."""
        from sqlalchemy import func, select

        from membership.billing.models import StripeEvent

        with self.app.app_context():
            try:
                return db.session.scalar(
                    select(func.count()).where(StripeEvent.status.not_in(("processed", "ignored")))
                )
            finally:
                db.session.remove()

    def mail_statuses(self) -> dict[str, int]:
        """How many mail jobs are in each status."""
        from sqlalchemy import func, select

        from membership.mail import MailJob

        with self.app.app_context():
            try:
                rows = db.session.execute(
                    select(MailJob.status, func.count()).group_by(MailJob.status)
                ).all()
                return {status: n for status, n in rows}
            finally:
                db.session.remove()


@pytest.fixture
def newsroom_on(sandbox):
    """Build a Newsroom on given servers: newsroom_on(postgres, smtp_sink, **settings)."""
    apps = []

    def build(postgres, smtp, **settings) -> Newsroom:
        config = app_settings(postgres, smtp, sandbox, PROPAGATE_EXCEPTIONS=False, **settings)
        app = create_app(config)
        apps.append(app)
        return Newsroom(app, sandbox, config, apps)

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
