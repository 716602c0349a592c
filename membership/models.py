"""Import every model module once, so that the metadata (and Alembic) sees all tables."""

from membership.access.models import AccessRule, ApiKey, MeterRead  # noqa: F401
from membership.accounts.models import User  # noqa: F401
from membership.admin.models import StaffNote  # noqa: F401 - staff notes, report indexes
from membership.attribution import Attribution  # noqa: F401
from membership.audit import AuditEntry  # noqa: F401
from membership.billing.models import (  # noqa: F401
    Membership,
    PaymentRecovery,
    Plan,
    Price,
    RecoveryNotice,
    StripeEvent,
)
from membership.fundraisers.models import Campaign, Donation  # noqa: F401
from membership.gifts.models import GiftMembership  # noqa: F401
from membership.host.models import FiscalHost, OutletGrant, OutletStaff  # noqa: F401
from membership.ledger.models import LedgerEntry, LedgerFee  # noqa: F401
from membership.mail import MailJob  # noqa: F401
from membership.perks.models import Perk, PerkGrant  # noqa: F401
