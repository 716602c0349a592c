"""Who received a donor's money, as statements and receipts name it: the host's legal details.

Today one host for every campaign, from the settings HOST_LEGAL_NAME, HOST_ADDRESS and
HOST_REGISTRATION. Once campaigns carry their own host record (issue #17), `host_for` reads
the campaign's and nothing else changes: every caller already passes the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class Host:
    """A host's legal name, postal address and registration number (the last two may be "")."""

    name: str
    address: str = ""
    registration: str = ""


def host_for(campaign=None) -> Host:
    """The host that received gifts to `campaign` (any campaign, or none: the site's host)."""
    config = current_app.config
    return Host(
        name=config.get("HOST_LEGAL_NAME") or config.get("SITE_NAME") or "",
        address=config.get("HOST_ADDRESS") or "",
        registration=config.get("HOST_REGISTRATION") or "",
    )
