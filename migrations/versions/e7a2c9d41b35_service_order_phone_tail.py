"""The queue finds an O.S. by the phone given for it: its last 8 digits, indexed

Revision ID: e7a2c9d41b35
Revises: c5e8a1f3d902
Create Date: 2026-12-01 04:45:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7a2c9d41b35'
down_revision = 'c5e8a1f3d902'
branch_labels = None
depends_on = None


def _tail(phone):
    # A frozen copy of models.phone_tail: a migration must not change with the models.
    digits = "".join(c for c in (phone or "") if c.isascii() and c.isdigit())
    return digits[-8:] if len(digits) >= 8 else None


def upgrade():
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_tail', sa.String(length=8), nullable=True))
    connection = op.get_bind()
    last = 0
    while True:  # in pages by id: a million O.S. are not read into memory at once
        rows = connection.execute(sa.text(
            "SELECT id, phone FROM service_order WHERE id > :last AND phone IS NOT NULL ORDER BY id LIMIT 5000"),
            {"last": last}).all()
        if not rows:
            break
        last = rows[-1][0]
        updates = [{"id": id_, "tail": _tail(phone)} for id_, phone in rows if _tail(phone)]
        if updates:
            connection.execute(sa.text("UPDATE service_order SET phone_tail = :tail WHERE id = :id"), updates)
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        batch_op.create_index('ix_service_order_phone_tail', ['phone_tail'], unique=False)


def downgrade():
    op.drop_index('ix_service_order_phone_tail', table_name='service_order')
    # Not a batch operation: on SQLite that rebuilds the table, and dropping the old one with
    # foreign keys on deletes every thread entry, field value and audit event (ON DELETE
    # CASCADE). SQLite 3.35 and later drop a column in place.
    op.execute("ALTER TABLE service_order DROP COLUMN phone_tail")
