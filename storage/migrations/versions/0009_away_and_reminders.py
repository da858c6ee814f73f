"""People away (and who verifies for them), and the reminders already sent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people_away",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("delegate", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("day", sa.String(16), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("kind", "candidate_id", "user_id", "day", name="uq_reminders_sent_claim"),
    )
    op.create_index("ix_reminders_sent_candidate_id", "reminders_sent", ["candidate_id"])
    with op.batch_alter_table("delegations") as batch:
        batch.add_column(sa.Column("away", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("delegations") as batch:
        batch.drop_column("away")
    op.drop_index("ix_reminders_sent_candidate_id", table_name="reminders_sent")
    op.drop_table("reminders_sent")
    op.drop_table("people_away")
