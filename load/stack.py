"""The production-like stack `make load` runs against, on free loopback ports: the Stripe
sandbox, `gunicorn wsgi:app` (2+ workers), `flask worker` with WEBHOOK_PROCESSING=queued, an
SMTP sink, and a throwaway SQLite database (or the scratch PostgreSQL database it is given)."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MARKER = "load_test_scratch"  # the table that says a load run made this database


class StackError(RuntimeError):
    """The stack could not be started (what failed, with the end of its log)."""


def free_port() -> int:
    """A TCP port nobody listens on right now, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_names() -> list[str]:
    """Every setting named in .env.example: each is set for the stack, so that a checkout's
    .env (written by `make run`: its sandbox, its address) never leaks into the load run."""
    names = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, _ = line.partition("=")
        if sep and not line.startswith("#") and name.strip().isidentifier():
            names.append(name.strip())
    return names


def prepare_database(url: str) -> None:
    """Start from an empty database. The load run adds readers, payments and events, so it
    takes only a database that is empty or that an earlier load run marked as its own (a
    PostgreSQL one is then emptied: a new sandbox knows none of its Stripe ids)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = inspect(conn).get_table_names()
            if tables and MARKER not in tables:
                raise StackError(
                    f"{url.rsplit('@', 1)[-1]} is not empty and no load run made it: give "
                    "LOAD_DATABASE_URL an empty scratch database"
                )
            if tables and conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            if MARKER not in tables or conn.dialect.name == "postgresql":
                conn.execute(text(f"CREATE TABLE {MARKER} (note VARCHAR(80))"))
    finally:
        engine.dispose()


@dataclass
class Stack:
    """The processes of one load run; `start()` brings them up, `stop()` ends each of them."""

    workdir: Path
    database_url: str
    web_workers: int = 2
    threads: int = 4
    members: int = 0
    redis_url: str = ""
    port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def environment(self) -> dict[str, str]:
        """Production settings (a real secret, queued webhooks, SMTP) on this stack's ports."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "STRIPE_"))}
        env.update(dict.fromkeys(settings_names(), ""))
        env.update(
            SECRET_KEY=secrets.token_urlsafe(48),
            DATABASE_URL=self.database_url,
            BASE_URL=self.url,
            # Readers arrive with their own X-Forwarded-For, as behind one nginx.
            TRUSTED_PROXIES="1",
            WEBHOOK_PROCESSING="queued",
            STRIPE_API_BASE=self.sandbox_url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(self.smtp_port),
            MAIL_USE_TLS="0",
            MAIL_DEFAULT_SENDER="members@load.example.org",
            REDIS_URL=self.redis_url,
            QUEUE_PREFIX=f"load-{self.port}-",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our commands
            command, cwd=ROOT, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.processes[name] = process
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _flask(self, *args: str) -> None:
        """One `flask` command of the app, to its end."""
        name = "flask-" + args[0]
        process = self._spawn(name, [str(BIN / "python"), "-m", "flask", "--app", "wsgi", *args])
        if process.wait(timeout=600) != 0:
            raise StackError(f"`flask {' '.join(args)}` failed:\n{self.log_tail(name)}")

    def _wait(self, name: str, port: int, path: str = "/", timeout: float = 60.0) -> None:
        """Until `path` on `port` answers 200 (or the process died)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise StackError(f"{name} stopped:\n{self.log_tail(name)}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.2)
        raise StackError(f"{name} did not answer on port {port} within {timeout:g} s")

    def start(self) -> None:
        """Sandbox, migrations, the demo's catalogue and fundraiser, gunicorn, the worker."""
        prepare_database(self.database_url)
        self.env = self.environment()
        self._spawn("sandbox", [str(BIN / "python"), "-m", "stripe_sandbox",
                                "--port", str(self.sandbox_port),
                                "--webhook-url", f"{self.url}/webhooks/stripe"])  # fmt: skip
        self._wait("sandbox", self.sandbox_port, "/_sandbox/clock")
        self._flask("db", "upgrade")
        self._flask("demo", "seed", "--once", *(["--members", str(self.members)]
                                                if self.members else []))  # fmt: skip
        self._spawn("gunicorn", [str(BIN / "gunicorn"), "wsgi:app",
                                 "--bind", f"127.0.0.1:{self.port}",
                                 "--workers", str(self.web_workers),
                                 "--threads", str(self.threads),
                                 "--timeout", "30", "--graceful-timeout", "10"])  # fmt: skip
        self._wait("gunicorn", self.port, "/healthz")
        self._spawn("worker", [str(BIN / "python"), "-m", "flask", "--app", "wsgi", "worker"])

    def alive(self) -> list[str]:
        """Names of the long-running processes that stopped by themselves."""
        return [n for n in ("sandbox", "gunicorn", "worker")
                if n in self.processes and self.processes[n].poll() is not None]  # fmt: skip

    def stop(self) -> None:
        """SIGTERM to each process group this stack started, SIGKILL after 10 s."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
