"""Who a complaint is about (a department, a role) and the department of each staff member.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("about_department", sa.String(40)))
        batch.add_column(sa.Column("about_role", sa.String(100)))
        batch.create_index("ix_complaints_about_department", ["about_department"])
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("department", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("department")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_index("ix_complaints_about_department")
        batch.drop_column("about_role")
        batch.drop_column("about_department")
