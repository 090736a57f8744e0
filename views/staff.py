"""The attendant console under /atendimento: sign-in by link, the queue, registering an O.S.
for a caller, and the O.S. page where attendants answer, add internal notes, change status,
transfer, assign and edit the subject's fields, with the audit trail.

`before_request` guards every route but the sign-in ones, once: an attendant sees and acts
only within their departments (administrators: all), and every O.S. page, action and download
asks `ServiceOrder.visible_to(attendant=...)`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import joinedload, selectinload
from wtforms import HiddenField, MultipleFileField, SelectField, SubmitField

import fieldtypes
import search
import uploads
from app import db, limiter
from models import (CHANNELS, Attachment, Attendant, AuditEvent, Contact, Department, EntryKind,
                    FieldKind, FieldValue, OrderCount, ServiceOrder, Status, Subject, SubjectField,
                    ThreadEntry, ascii_digits, counted_up_to, normalize_email, phone_tail, read, utcnow)
from notifications import (alert_attendants, request_mail, resolve_now_in_development,
                           send_reply_to_citizen, send_status_change)
from security import (SignedInAttendant, current_attendant, is_safe_next, limit_from,
                      sign_in_attendant, sign_out_attendant)
from tokens import TokenError, TokenExpired, read_token
from views.fields import (Form, department_options, email_field, extension_field, name_field, options,
                          page_links, path_before, phone_field, small_int)
from views.os import (MessageForm, attach_files, checked_files, load_order, message_field,
                      posted_before, save_new_order, send_attachment, subject_field_values)

bp = Blueprint("staff", __name__, url_prefix="/atendimento")
PER_PAGE = 25  # a screenful at 1366 px, as helpdesks show (osTicket: 25)
# The queue lists at most this many O.S. for one set of filters and search, the most recently
# active: page 30,000 of the closed O.S. at a million cost 300 ms (the database steps over
# every row before it), and counting a filter's matches beyond it, 90 to 220 ms. Narrower
# filters or search terms reach the older ones, as Zendesk's and GitHub's lists do.
MAX_LISTED = 10_000
PHONE_LIKE = re.compile(r"[\d\s()+.\-]+")  # "(69) 8400-0000", "+55 69 98400.0000"
OPEN_ENDPOINTS = {"staff.home", "staff.sign_in", "staff.sign_in_sent", "staff.sign_in_link"}


class SignInForm(Form):
    email = email_field("Endereço de e-mail")
    submit = SubmitField("Enviar link de entrada")


class ButtonForm(Form):
    """Only the CSRF token: for buttons that act."""


class IntakeForm(MessageForm):
    # In the page's order, which the list of errors above the form follows.
    channel = SelectField("Localidade", choices=options((c, c) for c in CHANNELS), default="Telefone")
    email = email_field("E-mail do cidadão")
    name = name_field("Nome do cidadão", "Informe o nome completo do cidadão.")
    phone = phone_field("Telefone")
    extension = extension_field("Ramal")
    subject = SelectField("Assunto", coerce=str, validate_choice=False)
    department = SelectField("Departamento", coerce=str, validate_choice=False)
    body = message_field("Pedido do cidadão, como ele contou")
    anexos = MultipleFileField("Anexos")  # again, after the text, as on the page
    find = SubmitField("Buscar contato")
    next_step = SubmitField("Continuar")
    submit = SubmitField("Registrar O.S.")


class StaffReplyForm(MessageForm):
    body = message_field("Mensagem")
    after = SelectField("Depois de responder ao cidadão", choices=options([
        ("", "Manter o status"), ("resolvida", "Marcar como Resolvida"), ("fechada", "Marcar como Fechada")]),
        default="")
    seen_entry = HiddenField()  # the newest entry the attendant had on screen
    reply = SubmitField("Responder ao cidadão")
    note = SubmitField("Salvar como nota interna")


class UpdateForm(Form):
    status = SelectField("Status", choices=options((s.value, s.label) for s in Status))
    department = SelectField("Departamento", coerce=str, validate_choice=False)
    assignee = SelectField("Responsável", coerce=str, validate_choice=False)
    version = HiddenField()
    submit = SubmitField("Salvar alterações")


# --- Sign-in ---------------------------------------------------------------------------------

@bp.app_context_processor
def console_context():
    return {"current_attendant": current_attendant}


@bp.before_request
def require_attendant():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_attendant() is None:
        flash("Sua sessão no atendimento terminou. Entre com o link enviado ao seu e-mail.", "info")
        return redirect(url_for("staff.home", next=return_path()))
    return None


def return_path() -> str:
    """Where to come back after signing in: this page, or for a form the page it was on
    (a form's address answers POST only)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    numero = (request.view_args or {}).get("numero")
    return url_for("staff.order", numero=numero) if numero else url_for("staff.home")


@bp.route("/", methods=["GET"])
def home():
    if current_attendant() is not None:
        return queue()
    return render_template("staff/sign_in.html", form=SignInForm(),
                           next=request.args.get("next") if is_safe_next(request.args.get("next")) else None)


@bp.post("/entrar")
@limiter.limit(limit_from("RATELIMIT_ACCOUNT"))
def sign_in():
    form = SignInForm()
    next_path = request.args.get("next")
    next_path = next_path if is_safe_next(next_path) else None
    if not form.validate():
        return render_template("staff/sign_in.html", form=form, next=next_path), 422
    request_mail("staff_signin", normalize_email(form.email.data), next=next_path)
    resolve_now_in_development()
    return redirect(url_for("staff.sign_in_sent"), 303)


@bp.get("/entrar/enviado")
def sign_in_sent():
    return render_template("staff/sign_in_sent.html")


@bp.route("/entrar/<token>", methods=["GET", "POST"])
def sign_in_link(token: str):
    try:
        payload = read_token("staff", token, current_app.config["STAFF_SIGN_IN_LINK_MAX_AGE"])
        reason = None
    except TokenExpired:
        payload, reason = {}, "expired"
    except TokenError:
        payload, reason = {}, "invalid"
    attendant_id = payload.get("a")
    attendant = db.session.get(Attendant, attendant_id) if isinstance(attendant_id, int) else None
    if reason is None and (attendant is None or not attendant.active
                           or attendant.link_version != payload.get("v")
                           or attendant.sign_in_count != payload.get("s")):
        reason = "used"
    if reason is not None:
        return render_template("staff/link_problem.html", reason=reason), 400 if reason == "invalid" else 410
    form = ButtonForm()
    if request.method == "POST" and form.validate():
        attendant.sign_in_count += 1
        db.session.commit()
        sign_in_attendant(attendant)
        next_path = payload.get("n")
        return redirect(next_path if is_safe_next(next_path) else url_for("staff.home"), 303)
    return render_template("staff/sign_in_link.html", form=form, attendant=attendant)


@bp.post("/sair")
def sign_out():
    sign_out_attendant()
    flash("Você saiu do atendimento.", "info")
    return redirect(url_for("staff.home"), 303)


# --- Queue -----------------------------------------------------------------------------------

def scope_ids(attendant: SignedInAttendant) -> list[int] | None:
    """The departments an attendant works in; None means all (administrators)."""
    return None if attendant.is_admin else sorted(attendant.department_ids)


def _in_scope(stmt, attendant: SignedInAttendant):
    ids = scope_ids(attendant)
    return stmt if ids is None else stmt.where(ServiceOrder.department_id.in_(ids))


def _queue_params() -> dict:
    args = request.args
    status = args.get("status", "aberta")
    status = status if status in {s.value for s in Status} | {"todas"} else "aberta"
    assignee = args.get("responsavel", "")
    assignee = assignee if assignee in ("", "meus", "ninguem") else ""
    page = args.get("pagina", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < len(page) < 6 else 1
    def number(name):
        value = args.get(name, "")
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
    return {"status": status, "departamento": number("departamento"), "responsavel": assignee,
            "assunto": number("assunto"), "q": args.get("q", "").strip()[:100], "pagina": max(page, 1)}


def _search(query: str) -> list[int]:
    """The O.S. ids a search finds: by number, e-mail, name, phone, RENAVAM, PLACA, CPF/CNPJ
    or words of the messages, each looked up in its own index, in one statement kept per
    combination of the ways the text can be read."""
    connection = db.session.connection()
    digits = ascii_digits(query)
    keys, values = [], {}
    number = ServiceOrder.parse_number(query)
    if number is not None:
        keys.append("number")
        values["number"] = number
    tail = phone_tail(query) if PHONE_LIKE.fullmatch(query) else None
    if tail is not None:  # the phone given for an O.S., which may not be its contact's
        keys.append("phone")
        values["phone_tail"] = tail
    for kind in (FieldKind.RENAVAM, FieldKind.PLACA, FieldKind.CPF_CNPJ):
        try:
            values[f"field_{kind.value}"] = fieldtypes.normalize(kind, query)
        except fieldtypes.FieldError:
            continue
        keys.append(kind.value)
    if len(query) >= search.MIN_LENGTH:
        text = normalize_email(query) if "@" in query else query
        key, found = search.contacts_with_text(text, connection, digits)
        keys.append(f"contacts {key}")
        values.update(found)
        messages = None if "@" in query else search.orders_with_text(query, connection)
        if messages is not None:
            keys.append(f"messages {messages[0]}")
            values.update(messages[1])
    return read(_search_statement(tuple(keys)), values).scalars().all() if keys else []


@cache
def _search_statement(keys: tuple[str, ...]) -> sa.CompoundSelect:
    matches = []
    for key in keys:
        if key == "number":
            matches.append(sa.select(ServiceOrder.id).where(ServiceOrder.number == sa.bindparam("number")))
        elif key == "phone":
            matches.append(sa.select(ServiceOrder.id).where(ServiceOrder.phone_tail == sa.bindparam("phone_tail")))
        elif key.startswith("contacts "):
            contacts = search.statement(key.removeprefix("contacts "))
            matches.append(sa.select(ServiceOrder.id).where(ServiceOrder.contact_id.in_(contacts)))
        elif key.startswith("messages "):
            matches.append(search.statement(key.removeprefix("messages ")))
        else:  # a field kind
            fields = sa.select(SubjectField.id).where(SubjectField.kind == FieldKind(key))
            matches.append(sa.select(FieldValue.service_order_id).where(
                FieldValue.field_id.in_(fields), FieldValue.value == sa.bindparam(f"field_{key}")))
    return sa.union(*matches)


def _filter_values(params: dict, attendant: SignedInAttendant) -> dict:
    """The parameters of the queue's statements (see `_filtered`)."""
    return {"scope": scope_ids(attendant) or [], "department": params["departamento"],
            "subject": params["assunto"], "attendant_id": attendant.id,
            "status": None if params["status"] == "todas" else Status(params["status"]),
            "cap": MAX_LISTED + 1}


def _filtered(kind: str, params: dict, attendant: SignedInAttendant, with_status: bool = True,
              searched: bool = False):
    """A queue statement with the filters on screen as bound parameters (`_filter_values`):
    "ids", a page of O.S. ids; "counts", O.S. per status, each counted up to `cap`;
    "matches", id, status and last activity of the O.S. a search found (`search_ids`)."""
    return _filtered_statement(kind, scope_ids(attendant) is not None, bool(params["departamento"]),
                               bool(params["assunto"]), params["responsavel"],
                               with_status and params["status"] != "todas",
                               db.engine.dialect.name if searched else None)


@cache
def _filtered_statement(kind: str, scoped: bool, department: bool, subject: bool, assignee: str,
                        with_status: bool, searched_on: str | None) -> sa.Select | sa.CompoundSelect:
    # Built once per combination of filters: building a statement and its cache key on every
    # request cost a tenth of the queue.
    newest_first = (ServiceOrder.updated_at.desc(), ServiceOrder.id.desc())
    limit, offset = sa.bindparam("limit", type_=sa.Integer), sa.bindparam("offset", type_=sa.Integer)
    if kind == "ids":
        stmt = sa.select(ServiceOrder.id).order_by(*newest_first).limit(limit).offset(offset)
    elif kind == "counts":
        stmt = sa.select(ServiceOrder.id)
    else:  # "matches": status and time as stored (no enum or date parsing of every match)
        stmt = sa.select(ServiceOrder.id, sa.type_coerce(ServiceOrder.status, sa.String),
                         sa.type_coerce(ServiceOrder.updated_at, sa.String))
    if scoped:
        stmt = stmt.where(ServiceOrder.department_id.in_(sa.bindparam("scope", expanding=True)))
    if department:
        stmt = stmt.where(ServiceOrder.department_id == sa.bindparam("department"))
    if subject:
        stmt = stmt.where(ServiceOrder.subject_id == sa.bindparam("subject"))
    if assignee == "meus":
        stmt = stmt.where(ServiceOrder.assignee_id == sa.bindparam("attendant_id"))
    elif assignee == "ninguem":
        stmt = stmt.where(ServiceOrder.assignee_id.is_(None))
    if with_status:
        stmt = stmt.where(ServiceOrder.status == sa.bindparam("status"))
    if searched_on:
        # The search's O.S. as one parameter: the database looks each up by its primary key.
        stmt = stmt.where(search.among(ServiceOrder.id, "search_ids", searched_on))
    if kind == "counts":
        # Per status, counted up to one past MAX_LISTED: each count reads at most that many
        # entries of an index, however many O.S. the filters match.
        return counted_up_to({status.value: stmt.where(ServiceOrder.status == status) for status in Status},
                             sa.bindparam("cap", type_=sa.Integer))
    if kind == "ids" and not with_status and (department or subject or assignee):
        # Every status, with a filter on one value: the newest of each status from its own
        # index range (that value, status, activity), merged. Asked in one piece, SQLite
        # sorted all 400,000 unassigned O.S. at a million (46 ms), or, without statistics,
        # all of a department's. (An attendant's own departments alone are several values:
        # their ranges would each be sorted; the newest-activity index serves them better.)
        upto = sa.bindparam("upto", type_=sa.Integer)
        per_status = [stmt.with_only_columns(ServiceOrder.id, ServiceOrder.updated_at)
                      .where(ServiceOrder.status == status).offset(None).limit(upto).subquery() for status in Status]
        merged = sa.union_all(*(sa.select(part.c.id, part.c.updated_at) for part in per_status)).subquery()
        return sa.select(merged.c.id).order_by(merged.c.updated_at.desc(), merged.c.id.desc()) \
            .limit(limit).offset(offset)
    return stmt


def _counted(params: dict) -> bool:
    """Whether the queue's counts for these filters are counted (up to one past MAX_LISTED)
    rather than read from the kept totals, which are per department and status."""
    return bool(params["responsavel"] or params["assunto"])


def _status_counts(params: dict, attendant: SignedInAttendant) -> dict[Status, int]:
    """Counts per status for the filters on screen. Filtered only by department, they come
    from the kept totals (OrderCount), exact; any other filter counts the matching O.S., up
    to one past MAX_LISTED (shown as "mais de 10.000")."""
    counts = {status: 0 for status in Status}
    if _counted(params):
        stmt = _filtered("counts", params, attendant, with_status=False)
        for status, count in read(stmt, _filter_values(params, attendant)).all():
            counts[Status(status)] = count
        return counts
    stmt = _kept_counts(scope_ids(attendant) is not None, bool(params["departamento"]))
    for status, total in read(stmt, _filter_values(params, attendant)).all():
        counts[Status(status)] = int(total or 0)
    return counts


@cache
def _kept_counts(scoped: bool, department: bool) -> sa.Select:
    stmt = sa.select(OrderCount.status, sa.func.sum(OrderCount.count)).group_by(OrderCount.status)
    if scoped:
        stmt = stmt.where(OrderCount.department_id.in_(sa.bindparam("scope", expanding=True)))
    if department:
        stmt = stmt.where(OrderCount.department_id == sa.bindparam("department"))
    return stmt


@cache
def _queue_statements() -> dict[str, sa.Select]:
    """The queue's fixed statements, built once (building them cost more than running them)."""
    assignee = sa.orm.aliased(Attendant)
    departments = sa.select(sa.literal("departamento").label("filter"), Department.id, Department.name)
    subjects = sa.select(sa.literal("assunto"), Subject.id, Subject.name)

    def choices(shown_departments):
        # The filters' departments and subjects in one statement (one round trip less on
        # PostgreSQL, on every view of the queue), each kind kept in name order when split.
        both = sa.union_all(shown_departments, subjects).subquery()
        return sa.select(both).order_by(both.c.name)

    return {
        # Plain rows with exactly what the table shows: ORM objects and their four
        # relations cost more than the rest of the page.
        "rows": sa.select(ServiceOrder.id, ServiceOrder.number, ServiceOrder.status,
                          ServiceOrder.awaiting_reply_since, ServiceOrder.updated_at,
                          Contact.name.label("contact_name"), Contact.email.label("contact_email"),
                          Subject.name.label("subject_name"), Department.name.label("department_name"),
                          Department.response_hours, assignee.name.label("assignee_name"))
        .join(Contact, ServiceOrder.contact_id == Contact.id)
        .join(Subject, ServiceOrder.subject_id == Subject.id)
        .join(Department, ServiceOrder.department_id == Department.id)
        .outerjoin(assignee, ServiceOrder.assignee_id == assignee.id)
        .where(ServiceOrder.id.in_(sa.bindparam("ids", expanding=True))),
        "choices": choices(departments),
        "my_choices": choices(departments.where(Department.id.in_(sa.bindparam("ids", expanding=True)))),
    }


def _searched(params: dict, attendant: SignedInAttendant) -> tuple[dict[Status, int], list[int]]:
    """A search's counts per status and its O.S. ids, newest activity first, from one query,
    counted, sorted and cut into pages here rather than looked up twice by the database.
    Text matches are at most search.LIMIT messages and contacts; a matched contact brings
    all of its O.S. (a few thousand for the heaviest caller: a few milliseconds here)."""
    ids = _search(params["q"])
    found = read(_filtered("matches", params, attendant, with_status=False, searched=True), {
        **_filter_values(params, attendant), "search_ids": search.id_list(ids, db.engine.dialect.name),
    }).all() if ids else []
    by_value = {s.value: 0 for s in Status}
    for _, value, _ in found:
        by_value[value] += 1  # counted by the stored text: Status(value) per match cost more
    counts = {s: by_value[s.value] for s in Status}
    if params["status"] != "todas":
        found = [row for row in found if row[1] == params["status"]]
    found.sort(key=lambda row: (row[2], row[0]), reverse=True)
    return counts, [row[0] for row in found]


def queue():
    attendant = current_attendant()
    params = _queue_params()
    if params["q"]:
        counts, matches = _searched(params, attendant)
    else:
        counts, matches = _status_counts(params, attendant), None
    total = sum(counts.values()) if params["status"] == "todas" else counts[Status(params["status"])]
    listed = min(total, MAX_LISTED)
    pages = max((listed + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(params["pagina"], pages)
    start, end = (page - 1) * PER_PAGE, min(page * PER_PAGE, listed)
    if matches is not None:
        ids = matches[start:end]
    else:
        # The page's ids first, from the indexes alone; then those rows with what they show.
        ids = read(_filtered("ids", params, attendant), {
            **_filter_values(params, attendant), "limit": max(end - start, 0), "offset": start, "upto": end,
        }).scalars().all()
    rows = {row.id: row for row in read(_queue_statements()["rows"], {"ids": ids}).all()} if ids else {}
    now = utcnow()
    items = [(rows[i], is_overdue(rows[i].status, rows[i].awaiting_reply_since, rows[i].response_hours, now))
             for i in ids if i in rows]
    ids = scope_ids(attendant)
    statements = _queue_statements()
    choices = read(statements["choices"]).all() if ids is None else \
        read(statements["my_choices"], {"ids": ids}).all()
    departments = [row for row in choices if row.filter == "departamento"]
    subjects = [row for row in choices if row.filter == "assunto"]
    first = start + 1 if items else 0
    return render_template(
        "staff/queue.html", items=items, counts=counts, params=params, total=total, page=page,
        pages=pages, first=first, last=first + len(items) - 1 if items else 0, max_listed=MAX_LISTED,
        capped=matches is None and _counted(params),
        departments=departments, subjects=subjects, search_limit=search.LIMIT,
        page_url=page_links(url_for("staff.home"), params, QUEUE_DEFAULTS),
        order_path=path_before("staff.order", "numero"),
    )


QUEUE_DEFAULTS = {"status": "aberta", "departamento": None, "responsavel": "", "assunto": None,
                  "q": "", "pagina": 1}


def is_overdue(status: Status, awaiting_since, response_hours: int, now) -> bool:
    """Open and waiting for the office's answer longer than its department promises."""
    return (awaiting_since is not None and status == Status.ABERTA
            and now - awaiting_since > timedelta(hours=response_hours))


# --- Register an O.S. for a caller -----------------------------------------------------------

@bp.route("/os/nova", methods=["GET", "POST"])
def intake():
    attendant = current_attendant()
    subjects = db.session.scalars(
        sa.select(Subject).where(Subject.active.is_(True)).order_by(Subject.position, Subject.name)
        .options(selectinload(Subject.fields))
    ).all()
    form = IntakeForm()
    form.subject.choices = options([("", "— Escolha o assunto —")] + [(s.id, s.name) for s in subjects])
    form.department.choices = options([("", "O do assunto")]) + department_options()
    form.ensure_key()
    chosen = next((s for s in subjects if str(s.id) == form.subject.data), None)
    existing = None
    if form.email.data:
        existing = db.session.scalar(sa.select(Contact).where(Contact.email == normalize_email(form.email.data)))
    if existing is not None:
        form.name.flags.required = False  # no asterisk: the known contact's name stays

    def page(status=200, field_errors=None):
        return render_template("staff/intake.html", form=form, subjects=subjects, chosen=chosen,
                               values=request.form, field_errors=field_errors or {},
                               existing=existing), status

    if request.method == "GET":
        return page()
    if form.find.data:
        if existing is not None:  # the caller is known: their details, not retyped ones
            form.name.data, form.phone.data = existing.name, existing.phone
            form.extension.data = existing.extension
        else:
            form.name.data = form.phone.data = form.extension.data = ""
            flash("Nenhum contato com este e-mail: preencha nome e telefone do cidadão.", "info")
        return page()
    if form.next_step.data:
        return page()
    if existing is not None and not form.name.data:
        form.name.data = existing.name  # the O.S. stays with the known contact, as the page says
    form_ok = form.validate()
    values, field_errors = subject_field_values(chosen) if chosen else ({}, {})
    if chosen is None:
        form.subject.errors = ["Escolha o assunto."]
        form_ok = False
    department = None
    if form.department.data:
        department_id = small_int(form.department.data)
        department = db.session.get(Department, department_id) if department_id else None
        if department is None:
            form.department.errors = ["Escolha um departamento da lista."]
            form_ok = False
    files = checked_files(form, form_ok and not field_errors)
    if not form_ok or field_errors or form.anexos.errors:
        return page(422, field_errors)
    order = save_new_order(
        form, files, subject=chosen, values=values, channel=form.channel.data,
        phone=form.phone.data or None, department=department, attendant=attendant,
        contact=lambda: Contact.find_or_create(form.email.data, form.name.data, form.phone.data,
                                               form.extension.data),
    )
    spoken = " ".join(order.display_number[i:i + 4] for i in (0, 4))
    message = (f"O.S. {order.display_number} registrada. Informe o número ao cidadão: {spoken}. "
               "Ele recebeu o número e o link por e-mail.")
    if not order.visible_to(attendant=attendant):
        flash(f"{message} Ela foi para o departamento {order.department.name}.", "info")
        return redirect(url_for("staff.home"), 303)
    flash(message, "info")
    return redirect(url_for("staff.order", numero=order.display_number), 303)


# --- The O.S. page ---------------------------------------------------------------------------

def _order_or_404(numero: str) -> ServiceOrder:
    attendant = current_attendant()
    order = load_order(numero, lambda o: o.visible_to(attendant=attendant))
    if order is None:
        abort(404)  # the same for a missing O.S. and one of another department
    return order


def _order_page(order: ServiceOrder, reply_form=None, update_form=None, fields_errors=None, status=200):
    attendant = current_attendant()
    if reply_form is None:
        reply_form = StaffReplyForm(formdata=None)
        reply_form.ensure_key()
    reply_form.seen_entry.data = reply_form.seen_entry.data or str(max((e.id for e in order.entries), default=0))
    if update_form is None:
        update_form = UpdateForm(formdata=None, status=order.status.value,
                                 department=str(order.department_id),
                                 assignee=str(order.assignee_id or ""), version=str(order.version))
    update_form.department.choices = department_options()
    assignable = db.session.scalars(
        sa.select(Attendant).where(Attendant.active.is_(True)).order_by(Attendant.name)
        .options(selectinload(Attendant.departments))
    ).all()
    update_form.assignee.choices = options([("", "Ninguém")] + [
        (a.id, a.name) for a in assignable if a.serves(order.department_id)])
    others = db.session.scalars(
        _in_scope(sa.select(ServiceOrder).where(ServiceOrder.contact_id == order.contact_id,
                                                ServiceOrder.id != order.id), attendant)
        .options(joinedload(ServiceOrder.subject))
        .order_by(ServiceOrder.created_at.desc()).limit(10)
    ).all()
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.service_order_id == order.id).order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    field_values = {v.field_id: v.value for v in order.field_values}
    return render_template(
        "staff/order.html", order=order, reply_form=reply_form, update_form=update_form,
        others=others, audit=audit, field_values=field_values, fields_errors=fields_errors or {},
        overdue=is_overdue(order.status, order.awaiting_reply_since,
                           order.department.response_hours, utcnow()), button_form=ButtonForm(),
    ), status


@bp.get("/os/<numero>")
def order(numero: str):
    return _order_page(_order_or_404(numero))


def _audit(order: ServiceOrder, action: str, detail: str | None = None) -> None:
    db.session.add(AuditEvent(order=order, actor=current_attendant().name, action=action, detail=detail))


@bp.post("/os/<numero>/mensagem")
def post_message(numero: str):
    order = _order_or_404(numero)
    attendant = current_attendant()
    form = StaffReplyForm()
    form.ensure_key()
    back = url_for("staff.order", numero=order.display_number)
    earlier = posted_before(form.chave.data)
    if earlier is not None and earlier.service_order_id == order.id:
        return redirect(f"{back}#mensagem-{earlier.id}", 303)
    form_ok = form.validate()
    files = checked_files(form, form_ok)
    if not form_ok or form.anexos.errors:
        return _order_page(order, reply_form=form, status=422)
    newest = max((e.id for e in order.entries), default=0)
    seen = int(form.seen_entry.data) if (form.seen_entry.data or "").isdigit() else 0
    if newest > seen:
        # Someone wrote while this attendant typed: show it before anything is sent.
        form.seen_entry.data = str(newest)
        form.body.errors = ["Chegou uma mensagem nova nesta O.S. enquanto você escrevia. Leia o "
                            "histórico e envie de novo; seu texto foi mantido."]
        return _order_page(order, reply_form=form, status=409)
    is_note = bool(form.note.data)
    paths = uploads.store(files)
    try:
        now = utcnow()
        entry = ThreadEntry(kind=EntryKind.NOTE if is_note else EntryKind.REPLY, author_name=attendant.name,
                            attendant_id=attendant.id, body_html=form.html(), created_at=now,
                            submission_key=form.chave.data)
        order.entries.append(entry)
        db.session.flush()
        attach_files(entry, order, files)
        if not is_note:
            order.updated_at = now
            order.awaiting_reply_since = None
            if order.assignee_id is None:
                order.assignee_id = attendant.id
                _audit(order, "atribuída", f"a {attendant.name}, ao responder")
            if form.after.data in ("resolvida", "fechada"):
                old_status = order.status
                order.set_status(Status(form.after.data))
                _audit(order, "status", f"{old_status.label} → {order.status.label}")
            db.session.flush()
            send_reply_to_citizen(order, entry)  # it tells the new status too
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        uploads.discard(paths)
        return redirect(back, 303)
    except StaleDataError:  # someone changed the O.S. at this very moment
        db.session.rollback()
        uploads.discard(paths)
        form.body.errors = ["A O.S. mudou enquanto você escrevia. Confira e envie de novo; seu texto "
                            "foi mantido."]
        return _order_page(_order_or_404(numero), reply_form=form, status=409)
    flash("Nota interna salva." if is_note else "Resposta enviada ao cidadão.", "info")
    return redirect(f"{back}#mensagem-{entry.id}", 303)


@bp.post("/os/<numero>/atualizar")
def update(numero: str):
    order = _order_or_404(numero)
    attendant = current_attendant()
    form = UpdateForm()
    form.department.choices = department_options()
    # To the top, where the message is: without a fragment of its own the browser would keep
    # the form's "#acoes".
    back = url_for("staff.order", numero=order.display_number, _anchor="conteudo")
    if not form.validate():
        return _order_page(order, update_form=form, status=422)
    if form.version.data != str(order.version):
        flash("Outro atendente alterou esta O.S. enquanto você a via. Confira o estado atual e "
              "repita a alteração, se ainda for o caso.", "error")
        return redirect(back, 303)
    changes = []
    new_status = Status(form.status.data)
    old_status = order.status
    if new_status != order.status:
        order.set_status(new_status)
        changes.append(("status", f"{old_status.label} → {new_status.label}"))
    if form.department.data and form.department.data != str(order.department_id):
        department_id = small_int(form.department.data)
        department = db.session.get(Department, department_id) if department_id else None
        if department is None:
            abort(400)
        changes.append(("transferida", f"{order.department.name} → {department.name}"))
        order.department = department
        if order.assignee is not None and not order.assignee.serves(department.id):
            order.assignee = None
    assignee_id = small_int(form.assignee.data)
    if form.assignee.data and assignee_id is None:
        abort(400)
    if assignee_id != order.assignee_id and not any(a == "transferida" for a, _ in changes):
        assignee = db.session.get(Attendant, assignee_id) if assignee_id else None
        if assignee_id and (assignee is None or not assignee.active or not assignee.serves(order.department_id)):
            abort(400)
        changes.append(("atribuída", assignee.name if assignee else "a ninguém"))
        order.assignee = assignee
    if not changes:
        flash("Nada foi alterado.", "info")
        return redirect(back, 303)
    order.updated_at = utcnow()
    for action, detail in changes:
        _audit(order, action, detail)
    if order.status != old_status:
        send_status_change(order, old_status)
    if any(action == "transferida" for action, _ in changes) and order.entries:
        alert_attendants(order, order.entries[-1], "transfer", exclude=attendant)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash("Outro atendente alterou esta O.S. ao mesmo tempo. Confira e repita a alteração.", "error")
        return redirect(back, 303)
    if not order.visible_to(attendant=attendant):  # transferred out of this attendant's reach
        flash(f"O.S. #{order.display_number} transferida para {order.department.name}: ela sai da "
              "sua fila.", "info")
        return redirect(url_for("staff.home"), 303)
    flash("Alterações salvas.", "info")
    return redirect(back, 303)


@bp.post("/os/<numero>/campos")
def edit_fields(numero: str):
    order = _order_or_404(numero)
    form = ButtonForm()
    if not form.validate():
        abort(400)
    back = url_for("staff.order", numero=order.display_number, _anchor="conteudo")  # as in `update`
    if request.form.get("version") != str(order.version):
        flash("Outro atendente alterou esta O.S. enquanto você a via. Confira os dados atuais e "
              "repita a alteração, se ainda for o caso.", "error")
        return redirect(back, 303)
    values, errors = subject_field_values(order.subject)
    if errors:
        return _order_page(order, fields_errors=errors, status=422)
    current = {v.field_id: v for v in order.field_values}
    labels = {f.id: f.label for f in order.subject.fields}
    changed = False
    for field_id, label in labels.items():
        old = current[field_id].value if field_id in current else ""
        new = values.get(field_id, "")
        if old == new:
            continue
        changed = True
        if field_id in current and new:
            current[field_id].value = new
        elif field_id in current:
            order.field_values.remove(current[field_id])
        else:
            order.field_values.append(FieldValue(field_id=field_id, value=new))
        _audit(order, "campo alterado", f"{label}: {old or '(vazio)'} → {new or '(vazio)'}")
        order.updated_at = utcnow()  # and the O.S.'s version moves on: no silent overwrite
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash("Outro atendente alterou esta O.S. ao mesmo tempo. Confira e repita a alteração.", "error")
        return redirect(back, 303)
    flash("Campos salvos." if changed else "Nada foi alterado.", "info")
    return redirect(back, 303)


@bp.get("/os/<numero>/anexos/<int(max=2147483647):attachment_id>")
def download(numero: str, attachment_id: int):
    order = _order_or_404(numero)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.service_order_id != order.id:
        abort(404)
    return send_attachment(attachment)
