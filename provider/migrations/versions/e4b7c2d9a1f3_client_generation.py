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


# The provider's own changes go through the ORM, whose version counter increments the
# generation; this counts every other UPDATE too (the sqlite3 shell), so that no
# process keeps using a client changed behind its back.
SQLITE_TRIGGER = """
CREATE TRIGGER clients_generation AFTER UPDATE ON clients
FOR EACH ROW WHEN NEW.generation = OLD.generation
BEGIN
    UPDATE clients SET generation = OLD.generation + 1 WHERE client_id = NEW.client_id;
END
"""


def upgrade():
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('generation', sa.Integer(), nullable=False,
                                   server_default='1'))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(SQLITE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS clients_generation')
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('generation')
