"""Rollout plans and their events.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollout_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("flag_key", sa.String(64), sa.ForeignKey("flags.key", ondelete="CASCADE"), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("template_name", sa.String(32), nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("events_count", sa.Integer(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_rollout_plans_flag", "rollout_plans", ["flag_key", "environment"])
    op.create_index("ix_rollout_plans_state", "rollout_plans", ["state"])
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("rollout_plans.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.UniqueConstraint("plan_id", "seq", name="uq_rollout_events_seq"),
    )


def downgrade() -> None:
    op.drop_table("rollout_events")
    op.drop_index("ix_rollout_plans_state", table_name="rollout_plans")
    op.drop_index("ix_rollout_plans_flag", table_name="rollout_plans")
    op.drop_table("rollout_plans")
