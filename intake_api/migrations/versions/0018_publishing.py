"""Publishing without a shell (approved articles queued for the worker's build) and calendar days entered by
admins in the workspace.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.String(100), nullable=False, index=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), index=True),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("requested_by", sa.String(80), nullable=False),
        sa.Column("approved_by", sa.String(80)),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("queued_at", sa.DateTime),
        sa.Column("started_at", sa.DateTime),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("worker", sa.String(80)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message", sa.Text),
    )
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(60), nullable=False, server_default=""),
        sa.Column("added_by", sa.String(80), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("removed_by", sa.String(80)),
        sa.Column("removed_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("calendar_days")
    op.drop_table("publications")
