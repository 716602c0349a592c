"""Test helpers: run a sandbox on a free port for the length of a ``with`` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stripe_sandbox.server import SandboxServer


@contextmanager
def running_sandbox(webhook_url: str | None = None, **kw: Any) -> Iterator[SandboxServer]:
    """Start a SandboxServer on a free port, yield it, and stop it afterwards."""
    kw.setdefault("port", 0)
    server = SandboxServer(webhook_url=webhook_url, **kw)
    server.start()
    try:
        yield server
    finally:
        server.stop()
