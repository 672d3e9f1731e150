"""Notifications: the outbox and its delivery attempts, switches per person and team, addresses.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("notify_email", sa.Text))
        batch.add_column(sa.Column("language", sa.String(8)))
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("email", sa.String(254)))
        batch.add_column(sa.Column("language", sa.String(8)))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False, index=True),
        sa.Column("audience", sa.String(12), nullable=False),
        sa.Column("channel", sa.String(80), nullable=False),
        sa.Column("recipient", sa.Text),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), index=True),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False, index=True),
        sa.Column("claimed_by", sa.String(80)),
        sa.Column("claimed_until", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("sent_at", sa.DateTime),
    )
    op.create_table(
        "outbox_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("worker", sa.String(80), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "notification_switches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.UniqueConstraint("owner", "kind"),
    )


def downgrade() -> None:
    op.drop_table("notification_switches")
    op.drop_table("outbox_attempts")
    op.drop_table("outbox")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("language")
        batch.drop_column("email")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("language")
        batch.drop_column("notify_email")
