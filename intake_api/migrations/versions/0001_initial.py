"""Complaints and deflections.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(20), unique=True),
        sa.Column("tracking_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("name", sa.String(100)),
        sa.Column("department", sa.String(100)),
        sa.Column("position", sa.String(100)),
        sa.Column("contact", sa.String(200)),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("response", sa.Text),
        sa.Column("shown_articles", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("assessment_due_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_complaints_tracking_hash", "complaints", ["tracking_hash"], unique=True)
    op.create_index("ix_complaints_category", "complaints", ["category"])
    op.create_index("ix_complaints_status", "complaints", ["status"])
    op.create_index("ix_complaints_received_at", "complaints", ["received_at"])
    op.create_table(
        "deflections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.String(100), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_deflections_article_id", "deflections", ["article_id"])
    op.create_index("ix_deflections_created_at", "deflections", ["created_at"])


def downgrade() -> None:
    op.drop_table("deflections")
    op.drop_table("complaints")
