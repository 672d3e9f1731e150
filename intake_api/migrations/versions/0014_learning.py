"""Learning from use: complainants' wordings proposed as articles' phrasings; honest loop figures (a browser
token's hash on deflections for 7 days, false deflections; whether a confident suggestion was on screen).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("confident_at_submit", sa.Boolean))
    with op.batch_alter_table("deflections") as batch:
        batch.add_column(sa.Column("browser_hash", sa.String(64)))
        batch.add_column(sa.Column("contradicted_at", sa.DateTime))
        batch.create_index("ix_deflections_browser_hash", ["browser_hash"])
    op.create_table(
        "phrasings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.String(100), nullable=False, index=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("conflicts", sa.JSON, nullable=False),
        sa.Column("proposed_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("decided_by", sa.String(80)),
        sa.Column("decided_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("phrasings")
    with op.batch_alter_table("deflections") as batch:
        batch.drop_index("ix_deflections_browser_hash")
        batch.drop_column("contradicted_at")
        batch.drop_column("browser_hash")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("confident_at_submit")
