"""Outbound e-mail: the outbox and the worker that empties it.

`queue_mail()` renders a message (text and HTML parts, pt-BR) and adds it to the database
session, so it is committed, or rolled back, with the change that caused it: a page never
waits for SMTP and nothing is lost when the SMTP server is down. `deliver_due()` sends what is
due through Flask-Mail with a timeout and retries with backoff; `run_worker()` repeats it.
In development without MAIL_SERVER the mail is "caught": printed to the console after commit
and listed at /dev/mail.
"""

from __future__ import annotations

import logging
import signal
import smtplib
import socket
import time
from datetime import timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, render_template

from app import db
from models import OfficeSetting, OutboxMessage, utcnow

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=6)
LEASE = timedelta(minutes=15)


def _message_domain() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def queue_mail(kind: str, recipient: str, subject: str, template: str, *, order=None,
               in_reply_to: str | None = None, **context) -> OutboxMessage:
    """Render `email/<template>.txt` and `.html` and add the message to the session."""
    office = OfficeSetting.values()
    context.update(office=office, order=order)
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        subject=f"{subject} - {office['name']}"[:255],
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
        message_id=make_msgid(idstring=kind.replace("_", "-"), domain=_message_domain()),
        in_reply_to=in_reply_to,
        service_order_id=order.id if order is not None else None,
    )
    db.session.add(message)
    if current_app.config["MAIL_CATCH"]:
        db.session.info.setdefault("caught_mail", []).append(message)
    return message


def _print_caught(session) -> None:
    for message in session.info.pop("caught_mail", []):
        # Development only: the link in the message is what the developer clicks.
        print(
            f"\n----- e-mail (capturado; veja /dev/mail) -----\nPara: {message.recipient}\n"
            f"Assunto: {message.subject}\n\n{message.body_text}\n-----\n",
            flush=True,
        )


def _forget_caught(session, *args) -> None:
    session.info.pop("caught_mail", None)


def _build(message: OutboxMessage):
    from flask_mail import Message

    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
        headers["References"] = message.in_reply_to
    msg = Message(
        subject=message.subject,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],  # read per batch, like the server's settings
        recipients=[message.recipient],
        body=message.body_text,
        html=message.body_html,
        extra_headers=headers,
        charset="utf-8",
    )
    msg.msgId = message.message_id
    return msg


def _due_ids(limit: int) -> list[tuple[int, object]]:
    rows = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.next_attempt_at)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed.is_(False),
            OutboxMessage.next_attempt_at <= utcnow(),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    return [tuple(row) for row in rows]


def _claim(message_id: int, seen_due_at) -> OutboxMessage | None:
    """Take a message for this worker: compare-and-set on its due time, committed before
    sending, so two workers (on any database) never send the same message. A worker that
    dies mid-send leaves the lease to expire and the message is tried again."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None),
               OutboxMessage.failed.is_(False), OutboxMessage.next_attempt_at == seen_due_at)
        .values(next_attempt_at=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return db.session.get(OutboxMessage, message_id) if result.rowcount == 1 else None


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)


def deliver_due(limit: int = 50) -> tuple[int, int]:
    """Turn status checks into messages, then send what is due once.
    Returns (sent, failed attempts)."""
    from notifications import resolve_requests  # the worker decides those, see there

    resolve_requests()
    config = current_app.config
    due = _due_ids(limit)
    if not due:
        return 0, 0
    if config["MAIL_CATCH"]:
        db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_([i for i, _ in due]))
            .values(sent_at=utcnow()).execution_options(synchronize_session=False)
        )
        db.session.commit()
        return len(due), 0
    if not config["MAIL_SERVER"]:
        log.warning("MAIL_SERVER não definido: %d mensagens aguardam no outbox", len(due))
        return 0, 0

    # Flask-Mail is loaded by whoever delivers (the mail worker), not by every web worker.
    from flask_mail import Connection, Mail

    if "mail" not in current_app.extensions:
        Mail(current_app)  # a Message reads its attachment settings from there

    sent = errors = 0
    connection = None
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(config["MAIL_TIMEOUT"])  # Flask-Mail takes no timeout of its own
    try:
        for message_id, seen_due_at in due:
            message = _claim(message_id, seen_due_at)
            if message is None:
                continue  # another worker has it
            try:
                if connection is None:
                    # Settings are read per batch, so a changed SMTP setting needs no restart.
                    connection = Connection(Mail().init_mail(config, current_app.debug, current_app.testing))
                    connection.__enter__()
                connection.send(_build(message))
            except Exception as exc:  # server down, refused, timeout, a bad recipient
                _record_failure(message, exc)
                db.session.commit()
                errors += 1
                if isinstance(exc, (OSError, smtplib.SMTPException)) and not isinstance(
                        exc, smtplib.SMTPRecipientsRefused):
                    break  # the server is the problem: the rest waits for the next round
                continue
            message.sent_at = utcnow()
            message.attempts += 1
            sent += 1
            db.session.commit()
    finally:
        socket.setdefaulttimeout(previous_timeout)
        if connection is not None and connection.host is not None:
            try:
                connection.__exit__(None, None, None)
            except Exception:
                pass  # the messages are already recorded; a failed QUIT changes nothing
    return sent, errors


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:500]
    if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        message.failed = True
        log.error("mensagem %s desistida após %d tentativas", message.id, message.attempts)
    else:
        message.next_attempt_at = utcnow() + _backoff(message.attempts)
        log.warning("mensagem %s falhou (tentativa %d): %s", message.id, message.attempts,
                    type(exc).__name__)


def run_worker(interval: float = 2.0, max_loops: int | None = None) -> None:
    """Deliver the outbox until SIGTERM or SIGINT (the production mail process)."""
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    loops = 0
    log.info("mail worker iniciado")
    while not stopping and (max_loops is None or loops < max_loops):
        loops += 1
        try:
            sent, errors = deliver_due()
            if sent or errors:
                log.info("enviadas %d, falhas %d", sent, errors)
        except Exception:
            db.session.rollback()
            log.exception("erro no mail worker")
        finally:
            db.session.remove()
        waited = 0.0
        while not stopping and waited < interval:
            time.sleep(0.2)
            waited += 0.2
    log.info("mail worker encerrado")


def init_app(app) -> None:
    # The listeners act only on sessions that caught mail, so one registration serves
    # every app; they are harmless where MAIL_CATCH is off.
    if app.config["MAIL_CATCH"] and not sa.event.contains(db.session, "after_commit", _print_caught):
        sa.event.listen(db.session, "after_commit", _print_caught)
        sa.event.listen(db.session, "after_soft_rollback", _forget_caught)
