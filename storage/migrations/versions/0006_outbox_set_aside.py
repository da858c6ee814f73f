"""Outbox items set aside (Slack will not take them until someone fixes something), and who was told

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("set_aside_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("target", sa.String(length=32), nullable=True))
    op.create_table(
        "delivery_alerts",
        sa.Column("scope", sa.String(length=96), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=False),
        sa.Column("told_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "error"),
    )


def downgrade() -> None:
    op.drop_table("delivery_alerts")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("target")
        batch_op.drop_column("set_aside_at")
