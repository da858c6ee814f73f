"""When each change was committed, so lead time for changes can be measured (the DORA figures).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidate_changes") as batch:
        batch.add_column(sa.Column("committed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidate_changes") as batch:
        batch.drop_column("committed_at")
