"""The WordPress plugin's tests over HTTP: the site fixtures come from tests/wordpress/fixtures.py
(shared with tests/browser/), the live app from the browser tests' fixture."""

from __future__ import annotations

import pytest

from tests.access.conftest import AccessWorld
from tests.browser.conftest import live_server  # noqa: F401 (the same live app)


@pytest.fixture
def world(app) -> AccessWorld:
    """Perks, grants and rules as rows."""
    return AccessWorld(app)
