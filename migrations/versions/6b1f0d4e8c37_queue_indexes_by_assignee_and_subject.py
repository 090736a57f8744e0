"""Queue filtered by assignee or subject: indexes by (assignee | subject, status, activity)

Revision ID: 6b1f0d4e8c37
Revises: 0a7c3e9b5d21
Create Date: 2026-11-30 18:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6b1f0d4e8c37'
down_revision = '0a7c3e9b5d21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        batch_op.drop_index('ix_service_order_assignee_id')
        batch_op.create_index('ix_service_order_assignee_status', ['assignee_id', 'status', 'updated_at'],
                              unique=False)
        batch_op.create_index('ix_service_order_subject_status', ['subject_id', 'status', 'updated_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        batch_op.drop_index('ix_service_order_subject_status')
        batch_op.drop_index('ix_service_order_assignee_status')
        batch_op.create_index('ix_service_order_assignee_id', ['assignee_id'], unique=False)
