"""Feature flags

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flag_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_key', sa.String(length=64), nullable=False),
    sa.Column('environment', sa.String(length=32), nullable=True),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('approver', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flag_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_changes_flag_key'), ['flag_key'], unique=False)

    op.create_table('flag_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_key', sa.String(length=64), nullable=False),
    sa.Column('environment', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=32), nullable=True),
    sa.Column('decided_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flag_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_requests_flag_key'), ['flag_key'], unique=False)

    flag_version = op.create_table('flag_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(flag_version, [{"id": 1, "version": 0}])
    op.create_table('flags',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('archived_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('flag_states',
    sa.Column('flag_key', sa.String(length=64), nullable=False),
    sa.Column('environment', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('rollout', sa.Integer(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['flag_key'], ['flags.key'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('flag_key', 'environment')
    )


def downgrade() -> None:
    op.drop_table('flag_states')
    op.drop_table('flags')
    op.drop_table('flag_version')
    with op.batch_alter_table('flag_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_requests_flag_key'))

    op.drop_table('flag_requests')
    with op.batch_alter_table('flag_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_changes_flag_key'))

    op.drop_table('flag_changes')
