"""Staff accounts audited (staff_audit) and complaints searchable (complaints.search_text, filled in here).

Revision ID: 0011
Revises: 0009 (re-point to 0010, attachments, when both are merged)
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("username", sa.String(60), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_value", sa.Text),
        sa.Column("to_value", sa.Text),
    )
    op.create_index("ix_staff_audit_at", "staff_audit", ["at"])
    op.create_index("ix_staff_audit_username", "staff_audit", ["username"])
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("search_text", sa.Text))
    _fill_search_text()


def _fill_search_text() -> None:
    """Every existing complaint gets the text search compares, folded as new ones are (finding.search_text)."""
    from intake_api.finding import search_text
    conn = op.get_bind()
    complaints = sa.table("complaints", sa.column("id", sa.Integer), sa.column("search_text", sa.Text))
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, number, description, request, location, purged_at FROM complaints WHERE id > :last "
            "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).fetchall()
        if not rows:
            return
        conn.execute(complaints.update().where(complaints.c.id == sa.bindparam("key"))
                     .values(search_text=sa.bindparam("text")),
                     [{"key": r.id, "text": search_text(r.number, r.description, r.request, r.location,
                                                         purged=r.purged_at is not None)} for r in rows])
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("search_text")
    op.drop_index("ix_staff_audit_username", "staff_audit")
    op.drop_index("ix_staff_audit_at", "staff_audit")
    op.drop_table("staff_audit")
