"""Privacy: disclosure choice, identity encrypted at rest, follow-up messages, purge marker.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

from intake_api import crypto

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

IDENTITY = ("name", "department", "position", "contact")


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("disclosure", sa.String(12), nullable=False, server_default="named"))
        batch.add_column(sa.Column("purged_at", sa.DateTime))
        for col in IDENTITY:
            batch.alter_column(col, type_=sa.Text)
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE complaints SET disclosure = 'anonymous' WHERE anonymous = :yes"), {"yes": True})
    # Encrypt identities stored in clear by earlier versions.
    rows = conn.execute(sa.text("SELECT id, name, department, position, contact FROM complaints")).fetchall()
    for row in rows:
        values = {col: crypto.encrypt(val) for col, val in zip(IDENTITY, row[1:])}
        if any(v is not None for v in values.values()):
            conn.execute(sa.text("UPDATE complaints SET name = :name, department = :department, "
                                 "position = :position, contact = :contact WHERE id = :id"), dict(values, id=row[0]))
    op.create_table(
        "complaint_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("author", sa.String(20), nullable=False),
        sa.Column("staff_username", sa.String(60)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_complaint_messages_complaint_id", "complaint_messages", ["complaint_id"])


def downgrade() -> None:
    op.drop_table("complaint_messages")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("purged_at")
        batch.drop_column("disclosure")
