"""`make load` (python -m load): start a local production-like stack, run locust headless
against it, print p50/p95/p99 per group, the errors and one summary line.

    python -m load [--users 10] [--spawn-rate 5] [--run-time 30s] [--workers 2] [--threads 4]

The database is a throwaway SQLite file unless LOAD_DATABASE_URL (or DATABASE_URL) names a
scratch PostgreSQL database; LOAD_REDIS_URL adds Redis. Exits 1 when a request failed, a
payment made during the run was not confirmed, or an event failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from load import report
from load.stack import ROOT, Stack, StackError


def parse(argv: list[str]) -> argparse.Namespace:
    """Options; each also from LOAD_<NAME> in the environment."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=int(env("LOAD_USERS", "10")))
    parser.add_argument("--spawn-rate", type=float, default=float(env("LOAD_SPAWN_RATE", "5")))
    parser.add_argument("--run-time", default=env("LOAD_RUN_TIME", "30s"),
                        help="locust's -t: 30s, 2m …")  # fmt: skip
    parser.add_argument("--workers", type=int, default=int(env("LOAD_WORKERS", "2")),
                        help="gunicorn worker processes")  # fmt: skip
    parser.add_argument("--threads", type=int, default=int(env("LOAD_THREADS", "4")),
                        help="threads per gunicorn worker")  # fmt: skip
    parser.add_argument("--smoke", action="store_true",
                        help="each user does each of its tasks once, then locust stops "
                        "(--run-time is then a limit)")  # fmt: skip
    parser.add_argument("--members", type=int, default=int(env("LOAD_MEMBERS", "0")),
                        help="demo members to seed (0: the demo's default volume)")  # fmt: skip
    return parser.parse_args(argv)


class SmtpSink:
    """An SMTP server in this process that counts what the app and the worker send."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        with self.lock:
            self.count += 1
        return "250 OK"


def run_locust(stack: Stack, options: argparse.Namespace, results: Path) -> int:
    """locust headless in its own process (gevent stays out of this one); returns its status."""
    env = dict(os.environ, LOAD_SANDBOX_URL=stack.sandbox_url, LOAD_RESULTS=str(results),
               LOAD_SMOKE="1" if options.smoke else "")  # fmt: skip
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "load" / "locustfile.py"),
        "--headless", "--only-summary", "--loglevel", "WARNING", "--host", stack.url,
        "--users", str(options.users), "--spawn-rate", str(options.spawn_rate),
        "--run-time", options.run_time, "--stop-timeout", "10",
    ]  # fmt: skip
    with open(stack.workdir / "locust.log", "wb") as log:
        return subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                              check=False).returncode  # fmt: skip


def main(argv: list[str]) -> int:
    """Start the stack, load it, report, stop everything."""
    options = parse(argv)
    database = os.environ.get("LOAD_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    with tempfile.TemporaryDirectory(prefix="membership-load-") as tmp:
        workdir = Path(tmp)
        url = database or f"sqlite:///{workdir / 'load.sqlite3'}"
        kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        stack = Stack(workdir, url, options.workers, options.threads, options.members,
                      os.environ.get("LOAD_REDIS_URL", ""))  # fmt: skip
        sink = SmtpSink(stack.smtp_port)
        sink.controller.start()
        label = (f"{options.users} users, {options.run_time}, {kind}, gunicorn "
                 f"{options.workers}x{options.threads} threads, 1 flask worker")  # fmt: skip
        print(f"load: starting the stack ({kind}, gunicorn on {stack.url}, sandbox on "
              f"{stack.sandbox_url}, WEBHOOK_PROCESSING=queued)", flush=True)  # fmt: skip
        try:
            stack.start()
            print(f"load: running locust: {label}", flush=True)
            results_file = workdir / "results.json"
            run_locust(stack, options, results_file)
            if not results_file.exists():
                print((workdir / "locust.log").read_text(errors="replace")[-3000:])
                print("load: locust wrote no results")
                return 1
            results = json.loads(results_file.read_text())
            counts, drained = report.wait_for_confirmations(url, results["paid"])
            stopped = stack.alive()
        except StackError as exc:
            print(f"load: the stack did not start: {exc}")
            return 1
        finally:
            stack.stop()
            sink.controller.stop()
        print("\n".join(report.table(results["samples"], results["failures"])))
        for name, reason in sorted(results["reasons"].items()):
            print(f"  error in {name}: {reason}")
        for name in stopped:
            print(f"  {name} stopped during the run:\n{stack.log_tail(name)}")
        print(f"load: {counts['events']} Stripe events stored, {sink.count} mails sent over SMTP")
        line, errors = report.summary_line(results, counts, drained, label)
        if errors or stopped:
            kept = ROOT / "artifacts" / "load"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(workdir, kept, ignore=shutil.ignore_patterns("*.sqlite3*"))
            print(f"load: the logs of this run are in {kept.relative_to(ROOT)}/")
        print(line)
        return 1 if errors or stopped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
