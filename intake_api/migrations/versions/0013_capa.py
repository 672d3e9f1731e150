"""Corrective and preventive actions (CAPA): what, the owner team, a due date, status and evidence, linked to
complaints or to a recurring-problem cluster.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capa_actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("owner_team", sa.String(40), nullable=False, index=True),
        sa.Column("due_at", sa.DateTime, nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("cluster", sa.String(200)),
        sa.Column("evidence", sa.Text),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("done_at", sa.DateTime),
        sa.Column("done_by", sa.String(80)),
    )
    op.create_table(
        "capa_complaints",
        sa.Column("capa_id", sa.Integer, sa.ForeignKey("capa_actions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), primary_key=True, index=True),
    )


def downgrade() -> None:
    op.drop_table("capa_complaints")
    op.drop_table("capa_actions")
