"""The citizen's side of an O.S.: the access-link landing, the O.S. page ("espelho da
ordem"), its attachment downloads, "Postar uma resposta" and "Abrir uma nova O.S.".
Every page, download and reply asks `security.can_view`.

The access link's GET only validates the token and remembers, in this browser's signed
session, that it may see that one O.S.; it consumes nothing, so an e-mail scanner that opens
the link first leaves it working for the citizen.
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, session, url_for)
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from wtforms import HiddenField, MultipleFileField, SelectField, SubmitField, TextAreaField
from wtforms.validators import Length, ValidationError

import fieldtypes
import uploads
from app import db, limiter
from models import (Attachment, Contact, Department, EntryKind, FieldValue, ServiceOrder, Subject,
                    ThreadEntry, format_number, normalize_email, read)
from notifications import alert_attendants, send_new_order
from sanitize import body_from_form, is_blank
from security import add_grant, can_view, limit_from, signed_in_record, within_limit
from tokens import TokenError, TokenExpired, read_token
from views.fields import Form, email_field, name_field, options, phone_field
from views.public import StatusCheckForm

bp = Blueprint("os", __name__)
MAX_BODY = 100_000


def _valid_body(form, field):
    if is_blank(body_from_form(field.data or "", form.formato.data)):
        raise ValidationError("Escreva sua mensagem.")


def message_field(label: str) -> TextAreaField:
    return TextAreaField(label, validators=[
        Length(max=MAX_BODY, message="A mensagem é longa demais."), _valid_body])


class MessageForm(Form):
    """A message with attachments: the reply form, and the core of a new O.S."""

    body = message_field("Para ajudá-lo melhor, solicitamos que seja específico e detalhado")
    formato = HiddenField(default="texto")
    anexos = MultipleFileField("Anexos")
    chave = HiddenField()  # one per rendered form: a resubmitted form posts once

    def html(self) -> str:
        return body_from_form(self.body.data or "", self.formato.data)

    def ensure_key(self) -> None:
        if not self.chave.data or len(self.chave.data) > 64:
            self.chave.data = secrets.token_urlsafe(24)


class ReplyForm(MessageForm):
    submit = SubmitField("Postar resposta")


class NewOrderForm(MessageForm):
    subject = SelectField("Assunto", coerce=str, validate_choice=False)
    email = email_field("Endereço de e-mail")
    name = name_field()
    phone = phone_field()
    next_step = SubmitField("Continuar")
    submit = SubmitField("Abrir O.S.")


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
    if order.contact_id != payload.get("c") or order.link_version != payload.get("v"):
        return _link_problem("revoked", order.number, 410)
    add_grant(order.id, order.contact_id, order.link_version)
    response = redirect(url_for("os.view", numero=format_number(order.number)), 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _order_from_payload(payload):
    """The linked O.S. as one row (id, number, contact_id and the contact's link_version)."""
    order_id = payload.get("o") if isinstance(payload, dict) else None
    if not isinstance(order_id, int):
        return None
    return read(_link_target(), {"order_id": order_id}).first()


@cache
def _link_target() -> sa.Select:
    return (sa.select(ServiceOrder.id, ServiceOrder.number, ServiceOrder.contact_id, Contact.link_version)
            .join(Contact, ServiceOrder.contact_id == Contact.id)
            .where(ServiceOrder.id == sa.bindparam("order_id")))


def load_order(numero: str, allowed, with_thread: bool = True) -> ServiceOrder | None:
    """The O.S. with its thread, attachments and fields, if `allowed(order)`. Access is
    decided on the row and its contact, department and subject (one query) before the
    thread is loaded, so a forbidden O.S. costs what a missing one does."""
    number = ServiceOrder.parse_number(numero)
    if number is None:
        return None
    order = db.session.scalar(_order_by_number(), {"number": number})
    if order is None or not allowed(order):
        return None
    if not with_thread:
        return order
    entries = db.session.scalars(
        sa.select(ThreadEntry).where(ThreadEntry.service_order_id == order.id)
        .order_by(ThreadEntry.created_at, ThreadEntry.id)
        .options(selectinload(ThreadEntry.attachments))
    ).all()
    set_committed_value(order, "entries", entries)
    set_committed_value(order, "field_values", db.session.scalars(
        sa.select(FieldValue).where(FieldValue.service_order_id == order.id)).all())
    return order


@cache
def _order_by_number() -> sa.Select:
    # Built once: building it (and its cache key) on every request cost a tenth of the page.
    return (sa.select(ServiceOrder).where(ServiceOrder.number == sa.bindparam("number"))
            .options(joinedload(ServiceOrder.contact), joinedload(ServiceOrder.department),
                     joinedload(ServiceOrder.subject)))


def _no_access(numero: str):
    """The same answer for an O.S. that does not exist and one this browser may not see."""
    return render_template("os/no_access.html", form=_status_form(ServiceOrder.parse_number(numero))), 403


def _render_order(order: ServiceOrder, form: ReplyForm, status: int = 200):
    return render_template(
        "os/view.html", order=order, entries=order.public_thread(), form=form,
        accepts_replies=order.accepts_citizen_replies(current_app.config["ALLOW_REOPEN_CLOSED"]),
    ), status


@bp.get("/os/<numero>")
def view(numero: str):
    number = ServiceOrder.parse_number(numero)
    if number is not None and numero != format_number(number):
        return redirect(url_for("os.view", numero=format_number(number)), 301)
    order = OrderPage.read(number) if number is not None else None
    if order is None or not can_view(order):
        return _no_access(numero)
    form = ReplyForm(formdata=None)
    form.ensure_key()
    return _render_order(order, form)


class OrderPage:
    """An O.S. as its citizen page shows it, read as one row instead of four ORM objects (a
    sixth of the page's time). Who may see it, its thread and its fields are ServiceOrder's
    own rules, borrowed, so there is still one rule for each."""

    __slots__ = ("id", "number", "status", "created_at", "channel", "phone", "contact_id",
                 "department_id", "subject_id", "contact", "department", "subject")
    visible_to = ServiceOrder.visible_to
    public_thread = ServiceOrder.public_thread
    extra_fields = ServiceOrder.extra_fields
    accepts_citizen_replies = ServiceOrder.accepts_citizen_replies
    display_number = ServiceOrder.display_number

    @classmethod
    def read(cls, number: int) -> OrderPage | None:
        row = read(_order_page(), {"number": number}).first()
        if row is None:
            return None
        page = cls()
        (page.id, page.number, page.status, page.created_at, page.channel, page.phone, page.contact_id,
         page.department_id, page.subject_id) = row[:9]
        page.contact = ContactItem(*row[9:14])
        page.department, page.subject = NameItem(row[14]), NameItem(row[15])
        return page


class ContactItem(NamedTuple):
    name: str
    email: str
    phone: str | None
    extension: str | None
    link_version: int


class NameItem(NamedTuple):
    name: str


@cache
def _order_page() -> sa.Select:
    return (
        sa.select(ServiceOrder.id, ServiceOrder.number, ServiceOrder.status, ServiceOrder.created_at,
                  ServiceOrder.channel, ServiceOrder.phone, ServiceOrder.contact_id,
                  ServiceOrder.department_id, ServiceOrder.subject_id,
                  Contact.name, Contact.email, Contact.phone, Contact.extension, Contact.link_version,
                  Department.name, Subject.name)
        .join(Contact, ServiceOrder.contact_id == Contact.id)
        .join(Department, ServiceOrder.department_id == Department.id)
        .join(Subject, ServiceOrder.subject_id == Subject.id)
        .where(ServiceOrder.number == sa.bindparam("number"))
    )


def checked_files(form: MessageForm, form_ok: bool) -> list[uploads.Upload]:
    """The acceptable files, or errors on the attachments field. A browser cannot keep
    chosen files across a page that shows errors, so the citizen is told which to choose
    again."""
    chosen = [f.filename for f in form.anexos.data or [] if f and f.filename]
    try:
        files = uploads.check(form.anexos.data or [])
    except uploads.UploadError as exc:
        form.anexos.errors = [f"{exc} O texto foi mantido; escolha os arquivos novamente."]
        return []
    if chosen and not form_ok:
        names = ", ".join(uploads.clean_name(n) for n in chosen)
        form.anexos.errors = [f"Por segurança, escolha novamente os arquivos: {names}."]
    return files


def attach_files(entry: ThreadEntry, order: ServiceOrder, files: list[uploads.Upload]) -> None:
    for upload in files:
        db.session.add(Attachment(entry=entry, service_order_id=order.id,
                                  stored_name=upload.stored_name, original_name=upload.name,
                                  size=upload.size, content_type=upload.content_type))


def posted_before(key: str | None) -> ThreadEntry | None:
    if not key:
        return None
    return db.session.scalar(sa.select(ThreadEntry).where(ThreadEntry.submission_key == key))


@bp.post("/os/<numero>/responder")
@limiter.limit(limit_from("RATELIMIT_POST"))
def reply(numero: str):
    # The O.S. without its thread: posting must not read a long thread it does not show.
    order = load_order(numero, can_view, with_thread=False)
    if order is None:
        return _no_access(numero)
    form = ReplyForm()
    form.ensure_key()
    back = url_for("os.view", numero=order.display_number)
    if not order.accepts_citizen_replies(current_app.config["ALLOW_REOPEN_CLOSED"]):
        flash("Esta O.S. está fechada e não recebe novas respostas.", "error")
        return redirect(back, 303)
    earlier = posted_before(form.chave.data)
    if earlier is not None and earlier.service_order_id == order.id:
        return redirect(f"{back}#mensagem-{earlier.id}", 303)  # a second click of the same form
    form_ok = form.validate()
    files = checked_files(form, form_ok)
    if not form_ok or form.anexos.errors:
        return _render_order(order, form, 422)
    paths = uploads.store(files)
    for attempt in range(3):
        try:
            entry = order.add_citizen_message(form.html(), submission_key=form.chave.data)
            db.session.flush()
            attach_files(entry, order, files)
            db.session.flush()
            alert_attendants(order, entry, "reply")
            db.session.commit()
            break
        except IntegrityError:  # the same form, posted twice at the same moment
            db.session.rollback()
            uploads.discard(paths)
            return redirect(back, 303)
        except StaleDataError:
            # An attendant (or another tab) changed the O.S. at this very moment: read it
            # again and add the reply to what it is now.
            db.session.rollback()
            order = load_order(numero, can_view, with_thread=False)
            if attempt == 2 or order is None or not order.accepts_citizen_replies(
                    current_app.config["ALLOW_REOPEN_CLOSED"]):
                uploads.discard(paths)
                flash("A O.S. mudou enquanto você enviava. Confira e envie de novo.", "error")
                return redirect(back, 303)
    flash("Sua resposta foi registrada.", "info")
    return redirect(f"{back}#mensagem-{entry.id}", 303)


def _public_subjects() -> list[Subject]:
    """Subjects a citizen may choose: active, public, of a public department."""
    return db.session.scalars(
        sa.select(Subject).join(Department, Subject.department_id == Department.id)
        .where(Subject.active.is_(True), Subject.is_public.is_(True), Department.is_public.is_(True))
        .order_by(Subject.position, Subject.name).options(selectinload(Subject.fields))
    ).all()


def subject_field_values(subject: Subject) -> tuple[dict[int, str], dict[int, str]]:
    """(normalized values, errors) of the chosen subject's extra fields, from the form."""
    values, errors = {}, {}
    for field in subject.fields:
        raw = request.form.get(f"campo_{field.id}", "")
        if not raw.strip():
            if field.required:
                errors[field.id] = f"Informe {field.label}."
            continue
        choices = (field.choices or "").splitlines()
        try:
            values[field.id] = fieldtypes.normalize(field.kind, raw, choices)
        except fieldtypes.FieldError as exc:
            errors[field.id] = str(exc)
    return values, errors


@bp.route("/os/nova", methods=["GET", "POST"])
@limiter.limit(limit_from("RATELIMIT_POST"), methods=["POST"])
def new_order():
    subjects = _public_subjects()
    form = NewOrderForm()
    form.subject.choices = options([("", "— Escolha o assunto —")] + [(s.id, s.name) for s in subjects])
    signed_in = current_user.is_authenticated
    if signed_in:  # the account already says who they are
        del form.email, form.name, form.phone
    if request.method == "GET":
        form.subject.data = request.args.get("assunto", "")
    form.ensure_key()
    chosen = next((s for s in subjects if str(s.id) == form.subject.data), None)

    def page(status=200, field_errors=None):
        return render_template("os/new.html", form=form, subjects=subjects, chosen=chosen,
                               values=request.form, field_errors=field_errors or {}), status

    if request.method == "GET" or form.next_step.data:
        return page()  # without JavaScript, choosing the subject is a step of its own
    form_ok = form.validate()
    values, field_errors = subject_field_values(chosen) if chosen else ({}, {})
    if chosen is None:
        form.subject.errors = ["Escolha o assunto."]
        form_ok = False
    files = checked_files(form, form_ok and not field_errors)
    if not form_ok or field_errors or form.anexos.errors:
        return page(422, field_errors)
    email = current_user.email if signed_in else normalize_email(form.email.data)
    if posted_before(form.chave.data) is None and not within_limit(
            "RATELIMIT_NEW_OS_PER_EMAIL", "new-os", email):
        form.subject.errors = ["Muitas O.S. foram abertas com este e-mail em pouco tempo. Aguarde "
                               "um pouco ou ligue para a Central de Atendimento."]
        return page(429, field_errors)
    if signed_in:
        contact, phone = signed_in_record, None
    else:
        contact = lambda: Contact.find_or_create(email, form.name.data, form.phone.data)  # noqa: E731
        phone = form.phone.data or None
    order = save_new_order(form, files, contact=contact, subject=chosen, values=values,
                           channel="Usuário Externo", phone=phone)
    return _after_new_order(order, signed_in)


def save_new_order(form: MessageForm, files: list[uploads.Upload], *, contact, subject: Subject,
                   values: dict[int, str], channel: str, phone: str | None,
                   department: Department | None = None, attendant=None) -> ServiceOrder:
    """Store a new O.S. from a message form, for the citizen's page and the console alike:
    its first entry and files, the citizen's receipt, the attendants' alert; once per
    rendered form (a resubmitted form returns the O.S. it already opened). `contact` is
    called only when the O.S. is really created."""
    earlier = posted_before(form.chave.data)
    if earlier is not None:
        return earlier.order
    paths = uploads.store(files)
    try:
        order = ServiceOrder.open(contact=contact(), subject=subject, body_html=form.html(),
                                  channel=channel, phone=phone, department=department,
                                  field_values=values, attendant=attendant)
        first = order.entries[0]
        first.submission_key = form.chave.data
        db.session.flush()
        attach_files(first, order, files)
        db.session.flush()
        send_new_order(order)
        alert_attendants(order, first, "new", exclude=attendant)
        db.session.commit()
    except IntegrityError:  # the same form, posted twice at the same moment
        db.session.rollback()
        uploads.discard(paths)
        earlier = posted_before(form.chave.data)
        if earlier is None:
            raise
        return earlier.order
    return order


def _after_new_order(order: ServiceOrder, signed_in: bool):
    if signed_in:
        flash(f"Sua O.S. foi registrada com o número {order.display_number}. "
              "Enviamos uma cópia para o seu e-mail.", "info")
        return redirect(url_for("os.view", numero=order.display_number), 303)
    # A guest has not proven the address yet: the e-mailed link opens the O.S. The page
    # that shows the number is this browser's alone (a reload shows it again).
    session["registered"] = order.number
    return redirect(url_for("os.created", numero=order.display_number), 303)


@bp.get("/os/registrada/<numero>")
def created(numero: str):
    """"Sua O.S. foi registrada com o número …", for the browser that registered it: for any
    other, a link to this page could announce a number that was never registered."""
    number = ServiceOrder.parse_number(numero)
    if number is None or session.get("registered") != number:
        abort(404)
    return render_template("os/created.html", number=format_number(number))


@bp.get("/os/<numero>/anexos/<int(max=2147483647):attachment_id>")
def download(numero: str, attachment_id: int):
    number = ServiceOrder.parse_number(numero)
    attachment = db.session.get(Attachment, attachment_id)
    if number is None or attachment is None:
        abort(404)
    order = db.session.get(ServiceOrder, attachment.service_order_id)
    if (order is None or order.number != number or not can_view(order)
            or attachment.entry.kind == EntryKind.NOTE):
        abort(404)
    return send_attachment(attachment)


def send_attachment(attachment: Attachment):
    """The file as a download, never rendered by the browser."""
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
