"""Who hosts a campaign: its fiscal host record, or the site's settings when it has none."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from membership import audit
from membership.extensions import db
from membership.fundraisers.models import Campaign
from membership.host.models import FiscalHost

MAX_FEE_BASIS_POINTS = 5000  # 50 %


class HostError(ValueError):
    """Host settings that cannot be saved; the message is a problem code."""


@dataclass(frozen=True)
class HostDetails:
    """A host as receipts, statements and the transparency page name it."""

    legal_name: str
    country: str = ""
    registration_number: str = ""
    address: str = ""
    contact: str = ""
    fee_basis_points: int = 0
    configured: bool = False  # False: read from the settings (HOST_LEGAL_NAME …)

    def as_receipt(self) -> dict[str, str]:
        """The shape receipt mails take (mail.host())."""
        return {
            "name": self.legal_name,
            "address": self.address,
            "registration": self.registration_number,
            "country": self.country,
            "contact": self.contact,
        }


def settings_host() -> HostDetails:
    """The site's own host details (HOST_LEGAL_NAME, HOST_ADDRESS, HOST_REGISTRATION)."""
    config = current_app.config
    return HostDetails(
        legal_name=config.get("HOST_LEGAL_NAME") or config.get("SITE_NAME") or "",
        address=config.get("HOST_ADDRESS") or "",
        registration_number=config.get("HOST_REGISTRATION") or "",
    )


def host_record(campaign_id: int) -> FiscalHost | None:
    """The campaign's host record, if staff made one."""
    return db.session.scalar(select(FiscalHost).where(FiscalHost.campaign_id == campaign_id))


def host_for(campaign: Campaign | int | None) -> HostDetails:
    """The one place that says who hosts a campaign (None: the site): its record, else the
    settings, with a fee of 0."""
    campaign_id = campaign.id if isinstance(campaign, Campaign) else campaign
    record = host_record(campaign_id) if campaign_id is not None else None
    if record is None:
        return settings_host()
    return HostDetails(
        legal_name=record.legal_name,
        country=record.country,
        registration_number=record.registration_number,
        address=record.address,
        contact=record.contact,
        fee_basis_points=record.fee_basis_points,
        configured=True,
    )


def parse_percent(text: str | None) -> int:
    """'5', '5.5' or '5,25' (percent) as basis points; HostError('fee') for anything else."""
    raw = (text or "0").strip().replace(",", ".").removesuffix("%").strip() or "0"
    whole, _, decimals = raw.partition(".")
    if (
        not raw.isascii()
        or not whole.isdigit()
        or (decimals and not decimals.isdigit())
        or len(decimals) > 2
    ):
        raise HostError("fee")
    points = int(whole) * 100 + int((decimals + "00")[:2])
    if points > MAX_FEE_BASIS_POINTS:
        raise HostError("fee")
    return points


def save_host(campaign: Campaign, values: dict, actor) -> FiscalHost:
    """Create or update the campaign's host (audited); a fee change restates every figure, so
    the public totals are re-read (a new version)."""
    from membership.fundraisers.totals import bump_version

    country = (values.get("country") or "").strip().upper()
    if country and (len(country) != 2 or not country.isalpha() or not country.isascii()):
        raise HostError("country")
    name = (values.get("legal_name") or "").strip()
    if not name:
        raise HostError("legal_name")
    record = host_record(campaign.id)
    if record is None:
        record = FiscalHost(campaign_id=campaign.id)
        db.session.add(record)
    before = {"fee_basis_points": record.fee_basis_points, "legal_name": record.legal_name}
    record.legal_name = name
    record.country = country
    record.registration_number = (values.get("registration_number") or "").strip()
    record.address = (values.get("address") or "").strip()
    record.contact = (values.get("contact") or "").strip()
    record.fee_basis_points = int(values.get("fee_basis_points") or 0)
    db.session.flush()
    bump_version(campaign.id)
    audit.record(
        "host.saved", "campaign", campaign.id, actor.id if actor else None,
        before=before, legal_name=name, fee_basis_points=record.fee_basis_points,
    )  # fmt: skip
    return record
