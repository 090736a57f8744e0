"""O.S. counts per contact and status, kept like the department counts

Revision ID: 8e41c7d2a6f0
Revises: 5c2e7a41d9b3
Create Date: 2026-11-30 15:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e41c7d2a6f0'
down_revision = '5c2e7a41d9b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contact_order_count',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_order_count_contact_id_contact'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'status', name=op.f('pk_contact_order_count'))
    )
    op.execute(
        "INSERT INTO contact_order_count (contact_id, status, count) "
        "SELECT contact_id, status, count(*) FROM service_order GROUP BY contact_id, status")


def downgrade():
    op.drop_table('contact_order_count')
