"""The citizen's side of one O.S.: the access-link landing, the O.S. page ("espelho da
ordem") and its attachment downloads. Every page and download asks `security.can_view`.

The access link's GET only validates the token and remembers, in this browser's signed
session, that it may see that one O.S.; it consumes nothing, so an e-mail scanner that opens
the link first leaves it working for the citizen.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, redirect, render_template, send_file,
                   url_for)
from sqlalchemy.orm import selectinload

from app import db
from models import (Attachment, EntryKind, ServiceOrder, Subject, ThreadEntry, format_number)
from security import add_grant, can_view
from tokens import TokenError, TokenExpired, read_token
from views.public import StatusCheckForm

bp = Blueprint("os", __name__)


def _status_form(number: int | None) -> StatusCheckForm:
    """The status-check form, with the O.S. number filled in when we know it."""
    form = StatusCheckForm(formdata=None)
    if number is not None:
        form.number.data = format_number(number)
    return form


def _link_problem(reason: str, number: int | None = None, status: int = 400):
    return render_template("os/link_invalid.html", reason=reason, form=_status_form(number)), status


@bp.get("/acesso/<token>")
def access(token: str):
    max_age = current_app.config["ACCESS_LINK_MAX_AGE"]
    try:
        payload = read_token("access", token, max_age)
    except TokenExpired as exc:
        order = _order_from_payload(exc.payload)
        return _link_problem("expired", order.number if order else None, 410)
    except TokenError:
        return _link_problem("invalid")
    order = _order_from_payload(payload)
    if order is None:
        return _link_problem("invalid")
    if order.contact_id != payload.get("c") or order.contact.link_version != payload.get("v"):
        return _link_problem("revoked", order.number, 410)
    add_grant(order)
    response = redirect(url_for("os.view", numero=order.display_number), 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _order_from_payload(payload) -> ServiceOrder | None:
    order_id = payload.get("o") if isinstance(payload, dict) else None
    if not isinstance(order_id, int):
        return None
    return db.session.get(ServiceOrder, order_id)


def _visible_order_or_none(numero: str) -> ServiceOrder | None:
    """The O.S. if this browser may see it. Access is decided on the bare row, before the
    page's data is loaded, so a forbidden O.S. costs what a missing one does."""
    number = ServiceOrder.parse_number(numero)
    if number is None:
        return None
    order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == number))
    if order is None or not can_view(order):
        return None
    return db.session.scalar(
        sa.select(ServiceOrder)
        .where(ServiceOrder.id == order.id)
        .options(
            selectinload(ServiceOrder.contact),
            selectinload(ServiceOrder.department),
            selectinload(ServiceOrder.subject).selectinload(Subject.fields),
            selectinload(ServiceOrder.field_values),
            selectinload(ServiceOrder.entries).selectinload(ThreadEntry.attachments),
        )
        .execution_options(populate_existing=True)
    )


def _no_access(numero: str):
    """The same answer for an O.S. that does not exist and one this browser may not see."""
    return render_template("os/no_access.html", form=_status_form(ServiceOrder.parse_number(numero))), 403


@bp.get("/os/<numero>")
def view(numero: str):
    number = ServiceOrder.parse_number(numero)
    if number is not None and numero != format_number(number):
        return redirect(url_for("os.view", numero=format_number(number)), 301)
    order = _visible_order_or_none(numero)
    if order is None:
        return _no_access(numero)
    return render_template("os/view.html", order=order, entries=order.public_entries())


@bp.get("/os/<numero>/anexos/<int:attachment_id>")
def download(numero: str, attachment_id: int):
    number = ServiceOrder.parse_number(numero)
    attachment = db.session.get(Attachment, attachment_id)
    if number is None or attachment is None:
        abort(404)
    order = db.session.get(ServiceOrder, attachment.service_order_id)
    if (order is None or order.number != number or not can_view(order)
            or attachment.entry.kind == EntryKind.NOTE):
        abort(404)
    path = os.path.join(current_app.config["UPLOAD_DIR"], attachment.stored_name)
    if not os.path.isfile(path):
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=attachment.original_name,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
