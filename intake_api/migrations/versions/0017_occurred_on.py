"""A complaint's date alone (occurred_on): a date without a time is no longer stored as an invented midnight.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot drop NOT NULL in place (Alembic copies the table there; PostgreSQL alters it).
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("occurred_on", sa.Date, nullable=True))
        batch.alter_column("occurred_at", existing_type=sa.DateTime, nullable=True)


def downgrade() -> None:
    # A date alone becomes that day's midnight UTC again: the old schema has nowhere else to put it.
    op.execute("UPDATE complaints SET occurred_at = occurred_on WHERE occurred_at IS NULL")
    with op.batch_alter_table("complaints") as batch:
        batch.alter_column("occurred_at", existing_type=sa.DateTime, nullable=False)
        batch.drop_column("occurred_on")
