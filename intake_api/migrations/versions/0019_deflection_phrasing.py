"""A "this solved it" click proposes its query as a phrasing: each deflection names the proposal it supports,
so a false deflection (a complaint from the same browser within the window) can withdraw it.

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deflections") as batch:
        batch.add_column(sa.Column("phrasing_id", sa.Integer))
        batch.create_foreign_key("fk_deflections_phrasing_id", "phrasings", ["phrasing_id"], ["id"])
        batch.create_index("ix_deflections_phrasing_id", ["phrasing_id"])


def downgrade() -> None:
    with op.batch_alter_table("deflections") as batch:
        batch.drop_index("ix_deflections_phrasing_id")
        batch.drop_constraint("fk_deflections_phrasing_id", type_="foreignkey")
        batch.drop_column("phrasing_id")
