"""login throttles and pending deny-list entries

Revision ID: a3c1e5f70b21
Revises: df4bf8404691
Create Date: 2026-12-01 21:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'a3c1e5f70b21'
down_revision = 'df4bf8404691'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index('ix_login_throttles_account', 'login_throttles', ['account'], unique=False)
    op.create_table('pending_denials',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('jti')
    )
    op.create_index('ix_pending_denials_expires_at', 'pending_denials', ['expires_at'], unique=False)


def downgrade():
    op.drop_index('ix_pending_denials_expires_at', table_name='pending_denials')
    op.drop_table('pending_denials')
    op.drop_index('ix_login_throttles_account', table_name='login_throttles')
    op.drop_table('login_throttles')
