"""Message text kept lower-cased for search (PostgreSQL matches it with LIKE, not ILIKE)

Revision ID: 0a7c3e9b5d21
Revises: 8e41c7d2a6f0
Create Date: 2026-11-30 17:45:00

On PostgreSQL every message's search text is lower-cased; its trigram index is dropped for
the UPDATE and built again after it, once, instead of being updated row by row. The app
lower-cases with Python's str.lower(); PostgreSQL's lower() does the same for Portuguese text
unless the server's LC_CTYPE is C or POSIX, where it folds ASCII letters only, so there the
text is lower-cased here, in batches.
SQLite's rows stay as they are: its full-text index folds case itself, and rewriting them
would rewrite that index too.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0a7c3e9b5d21'
down_revision = '8e41c7d2a6f0'
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_thread_entry_body_trgm")
    if connection.execute(sa.text("SELECT lower('ÁÇÃÉÕ') = 'áçãéõ'")).scalar():
        op.execute("UPDATE thread_entry SET body_text = lower(body_text) WHERE body_text <> lower(body_text)")
    else:
        last = 0
        while rows := connection.execute(sa.text(
                "SELECT id, body_text FROM thread_entry WHERE id > :last ORDER BY id LIMIT 5000"),
                {"last": last}).all():
            changed = [{"i": i, "t": text.lower()} for i, text in rows if text != text.lower()]
            if changed:
                connection.execute(sa.text("UPDATE thread_entry SET body_text = :t WHERE id = :i"), changed)
            last = rows[-1][0]
    op.execute("CREATE INDEX ix_thread_entry_body_trgm ON thread_entry USING gin (body_text gin_trgm_ops)")


def downgrade():
    pass  # lower-cased text searches the same way with ILIKE
