"""The outcome (solutions, a promised date), the response in three parts, supervisor review and arbitration,
staff follow-ups (回访), investigation steps and tasks for other teams, the complainant's confirmation of the written report.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = [
    ("investigation_step", sa.String(40)),
    ("solutions", sa.JSON), ("promise_text", sa.String(200)), ("promise_due_at", sa.DateTime),
    ("promise_kept_at", sa.DateTime), ("response_basis", sa.Text), ("response_result", sa.Text),
    ("response_followup", sa.Text), ("review_due_at", sa.DateTime), ("reviewed_at", sa.DateTime),
    ("review_outcome", sa.String(20)), ("arbitration_by", sa.String(200)), ("arbitration_result", sa.Text),
    ("report_confirmation", sa.String(12)), ("report_confirmed_at", sa.DateTime),
]


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("staff_username", sa.String(60), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("score", sa.Integer),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "complaint_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False, index=True),
        sa.Column("team", sa.String(40), nullable=False, index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False, index=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("done_at", sa.DateTime),
        sa.Column("done_by", sa.String(80)),
        sa.Column("note", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("complaint_tasks")
    op.drop_table("follow_ups")
    with op.batch_alter_table("complaints") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
