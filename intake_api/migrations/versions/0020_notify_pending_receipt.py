"""The receipt's tracking code, encrypted, and the urgency of a change, in notify_pending.

The submission's transaction no longer plans the receipt (recipients,
wording, an outbox row): it leaves the code, encrypted, in the one row it
writes for the worker, which plans the receipt with the rest and deletes
the row. `urgent` marks a change that calls for an urgent or safety notice,
which the worker plans and sends at once even while the machine is busy.

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notify_pending") as batch:
        batch.add_column(sa.Column("secret", sa.Text))
        batch.add_column(sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("notify_pending") as batch:
        batch.drop_column("urgent")
        batch.drop_column("secret")
