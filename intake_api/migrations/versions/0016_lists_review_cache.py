"""Alert-complaint links (the alerts list pages by who may see them, in SQL) and the review cache (figures, breaches).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_complaints",
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), primary_key=True),
    )
    op.create_index("ix_alert_complaints_complaint_id", "alert_complaints", ["complaint_id"])
    alerts = sa.table("alerts", sa.column("id", sa.Integer), sa.column("complaint_ids", sa.JSON))
    links = sa.table("alert_complaints", sa.column("alert_id", sa.Integer), sa.column("complaint_id", sa.Integer))
    bind = op.get_bind()
    rows = [{"alert_id": a.id, "complaint_id": int(i)}
            for a in bind.execute(sa.select(alerts.c.id, alerts.c.complaint_ids)) for i in set(a.complaint_ids or [])]
    if rows:
        op.bulk_insert(links, rows)
    op.create_table(
        "review_cache",
        sa.Column("quarter", sa.String(8), primary_key=True),
        sa.Column("data", sa.JSON),
        sa.Column("stamp", sa.String(80)),
        sa.Column("computed_at", sa.DateTime),
        sa.Column("seconds", sa.Float),
        sa.Column("requested_at", sa.DateTime),
        sa.Column("claimed_at", sa.DateTime),
    )
    op.create_table(
        "review_breaches",
        sa.Column("quarter", sa.String(8), sa.ForeignKey("review_cache.quarter", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("due", sa.DateTime, nullable=False),
        sa.Column("done", sa.DateTime),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("team", sa.String(40)),
        sa.Column("about", sa.String(40)),
        sa.Column("late_hours", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_breaches")
    op.drop_table("review_cache")
    op.drop_index("ix_alert_complaints_complaint_id", "alert_complaints")
    op.drop_table("alert_complaints")
