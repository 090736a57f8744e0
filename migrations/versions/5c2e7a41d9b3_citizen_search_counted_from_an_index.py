"""a citizen's search by subject counted from an index

Revision ID: 5c2e7a41d9b3
Revises: 119b31c0972d
Create Date: 2026-11-30 14:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5c2e7a41d9b3'
down_revision = '119b31c0972d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_service_order_contact_subject", "service_order",
                    ["contact_id", "subject_id", "status"])


def downgrade():
    op.drop_index("ix_service_order_contact_subject", table_name="service_order")
