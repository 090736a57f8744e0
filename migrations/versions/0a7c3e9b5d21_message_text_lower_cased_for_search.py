"""Message text kept lower-cased for search (PostgreSQL matches it with LIKE, not ILIKE)

Revision ID: 0a7c3e9b5d21
Revises: 8e41c7d2a6f0
Create Date: 2026-11-30 17:45:00

On PostgreSQL every message's search text is lower-cased; its trigram index is dropped for
the UPDATE and built again after it, once, instead of being updated row by row.
SQLite's rows stay as they are: its full-text index folds case itself, and rewriting them
would rewrite that index too.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0a7c3e9b5d21'
down_revision = '8e41c7d2a6f0'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_thread_entry_body_trgm")
    op.execute("UPDATE thread_entry SET body_text = lower(body_text) WHERE body_text <> lower(body_text)")
    op.execute("CREATE INDEX ix_thread_entry_body_trgm ON thread_entry USING gin (body_text gin_trgm_ops)")


def downgrade():
    pass  # lower-cased text searches the same way with ILIKE
