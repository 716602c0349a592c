"""Who received a donor's money, as statements and receipts name it: the host's legal details.

A campaign's fiscal host record (issue #17, membership/host/hosts.py), else the settings
HOST_LEGAL_NAME, HOST_ADDRESS and HOST_REGISTRATION: `host_for` asks host.hosts.host_for, the one
place that says who hosts a campaign.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    """A host's legal name, postal address and registration number (the last two may be "")."""

    name: str
    address: str = ""
    registration: str = ""


def host_for(campaign=None) -> Host:
    """The host that received gifts to `campaign` (any campaign, or none: the site's host)."""
    from membership.host.hosts import host_for as fiscal_host_for

    details = fiscal_host_for(campaign)
    return Host(
        name=details.legal_name,
        address=details.address,
        registration=details.registration_number,
    )
