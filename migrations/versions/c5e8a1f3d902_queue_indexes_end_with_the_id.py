"""Queue indexes by department, assignee and subject end with the id (the page's tie-break)

Revision ID: c5e8a1f3d902
Revises: 9d3b6f2a1c47
Create Date: 2026-12-01 03:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c5e8a1f3d902'
down_revision = '9d3b6f2a1c47'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_service_order_department_status': 'department_id',
    'ix_service_order_assignee_status': 'assignee_id',
    'ix_service_order_subject_status': 'subject_id',
}


def upgrade():
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        for name, column in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [column, 'status', 'updated_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('service_order', schema=None) as batch_op:
        for name, column in INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [column, 'status', 'updated_at'], unique=False)
