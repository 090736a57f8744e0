"""Queue of every department by status: index by (status, activity, id)

Revision ID: 9d3b6f2a1c47
Revises: 6b1f0d4e8c37
Create Date: 2026-12-01 03:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9d3b6f2a1c47'
down_revision = '6b1f0d4e8c37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        batch_op.create_index('ix_service_order_status_updated', ['status', 'updated_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        batch_op.drop_index('ix_service_order_status_updated')
