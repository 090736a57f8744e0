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
from models import AccessRequest, AuditEvent, OutboxMessage, ServiceOrder, utcnow
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


def request_access_link(email: str, number: int) -> None:
    """Store a status check for the worker; the same work whatever the e-mail and number."""
    db.session.add(AccessRequest(email=email, number=number))


def resolve_access_requests(limit: int = 200) -> int:
    """Send an access link for each stored request whose e-mail is its O.S.'s; drop the rest."""
    requests = db.session.scalars(
        sa.select(AccessRequest).order_by(AccessRequest.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for request in requests:
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == request.number))
        if order is not None and order.contact.email == request.email:
            send_access_link(order)
    if requests:
        db.session.execute(sa.delete(AccessRequest).where(
            AccessRequest.id.in_([r.id for r in requests])))
    db.session.commit()
    return len(requests)


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
    subject = (f"Nova O.S. #{order.display_number}: {order.subject.name}" if event == "new"
               else f"Nova resposta do cidadão na O.S. #{order.display_number}")
    for recipient in sorted(recipients):
        queue_mail("staff_alert", recipient, subject, "staff_alert", order=order, entry=entry,
                   event=event, text=html_to_text(entry.body_html))
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
