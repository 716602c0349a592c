"""Ledger fixtures: the billing ones (catalogue, a signed-in reader) and the fundraiser's."""

from __future__ import annotations

from tests.billing.conftest import catalogue, reader  # noqa: F401
