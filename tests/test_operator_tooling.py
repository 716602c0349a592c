"""What an operator runs besides the app: `make load` (a smoke run of the real locust file
against the real stack), the Makefile's install split, the dependency audit's verdicts, and
the deployment files (Procfile, systemd units, Dockerfile, compose.yaml) naming commands that
exist and installing as the Makefile does."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import audit

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "LOAD_DATABASE_URL", "LOAD_REDIS_URL"}}  # fmt: skip


def make_dry_run(target: str) -> str:
    """What `make -n -B TARGET` would run from scratch (nothing is run)."""
    outer = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTEST_ARGS", "PYTHON"}  # from a `make test`
    env = {k: v for k, v in os.environ.items() if k not in outer}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.mark.timeout(300)  # a whole stack starts: ~20 s on a quiet machine, more when shared
def test_load_smoke_run_joins_gives_and_sends_webhooks_with_no_error():
    """`python -m load --smoke` starts gunicorn, the worker and the sandbox, and every reader
    browses, gives and joins once through the sandbox's Checkout while Stripe's user sends
    signed, forged and unknown events; every payment ends confirmed by the worker."""
    done = subprocess.run(
        [sys.executable, "-m", "load", "--smoke", "--users", "3", "--run-time", "90s",
         "--members", "3"],
        cwd=ROOT, env=CLEAN_ENV, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    # "<group> [(Stripe sandbox)]  requests errors p50 p95 p99", one line per group
    rows = dict(re.findall(r"^(\w+)(?: \(Stripe sandbox\))? +(\d+ +\d+)", out, re.M))
    for group in ("browse", "join", "give", "webhook", "sandbox"):
        assert group in rows, out
        requests, errors = map(int, rows[group].split())
        assert requests > 0 and errors == 0, (group, rows[group])
    for request in ("POST /register", "POST /plans/[slug]/checkout", "POST pay",
                    "POST /fundraisers/[slug]/donate", "POST bad signature"):  # fmt: skip
        assert f"  {request} " in out, out
    summary = out.strip().splitlines()[-1]
    assert re.search(r"2 joins and 2 gifts paid, 4 confirmed by the worker", summary), summary
    assert summary.endswith("0 failed events; 0 errors"), summary


def test_make_run_installs_the_app_alone_and_test_adds_dev_extra():
    run = make_dry_run("run")
    assert "pip install --quiet --no-compile -e .\n" in run
    assert "[dev]" not in run
    assert "pybabel -q compile -d translations -l ka" in run  # translated pages under make run
    assert run.strip().endswith("python -m membership.devserver")
    test = make_dry_run("test")
    assert "-e '.[dev]'" in test
    assert re.search(r"python -m pytest -n 2$", test.strip())
    assert make_dry_run("load").strip().endswith(".venv/bin/python -m load")
    lint = make_dry_run("lint")
    assert "bandit -q -c pyproject.toml -r membership stripe_sandbox" in lint
    assert "python tools/audit.py" in lint
    messages = make_dry_run("messages")
    assert "pybabel extract" in messages
    assert "pybabel update -i translations/messages.pot -d translations" in messages


def test_audit_fails_on_a_known_vulnerability_and_skips_what_it_cannot_audit():
    report = {"dependencies": [
        {"name": "flask", "version": "0.1", "vulns": [{"id": "PYSEC-1", "fix_versions": ["1.0"]}]},
        {"name": "werkzeug", "version": "9.9", "skip_reason": "not found on PyPI"},
    ]}  # fmt: skip
    status, lines = audit.summarise(report)
    assert status == 1
    assert "flask 0.1: PYSEC-1 (fixed in 1.0)" in "\n".join(lines)
    status, lines = audit.summarise({"dependencies": [report["dependencies"][1]]})
    assert status == 0 and lines == [
        "dependency audit skipped: PyPI's advisory database knows none of the 1 installed "
        "versions, so none could be audited"
    ]
    clean = {"dependencies": [{"name": "flask", "version": "3.1", "vulns": []}]}
    assert audit.summarise(clean) == (0, ["dependency audit: 1 installed packages, no known "
                                          "vulnerabilities"])  # fmt: skip


def test_audit_says_in_one_line_when_the_advisory_database_cannot_be_reached(capsys, monkeypatch):
    monkeypatch.setattr(audit, "ADVISORIES", "https://advisories.invalid/pypi/pip/json")
    assert audit.main() == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("dependency audit skipped: the advisory database")


def _flask_commands() -> set[str]:
    """Top-level `flask --app wsgi` commands the app really has."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "--help"], cwd=ROOT,
                          env={**CLEAN_ENV, "SECRET_KEY": "x"}, capture_output=True, text=True,
                          check=True)  # fmt: skip
    listing = done.stdout.split("Commands:", 1)[1]
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


def _check_command(words: list[str], commands: set[str]) -> str:
    """Which program a deployment file runs; fails on a flask command that does not exist."""
    program = Path(words[0]).name
    if program == "flask":
        assert words[1:3] == ["--app", "wsgi"], words
        assert words[3] in commands, f"flask {words[3]} does not exist"
    elif program == "gunicorn":
        assert words[1] == "wsgi:app", words
    return program


def test_procfile_and_systemd_units_run_gunicorn_and_the_worker():
    commands = _flask_commands()
    assert {"worker", "db"} <= commands
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(procfile) == {"release", "web", "worker"}
    assert procfile["release"] == "flask --app wsgi db upgrade"
    assert _check_command(shlex.split(procfile["web"]), commands) == "gunicorn"
    assert procfile["worker"] == "flask --app wsgi worker"
    units = ROOT / "deploy" / "systemd"
    for unit, program in (("membership-web", "gunicorn"), ("membership-worker", "flask")):
        text = (units / f"{unit}.service").read_text()
        starts = re.findall(r"^ExecStart=(.+)$", text, re.M)
        assert len(starts) == 1, unit
        words = shlex.split(starts[0])
        assert words[0].startswith("/srv/membership/.venv/bin/"), words
        assert _check_command(words, commands) == program
        assert "EnvironmentFile=/etc/membership/env" in text
        assert re.search(r"^Restart=", text, re.M)
    assert "--timeout 30" in (units / "membership-web.service").read_text()


def test_compose_runs_app_worker_postgres_and_redis_from_one_image():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"app", "worker", "db", "redis", "migrate"} <= set(services)
    commands = _flask_commands()
    assert _check_command(services["app"]["command"], commands) == "gunicorn"
    assert services["worker"]["command"] == ["flask", "--app", "wsgi", "worker"]
    assert services["migrate"]["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    for name in ("app", "worker", "migrate"):
        assert services[name]["env_file"] == ".env"
        env = services[name]["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgresql+psycopg://")
            and "@db:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["WEBHOOK_PROCESSING"] == "queued"
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]


def test_dockerfile_installs_and_serves_as_the_makefile_and_procfile_do():
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    runs = " ".join(re.findall(r"^RUN (.+?)(?<!\\)$", dockerfile.replace("\\\n", " "), re.M))
    app_stamp = re.search(r"^\$\(APP\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    install = next(line.strip() for line in app_stamp.splitlines() if "pip install" in line)
    assert install.replace("$(BIN)", ".venv/bin") in runs  # the same install as `make run`
    compile_rule = re.search(r"^\t@?(\$\(BIN\)/pybabel -q compile -d translations)", makefile, re.M)
    assert compile_rule.group(1).replace("$(BIN)", ".venv/bin") in runs
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}$", dockerfile, re.M)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert re.search(r"^USER membership$", dockerfile, re.M)  # not root
    assert "/healthz" in re.search(r"^HEALTHCHECK .+?\]$", dockerfile, re.M | re.S).group(0)
    cmd = re.search(r"^CMD (\[.+\])$", dockerfile, re.M).group(1)
    assert (
        yaml.safe_load(cmd)
        == yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["app"]["command"]
    )
    assert yaml.safe_load(cmd)[:2] == ["gunicorn", "wsgi:app"]


@pytest.mark.parametrize("path", ["Procfile", "Dockerfile", "compose.yaml", "deploy/README.md"])
def test_deployment_files_are_described_in_the_docs(path):
    assert path in (ROOT / "docs" / "deployment.md").read_text()


def test_load_takes_only_an_empty_database_or_one_it_made(tmp_path):
    """`make load` writes readers and payments: it refuses a database with other data in it."""
    from sqlalchemy import create_engine, inspect, text

    from load.stack import MARKER, StackError, prepare_database

    url = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    prepare_database(url)
    prepare_database(url)  # its own, from an earlier run: taken again
    engine = create_engine(url)
    assert MARKER in inspect(engine).get_table_names()
    engine.dispose()
    other = f"sqlite:///{tmp_path / 'members.sqlite3'}"
    engine = create_engine(other)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"))
    engine.dispose()
    with pytest.raises(StackError, match="not empty and no load run made it"):
        prepare_database(other)
