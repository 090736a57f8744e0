"""What keeps pages fast at a million O.S., checked on both databases: no query count that
grows with the rows shown, kept status counts that stay right, and searches that use their
indexes. (Timings live in bench/, not here.)"""

import contextlib

import pytest
import sqlalchemy as sa

from app import db
from conftest import csrf_token, open_in, staff_session
from models import ContactOrderCount, EntryKind, OrderCount, ServiceOrder, Status, ThreadEntry


@contextlib.contextmanager
def counted_queries(app):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def queries_for(app, client, path):
    client.get(path)  # steady state: per-process caches (office settings) filled
    with counted_queries(app) as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_the_citizen_list_costs_the_same_queries_for_3_or_30_os(app, client, make_order, mailbox):
    from test_account import registered

    for _ in range(3):
        make_order()
    registered(app, client, mailbox)
    few = queries_for(app, client, "/os")
    few_searched = queries_for(app, client, "/os?q=emplacamento")
    for _ in range(27):
        make_order(subject="IPVA - 1º Emplacamento", field_values={"RENAVAM": "01234567897", "PLACA": "ABC1D23"})
    assert queries_for(app, client, "/os") == few
    assert queries_for(app, client, "/os?q=emplacamento") == few_searched


def test_the_os_page_costs_the_same_queries_for_2_or_20_entries(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    few = queries_for(app, client, f"/os/{number}")
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        for i in range(19):
            order.entries.append(ThreadEntry(kind=EntryKind.REPLY if i % 2 else EntryKind.MESSAGE,
                                             author_name="X", body_html=f"<p>{i}</p>"))
        db.session.commit()
    assert queries_for(app, client, f"/os/{number}") == few


def test_the_queue_costs_the_same_queries_for_3_or_40_rows(app, catalogue, make_order):
    admin = staff_session(app, app.test_client(), "admin@exemplo.gov.br")
    for _ in range(3):
        make_order()
    few = queries_for(app, admin, "/atendimento/")
    for i in range(37):
        make_order(email=f"p{i}@exemplo.com.br", name=f"Pessoa {i}")
    assert queries_for(app, admin, "/atendimento/") == few


def test_kept_status_counts_match_the_orders_after_every_kind_of_change(app, catalogue, make_order):
    from test_staff import update, post_message
    from test_reply import post_reply

    numbers = [make_order() for _ in range(4)]
    marcos = staff_session(app, app.test_client(), "atendimento@exemplo.gov.br")
    admin = staff_session(app, app.test_client(), "admin@exemplo.gov.br")
    update(marcos, numbers[0], status="fechada")
    post_message(marcos, numbers[1], "Resolvido", after="resolvida")
    citizen = app.test_client()
    open_in(app, citizen, numbers[1])
    post_reply(citizen, numbers[1], "Ainda preciso")  # reopens
    with app.app_context():
        from models import Department

        arrecadacao = db.session.scalar(sa.select(Department.id).where(Department.name == "Arrecadação"))
    update(admin, numbers[2], department=str(arrecadacao), status="resolvida")
    make_order(email="outra@exemplo.com.br", name="Outra Pessoa")
    with app.app_context():
        from models import Contact

        moved = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(numbers[3])))
        db.session.expire(moved)  # nothing loaded before the change: the counts still see the old values
        moved.contact_id = db.session.scalar(sa.select(Contact.id).where(Contact.email == "outra@exemplo.com.br"))
        moved.status = Status.RESOLVIDA
        db.session.commit()
    with app.app_context():
        for counts, key in ((OrderCount, "department_id"), (ContactOrderCount, "contact_id")):
            real = {(k, s.value): n for k, s, n in db.session.execute(
                sa.select(getattr(ServiceOrder, key), ServiceOrder.status, sa.func.count())
                .group_by(getattr(ServiceOrder, key), ServiceOrder.status)).all()}
            kept = {(k, s): n for k, s, n in db.session.execute(
                sa.select(getattr(counts, key), counts.status, counts.count)).all() if n}
            assert kept == real, counts.__name__
    html = admin.get("/atendimento/").get_data(as_text=True)
    assert "Aberta (2)" in html and "Resolvida (2)" in html and "Fechada (1)" in html


def plan(app, query):
    """The database's plan for the queue's search query, as text."""
    with app.app_context():
        dialect = db.engine.dialect.name
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        with db.engine.connect() as connection:
            if dialect == "sqlite":
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
                return " ".join(str(r[-1]) for r in rows)
            connection.exec_driver_sql("SET enable_seqscan = off")  # a tiny table would be scanned anyway
            return " ".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}").all())


def test_text_search_reads_an_index_not_every_message(app, catalogue, make_order):
    import search

    make_order(message="Pedido sobre o chassi do veículo")
    with app.app_context():
        queries = []
        for key, values in (search.orders_with_text("chassi", db.session.connection()),
                            search.contacts_with_text("Barbosa", db.session.connection(), "32110000")):
            query = search.statement(key).params(values)
            queries.append(query)
            assert len(db.session.execute(query).scalars().all()) == 1
    for query, index in zip(queries, (("thread_entry_fts", "ix_thread_entry_body_trgm"),
                                      ("contact_fts", "ix_contact_name_trgm"))):
        text = plan(app, query)
        assert any(name in text for name in index), text
        if "VIRTUAL TABLE" not in text:
            assert "Seq Scan" not in text, text


def test_a_search_by_an_os_phone_reads_its_index(app, catalogue, make_order):
    from views.staff import _search_statement

    make_order(phone="(69) 8400-0000")
    query = _search_statement(("phone",)).params(phone_tail="84000000")
    with app.app_context():
        assert len(db.session.execute(query).all()) == 1
    assert "ix_service_order_phone_tail" in plan(app, query)


def test_each_benchmarked_page_reads_only_what_it_shows(app, client, make_order, mailbox):
    """Exact counts, so a new query on a page bench/run measures is a decision, not an
    accident: each is one round trip the page pays on every view."""
    from test_access_link import path_of, request_link
    from test_account import registered

    number = make_order(email="eliane@exemplo.com.br")
    assert queries_for(app, client, "/") == 0  # the office's details are kept for a few seconds
    guest = app.test_client()
    link = path_of(request_link(app, guest, mailbox, "eliane@exemplo.com.br", number))
    guest.get(link)
    with counted_queries(app) as statements:
        assert guest.get(link).status_code == 303
    assert len(statements) == 1  # the O.S. and its contact's link version, one row
    # The O.S., its thread, the thread's attachments, the subject's fields.
    assert queries_for(app, guest, f"/os/{number}") == 4
    registered(app, client, mailbox)
    assert queries_for(app, client, "/os") == 3  # the citizen, counts per status, one page of rows
    admin = staff_session(app, app.test_client(), "admin@exemplo.gov.br")
    # The attendant, counts, the page's ids, its rows, the filters' departments and subjects.
    assert queries_for(app, admin, "/atendimento/?status=aberta") == 5
    token = csrf_token(guest, "/")
    with counted_queries(app) as statements:
        response = guest.post("/verificar", data={"csrf_token": token, "email": "x@exemplo.com.br",
                                                  "number": number})
        assert response.status_code == 303
    # Stored for the mail worker, nothing read (around it, only the setting that lets this
    # one commit skip waiting for the disk).
    assert [s.split()[0] for s in statements if not s.startswith(("PRAGMA", "SET"))] == ["INSERT"]
    # The queue's last page (page 400 asked, page 2 here) costs what its first does.
    for _ in range(25):
        make_order()
    html = admin.get("/atendimento/?status=aberta&pagina=400").get_data(as_text=True)
    assert "Mostrando 26 - 26 de 26 O.S." in html
    assert queries_for(app, admin, "/atendimento/?status=aberta&pagina=400") == 5


def test_a_citizens_search_by_subject_is_counted_from_an_index_alone(app, catalogue, make_order):
    from views.account import _count_statement

    make_order()
    with app.app_context():
        for with_status in (False, True):
            query = _count_statement(with_status, False).params(contact_id=1, status="fechada", subject_ids=[1, 2])
            text = plan(app, query)
            if db.engine.dialect.name == "sqlite":
                # No row of service_order is read, however many O.S. the citizen has.
                assert "COVERING INDEX ix_service_order_contact_subject" in text, text
            else:  # on a table this small PostgreSQL may pick either index on the contact
                assert "Index" in text and "Seq Scan" not in text, text


# --- Transactions: a page that only reads opens none; a change is still all or nothing ---

def test_a_change_is_all_or_nothing_and_unseen_by_others_until_committed(app, make_order):
    """On PostgreSQL the engine runs in autocommit and a transaction opens at the first write
    (models.configure_postgres): without that, each statement here would commit alone."""
    number = make_order()
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        order.status = Status.RESOLVIDA
        db.session.add(ThreadEntry(service_order_id=order.id, kind=EntryKind.REPLY, author_name="X",
                                   body_html="<p>Rascunho que não vale</p>"))
        db.session.flush()
        drafts = sa.select(sa.func.count()).where(ThreadEntry.body_html.contains("Rascunho"))
        status = sa.select(ServiceOrder.status).where(ServiceOrder.id == order.id)
        with db.engine.connect() as other:
            assert other.scalar(drafts) == 0 and other.scalar(status) == Status.ABERTA
        db.session.rollback()
        assert db.session.scalar(drafts) == 0 and db.session.scalar(status) == Status.ABERTA


def test_on_postgresql_a_page_that_only_reads_runs_outside_a_transaction_with_prepared_statements(
        app, client, make_order):
    """No BEGIN and ROLLBACK round trips, and psycopg keeps the page's statements prepared:
    it drops them all at every ROLLBACK, which ended every request before."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite has no round trips and no prepared statements")
        engine = db.engine
    number = make_order()
    open_in(app, client, number)
    states = []

    def state(conn, cursor, statement, parameters, context, executemany):
        states.append(cursor.connection.info.transaction_status.name)

    sa.event.listen(engine, "before_cursor_execute", state)
    try:
        for _ in range(7):  # psycopg prepares a statement on its 6th run
            assert client.get(f"/os/{number}").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", state)
    assert states and set(states) == {"IDLE"}
    with app.app_context():  # the same pooled connection the pages used
        prepared = db.session.scalars(sa.text("SELECT statement FROM pg_prepared_statements")).all()
        plans = db.session.scalar(sa.text("SHOW plan_cache_mode"))
    assert any("FROM thread_entry" in text for text in prepared), prepared
    assert plans == "force_custom_plan"  # each planned for its values (models.configure_postgres)


def test_on_postgresql_a_worker_keeps_the_mail_requests_it_took_locked_until_it_commits(app):
    from models import MailRequest

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite has no row locks (its writers take turns)")
        db.session.add_all([MailRequest(kind="access", email=f"{i}@exemplo.com.br", number=i) for i in (1, 2)])
        db.session.commit()
        take = sa.select(MailRequest.id).with_for_update(skip_locked=True)
        assert len(db.session.scalars(take).all()) == 2
        with db.engine.connect() as other_worker:
            assert other_worker.scalars(take).all() == []
        db.session.commit()
        with db.engine.connect() as other_worker:
            assert len(other_worker.scalars(take).all()) == 2


def test_the_queue_filtered_by_assignee_or_subject_counts_and_pages_from_one_index_range(app, catalogue, make_order):
    """At a million O.S. these counts read 400,000 rows each (90 to 220 ms); now each status
    is counted up to one past MAX_LISTED, along an index."""
    from views.staff import MAX_LISTED, _filtered_statement

    make_order()
    spread_on_postgresql(app)
    values = {"attendant_id": 1, "subject": 1, "department": 1, "status": "aberta", "cap": MAX_LISTED + 1,
              "limit": 25, "offset": 0, "upto": 25}
    for assignee, subject, department, index in (
            ("ninguem", False, False, "ix_service_order_assignee_status"),
            ("meus", False, False, "ix_service_order_assignee_status"),
            ("", True, False, "ix_service_order_subject_status"),
            ("", False, True, "ix_service_order_department_status")):
        # Counts; a page of one status; a page of every status (each status's range, merged).
        for kind, with_status in (("counts", False), ("ids", True), ("ids", False)):
            query = _filtered_statement(kind, False, department, subject, assignee, with_status, None).params(values)
            text = plan(app, query)
            assert index in text, (assignee, subject, kind, text)
            assert "Seq Scan" not in text and "SCAN service_order" not in text, text
            if not (kind == "ids" and with_status):  # each status counted up to the cap, or read up to the page
                assert str(query).count("LIMIT") >= len(Status), str(query)
                if db_dialect(app) == "sqlite":
                    assert text.count("AND status=?)") == len(Status), text
    # A deep page of one status comes in the index's order, tie-break (the id) included: without
    # the id in the index PostgreSQL walked the activity index instead (page 400 of a
    # subject's closed O.S. at a million, 21 ms; now 6).
    for assignee, subject, department, index in (
            ("meus", False, False, "ix_service_order_assignee_status"),
            ("", True, False, "ix_service_order_subject_status"),
            ("", False, True, "ix_service_order_department_status")):
        query = _filtered_statement("ids", False, department, subject, assignee, True, None).params(
            {**values, "status": "fechada", "offset": 9975})
        text = plan(app, query)
        assert index in text and "Sort" not in text and "TEMP B-TREE" not in text, text


def test_the_queue_of_every_department_pages_each_status_from_its_own_index_range(app, catalogue, make_order):
    """An administrator's queue by status, at a million O.S.: its page 400 walked the
    activity index past every O.S. of the other statuses (26 ms on SQLite, 31 on
    PostgreSQL); from the (status, activity, id) index it reads the page's range (1.4, 2.9)."""
    from views.staff import _filtered_statement

    make_order()
    query = _filtered_statement("ids", False, False, False, "", True, None).params(
        {"status": "aberta", "limit": 25, "offset": 9975})
    text = plan(app, query)
    assert "ix_service_order_status_updated" in text, text
    # The page comes in the index's order: nothing sorted after the read.
    assert "TEMP B-TREE" not in text and "Sort" not in text, text


def spread_on_postgresql(app, count=20_000):
    """PostgreSQL picks an index by the rows it expects. With one O.S. every index costs
    the same, and it may take the status index and filter by assignee, which at a million
    O.S. would read a status's 300,000 rows. Here: O.S. spread over statuses, subjects,
    departments and assignees (one in ten unassigned), with statistics, as a real office's."""
    if db_dialect(app) != "postgresql":
        return
    with app.app_context():
        db.session.execute(sa.text("""
            INSERT INTO service_order (number, contact_id, subject_id, department_id, assignee_id, status,
                                       channel, created_at, updated_at, version)
            SELECT 900000 + g, o.contact_id, s.ids[g / 7 % cardinality(s.ids) + 1],
                   d.ids[g / 3 % cardinality(d.ids) + 1],
                   CASE WHEN g % 10 = 0 THEN NULL ELSE a.ids[g / 11 % cardinality(a.ids) + 1] END,
                   (ARRAY['aberta', 'resolvida', 'fechada'])[g % 3 + 1], o.channel, o.created_at,
                   o.updated_at - g * interval '1 minute', 1
            FROM generate_series(1, :count) AS g, (SELECT * FROM service_order LIMIT 1) AS o,
                 (SELECT array_agg(id) AS ids FROM subject) AS s, (SELECT array_agg(id) AS ids FROM department) AS d,
                 (SELECT array_agg(id) AS ids FROM attendant) AS a"""), {"count": count})
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE service_order")


def db_dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name
