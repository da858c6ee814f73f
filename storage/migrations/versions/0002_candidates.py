"""Release candidates, sign-offs, delegations, Slack user cache and the outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('release_manager', sa.String(length=32), nullable=False),
    sa.Column('manager_choice', sa.Text(), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=False),
    sa.Column('base_sha', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('urgent_reason', sa.Text(), nullable=True),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.Column('nonviable_reason', sa.Text(), nullable=True),
    sa.Column('nonviable_next_steps', sa.Text(), nullable=True),
    sa.Column('nonviable_by', sa.String(length=32), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['superseded_by'], ['candidates.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.create_index('ix_candidates_product_id', ['product', 'id'], unique=False)
        batch_op.create_index('uq_candidates_one_in_progress', ['product'], unique=True, sqlite_where=sa.text("state IN ('verifying', 'ready')"), postgresql_where=sa.text("state IN ('verifying', 'ready')"))

    op.create_table('email_lookups',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.Column('fetched_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('email')
    )
    op.create_table('slack_messages',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('slack_users',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('is_bot', sa.Boolean(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('fetched_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('candidate_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sha', sa.String(length=64), nullable=False),
    sa.Column('author_email', sa.String(length=320), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('engineer', sa.String(length=32), nullable=True),
    sa.Column('verified_by', sa.String(length=32), nullable=True),
    sa.Column('verified_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_id', 'sha', name='uq_candidate_changes_sha')
    )
    with op.batch_alter_table('candidate_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_changes_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('candidate_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('candidate_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_events_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('delegations',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('engineer', sa.String(length=32), nullable=False),
    sa.Column('delegate', sa.String(length=32), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('candidate_id', 'engineer')
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lane', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('sending_since', UTCDateTime(), nullable=True),
    sa.Column('delivered_at', UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_lane'), ['lane'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['delivered_at', 'next_attempt_at'], unique=False)

    op.create_table('leases',
    sa.Column('name', sa.String(length=96), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=True),
    sa.Column('held_until', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )



def downgrade() -> None:
    op.drop_table('leases')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index(batch_op.f('ix_outbox_lane'))

    op.drop_table('outbox')
    op.drop_table('delegations')
    with op.batch_alter_table('candidate_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_events_candidate_id'))

    op.drop_table('candidate_events')
    with op.batch_alter_table('candidate_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_changes_candidate_id'))

    op.drop_table('candidate_changes')
    op.drop_table('slack_users')
    op.drop_table('slack_messages')
    op.drop_table('email_lookups')
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_index('uq_candidates_one_in_progress', sqlite_where=sa.text("state IN ('verifying', 'ready')"), postgresql_where=sa.text("state IN ('verifying', 'ready')"))
        batch_op.drop_index('ix_candidates_product_id')

    op.drop_table('candidates')
