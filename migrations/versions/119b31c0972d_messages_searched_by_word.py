"""messages searched by word

Revision ID: 119b31c0972d
Revises: bd0185a189a4
Create Date: 2026-11-30 12:34:06.044897

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '119b31c0972d'
down_revision = 'bd0185a189a4'
branch_labels = None
depends_on = None


# SQLite only: PostgreSQL keeps its trigram index.
OLD = "tokenize='trigram'"
NEW = "tokenize='unicode61 remove_diacritics 2'"
TABLE = ("CREATE VIRTUAL TABLE thread_entry_fts USING fts5("
         "body_text, content='thread_entry', content_rowid='id', {tokenizer})")


def _recreate(tokenizer):
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    # The triggers name the table, not its tokenizer: they stay as they are.
    connection.exec_driver_sql("DROP TABLE IF EXISTS thread_entry_fts")
    connection.exec_driver_sql(TABLE.format(tokenizer=tokenizer))
    connection.exec_driver_sql("INSERT INTO thread_entry_fts(thread_entry_fts) VALUES ('rebuild')")


def upgrade():
    _recreate(NEW)


def downgrade():
    _recreate(OLD)
