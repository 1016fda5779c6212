"""client generation (a version counter per client row, for per-process caches)

Revision ID: e4b7c2d9a1f3
Revises: d2a7c4e8f1b6
Create Date: 2026-12-02 04:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'e4b7c2d9a1f3'
down_revision = 'd2a7c4e8f1b6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('generation', sa.Integer(), nullable=False,
                                   server_default='1'))


def downgrade():
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('generation')
