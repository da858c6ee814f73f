"""Names, emails and profile names from git and Slack are Text: any length fits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WIDENED = {
    "candidate_changes": {"author_email": sa.String(length=320), "author_name": sa.String(length=200)},
    "slack_users": {"name": sa.String(length=200), "email": sa.String(length=320)},
}


def upgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch_op:  # SQLite rebuilds the table; PostgreSQL alters in place
            for column, old in columns.items():
                batch_op.alter_column(column, type_=sa.Text(), existing_type=old)


def downgrade() -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch_op:
            for column, old in columns.items():
                batch_op.alter_column(column, type_=old, existing_type=sa.Text())
