"""Photos and files attached to complaints (the bytes live in paths.attachments, not in the database).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("storage_id", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("uploaded_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("complaint_messages.id"), nullable=True),
    )
    op.create_index("ix_attachments_complaint_id", "attachments", ["complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_complaint_id", "attachments")
    op.drop_table("attachments")
