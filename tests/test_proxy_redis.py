"""Redis is optional for rate limits: while it is away they count in this process's memory, and
they go back to Redis by themselves when it returns."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from membership.accounts.background import background
from tests.conftest import PASSWORD
from tests.redis_server import PrivateRedis
from tests.webclient import Browser, register, wrong_login


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def limiter_log(caplog, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flask-limiter" and text in r.getMessage()]


def test_signing_in_works_while_redis_is_down_and_limits_return_to_redis(
    make_app, private_redis, caplog
):
    app = make_app(REDIS_URL=private_redis.url, RATE_LIMIT_LOGIN="3 per minute")
    browser = Browser(app, "http://localhost")
    assert register(browser).status_code == 303
    assert browser.form("/logout", {}, page="/account").status_code == 303
    assert wrong_login(app, "before@example.org", None, remote="10.0.0.9") == 400
    assert private_redis.keys("LIMITS*")  # counted in Redis while it is up

    private_redis.stop()
    caplog.set_level(logging.INFO, logger="flask-limiter")
    started = time.monotonic()
    signed_in = browser.form("/login", {"email": "reader@example.org", "password": PASSWORD})
    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)[:500]
    assert browser.request("GET", "/account").status_code == 200
    # The limit still applies, in this process's memory.
    assert [wrong_login(app, f"w{n}@example.org", None) for n in range(4)] == [400] * 3 + [429]
    assert time.monotonic() - started < 5
    assert len(limiter_log(caplog, "falling back to in-memory")) == 1  # once per outage

    private_redis.start()  # empty: `--save ''`
    wait_for_recovery(browser, caplog)

    assert [wrong_login(app, f"r{n}@example.org", None, remote="10.0.0.3") for n in range(4)] == [
        400,
        400,
        400,
        429,
    ]
    counted = [key for key in private_redis.keys("LIMITS*") if b"10.0.0.3" in key]
    assert counted, private_redis.keys("*")


class HungRedis:
    """An address that accepts connections and never answers, like a stuck Redis; it counts
    the connections made to it (each costs its client one socket timeout)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.held.append(connection)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, frees the port
        self.listener.close()
        for connection in self.held:
            connection.close()


def wait_for_recovery(browser: Browser, caplog) -> None:
    """Ask limited pages until the limiter says it is back on Redis (it checks with back-off)."""
    deadline = time.monotonic() + 60
    while not limiter_log(caplog, "recovered") and time.monotonic() < deadline:
        browser.request("GET", "/login")
        time.sleep(0.25)
    assert limiter_log(caplog, "recovered"), "rate limits did not go back to Redis"


def _sign_up_and_fail_logins(app, mailbox, email: str, remote: str) -> float:
    """Register (its mail goes out), then four wrong passwords; the seconds it all took."""
    browser = Browser(app, "http://localhost")
    started = time.monotonic()
    assert register(browser, email).status_code == 303
    background(app).wait(timeout=10)  # the verification mail goes out inline instead
    assert mailbox.to(email)
    logins = [wrong_login(app, f"w{n}@example.org", None, remote=remote) for n in range(4)]
    assert logins == [400] * 3 + [429]
    return time.monotonic() - started


def test_a_hung_redis_never_stalls_sign_in_or_mail(make_app, mailbox, tmp_path, caplog):
    # The same steps without any Redis: what they cost on this machine, however loaded.
    alone = make_app(REDIS_URL="", RATE_LIMIT_LOGIN="3 per minute")
    baseline = _sign_up_and_fail_logins(alone, mailbox, "first@example.org", "10.0.0.7")

    hung = HungRedis()
    app = make_app(REDIS_URL=hung.url, RATE_LIMIT_LOGIN="3 per minute")
    caplog.set_level(logging.INFO, logger="flask-limiter")
    took = _sign_up_and_fail_logins(app, mailbox, "reader@example.org", "10.0.0.1")
    # A hung Redis costs a few socket timeouts of 0.5 s in all (the rate limits notice it once
    # and count in memory, the mail queue sends inline): not one wait per request, let alone
    # the client's default of none at all.
    assert took - baseline < 3.0, (took, baseline, len(hung.held))
    browser = Browser(app, "http://localhost")

    # A real Redis takes the address over: the limits go back to it by themselves.
    hung.close()
    redis = PrivateRedis(tmp_path, port=hung.port)
    redis.start()
    try:
        wait_for_recovery(browser, caplog)
        assert wrong_login(app, "after@example.org", None, remote="10.0.0.4") == 400
        assert [key for key in redis.keys("LIMITS*") if b"10.0.0.4" in key]
    finally:
        redis.stop()
