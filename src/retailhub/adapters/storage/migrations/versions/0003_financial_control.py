"""Financial control (issue 4): the posting rule behind each entry, what each accounting
target accepted or refused, the targets' OAuth tokens, closed periods, and what the customer
paid on a settlement line the gateway converted (multi-currency).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("journal_entries") as batch:
        batch.add_column(sa.Column("rule_version", sa.String(length=120), nullable=True))
    with op.batch_alter_table("settlement_lines") as batch:
        batch.add_column(sa.Column("original_amount", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("original_currency", sa.String(length=3), nullable=True))
    op.create_table(
        "erp_postings",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("entry_id", _Id, nullable=False),
        sa.Column("entry_key", sa.String(length=250), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("document", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.String(length=120), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_erp_postings_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erp_postings")),
        sa.UniqueConstraint("target", "entry_id", name="uq_erp_postings_target_entry"),
    )
    op.create_table(
        "erp_tokens",
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_erp_tokens")),
    )
    op.create_table(
        "closed_periods",
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_closed_periods")),
    )
    op.create_table(
        "period_events",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_events")),
    )
    op.create_index(op.f("ix_period_events_period"), "period_events", ["period"])


def downgrade() -> None:
    op.drop_table("period_events")
    op.drop_table("closed_periods")
    op.drop_table("erp_tokens")
    op.drop_table("erp_postings")
    with op.batch_alter_table("settlement_lines") as batch:
        batch.drop_column("original_currency")
        batch.drop_column("original_amount")
    with op.batch_alter_table("journal_entries") as batch:
        batch.drop_column("rule_version")
