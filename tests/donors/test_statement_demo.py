"""The demo has a donor with gifts and a refund, and prints the link to her statement."""

from __future__ import annotations

import re

from membership.donors.demo import DONOR
from tests.fundraisers.conftest import text_of


def test_demo_seed_prints_a_statement_link_that_opens(app, runner, client):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "1 donor with a statement" in result.output
    link = re.search(rf"Donor statement of {DONOR} \(no account needed\): \S+(/donors/\S+)",
                     result.output)  # fmt: skip
    assert link, result.output
    page = client.get(link.group(1) + "?lang=en")
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "Independent Together" in text and "River Daily" in text
    assert "-€10.00" in text  # the refund
    assert "€120.00" in text  # €40 + €25 + €15 + a €50 bank transfer, less €10
    again = runner.invoke(args=["demo", "seed"])
    assert "donor with a statement" not in again.output  # once
