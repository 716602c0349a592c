"""fiscal host: fiscal_hosts (one per campaign, with its fee), ledger_fees (Stripe's fee per
balance transaction, beside the payment's ledger row), outlet_grants (grants paid to outlets and
their counter-entries) and outlet_staff (accounts scoped to one outlet)

Revision ID: b4d8f2a6c9e3
Revises: b8d4f2a6c9e3
Create Date: 2026-12-04 01:22:29.744376

"""

import sqlalchemy as sa
from alembic import op

revision = "b4d8f2a6c9e3"
down_revision = "b8d4f2a6c9e3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fiscal_hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("registration_number", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("contact", sa.String(length=254), nullable=False),
        sa.Column("fee_basis_points", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fee_basis_points >= 0 AND fee_basis_points <= 5000",
            name=op.f("ck_fiscal_hosts_fee_range"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_fiscal_hosts_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_hosts")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_fiscal_hosts_campaign_id")),
    )
    op.create_table(
        "outlet_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("bank_reference", sa.String(length=120), nullable=False),
        sa.Column("paid_amount", sa.Integer(), nullable=True),
        sa.Column("paid_currency", sa.String(length=3), nullable=True),
        sa.Column("rate", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name=op.f("ck_outlet_grants_amount_sign"),
        ),
        sa.CheckConstraint(
            "paid_amount IS NULL OR paid_amount > 0",
            name=op.f("ck_outlet_grants_paid_amount_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_outlet_grants_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_outlet_grants_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlets.id"], name=op.f("fk_outlet_grants_outlet_id_outlets")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["outlet_grants.id"],
            name=op.f("fk_outlet_grants_reverses_id_outlet_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_grants")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_outlet_grants_reverses_id")),
        sa.UniqueConstraint("token", name=op.f("uq_outlet_grants_token")),
    )
    with op.batch_alter_table("outlet_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outlet_grants_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outlet_grants_outlet_id"), ["outlet_id"], unique=False)

    op.create_table(
        "outlet_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlets.id"], name=op.f("fk_outlet_staff_outlet_id_outlets")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outlet_staff_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outlet_staff")),
        sa.UniqueConstraint("user_id", name=op.f("uq_outlet_staff_user_id")),
    )
    with op.batch_alter_table("outlet_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outlet_staff_outlet_id"), ["outlet_id"], unique=False)

    op.create_table(
        "ledger_fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("balance_transaction_id", sa.String(length=255), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("fee", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exchange_rate", sa.String(length=32), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("outlet_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_ledger_fees_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_ledger_fees_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["outlet_id"], ["outlets.id"], name=op.f("fk_ledger_fees_outlet_id_outlets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_fees")),
        sa.UniqueConstraint(
            "balance_transaction_id", name=op.f("uq_ledger_fees_balance_transaction_id")
        ),
    )
    with op.batch_alter_table("ledger_fees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_fees_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ledger_fees_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_fees_occurred_at"), ["occurred_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("ledger_fees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_fees_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_fees_entry_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_fees_campaign_id"))

    op.drop_table("ledger_fees")
    with op.batch_alter_table("outlet_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlet_staff_outlet_id"))

    op.drop_table("outlet_staff")
    with op.batch_alter_table("outlet_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outlet_grants_outlet_id"))
        batch_op.drop_index(batch_op.f("ix_outlet_grants_campaign_id"))

    op.drop_table("outlet_grants")
    op.drop_table("fiscal_hosts")
