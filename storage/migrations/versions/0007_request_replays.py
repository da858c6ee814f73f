"""Signed Slack requests already handled, so a replayed slash command or click acts once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_signed_requests",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_slack_signed_requests_received_at", "slack_signed_requests", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_signed_requests_received_at", table_name="slack_signed_requests")
    op.drop_table("slack_signed_requests")
