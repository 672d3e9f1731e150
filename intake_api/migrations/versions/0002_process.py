"""The complaint process: staff, triage fields, SLA timestamps, history, alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMPS = ("first_response_due_at", "resolution_due_at", "result_due_at", "assessed_at",
              "first_responded_at", "investigation_started_at", "investigation_ended_at",
              "resolved_at", "closed_at", "rated_at")


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(60), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("teams", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("team", sa.String(40)))
        batch.add_column(sa.Column("handler_id", sa.Integer, sa.ForeignKey("staff_users.id", name="fk_complaints_handler")))
        batch.add_column(sa.Column("responsibility", sa.String(20)))
        batch.add_column(sa.Column("safety_flag", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("entered_by_id", sa.Integer, sa.ForeignKey("staff_users.id", name="fk_complaints_entered_by")))
        batch.add_column(sa.Column("rating", sa.Integer))
        batch.add_column(sa.Column("rating_comment", sa.Text))
        for name in TIMESTAMPS:
            batch.add_column(sa.Column(name, sa.DateTime))
        batch.create_index("ix_complaints_team", ["team"])
        batch.create_index("ix_complaints_handler_id", ["handler_id"])
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_value", sa.Text),
        sa.Column("to_value", sa.Text),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_complaint_events_complaint_id", "complaint_events", ["complaint_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("complaint_ids", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("acknowledged_at", sa.DateTime),
        sa.Column("acknowledged_by", sa.String(60)),
    )
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("complaint_events")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_index("ix_complaints_handler_id")
        batch.drop_index("ix_complaints_team")
        for name in ("team", "handler_id", "responsibility", "safety_flag", "entered_by_id", "rating",
                     "rating_comment", *TIMESTAMPS):
            batch.drop_column(name)
    op.drop_table("staff_users")
