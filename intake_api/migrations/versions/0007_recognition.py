"""What the recogniser decided, the handler's temporary measures, alerts acknowledged with a note, one alert per wave.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("recognised_kind", sa.String(20)))
        batch.add_column(sa.Column("recognised_reason", sa.Text))
        batch.add_column(sa.Column("temporary_measures", sa.Text))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("acknowledged_note", sa.Text))
    op.create_table(
        "alert_locks",
        sa.Column("key", sa.String(60), primary_key=True),
        sa.Column("counter", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("alert_locks")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("acknowledged_note")
    with op.batch_alter_table("complaints") as batch:
        for name in ("temporary_measures", "recognised_reason", "recognised_kind"):
            batch.drop_column(name)
