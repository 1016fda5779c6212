"""wide integers on PostgreSQL: epoch seconds and autoincrement ids become BIGINT

Revision ID: b04f26765bb5
Revises: f6c3a8e2b5d0
Create Date: 2026-12-02 06:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'b04f26765bb5'
down_revision = 'f6c3a8e2b5d0'
branch_labels = None
depends_on = None


# PostgreSQL's INTEGER is 32-bit: ``now + TTL`` past 2**31 - 1 (a long refresh lifetime
# today, any time from January 2038) was "integer out of range", and so would be the
# 2**31st row of a busy table. SQLite's INTEGER is 64-bit already and an INTEGER PRIMARY
# KEY must stay INTEGER to be the rowid, so nothing changes there (the models use
# ``BigInteger().with_variant(Integer(), "sqlite")``, provider/models/types.py).
# Small counters (failures, attempts, generation) stay INTEGER.
#
# table -> its columns that become BIGINT
WIDENED = {
    'audit_events': ['id', 'at'],
    'authorization_codes': ['id', 'auth_time', 'issued_at', 'expires_at', 'consumed_at',
                            'issued_access_expires_at'],
    'clients': ['tokens_not_before', 'created_at', 'secret_rotated_at'],
    'consents': ['id', 'granted_at'],
    'denied_access_tokens': ['expires_at'],
    'issued_access_tokens': ['expires_at'],
    'leases': ['expires_at'],
    'login_sessions': ['auth_time', 'expires_at', 'ended_at'],
    'login_throttles': ['last_failure_at', 'blocked_until'],
    'logout_deliveries': ['id', 'created_at', 'next_attempt_at', 'last_attempt_at',
                          'delivered_at'],
    'pending_denials': ['expires_at', 'created_at'],
    'refresh_token_families': ['auth_time', 'authorization_code_id', 'created_at',
                               'expires_at', 'revoked_at'],
    'refresh_tokens': ['id', 'parent_id', 'issued_at', 'expires_at', 'consumed_at'],
    'signing_keys': ['created_at', 'activated_at', 'retired_at'],
    'spent_interactions': ['expires_at'],
    'users': ['tokens_not_before', 'created_at'],
}

# The tables whose ``id`` is SERIAL: its sequence was made AS integer (PostgreSQL 10+)
# and would stop at 2**31 - 1 however wide the column is.
SERIAL_IDS = ['audit_events', 'authorization_codes', 'consents', 'logout_deliveries',
              'refresh_tokens']


def _retype(type_name):
    # One ALTER TABLE per table: PostgreSQL rewrites the table (and rebuilds its
    # indexes) once per statement, so one op.alter_column per column would rewrite
    # refresh_tokens five times and authorization_codes six.
    for table, columns in WIDENED.items():
        changes = ', '.join(f'ALTER COLUMN {column} TYPE {type_name}' for column in columns)
        op.execute(f'ALTER TABLE {table} {changes}')


def _sequences_as(type_name):
    bind = op.get_bind()
    for table in SERIAL_IDS:
        sequence = bind.scalar(sa.text("SELECT pg_get_serial_sequence(:table, 'id')"),
                               {'table': table})
        if sequence is not None:
            op.execute(f'ALTER SEQUENCE {sequence} AS {type_name}')


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _retype('BIGINT')
        _sequences_as('BIGINT')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _sequences_as('INTEGER')
        _retype('INTEGER')
