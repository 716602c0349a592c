"""`make run`: write a local `.env` on the first run, migrate, load demo data once, start the
Stripe sandbox when no key is set and the worker that runs queued Stripe events, serve."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

from membership.config import INSTANCE, ROOT, SANDBOX_WEBHOOK_SECRET

SANDBOX_PORT = 12111
ENV_FILE = ROOT / ".env"


def write_env_file(path: Path, environ: dict[str, str]) -> bool:
    """On the first `make run`, write `path` (.env) with a generated SECRET_KEY and the settings
    the demo runs with, so that every `flask --app wsgi …` command of the README works in this
    checkout as `make run` does. An existing file is never touched; returns whether one was
    written."""
    if path.exists():
        return False
    host = environ.get("HOST") or "127.0.0.1"
    port = environ.get("PORT") or "5000"
    lines = [
        "# Written by the first `make run` of this checkout; it is never overwritten: edit or",
        "# delete it freely. The `.venv/bin/flask --app wsgi …` commands read it, so that they",
        "# act on the same demo as `make run`. Every setting is described in .env.example.",
        f"SECRET_KEY={secrets.token_urlsafe(48)}",
        f"HOST={host}",
        f"PORT={port}",
        f"BASE_URL={environ.get('BASE_URL') or f'http://{host}:{port}'}",
        "WEBHOOK_PROCESSING=queued",
    ]
    if not environ.get("STRIPE_SECRET_KEY"):
        sandbox_port = environ.get("SANDBOX_PORT") or str(SANDBOX_PORT)
        lines += [
            "# The offline Stripe sandbox that `make run` starts (remove both lines when you set",
            "# STRIPE_SECRET_KEY to a real test key).",
            f"SANDBOX_PORT={sandbox_port}",
            f"STRIPE_API_BASE=http://127.0.0.1:{sandbox_port}",
        ]
    path.touch(mode=0o600)  # it holds a secret
    path.write_text("\n".join(lines) + "\n")
    return True


def _wait_for_port(host: str, port: int, timeout: float = 15.0) -> bool:
    """Wait until something listens on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.1)
    return False


def start_sandbox(base_url: str) -> subprocess.Popen | None:
    """Start the Stripe sandbox beside the app and point the app at it. It runs as
    `python -m stripe_sandbox` (what `flask stripe sandbox` serves, without loading the app
    first), and the migrations run while it starts: wait_for_sandbox() waits for it."""
    if os.environ.get("STRIPE_SECRET_KEY"):
        return None
    port = int(os.environ.get("SANDBOX_PORT", SANDBOX_PORT))
    state = INSTANCE / "sandbox.json"
    secret = os.environ.get("STRIPE_WEBHOOK_SECRET") or SANDBOX_WEBHOOK_SECRET
    command = [
        sys.executable, "-m", "stripe_sandbox", "--port", str(port),
        "--webhook-url", f"{base_url}/webhooks/stripe", "--webhook-secret", secret,
        "--state-file", str(state),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT)  # noqa: S603 - our own interpreter and arguments  # nosec B603
    os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"
    return process


def wait_for_sandbox(process: subprocess.Popen | None) -> None:
    """Until the sandbox that start_sandbox() started answers (the demo pays through it)."""
    if process is None:
        return
    port = int(os.environ.get("SANDBOX_PORT", SANDBOX_PORT))
    if not _wait_for_port("127.0.0.1", port):
        process.terminate()
        raise SystemExit(f"The Stripe sandbox did not start on port {port}.")
    print(f" * Stripe sandbox on http://127.0.0.1:{port} (no real money)")


def flask(args: list[str]) -> None:
    """Run a `flask` command of this app, stopping `make run` when it fails."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    if subprocess.run(command, check=False).returncode != 0:  # noqa: S603  # nosec B603
        raise SystemExit(f"`flask {' '.join(args)}` failed.")


def start_worker() -> subprocess.Popen | None:
    """`flask worker` beside the app when Stripe events are queued (as in production)."""
    if os.environ.get("WEBHOOK_PROCESSING", "").strip().lower() != "queued":
        return None
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
    process = subprocess.Popen(command)  # noqa: S603 - our interpreter, our command  # nosec B603
    print(" * Stripe events are queued: `flask worker` runs them beside the app")
    return process


def prepare_environment() -> None:
    """The settings of this run: the shell's, then `.env` (written on the first run), then the
    demo's defaults; BASE_URL follows HOST/PORT when the shell moves them."""
    shell = dict(os.environ)
    if write_env_file(ENV_FILE, shell):
        print(f" * Wrote {ENV_FILE} (a new SECRET_KEY, the demo's settings) for the flask commands")
    elif not (shell.get("SECRET_KEY") or dotenv_values(ENV_FILE).get("SECRET_KEY")):
        print(f" * {ENV_FILE} has no SECRET_KEY: the README's flask commands need one there")
    load_dotenv(ENV_FILE, override=False)  # what the shell sets wins over .env
    if shell.get("STRIPE_SECRET_KEY") and not shell.get("STRIPE_API_BASE"):
        os.environ.pop("STRIPE_API_BASE", None)  # a real key: not .env's sandbox address
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    if not shell.get("BASE_URL") and (shell.get("HOST") or shell.get("PORT")):
        os.environ["BASE_URL"] = f"http://{host}:{port}"  # this run's address, not the .env's
    os.environ.setdefault("BASE_URL", f"http://{host}:{port}")
    written = dotenv_values(ENV_FILE).get("BASE_URL")
    if written and written != os.environ["BASE_URL"]:
        print(f" * Serving at {os.environ['BASE_URL']}; the flask commands use {written} (.env)")
    os.environ["MEMBERSHIP_DEV_SERVER"] = "1"
    # The demo runs webhooks as production should: stored, answered, run by the worker.
    if not os.environ.get("WEBHOOK_PROCESSING"):
        os.environ["WEBHOOK_PROCESSING"] = "queued"


def main() -> None:
    """Prepare everything a newcomer needs and serve on HOST:PORT."""
    prepare_environment()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    INSTANCE.mkdir(parents=True, exist_ok=True)

    sandbox = start_sandbox(os.environ["BASE_URL"])
    worker = None
    try:
        flask(["db", "upgrade"])
        wait_for_sandbox(sandbox)
        if sandbox is not None:
            print(
                " * The demo pays through the sandbox before the app serves: like Stripe, the"
                " sandbox retries those webhooks until the app answers, then delivers them."
            )
        flask(["demo", "seed", "--once"])
        worker = start_worker()
        from membership import create_app

        app = create_app()
        app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
    finally:
        for process in (worker, sandbox):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
