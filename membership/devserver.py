"""`make run`: migrate, load demo data once, start the Stripe sandbox when no key is set and the
worker that runs queued Stripe events, serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from dotenv import load_dotenv

from membership.config import INSTANCE, ROOT

SANDBOX_PORT = 12111


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
    """Start `flask stripe sandbox` beside the app and point the app at it."""
    if os.environ.get("STRIPE_SECRET_KEY"):
        return None
    port = int(os.environ.get("SANDBOX_PORT", SANDBOX_PORT))
    state = INSTANCE / "sandbox.json"
    command = [
        sys.executable, "-m", "flask", "--app", "wsgi", "stripe", "sandbox",
        "--port", str(port), "--webhook-url", f"{base_url}/webhooks/stripe",
        "--state-file", str(state),
    ]  # fmt: skip
    process = subprocess.Popen(command)  # noqa: S603 - our own interpreter and arguments
    if not _wait_for_port("127.0.0.1", port):
        process.terminate()
        raise SystemExit(f"The Stripe sandbox did not start on port {port}.")
    os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"
    print(f" * Stripe sandbox on http://127.0.0.1:{port} (no real money)")
    return process


def flask(args: list[str]) -> None:
    """Run a `flask` command of this app, stopping `make run` when it fails."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    if subprocess.run(command, check=False).returncode != 0:  # noqa: S603
        raise SystemExit(f"`flask {' '.join(args)}` failed.")


def start_worker() -> subprocess.Popen | None:
    """`flask worker` beside the app when Stripe events are queued (as in production)."""
    if os.environ.get("WEBHOOK_PROCESSING", "").strip().lower() != "queued":
        return None
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
    process = subprocess.Popen(command)  # noqa: S603 - our interpreter, our command
    print(" * Stripe events are queued: `flask worker` runs them beside the app")
    return process


def main() -> None:
    """Prepare everything a newcomer needs and serve on HOST:PORT."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    os.environ["MEMBERSHIP_DEV_SERVER"] = "1"
    os.environ.setdefault("BASE_URL", f"http://{host}:{port}")
    load_dotenv(ROOT / ".env", override=False)
    # The demo runs webhooks as production should: stored, answered, run by the worker.
    if not os.environ.get("WEBHOOK_PROCESSING"):
        os.environ["WEBHOOK_PROCESSING"] = "queued"
    INSTANCE.mkdir(parents=True, exist_ok=True)

    sandbox = start_sandbox(os.environ["BASE_URL"])
    worker = None
    try:
        flask(["db", "upgrade"])
        if sandbox is not None:
            print(
                " * The demo pays through the sandbox before the app serves: like Stripe, the"
                " sandbox retries those webhooks until it does (the first 'connection refused'"
                " lines are expected)."
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
