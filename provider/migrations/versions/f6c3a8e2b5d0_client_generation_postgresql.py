"""client generation on PostgreSQL: the trigger that counts UPDATEs made outside the ORM

Revision ID: f6c3a8e2b5d0
Revises: e4b7c2d9a1f3
Create Date: 2026-12-02 06:00:00.000000

"""
from alembic import op

revision = 'f6c3a8e2b5d0'
down_revision = 'e4b7c2d9a1f3'
branch_labels = None
depends_on = None


# The SQLite twin is in e4b7c2d9a1f3. A BEFORE trigger sets the new value in the row
# being written; the ORM's own UPDATEs already change the generation and pass through.
FUNCTION = """
CREATE OR REPLACE FUNCTION clients_generation() RETURNS trigger AS $$
BEGIN
    NEW.generation := OLD.generation + 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""
TRIGGER = """
CREATE TRIGGER clients_generation BEFORE UPDATE ON clients
FOR EACH ROW WHEN (NEW.generation = OLD.generation)
EXECUTE FUNCTION clients_generation()
"""


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(FUNCTION)
        op.execute(TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS clients_generation ON clients')
        op.execute('DROP FUNCTION IF EXISTS clients_generation()')
