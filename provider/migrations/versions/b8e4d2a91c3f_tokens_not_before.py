"""tokens_not_before on users and clients

Revision ID: b8e4d2a91c3f
Revises: a3c1e5f70b21
Create Date: 2026-12-01 21:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'b8e4d2a91c3f'
down_revision = 'a3c1e5f70b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('tokens_not_before', sa.Integer(), nullable=True))
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('tokens_not_before', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('tokens_not_before')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('tokens_not_before')
