"""Sections of the account page that other domains contribute (membership, donations, …)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from membership.accounts.models import User

# (template, context function): the account page includes each template with its context.
SECTIONS: list[tuple[str, Callable[[User], dict[str, Any]]]] = []


def register(template: str, context: Callable[[User], dict[str, Any]]) -> None:
    """Add a section once."""
    if all(existing != template for existing, _ in SECTIONS):
        SECTIONS.append((template, context))


def render_context(user: User) -> list[tuple[str, dict[str, Any]]]:
    """Every section's template and context for this reader."""
    return [(template, context(user)) for template, context in SECTIONS]
