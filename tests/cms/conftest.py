"""Runners for the CMS samples of docs/cms-integration.md: the Python sample imported as a module,
the Node sample under node with `jose` from npm (`npm ci` in tests/cms/node), the PHP sample
under php-cli. Each answers `perks(token)` as one page view would, and `advance(seconds)` moves
the clock its key-set cache reads.

(The browser snippet runs in tests/browser/test_cms_snippet_browser.py.) Without node, npm or php
these tests skip and say why; where the run requires the browser tests
(REQUIRE_BROWSER=1, as in CI, whose .ci/run installs them) they fail instead.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.access.conftest import AccessWorld
from tests.backend_calls import Calls, record
from tests.browser.conftest import live_server  # noqa: F401 (the same live app)
from tests.cms.samples import sample
from tests.conftest import unavailable

HERE = Path(__file__).resolve().parent
NODE_PROJECT = HERE / "node"


def _needs(program: str, why: str) -> str:
    found = shutil.which(program)
    if found is None:
        unavailable("browser", f"no {program} on PATH for {why}: see .ci/run")
    return found


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/cms/node/node_modules as package-lock.json says (`npm ci` once, when it differs)."""
    _needs("node", "the Node sample")
    npm = _needs("npm", "the Node sample's jose")
    lock = NODE_PROJECT / "package-lock.json"
    installed = NODE_PROJECT / "node_modules" / ".package-lock.json"
    guard_file = Path(tempfile.gettempdir()) / "membership-tests-npm-ci.lock"
    with guard_file.open("w") as guard:  # xdist workers install one at a time
        fcntl.flock(guard, fcntl.LOCK_EX)
        wanted = json.loads(lock.read_text())["packages"]
        have = json.loads(installed.read_text())["packages"] if installed.exists() else {}
        if {k: v for k, v in wanted.items() if k} != have:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=NODE_PROJECT, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            if done.returncode != 0:
                unavailable("browser", f"npm ci failed in {NODE_PROJECT}: {done.stderr[-500:]}")
    return NODE_PROJECT / "node_modules"


class PythonSample:
    """The Python sample, imported; its clock is PyJWT's time.monotonic, moved by `advance`."""

    def __init__(self, address: str, workdir: Path, monkeypatch) -> None:
        path = workdir / "members_sample.py"
        path.write_text(sample("python", address))
        spec = importlib.util.spec_from_file_location("members_sample", path)
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.offset = 0.0
        self.log = _Records()
        logging.getLogger().addHandler(self.log)
        clock = SimpleNamespace(monotonic=lambda: time.monotonic() + self.offset, time=time.time)
        for name in ("jwks_client", "jwk_set_cache", "api_jwk"):
            monkeypatch.setattr(sys.modules[f"jwt.{name}"], "time", clock)

    def perks(self, token: str) -> list[str] | None:
        return self.module.reader_perks(token)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def close(self) -> str:
        """Stop; what the sample logged."""
        logging.getLogger().removeHandler(self.log)
        return "\n".join(self.log.lines)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class ProcessSample:
    """A sample in a process of its own, spoken to one JSON line at a time."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **(env or {})}, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.logged: str | None = None

    def ask(self, command: dict) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the sample stopped: {self.process.stderr.read()}")
        return json.loads(line)

    def perks(self, token: str) -> list[str] | None:
        return self.ask({"token": token})["perks"]

    def close(self) -> str:
        """Stop; what the sample wrote to its error output (its log)."""
        if self.logged is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)
            self.logged = self.process.stderr.read()
            self.process.stdout.close()
            self.process.stderr.close()
        return self.logged


class NodeSample(ProcessSample):
    """The Node sample as an ES module beside jose; `advance` moves the Date.now jose reads."""

    def __init__(self, address: str, workdir: Path, node_modules: Path) -> None:
        (workdir / "node_modules").symlink_to(node_modules)
        (workdir / "sample.mjs").write_text(sample("node", address))
        driver = HERE / "node" / "driver.mjs"
        super().__init__(["node", str(driver), str(workdir / "sample.mjs")], workdir)

    def advance(self, seconds: float) -> None:
        self.ask({"advance": seconds})


class PhpSample(ProcessSample):
    """The PHP sample under php-cli, its temporary directory the test's: `advance` ages the
    key-set file it keeps there."""

    def __init__(self, address: str, workdir: Path) -> None:
        self.tmp = workdir / "tmp"
        self.tmp.mkdir()
        (workdir / "sample.php").write_text(sample("php", address))
        driver = HERE / "php" / "driver.php"
        super().__init__(
            ["php", str(driver), str(workdir / "sample.php")], workdir, {"TMPDIR": str(self.tmp)}
        )

    def advance(self, seconds: float) -> None:
        for cached in self.tmp.glob("*.json"):
            stat = cached.stat()
            os.utime(cached, (stat.st_atime - seconds, stat.st_mtime - seconds))


@pytest.fixture(params=["python", "node", "php"])
def verifier(request, live_server, tmp_path, monkeypatch):  # noqa: F811
    """One sample of the page, pointed at this test's app."""
    if request.param == "python":
        runner = PythonSample(live_server, tmp_path, monkeypatch)
    elif request.param == "node":
        runner = NodeSample(live_server, tmp_path, request.getfixturevalue("node_modules"))
    else:
        _needs("php", "the PHP sample")
        runner = PhpSample(live_server, tmp_path)
    yield runner
    runner.close()  # a second close (after a test's own) does nothing


@pytest.fixture
def key_fetches(app) -> Calls:
    """Every request the app receives, path by path (the samples fetch /api/v1/keys)."""
    return record(app)


@pytest.fixture
def world(app) -> AccessWorld:
    return AccessWorld(app)
