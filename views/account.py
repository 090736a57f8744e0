"""Citizen accounts, without passwords: "Registro de conta", its confirmation, "Entrar" by
e-mailed link, "Sair", the "O.S. (n)" list and "Perfil".

Every answer about an address is the same whether or not an account exists. E-mailed links
only show a page with a button on GET and act on POST, so an e-mail scanner that opens a
link first neither uses it up nor signs itself in. A sign-in link works once; all links die
when the contact's `link_version` is raised ("Sair de todos os dispositivos", a new e-mail).
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import cache

import sqlalchemy as sa
from flask import (Blueprint, current_app, flash, g, has_request_context, redirect,
                   render_template, request, session, url_for)
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import SubmitField

from app import db, limiter
from models import Contact, Department, ServiceOrder, Status, Subject, normalize_email, read
from outbox import queue_mail
from notifications import request_mail, resolve_now_in_development
from security import is_safe_next, limit_from, signed_in_record
from tokens import TokenError, TokenExpired, external_url, make_token, read_token
from views.fields import Form, email_field, extension_field, name_field, page_links, path_before, phone_field

bp = Blueprint("account", __name__)

PER_PAGE = 20
# ordem= in the query string: column and direction, in words a citizen can read in a bookmark
SORTS = {
    "recentes": ("Data de Criação, mais recentes primeiro", ServiceOrder.created_at, "desc"),
    "antigas": ("Data de Criação, mais antigas primeiro", ServiceOrder.created_at, "asc"),
    "maior-numero": ("Número da O.S., do maior para o menor", ServiceOrder.number, "desc"),
    "menor-numero": ("Número da O.S., do menor para o maior", ServiceOrder.number, "asc"),
}


class RegisterForm(Form):
    email = email_field("Endereço de e-mail")
    name = name_field()
    phone = phone_field()
    extension = extension_field()
    submit = SubmitField("Cadastrar")


class SignInForm(Form):
    email = email_field("Endereço de e-mail")
    submit = SubmitField("Enviar link de entrada")


class ProfileForm(RegisterForm):
    submit = SubmitField("Salvar alterações")


class ConfirmForm(Form):
    """Only the CSRF token: the button that turns an e-mailed link into an action."""


def _hours(setting: str) -> int:
    return current_app.config[setting] // 3600


def _sign_in(contact: Contact) -> None:
    session.pop("grants", None)  # the account sees its own O.S.; nothing else lingers
    login_user(contact)
    session.permanent = True


# --- Registro de conta ------------------------------------------------------------------

@bp.route("/cadastro", methods=["GET", "POST"])
@limiter.limit(limit_from("RATELIMIT_ACCOUNT"), methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("account.orders"))
    form = RegisterForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("account/register.html", form=form), 422
        # The worker decides: a confirmation link for a new account, a sign-in link for an
        # existing one. This page answers the same, in the same time, either way.
        request_mail("register", normalize_email(form.email.data), name=form.name.data,
                     phone=form.phone.data or None, extension=form.extension.data or None)
        resolve_now_in_development()
        return redirect(url_for("account.register_sent"), 303)
    return render_template("account/register.html", form=form)


@bp.get("/cadastro/enviado")
def register_sent():
    return render_template("account/register_sent.html")


def _contact_from_token(purpose: str, token: str, setting: str):
    """(contact, payload) for a valid, unrevoked token; (None, reason) otherwise."""
    try:
        payload = read_token(purpose, token, current_app.config[setting])
    except TokenExpired:
        return None, "expired"
    except TokenError:
        return None, "invalid"
    contact_id = payload.get("c")
    contact = db.session.get(Contact, contact_id) if isinstance(contact_id, int) else None
    if contact is None or contact.link_version != payload.get("v"):
        return None, "revoked"
    return contact, payload


def _link_problem(reason: str, kind: str):
    status = 400 if reason == "invalid" else 410
    return render_template("account/link_problem.html", reason=reason, kind=kind), status


@bp.route("/cadastro/confirmar/<token>", methods=["GET", "POST"])
def confirm(token: str):
    contact, payload = _contact_from_token("confirm", token, "CONFIRM_LINK_MAX_AGE")
    if contact is None:
        return _link_problem(payload, "confirm")
    if contact.has_account:
        return render_template("account/already_confirmed.html"), 409
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        contact.confirm()
        db.session.commit()
        _sign_in(contact)
        return redirect(url_for("account.confirmed"), 303)
    return render_template("account/confirm.html", form=form)


@bp.get("/conta/confirmada")
@login_required
def confirmed():
    # The details the office keeps: a contact known from earlier O.S. keeps its own over what
    # the registration form said (a stranger may type anyone's address), so the citizen sees
    # them here, with the way to change them.
    return render_template("account/confirmed.html", contact=signed_in_record())


# --- Entrar / Sair --------------------------------------------------------------------------

@bp.route("/entrar", methods=["GET", "POST"])
@limiter.limit(limit_from("RATELIMIT_ACCOUNT"), methods=["POST"])
def sign_in():
    next_path = request.args.get("next")
    if not is_safe_next(next_path):
        next_path = None
    if current_user.is_authenticated:
        return redirect(next_path or url_for("account.orders"))
    form = SignInForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("account/sign_in.html", form=form), 422
        request_mail("signin", normalize_email(form.email.data), next=next_path)
        resolve_now_in_development()
        return redirect(url_for("account.sign_in_sent"), 303)
    return render_template("account/sign_in.html", form=form)


@bp.get("/entrar/enviado")
def sign_in_sent():
    return render_template("account/sign_in_sent.html")


@bp.route("/entrar/<token>", methods=["GET", "POST"])
def sign_in_link(token: str):
    contact, payload = _contact_from_token("signin", token, "SIGN_IN_LINK_MAX_AGE")
    if contact is not None and (not contact.has_account or payload.get("s") != contact.sign_in_count):
        contact, payload = None, "used"
    if contact is None:
        return _link_problem(payload, "signin")
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        contact.sign_in_count += 1  # this link, and any older one, stops working
        db.session.commit()
        _sign_in(contact)
        next_path = payload.get("n")
        return redirect(next_path if is_safe_next(next_path) else url_for("account.orders"), 303)
    return render_template("account/sign_in_link.html", form=form, contact=contact)


@bp.post("/sair")
def sign_out():
    logout_user()
    staff = session.get("staff")  # an attendant's console session is not the citizen's to end
    session.clear()
    if staff is not None:
        session["staff"] = staff
    flash("Você saiu do sistema.", "info")
    return redirect(url_for("public.home"), 303)


@bp.post("/sair/todos")
@login_required
def sign_out_everywhere():
    contact = signed_in_record()
    contact.link_version += 1  # every session and every e-mailed link of this contact dies
    contact.pending_email = None  # its confirmation link died too
    db.session.commit()
    _sign_in(contact)
    flash("Você saiu de todos os outros dispositivos e os links enviados antes deixaram de valer.",
          "info")
    return redirect(url_for("account.profile"), 303)


# --- O.S. (n) -------------------------------------------------------------------------------

def order_counts() -> dict[Status, int]:
    """The signed-in citizen's O.S. per status, once per request (header and list share it)."""
    if "order_counts" not in g:
        g.order_counts = Contact.counts_of(current_user.id)
    return g.order_counts


def _list_params() -> dict:
    """Filters, sort and page from the query string, with anything odd ignored."""
    args = request.args
    status = args.get("status", "")
    status = status if status in {s.value for s in Status} else ""
    sort = args.get("ordem", "recentes")
    sort = sort if sort in SORTS else "recentes"
    page = args.get("pagina", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < len(page) < 6 else 1
    query = args.get("q", "").strip()[:100]
    return {"status": status, "ordem": sort, "pagina": max(page, 1), "q": query}


def _folded(text: str) -> str:
    """Lower case without accents: "CERTIDAO" finds "Certidão"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _subject_names() -> sa.Select:
    return sa.select(Subject.id, Subject.name)


def _search_values(query: str) -> dict:
    """What a search matches: subjects whose name has the words (with or without accents)
    and, for a number, the O.S. numbers as shown (zero-padded: "217" finds 00002172)."""
    wanted = _folded(query)
    subject_ids = [s.id for s in read(_subject_names()) if wanted in _folded(s.name)]  # a few dozen
    digits = query.lstrip("#").strip()
    values = {"subject_ids": subject_ids}
    if ServiceOrder.parse_number(digits) is not None:
        values["number_like"] = f"%{digits}%"  # digits only: nothing to escape
    return values


def _search_condition(by_number: bool):
    by_subject = ServiceOrder.subject_id.in_(sa.bindparam("subject_ids", expanding=True))
    if not by_number:
        return by_subject
    padded = sa.func.substr(sa.cast(ServiceOrder.number + 100_000_000, sa.String), 2)
    return sa.or_(by_subject, padded.like(sa.bindparam("number_like")))


@bp.get("/os")
@login_required
def orders():
    params = _list_params()
    counts = order_counts()
    values = {"contact_id": current_user.id, "status": Status(params["status"]) if params["status"] else None}
    search = _search_values(params["q"]) if params["q"] else None
    searched = None if search is None else "number_like" in search  # None: no search; True: by number too
    stmt = _list_statement(bool(params["status"]), searched, params["ordem"])
    if search is not None:
        values.update(search)
        total = read(_count_statement(bool(params["status"]), searched), values).scalar()
    else:  # the counts per status already say how many there are
        total = counts[values["status"]] if params["status"] else sum(counts.values())
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(params["pagina"], pages)
    items = read(stmt, {**values, "limit": PER_PAGE, "offset": (page - 1) * PER_PAGE}).all()
    first = (page - 1) * PER_PAGE + 1 if items else 0
    path = url_for("account.orders")
    return render_template(
        "account/orders.html", items=items, counts=counts, params=params, total=total,
        page=page, pages=pages, first=first, last=first + len(items) - 1 if items else 0,
        sort_url=lambda ordem: page_links(path, {**params, "ordem": ordem}, LIST_DEFAULTS)(1),
        sorts=SORTS, page_url=page_links(path, params, LIST_DEFAULTS),
        order_path=path_before("os.view", "numero"),
    )


@cache
def _list_statement(with_status: bool, searched: bool | None, sort: str) -> sa.Select:
    """One page of the citizen's O.S., as plain rows with what the table shows (ORM objects
    and their relations cost more than the rest of the page); built once per filter and
    sort, since building a statement costs more than SQLite takes to run it."""
    _, column, direction = SORTS[sort]
    stmt = (
        sa.select(ServiceOrder.number, ServiceOrder.created_at, ServiceOrder.status,
                  Subject.name.label("subject_name"), Department.name.label("department_name"))
        .join(Subject, ServiceOrder.subject_id == Subject.id)
        .join(Department, ServiceOrder.department_id == Department.id)
        .where(ServiceOrder.contact_id == sa.bindparam("contact_id"))
        .order_by(*((column.asc(), ServiceOrder.id.asc()) if direction == "asc"
                    else (column.desc(), ServiceOrder.id.desc())))
        .limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
    )
    if searched is not None:
        stmt = stmt.where(_search_condition(by_number=searched))
    return stmt.where(ServiceOrder.status == sa.bindparam("status")) if with_status else stmt


@cache
def _count_statement(with_status: bool, by_number: bool) -> sa.Select:
    """How many O.S. a search finds (without one, the counts per status say it)."""
    stmt = sa.select(sa.func.count()).select_from(ServiceOrder).where(
        ServiceOrder.contact_id == sa.bindparam("contact_id"), _search_condition(by_number))
    return stmt.where(ServiceOrder.status == sa.bindparam("status")) if with_status else stmt


LIST_DEFAULTS = {"status": "", "ordem": "recentes", "pagina": 1, "q": ""}


# --- Perfil ----------------------------------------------------------------------------------

def _email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


@bp.route("/perfil", methods=["GET", "POST"])
@login_required
def profile():
    contact = signed_in_record()
    form = ProfileForm(obj=contact)
    if request.method == "POST":
        if not form.validate():
            return render_template("account/profile.html", form=form, contact=contact), 422
        contact.name = form.name.data
        contact.phone = form.phone.data or None
        contact.extension = form.extension.data or None
        message = "Seus dados foram salvos."
        new_email = normalize_email(form.email.data)
        if new_email == contact.email:
            if contact.pending_email:  # the address typed back: the change is called off
                contact.pending_email = None
                message = "Seus dados foram salvos. A troca de e-mail foi cancelada."
        else:
            _ask_to_change_email(contact, new_email)
            message = (f"Seus dados foram salvos. Enviamos um link de confirmação para {new_email}; "
                       "o e-mail da conta só muda quando ele for aberto.")
        db.session.commit()
        flash(message, "info")
        return redirect(url_for("account.profile"), 303)
    form.email.data = contact.email
    return render_template("account/profile.html", form=form, contact=contact)


def _ask_to_change_email(contact: Contact, new_email: str) -> None:
    """Confirmation to the new address, a notice to the current one. If the new address
    already has an account, its owner is told instead and nothing can change; the page
    says the same either way."""
    contact.pending_email = new_email
    owner = db.session.scalar(sa.select(Contact).where(Contact.email == new_email))
    if owner is not None and owner.has_account:
        queue_mail("email_in_use", new_email, "Seu e-mail foi indicado em outra conta",
                   "email_in_use", contact=owner)
    else:
        token = make_token("email", {"c": contact.id, "v": contact.link_version,
                                     "e": _email_digest(new_email)})
        queue_mail("email_change_confirm", new_email, "Confirme seu novo e-mail",
                   "email_change_confirm", contact=contact, new_email=new_email,
                   link=external_url("account.confirm_email", token=token),
                   hours=_hours("CONFIRM_LINK_MAX_AGE"))
    queue_mail("email_change_notice", contact.email, "Pedido de troca de e-mail",
               "email_change_notice", contact=contact)


@bp.route("/perfil/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    contact, payload = _contact_from_token("email", token, "CONFIRM_LINK_MAX_AGE")
    if contact is not None and (not contact.pending_email
                                or _email_digest(contact.pending_email) != payload.get("e")):
        contact, payload = None, "used"
    if contact is None:
        return _link_problem(payload, "email")
    form = ConfirmForm()
    if request.method == "POST" and form.validate():
        new_email = contact.pending_email
        other = db.session.scalar(sa.select(Contact).where(Contact.email == new_email))
        if other is not None and other.has_account:
            contact.pending_email = None
            db.session.commit()
            return render_template("account/email_taken.html", email=new_email), 409
        if other is not None:
            contact.absorb(other)
        contact.email = new_email  # raises link_version: links to the old address die
        contact.pending_email = None
        db.session.commit()
        _sign_in(contact)
        flash(f"Seu e-mail agora é {new_email}.", "info")
        return redirect(url_for("account.profile"), 303)
    return render_template("account/confirm_email.html", form=form, new_email=contact.pending_email)


def register_context(app) -> None:
    @app.context_processor
    def account_context():
        # E-mails are rendered from commands too, where there is no browser to speak of.
        # The forms here never read the request: an error page for a request too large to
        # read must still render.
        if not has_request_context():
            return {}
        if current_user.is_authenticated:
            return {"my_order_count": sum(order_counts().values())}
        # A guest who opened an O.S. can end that access too.
        return {"guest_can_sign_out": bool(session.get("grants"))}

