"""The outbox: mail written with the change that causes it, delivered by a worker over real
SMTP with retries, never lost when the server is down."""

import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import db
from conftest import deliver
from models import OutboxMessage, ServiceOrder, utcnow
from notifications import send_access_link


def order_by_number(number):
    return db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))


def test_mail_is_written_in_the_same_transaction_as_the_change(app, make_order):
    number = make_order()
    with app.test_request_context():
        send_access_link(order_by_number(number))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
        send_access_link(order_by_number(number))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1


def test_delivered_message_has_text_and_html_parts_in_portuguese_and_its_message_id(app, make_order, mailbox):
    number = make_order()
    with app.test_request_context():
        send_access_link(order_by_number(number))
        db.session.commit()
        stored_id = db.session.scalar(sa.select(OutboxMessage.message_id))
    assert deliver(app) == (1, 0)
    [message] = mailbox.messages
    assert message["Message-ID"] == stored_id
    assert message["Subject"] == f"Link de acesso à O.S. #{number} - Secretaria de Estado de Finanças"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Olá, Eliane Barbosa." in mailbox.text(message)
    assert "válido por 72 horas" in mailbox.text(message)
    html = mailbox.html(message)
    assert '<html lang="pt-BR">' in html
    assert f"Ver a O.S. #{number}" in html
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.sent_at)) is not None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_nothing_is_lost_while_the_smtp_server_is_down(app, make_order, mailbox, smtp_server):
    number = make_order()
    with app.test_request_context():
        send_access_link(order_by_number(number))
        db.session.commit()
    app.config["MAIL_PORT"] = closed_port()
    assert deliver(app) == (0, 1)
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.sent_at is None and not message.failed
        assert message.attempts == 1
        assert "ConnectionRefusedError" in message.last_error
        assert message.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert deliver(app) == (0, 0)  # not due yet: backoff
    app.config["MAIL_PORT"] = smtp_server[2]
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        message.next_attempt_at = utcnow()
        db.session.commit()
    assert deliver(app) == (1, 0)
    assert len(mailbox.messages) == 1


def test_backoff_grows_and_gives_up_after_the_maximum_attempts(app, make_order):
    number = make_order()
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    app.config["MAIL_PORT"] = closed_port()
    with app.test_request_context():
        send_access_link(order_by_number(number))
        db.session.commit()
    waits = []
    for _ in range(3):
        with app.app_context():
            message = db.session.scalar(sa.select(OutboxMessage))
            message.next_attempt_at = utcnow()
            db.session.commit()
            before = utcnow()
        deliver(app)
        with app.app_context():
            message = db.session.scalar(sa.select(OutboxMessage))
            waits.append(message.next_attempt_at - before)
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.failed and message.attempts == 3 and message.sent_at is None
    assert waits[1] > waits[0]


def test_a_hung_smtp_server_times_out_instead_of_blocking(app, make_order):
    number = make_order()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection but never says hello
    app.config.update(MAIL_PORT=listener.getsockname()[1], MAIL_TIMEOUT=1)
    with app.test_request_context():
        send_access_link(order_by_number(number))
        db.session.commit()
    try:
        assert deliver(app) == (0, 1)
    finally:
        listener.close()
    assert socket.getdefaulttimeout() is None


@pytest.mark.parametrize("command", [["mail", "send"]])
def test_mail_send_command_delivers_what_is_due(app, runner, make_order, mailbox, command):
    number = make_order()
    with app.test_request_context():
        send_access_link(order_by_number(number))
        db.session.commit()
    result = runner.invoke(args=command)
    assert result.exit_code == 0, result.output
    assert "enviadas: 1, falhas: 0" in result.output
    assert len(mailbox.messages) == 1


def test_two_workers_at_once_send_each_message_once(app, make_order, mailbox, smtp_server):
    import threading
    import time as clock

    number = make_order()
    app.config.update(ACCESS_LINKS_PER_HOUR=100, ACCESS_LINKS_PER_ADDRESS_HOUR=100)
    with app.test_request_context():
        order = order_by_number(number)
        for _ in range(12):
            send_access_link(order)
        db.session.commit()
    original = mailbox.handle_DATA

    async def slow(server, session, envelope):  # a slow server widens the race
        clock.sleep(0.05)
        return await original(server, session, envelope)

    mailbox.handle_DATA = slow
    results = []
    try:
        workers = [threading.Thread(target=lambda: results.append(deliver(app))) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        mailbox.handle_DATA = original
    ids = [m["Message-ID"] for m in mailbox.messages]
    assert sum(sent for sent, _ in results) == len(ids) == len(set(ids))
