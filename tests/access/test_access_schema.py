"""Property-based API test: schemathesis drives /api/v1 from its own OpenAPI document, no 5xx.

Valid and invalid requests (GenerationMode positive and negative) for every operation, in-process
over WSGI. (schemathesis' lazy pytest loader does not run on pytest 9, so the test builds the
strategy from the live document itself and hands it to hypothesis.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from membership.access.models import RuleKind


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_no_server_errors(app, world, mode):
    world.rule(RuleKind.slug.value, "the-river-report")
    world.grant(world.user())
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    seen: list[int] = []

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=schema.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call()
        seen.append(response.status_code)
        assert response.status_code < 500, case.as_curl_command()
        assert response.headers.get("content-type", [""])[0].startswith("application/json")

    check()
    assert len(seen) >= 20
