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
    """Every section's template and context for this reader.

    A section may put values for the others under "shared" (the gifts section names the gift
    each gift purchase paid for, so the payments list can say so); every section then reads
    all of them as `section.shared`, so no domain imports another's views for it.
    """
    contexts = [(template, context(user)) for template, context in SECTIONS]
    shared: dict[str, Any] = {}
    for _template, context in contexts:
        shared.update(context.get("shared", {}))
    return [(template, {**context, "shared": shared}) for template, context in contexts]
