"""Import every model module once, so that the metadata (and Alembic) sees all tables."""

from membership.accounts.models import User  # noqa: F401
from membership.audit import AuditEntry  # noqa: F401
from membership.mail import MailJob  # noqa: F401
