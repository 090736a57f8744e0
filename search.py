"""Text search over messages and contacts that stays fast at a million O.S., on both
databases, from an index instead of reading every row.

SQLite keeps FTS5 tables beside `thread_entry` and `contact`, filled by triggers: messages
by word (unicode61 without diacritics: "horario" finds "Horário"; whole words first, and word
starts, "lanc" for "lançamento", when whole words find too few), contacts by trigram (any
part of a name, e-mail or phone's digits).
PostgreSQL keeps pg_trgm GIN indexes on the same columns (any part, any case).

The structures are created with the tables (`install`, on `db.metadata`'s after_create) and
by the migration that introduced them. A later SQLite batch migration that rebuilds
`thread_entry` or `contact` drops their triggers: such a migration must run these
statements again.
"""

from __future__ import annotations

import json
import re
from functools import cache

import sqlalchemy as sa

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS thread_entry_fts USING fts5("
    "body_text, content='thread_entry', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS thread_entry_fts_insert AFTER INSERT ON thread_entry BEGIN "
    "INSERT INTO thread_entry_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS thread_entry_fts_delete AFTER DELETE ON thread_entry BEGIN "
    "INSERT INTO thread_entry_fts(thread_entry_fts, rowid, body_text) VALUES ('delete', old.id, old.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS thread_entry_fts_update AFTER UPDATE OF body_text ON thread_entry BEGIN "
    "INSERT INTO thread_entry_fts(thread_entry_fts, rowid, body_text) VALUES ('delete', old.id, old.body_text); "
    "INSERT INTO thread_entry_fts(rowid, body_text) VALUES (new.id, new.body_text); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS contact_fts USING fts5("
    "name, email, phone_digits, content='contact', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_insert AFTER INSERT ON contact BEGIN "
    "INSERT INTO contact_fts(rowid, name, email, phone_digits) VALUES (new.id, new.name, new.email, new.phone_digits); END",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_delete AFTER DELETE ON contact BEGIN "
    "INSERT INTO contact_fts(contact_fts, rowid, name, email, phone_digits) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone_digits); END",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_update AFTER UPDATE OF name, email, phone_digits ON contact BEGIN "
    "INSERT INTO contact_fts(contact_fts, rowid, name, email, phone_digits) "
    "VALUES ('delete', old.id, old.name, old.email, old.phone_digits); "
    "INSERT INTO contact_fts(rowid, name, email, phone_digits) VALUES (new.id, new.name, new.email, new.phone_digits); END",
]
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_thread_entry_body_trgm ON thread_entry USING gin (body_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contact_name_trgm ON contact USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contact_email_trgm ON contact USING gin (email gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contact_phone_digits_trgm ON contact USING gin (phone_digits gin_trgm_ops)",
]
STATEMENTS = {"sqlite": SQLITE, "postgresql": POSTGRESQL}
MIN_LENGTH = 3  # trigrams: shorter text cannot use the index
# Each kind of match brings at most this many of the newest rows: a common word costs what a
# rare one does, and the queue says when a search was cut.
LIMIT = 200
# PostgreSQL: how many of the newest messages (or contacts) are read for a search before the
# trigram index is asked, and how many at most when the first ones hold some matches but not
# LIMIT (see _newest). Most searches are for something rare (a name, an address, a phone),
# which pays for the first window and then asks the index anyway: at a million O.S. a first
# window of 4,000 made each of ten searches 4–43 % slower than one of 1,000 (a rare word
# 5.6 → 3.7 ms; a common word, which fills LIMIT in either, 2.9 → 2.2).
WINDOW = 5 * LIMIT
MAX_WINDOW = 200 * LIMIT


def is_search_object(name: str | None) -> bool:
    """The tables and indexes kept here, which the models do not describe (for Alembic)."""
    return bool(name) and (name.startswith(("thread_entry_fts", "contact_fts")) or name.endswith("_trgm"))


def install(target, connection, **kw) -> None:
    for statement in STATEMENTS.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _word_query(connection, text: str) -> str | None:
    """The FTS5 query for the words of `text`: the whole words when they alone fill the
    LIMIT, else each word as the start of a word ("lanc" finds "lançamento"). FTS5 reads
    every entry of every word a prefix starts before it can pick the newest (at a million
    O.S. a common word has two million: 50 ms); whole words it reads newest first."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    exact = " ".join(_phrase(w) for w in words)
    found = connection.execute(
        sa.text("SELECT count(*) FROM (SELECT rowid FROM thread_entry_fts WHERE thread_entry_fts MATCH :query "
                "ORDER BY rowid DESC LIMIT :limit)"), {"query": exact, "limit": LIMIT}).scalar()
    return exact if found >= LIMIT else " ".join(_phrase(w) + "*" for w in words)


def _escaped(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# A search is a few statements, each built once per process and kept by its key (`statement`),
# with the searched text as parameters: building a statement and its cache key on every
# search cost a quarter of the queue's time.

def orders_with_text(text: str, connection) -> tuple[str, dict] | None:
    """The O.S. whose messages contain `text` (internal notes included): the key of a
    `statement` of their ids, and its parameters; None when `text` has no word to look for."""
    if connection.dialect.name == "sqlite":
        query = _word_query(connection, text)
        return None if query is None else ("messages-fts", {"message_query": query, "limit": LIMIT})
    # Messages are stored lower-cased for search (ThreadEntry.body_text): LIKE, not ILIKE.
    return _newest("messages", {"message_pattern": _escaped(text.lower()), "limit": LIMIT}, connection)


def contacts_with_text(text: str, connection, digits: str = "") -> tuple[str, dict]:
    """The contacts whose name or e-mail contains `text`, or whose phone contains `digits`:
    the key of a `statement` of their ids, and its parameters."""
    with_phone = len(digits) >= MIN_LENGTH
    if connection.dialect.name == "sqlite":
        query = "{name email}: " + _phrase(text)
        if with_phone:
            query += " OR phone_digits: " + _phrase(digits)
        return "contacts-fts", {"contact_query": query, "limit": LIMIT}
    # Addresses are stored lower-cased (models.normalize_email): a LIKE finds them at a
    # third of an ILIKE's cost, which folds the case of every row it reads.
    values = {"contact_pattern": _escaped(text), "email_pattern": _escaped(text.lower()), "limit": LIMIT}
    if with_phone:
        values["phone_pattern"] = _escaped(digits)
    return _newest("contacts-phone" if with_phone else "contacts", values, connection)


def statement(key: str) -> sa.Select:
    """The statement a search key names (see orders_with_text, contacts_with_text)."""
    return _statements()[key] if key in _statements() else _newest_statements(key)


@cache
def _statements() -> dict[str, sa.Select]:
    from models import ThreadEntry

    def fts(table: str, parameter: str):
        return sa.text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{parameter} "
                       "ORDER BY rowid DESC LIMIT :limit").bindparams(
            sa.bindparam(parameter, type_=sa.String), sa.bindparam("limit", type_=sa.Integer),
        ).columns(sa.column("rowid"))

    return {
        "messages-fts": sa.select(ThreadEntry.service_order_id).where(
            ThreadEntry.id.in_(fts("thread_entry_fts", "message_query").subquery().select())),
        "contacts-fts": sa.select(fts("contact_fts", "contact_query").subquery().c.rowid),
    }


def _conditions(kind: str, columns) -> list:
    """PostgreSQL: the LIKEs and ILIKEs (answered by trigram indexes) of a kind, on
    `columns` (its table's, or a subquery's). Text stored lower-cased (messages, addresses)
    gets a LIKE and a lower-cased pattern; names keep their case and get an ILIKE."""
    def like(column, parameter, operator="ilike"):
        return getattr(column, operator)(sa.bindparam(parameter, type_=sa.String), escape="\\")

    if kind == "messages":
        return [like(columns.body_text, "message_pattern", "like")]
    conditions = [like(columns.name, "contact_pattern"), like(columns.email, "email_pattern", "like")]
    if kind == "contacts-phone":
        conditions.append(like(columns.phone_digits, "phone_pattern", "like"))
    return conditions


def _table(kind: str) -> sa.Table:
    from models import Contact, ThreadEntry

    return ThreadEntry.__table__ if kind == "messages" else Contact.__table__


def among(column, parameter: str, dialect: str):
    """`column IN ids` with the ids as one parameter (a JSON array in SQLite, an array in
    PostgreSQL; see `id_list`): hundreds of bound values cost SQLAlchemy more than the query
    itself."""
    if dialect == "sqlite":
        values = sa.func.json_each(sa.bindparam(parameter, type_=sa.String)).table_valued("value")
        return column.in_(sa.select(values.c.value).scalar_subquery())
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(parameter, type_=sa.ARRAY(sa.Integer)))
    return column.in_(sa.bindparam(parameter, expanding=True))


def id_list(ids: list[int], dialect: str):
    """The value of an `among` parameter."""
    return json.dumps(ids) if dialect == "sqlite" else list(ids)


def _newest(kind: str, values: dict, connection) -> tuple[str, dict]:
    """The LIMIT newest ids of a kind that meet any of its conditions (PostgreSQL, LIKEs
    that a trigram index answers), as a key and parameters.

    First among the WINDOW newest rows, read backwards along the primary key: a common word
    fills the LIMIT there, where the trigram index would hand over every row that has it
    (four hundred thousand messages at 100,000 O.S.: 0.4 s). A word found there, but fewer
    than LIMIT times, is looked for in as many newest rows as should hold LIMIT of it, up to
    MAX_WINDOW (70 ms at a million O.S.): the index hands over every match to be checked,
    about 2 µs each (a page of the table each), and a word in 4 % of the messages has 180,000. Otherwise from the indexes,
    one SELECT per condition (an OR of two ILIKEs made PostgreSQL read every contact), their
    union materialized first, so PostgreSQL does not walk the whole primary key backwards
    for a rare word."""
    window, limit = _newest_statements(f"{kind}:window"), values["limit"]
    recent = connection.execute(window, {**values, "window": WINDOW}).scalars().all()
    if 0 < len(recent) < limit:
        wider = WINDOW * limit * 3 // (2 * len(recent))  # half again what the rate predicts
        if wider <= MAX_WINDOW:
            recent = connection.execute(window, {**values, "window": wider}).scalars().all()
    if len(recent) >= limit:
        return f"{kind}:recent", {_ids_parameter(kind): id_list(recent[:limit], "postgresql")}
    return f"{kind}:indexed", values


def _ids_parameter(kind: str) -> str:
    return kind.replace("-", "_") + "_ids"


@cache
def _newest_statements(key: str) -> sa.Select:
    from models import ThreadEntry

    kind, _, way = key.partition(":")
    table = _table(kind)
    limit = sa.bindparam("limit", type_=sa.Integer)
    if way == "window":
        # The newest rows first, in a subquery the conditions cannot enter: asked for "id
        # above the newest minus WINDOW" beside the pattern match, PostgreSQL read every match of a
        # rare word from the trigram index and then dropped the old ones (31 ms at a million
        # O.S.; this way 7).
        searched = [table.c.body_text] if kind == "messages" else \
            [table.c.name, table.c.email, table.c.phone_digits]
        newest = (sa.select(table.c.id, *searched).order_by(table.c.id.desc())
                  .limit(sa.bindparam("window", type_=sa.Integer)).subquery("newest"))
        return (sa.select(newest.c.id).where(sa.or_(*_conditions(kind, newest.c)))
                .order_by(newest.c.id.desc()).limit(limit))
    if way == "recent":
        ids = sa.select(table.c.id).where(among(table.c.id, _ids_parameter(kind), "postgresql"))
    else:
        found = sa.union(*(sa.select(table.c.id).where(condition) for condition in _conditions(kind, table.c)))
        matches = found.cte(f"{kind.split('-')[0]}_found").prefix_with("MATERIALIZED")
        ids = sa.select(matches.c[0]).order_by(matches.c[0].desc()).limit(limit)
    if kind == "messages":
        return sa.select(ThreadEntry.service_order_id).where(ThreadEntry.id.in_(ids))
    return ids
