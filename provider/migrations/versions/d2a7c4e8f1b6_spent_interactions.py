"""spent interactions (single use of signed interaction values)

Revision ID: d2a7c4e8f1b6
Revises: c5f9a0e3d7b4
Create Date: 2026-12-01 22:35:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'd2a7c4e8f1b6'
down_revision = 'c5f9a0e3d7b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spent_interactions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_spent_interactions_expires_at', 'spent_interactions', ['expires_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_spent_interactions_expires_at', table_name='spent_interactions')
    op.drop_table('spent_interactions')
