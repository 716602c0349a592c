"""The progress API as its OpenAPI document describes it: schemathesis asks it, every answer
conforms (status, headers, body schema), and a real campaign's figures validate."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.fundraisers.conftest import SLUG, give_and_pay

OPERATION = "/fundraisers/{slug}/progress"


def test_the_document_describes_the_progress_api_and_its_answers_conform(app, campaign, client):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[OPERATION]["GET"]
    seen: set[int] = set()

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy())
    def check(case):
        response = case.call()
        seen.add(response.status_code)
        case.validate_response(response)

    check()
    for known in (SLUG, "nothing-here"):  # the generator rarely guesses a live slug
        response = operation.Case(path_parameters={"slug": known}).call()
        operation.validate_response(response)
        seen.add(response.status_code)
    assert {200, 404} <= seen


def test_a_campaigns_figures_validate_against_the_documented_schema(
    app, campaign, auth, client, stripe_world
):
    give_and_pay(auth, stripe_world, amount="40")
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[OPERATION]["GET"]
    response = operation.Case(path_parameters={"slug": SLUG}).call()
    operation.validate_response(response)  # raises on any mismatch with the document
    assert response.json()["raised"] == 4000
