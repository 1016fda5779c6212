"""interactions leave the database (a signed value in the browser instead)

Revision ID: c5f9a0e3d7b4
Revises: b8e4d2a91c3f
Create Date: 2026-12-01 21:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'c5f9a0e3d7b4'
down_revision = 'b8e4d2a91c3f'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_interactions_expires_at', table_name='interactions')
    op.drop_table('interactions')


def downgrade():
    op.create_table('interactions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Integer(), nullable=False),
    sa.Column('logged_in_at', sa.Integer(), nullable=True),
    sa.Column('consented_scope', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_interactions_expires_at', 'interactions', ['expires_at'], unique=False)
