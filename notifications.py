"""What we tell whom, by e-mail: each message the product sends, composed in one function.

Every function here adds to the caller's database session (outbox rows, audit events) and
leaves the commit to the caller, so the message exists exactly when the change does.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app import db
from models import Attendant, AuditEvent, Contact, MailRequest, OutboxMessage, ServiceOrder, utcnow
from outbox import queue_mail
from sanitize import html_to_text
from tokens import external_url, make_token

log = logging.getLogger(__name__)


def access_link(order: ServiceOrder) -> str:
    """A signed link that lets its holder see this one O.S. until it expires or is revoked."""
    token = make_token("access", {"o": order.id, "c": order.contact_id,
                                  "v": order.contact.link_version})
    return external_url("os.access", token=token)


def _link_hours() -> int:
    return current_app.config["ACCESS_LINK_MAX_AGE"] // 3600


def request_mail(kind: str, email: str, number: int | None = None, **data) -> None:
    """Store a request for the worker (see models.MailRequest), committed at once on a
    connection of its own.

    It is only a note that someone asked for an e-mail, and they ask again if a power cut
    loses it, so this commit does not wait for the disk: SQLite's synchronous=NORMAL (WAL
    keeps the database consistent) or PostgreSQL's synchronous_commit=off, for this one
    commit. Waiting for the disk was a fifth of the status check; every other commit still
    waits. A plain INSERT: the ORM's unit of work for one row cost as much again.

    Being its own transaction, it must come before any write of the caller's session (on
    SQLite the two would wait for each other), and it commits even if the caller's does not."""
    row = {"kind": kind, "email": email, "number": number, "data": data or None}
    with db.engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        elif dialect == "postgresql":
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        try:
            connection.execute(MailRequest.__table__.insert(), row)
            connection.commit()
        finally:
            connection.rollback()  # after a failed INSERT, SQLite refuses the PRAGMA in its transaction
            if dialect == "sqlite":  # the connection goes back to the pool as it came
                connection.exec_driver_sql("PRAGMA synchronous=FULL")


def resolve_now_in_development() -> None:
    """Development runs no mail worker: decide stored requests at once."""
    if current_app.config["MAIL_CATCH"]:
        try:
            resolve_requests()
        except sa.exc.OperationalError:  # another request is deciding them right now
            db.session.rollback()


def resolve_requests(limit: int = 200) -> int:
    """Decide each stored request: send what its address should get, drop the rest."""
    requests = db.session.scalars(
        sa.select(MailRequest).order_by(MailRequest.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    for request in requests:
        try:
            with db.session.begin_nested():  # one bad request must not hold up the others
                _resolve(request)
        except sa.exc.SQLAlchemyError:
            log.exception("pedido %s (%s) descartado", request.id, request.kind)
    if requests:
        db.session.execute(sa.delete(MailRequest).where(MailRequest.id.in_([r.id for r in requests])))
    db.session.commit()
    return len(requests)


def _resolve(request: MailRequest) -> None:
    if request.kind == "access":
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == request.number))
        if order is not None and order.contact.email == request.email:
            send_access_link(order)
    elif request.kind == "staff_signin":
        if _within_mail_budget(request.email, STAFF_MAIL_KINDS):
            _resolve_staff_sign_in(request)
    elif _within_mail_budget(request.email, ACCOUNT_MAIL_KINDS):
        _resolve_account_request(request)


ACCOUNT_MAIL_KINDS = ("sign_in", "account_exists", "account_confirm", "account_invite")
STAFF_MAIL_KINDS = ("staff_sign_in",)  # its own budget: citizens' requests never use it up


def _within_mail_budget(address: str, kinds: tuple[str, ...]) -> bool:
    """Sign-in and confirmation mail to one address, per hour. Only mail actually sent
    counts, so requests for an address it was never sent to use nothing up."""
    since = utcnow() - timedelta(hours=1)
    sent = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient == address, OutboxMessage.kind.in_(kinds),
        OutboxMessage.created_at >= since))
    if sent >= current_app.config["ACCOUNT_MAILS_PER_ADDRESS_HOUR"]:
        log.info("e-mail de conta não enviado: limite por hora do endereço")
        return False
    return True


def _resolve_staff_sign_in(request: MailRequest) -> None:
    attendant = db.session.scalar(sa.select(Attendant).where(Attendant.email == request.email))
    if attendant is None or not attendant.active:
        return
    token = make_token("staff", {"a": attendant.id, "v": attendant.link_version,
                                 "s": attendant.sign_in_count, "n": (request.data or {}).get("next") or ""})
    queue_mail("staff_sign_in", attendant.email, "Seu link para o atendimento", "staff_sign_in",
               attendant=attendant, link=external_url("staff.sign_in_link", token=token),
               minutes=current_app.config["STAFF_SIGN_IN_LINK_MAX_AGE"] // 60)


def _resolve_account_request(request: MailRequest) -> None:
    data = request.data or {}
    contact = db.session.scalar(sa.select(Contact).where(Contact.email == request.email))
    if contact is not None and contact.has_account:
        kind = "sign_in" if request.kind == "signin" else "account_exists"
        subject = "Seu link para entrar" if kind == "sign_in" else "Você já possui uma conta"
        queue_mail(kind, contact.email, subject, kind, contact=contact,
                   link=sign_in_link(contact, data.get("next")),
                   minutes=current_app.config["SIGN_IN_LINK_MAX_AGE"] // 60)
    elif request.kind == "register":
        # Details nobody has proven yet give way to newer ones; a known contact keeps its own.
        contact = Contact.find_or_create(request.email, data.get("name") or "", data.get("phone"),
                                         data.get("extension"))
        db.session.flush()
        _send_confirmation(contact, "account_confirm", "Confirme seu cadastro")
    elif contact is not None:
        # "Entrar" with an address that has O.S. but no account yet: one click makes it.
        _send_confirmation(contact, "account_invite", "Crie sua conta para acompanhar suas O.S.")


def _send_confirmation(contact: Contact, kind: str, subject: str) -> None:
    token = make_token("confirm", {"c": contact.id, "v": contact.link_version})
    queue_mail(kind, contact.email, subject, kind, contact=contact,
               link=external_url("account.confirm", token=token),
               hours=current_app.config["CONFIRM_LINK_MAX_AGE"] // 3600)


def sign_in_link(contact: Contact, next_path: str | None = None) -> str:
    """A link that signs the account in once (it carries the sign-in counter)."""
    token = make_token("signin", {"c": contact.id, "v": contact.link_version,
                                  "s": contact.sign_in_count, "n": next_path or ""})
    return external_url("account.sign_in_link", token=token)


def _links_sent_since(since, **where) -> int:
    conditions = [OutboxMessage.kind == "access_link", OutboxMessage.created_at >= since]
    conditions += [getattr(OutboxMessage, name) == value for name, value in where.items()]
    return db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(*conditions))


def send_access_link(order: ServiceOrder) -> bool:
    """Queue an access link to the O.S.'s own address, at most a few an hour per O.S. and
    per address, so the status check cannot flood a mailbox. Only links actually sent count:
    wrong guesses for an address never lock its owner out.
    """
    since = utcnow() - timedelta(hours=1)
    config = current_app.config
    if (_links_sent_since(since, service_order_id=order.id) >= config["ACCESS_LINKS_PER_HOUR"]
            or _links_sent_since(since, recipient=order.contact.email)
            >= config["ACCESS_LINKS_PER_ADDRESS_HOUR"]):
        log.info("link de acesso da O.S. %s não reenviado: limite por hora", order.display_number)
        return False
    queue_mail(
        "access_link", order.contact.email, f"Link de acesso à O.S. #{order.display_number}",
        "access_link", order=order, link=access_link(order), hours=_link_hours(),
    )
    db.session.add(AuditEvent(order=order, actor="Sistema", action="link de acesso enviado",
                              detail="pedido em Verificar Status da O.S."))
    return True


def send_new_order(order: ServiceOrder) -> None:
    """The citizen's receipt for a new O.S.: its number and an access link."""
    queue_mail(
        "new_os", order.contact.email, f"O.S. #{order.display_number} registrada",
        "new_os", order=order, link=access_link(order), hours=_link_hours(),
    )
    db.session.add(AuditEvent(order=order, actor="Sistema", action="link de acesso enviado",
                              detail="e-mail de O.S. registrada"))


def alert_attendants(order: ServiceOrder, entry, event: str, exclude=None) -> int:
    """Tell the department's attendants (and its alert address, and the O.S.'s assignee)
    about a new O.S. or a citizen's reply, if the department wants alerts. `exclude` is the
    attendant who caused it, who needs no alert."""
    department = order.department
    if not department.alerts_enabled:
        return 0
    recipients = {a.email for a in department.attendants if a.active}
    if department.alert_email:
        recipients.add(department.alert_email)
    if order.assignee is not None and order.assignee.active:
        recipients.add(order.assignee.email)
    if exclude is not None:
        recipients.discard(exclude.email)
    subject = {
        "new": f"Nova O.S. #{order.display_number}: {order.subject.name}",
        "reply": f"Nova resposta do cidadão na O.S. #{order.display_number}",
        "transfer": f"O.S. #{order.display_number} transferida para {department.name}",
    }[event]
    for recipient in sorted(recipients):
        queue_mail("staff_alert", recipient, subject, "staff_alert", order=order, entry=entry,
                   event=event, text=html_to_text(entry.body_html),
                   link=external_url("staff.order", numero=order.display_number))
    return len(recipients)


def send_reply_to_citizen(order: ServiceOrder, entry) -> None:
    """An attendant's reply, with its text, the O.S.'s status and a link to answer."""
    queue_mail("attendant_reply", order.contact.email, f"Resposta na O.S. #{order.display_number}",
               "attendant_reply", order=order, entry=entry, text=html_to_text(entry.body_html),
               link=access_link(order), hours=_link_hours(), in_reply_to=_first_message_id(order))


def send_status_change(order: ServiceOrder, old_status) -> None:
    queue_mail("status_change", order.contact.email,
               f"O.S. #{order.display_number} {order.status.label.lower()}", "status_change",
               order=order, old_status=old_status, link=access_link(order), hours=_link_hours(),
               in_reply_to=_first_message_id(order))


def _first_message_id(order: ServiceOrder) -> str | None:
    """The receipt of the O.S., so mail clients thread later messages under it."""
    return db.session.scalar(
        sa.select(OutboxMessage.message_id)
        .where(OutboxMessage.service_order_id == order.id, OutboxMessage.kind == "new_os")
        .order_by(OutboxMessage.id).limit(1)
    )
