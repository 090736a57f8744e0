"""Administration of the console, for administrators only: departments, subjects and their
extra fields, attendants, and the office's name, phone and e-mails. Changes take effect on
the next request, without a restart.

`before_request` guards every route once: a browser without an attendant session is sent to
the console's sign-in page, an attendant who is not an administrator gets 403. Access is
read from the database on every request (`current_attendant()`), so deactivating someone,
taking away their administrator flag or ending their sessions cuts them off at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import (BooleanField, IntegerField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app import db
from models import (Attendant, Department, FieldKind, FieldValue, OfficeSetting, Subject,
                    SubjectField, counted_up_to, normalize_email)
from security import current_attendant, sign_in_attendant
from views.fields import Form, department_options, phone_field, strip
from views.staff import ButtonForm

bp = Blueprint("admin", __name__, url_prefix="/atendimento/admin")

MAX_OPTION_LENGTH = 200  # a chosen option is stored as a FieldValue (String(200))
INVALID_EMAIL = "Informe um endereço de e-mail válido, por exemplo nome@exemplo.com.br."
SELF_LOCKOUT = "Você não pode remover o seu próprio acesso de administrador."


class WholeNumberField(IntegerField):
    """An integer typed as text, with one Portuguese message from its validators.

    IntegerField adds a generic "not a valid integer" message of its own in front of the
    range message; here a wrong value simply has no number, and the range says what to type.
    The typed text is kept on the page either way.
    """

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


def whole_number(label: str, minimum: int, maximum: int, message: str, **kwargs) -> WholeNumberField:
    validators = [InputRequired(message), NumberRange(minimum, maximum, message)]
    return WholeNumberField(label, validators=validators, **kwargs)


# --- Forms -----------------------------------------------------------------------------------

class DepartmentForm(Form):
    name = StringField("Nome", filters=[strip], validators=[
        DataRequired("Informe o nome do departamento."),
        Length(max=120, message="O nome pode ter no máximo 120 caracteres."),
    ])
    is_public = BooleanField("Público", default=True)
    response_hours = whole_number("Prazo de resposta (horas)", 1, 720,
                                  "Informe um número inteiro de horas, de 1 a 720.", default=48)
    alert_email = StringField("E-mail de alerta", filters=[strip], validators=[
        Optional(),
        Length(max=254, message="O endereço de e-mail pode ter no máximo 254 caracteres."),
        Email(INVALID_EMAIL),
    ])
    alerts_enabled = BooleanField("Alertas por e-mail", default=True)
    is_default = BooleanField("Departamento padrão")
    submit = SubmitField("Salvar departamento")


class SubjectForm(Form):
    name = StringField("Nome", filters=[strip], validators=[
        DataRequired("Informe o nome do assunto."),
        Length(max=160, message="O nome pode ter no máximo 160 caracteres."),
    ])
    department_id = SelectField("Departamento", coerce=int)
    active = BooleanField("Ativo", default=True)
    is_public = BooleanField("Público", default=True)
    position = whole_number("Posição", 0, 9999, "Informe um número inteiro de 0 a 9999.", default=0)
    submit = SubmitField("Salvar assunto")


class SubjectFieldForm(Form):
    label = StringField("Rótulo", filters=[strip], validators=[
        DataRequired("Informe o rótulo do campo."),
        Length(max=80, message="O rótulo pode ter no máximo 80 caracteres."),
    ])
    kind = SelectField("Tipo", default=FieldKind.TEXT.value,
                       choices=[SelectChoice(kind.value, kind.label) for kind in FieldKind])
    required = BooleanField("Obrigatório")
    position = whole_number("Posição", 0, 9999, "Informe um número inteiro de 0 a 9999.", default=0)
    choices = TextAreaField("Opções")
    submit = SubmitField("Salvar campo")

    def options(self) -> list[str]:
        """The typed options: trimmed, blank lines and repeats left out, in order."""
        seen: list[str] = []
        for line in (self.choices.data or "").splitlines():
            line = line.strip()
            if line and line not in seen:
                seen.append(line)
        return seen

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.kind.data == FieldKind.CHOICE.value:
            options = self.options()
            if not options:
                self.choices.errors.append("Informe as opções da lista, uma por linha.")
                ok = False
            elif any(len(option) > MAX_OPTION_LENGTH for option in options):
                self.choices.errors.append(
                    f"Cada opção pode ter no máximo {MAX_OPTION_LENGTH} caracteres.")
                ok = False
        return ok


class AttendantForm(Form):
    email = StringField("E-mail", filters=[strip], validators=[
        DataRequired("Informe o endereço de e-mail do atendente."),
        Length(max=254, message="O endereço de e-mail pode ter no máximo 254 caracteres."),
        Email(INVALID_EMAIL),
    ])
    name = StringField("Nome", filters=[strip], validators=[
        DataRequired("Informe o nome do atendente."),
        Length(max=120, message="O nome pode ter no máximo 120 caracteres."),
    ])
    department_ids = SelectMultipleField("Departamentos", coerce=int,
                                         widget=ListWidget(prefix_label=False),
                                         option_widget=CheckboxInput())
    is_admin = BooleanField("Administrador")
    active = BooleanField("Ativo", default=True)
    submit = SubmitField("Salvar atendente")


class OfficeForm(Form):
    name = StringField("Nome da secretaria", filters=[strip], validators=[
        DataRequired("Informe o nome da secretaria."),
        Length(max=120, message="O nome pode ter no máximo 120 caracteres."),
    ])
    phone = phone_field("Telefone")
    emails = StringField("E-mails de suporte", filters=[strip], validators=[
        Length(max=1000, message="Use no máximo 1000 caracteres."),
    ])
    submit = SubmitField("Salvar dados da secretaria")

    def email_list(self) -> list[str]:
        return [e.strip() for e in (self.emails.data or "").split(",") if e.strip()]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        # phone_field is optional everywhere else; here every page and e-mail shows it.
        if not self.phone.data and not self.phone.errors:
            self.phone.errors.append("Informe o telefone da Central de Atendimento.")
            ok = False
        wrong = []
        for address in self.email_list():
            try:
                validate_email(address, check_deliverability=False)
            except EmailNotValidError:
                wrong.append(address)
        if wrong:
            self.emails.errors.append(
                f"Confira {'o endereço' if len(wrong) == 1 else 'os endereços'} {', '.join(wrong)}. "
                "Separe os e-mails por vírgula, por exemplo atendimento@exemplo.gov.br, "
                "suporte@exemplo.gov.br.")
            ok = False
        return ok


# --- Guard and index -------------------------------------------------------------------------

@bp.before_request
def require_admin():
    attendant = current_attendant()
    if attendant is None:
        flash("Sua sessão no atendimento terminou. Entre com o link enviado ao seu e-mail.", "info")
        back = request.full_path.rstrip("?") if request.method == "GET" else url_for("admin.index")
        return redirect(url_for("staff.home", next=back))
    if not attendant.is_admin:
        abort(403)
    return None


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@bp.get("/")
def index():
    active_attendants = db.session.scalar(
        sa.select(sa.func.count()).select_from(Attendant).where(Attendant.active.is_(True)))
    return render_template(
        "admin/index.html", departments=_count(Department), subjects=_count(Subject),
        attendants=_count(Attendant), active_attendants=active_attendants,
    )


def _name_taken(column, name: str, exclude_id: int | None) -> bool:
    """Whether another row already has this name, whatever its capitalization."""
    stmt = sa.select(column.class_.id).where(sa.func.lower(column) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(column.class_.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None


# --- Departments -----------------------------------------------------------------------------

DEPARTMENT_TAKEN = "Já existe um departamento com este nome."
NEEDS_DEFAULT = ("Deve haver um departamento padrão: ele recebe as O.S. que chegam por e-mail. "
                 "Para trocar, marque outro departamento como padrão.")


@bp.get("/departamentos")
def departments():
    counts = dict(db.session.execute(
        sa.select(Department.id, sa.func.count(Attendant.id))
        .join(Department.attendants).where(Attendant.active.is_(True)).group_by(Department.id)
    ).all())
    items = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    return render_template("admin/departments.html", items=items, attendant_counts=counts)


@bp.route("/departamentos/novo", methods=["GET", "POST"])
def department_new():
    return _department_page(None)


@bp.route("/departamentos/<int(max=2147483647):department_id>", methods=["GET", "POST"])
def department_edit(department_id: int):
    return _department_page(db.get_or_404(Department, department_id))


def _default_department_id(excluding: int | None = None) -> int | None:
    stmt = sa.select(Department.id).where(Department.is_default.is_(True))
    if excluding is not None:
        stmt = stmt.where(Department.id != excluding)
    return db.session.scalar(stmt.limit(1))


def _department_page(department: Department | None):
    if request.method == "GET":
        if department is None:  # the very first department is the default
            form = DepartmentForm(formdata=None, is_default=_default_department_id() is None)
        else:
            form = DepartmentForm(formdata=None, obj=department)
        return _department_form(form, department)
    form = DepartmentForm()
    ok = form.validate()
    exclude = department.id if department else None
    if form.name.data and _name_taken(Department.name, form.name.data, exclude):
        form.name.errors.append(DEPARTMENT_TAKEN)
        ok = False
    if not form.is_default.data and _default_department_id(excluding=exclude) is None:
        form.is_default.errors.append(NEEDS_DEFAULT)
        ok = False
    if not ok:
        return _department_form(form, department, 422)
    if department is None:
        department = Department()
        db.session.add(department)
    department.name = form.name.data
    department.is_public = form.is_public.data
    department.response_hours = form.response_hours.data
    department.alert_email = normalize_email(form.alert_email.data) or None
    department.alerts_enabled = form.alerts_enabled.data
    department.is_default = form.is_default.data
    try:
        db.session.flush()
        if department.is_default:  # exactly one default: this one takes the place
            db.session.execute(sa.update(Department).where(Department.id != department.id)
                               .values(is_default=False))
        db.session.commit()
    except IntegrityError:  # the same name saved at the same moment by someone else
        db.session.rollback()
        form.name.errors.append(DEPARTMENT_TAKEN)
        return _department_form(form, None if exclude is None else db.session.get(Department, exclude), 422)
    flash(f"Departamento “{department.name}” salvo.", "info")
    return redirect(url_for("admin.departments"), 303)


def _department_form(form: DepartmentForm, department: Department | None, status: int = 200):
    return render_template("admin/department_form.html", form=form, department=department), status


# --- Subjects and their extra fields ---------------------------------------------------------

SUBJECT_TAKEN = "Já existe um assunto com este nome."
LABEL_TAKEN = "Este assunto já tem um campo com este rótulo."


@bp.get("/assuntos")
def subjects():
    items = db.session.scalars(
        sa.select(Subject).order_by(Subject.position, Subject.name)
        .options(selectinload(Subject.department), selectinload(Subject.fields))
    ).all()
    return render_template("admin/subjects.html", items=items)


def _next_position(stmt) -> int:
    highest = db.session.scalar(stmt)
    return 0 if highest is None else highest + 1


@bp.route("/assuntos/novo", methods=["GET", "POST"])
def subject_new():
    if request.method == "GET":
        form = SubjectForm(formdata=None, department_id=_default_department_id(),
                           position=_next_position(sa.select(sa.func.max(Subject.position))))
        return _subject_page(None, form)
    return _save_subject(None)


@bp.route("/assuntos/<int(max=2147483647):subject_id>", methods=["GET", "POST"])
def subject_edit(subject_id: int):
    subject = db.get_or_404(Subject, subject_id)
    if request.method == "GET":
        return _subject_page(subject, SubjectForm(formdata=None, obj=subject))
    return _save_subject(subject)


def _save_subject(subject: Subject | None):
    form = SubjectForm()
    form.department_id.choices = department_options()
    ok = form.validate()
    exclude = subject.id if subject else None
    if form.name.data and _name_taken(Subject.name, form.name.data, exclude):
        form.name.errors.append(SUBJECT_TAKEN)
        ok = False
    if not ok:
        return _subject_page(subject, form, status=422)
    created = subject is None
    if created:
        subject = Subject()
        db.session.add(subject)
    subject.name = form.name.data
    subject.department_id = form.department_id.data
    subject.active = form.active.data
    subject.is_public = form.is_public.data
    subject.position = form.position.data
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        form.name.errors.append(SUBJECT_TAKEN)
        return _subject_page(None if exclude is None else db.session.get(Subject, exclude), form, status=422)
    if created:
        flash(f"Assunto “{subject.name}” criado. Agora, se precisar, acrescente os campos extras.",
              "info")
        return redirect(url_for("admin.subject_edit", subject_id=subject.id), 303)
    flash(f"Assunto “{subject.name}” salvo.", "info")
    return redirect(url_for("admin.subjects"), 303)


# Values of a field counted up to one past this ("mais de 10.000"): a subject of 300,000 O.S.
# took 70 ms to count in full, for a warning that reads the same either way.
COUNTED_UP_TO = 10_000


def _value_counts(field_ids: list[int]) -> dict[int, int]:
    """How many O.S. hold a value in each of these fields, up to one past COUNTED_UP_TO:
    one range of an index per field, a hundred fields to a statement (SQLite takes at most
    500 parts in one)."""
    counts = {}
    for first in range(0, len(field_ids), 100):
        counts.update(db.session.execute(counted_up_to({
            field_id: sa.select(FieldValue.field_id).where(FieldValue.field_id == field_id)
            for field_id in field_ids[first:first + 100]}, COUNTED_UP_TO + 1)).all())
    return counts


def _subject_page(subject: Subject | None, form: SubjectForm, field_form: SubjectFieldForm | None = None,
                  status: int = 200):
    form.department_id.choices = department_options()
    if subject is not None and field_form is None:
        field_form = SubjectFieldForm(formdata=None, prefix="campo", position=_next_position(
            sa.select(sa.func.max(SubjectField.position)).where(SubjectField.subject_id == subject.id)))
    return render_template(
        "admin/subject_form.html", subject=subject, form=form, field_form=field_form,
        value_counts=_value_counts([f.id for f in subject.fields]) if subject is not None else {},
        counted_up_to=COUNTED_UP_TO, button_form=ButtonForm(),
    ), status


def _field_of(subject_id: int, field_id: int) -> SubjectField:
    field = db.get_or_404(SubjectField, field_id)
    if field.subject_id != subject_id:
        abort(404)
    return field


def _check_field(form: SubjectFieldForm, subject: Subject, field: SubjectField | None) -> bool:
    ok = form.validate()
    label = (form.label.data or "").lower()
    if label and any(f.label.lower() == label for f in subject.fields if f is not field):
        form.label.errors.append(LABEL_TAKEN)
        ok = False
    return ok


def _fill_field(field: SubjectField, form: SubjectFieldForm) -> None:
    field.label = form.label.data
    field.kind = FieldKind(form.kind.data)
    field.required = form.required.data
    field.position = form.position.data
    # Options only mean something to a list; other kinds keep none.
    field.choices = "\n".join(form.options()) if field.kind == FieldKind.CHOICE else None


@bp.post("/assuntos/<int(max=2147483647):subject_id>/campos")
def field_new(subject_id: int):
    subject = db.get_or_404(Subject, subject_id)
    field_form = SubjectFieldForm(prefix="campo")
    if not _check_field(field_form, subject, None):
        form = SubjectForm(formdata=None, obj=subject)
        return _subject_page(subject, form, field_form, status=422)
    field = SubjectField()
    _fill_field(field, field_form)
    subject.fields.append(field)
    db.session.commit()
    flash(f"Campo “{field.label}” acrescentado ao assunto.", "info")
    return redirect(url_for("admin.subject_edit", subject_id=subject.id) + "#campos-titulo", 303)


@bp.route("/assuntos/<int(max=2147483647):subject_id>/campos/<int(max=2147483647):field_id>", methods=["GET", "POST"])
def field_edit(subject_id: int, field_id: int):
    field = _field_of(subject_id, field_id)
    subject = field.subject
    if request.method == "GET":
        form = SubjectFieldForm(formdata=None, label=field.label, kind=field.kind.value,
                                required=field.required, position=field.position, choices=field.choices)
        return _field_page(field, form)
    form = SubjectFieldForm()
    if not _check_field(form, subject, field):
        return _field_page(field, form, 422)
    _fill_field(field, form)
    db.session.commit()
    flash(f"Campo “{field.label}” salvo.", "info")
    return redirect(url_for("admin.subject_edit", subject_id=subject.id) + "#campos-titulo", 303)


def _field_page(field: SubjectField, form: SubjectFieldForm, status: int = 200):
    used = _value_counts([field.id]).get(field.id, 0)
    return render_template("admin/field_form.html", extra_field=field, subject=field.subject, form=form,
                           used=used, counted_up_to=COUNTED_UP_TO), status


@bp.post("/assuntos/<int(max=2147483647):subject_id>/campos/<int(max=2147483647):field_id>/remover")
def field_remove(subject_id: int, field_id: int):
    field = _field_of(subject_id, field_id)
    if not ButtonForm().validate():
        abort(400)
    used = _value_counts([field.id]).get(field.id, 0)
    if used and request.form.get("confirmar") != "sim":
        # Values typed in O.S. would go with it, for good: asked once more, on a page of its own.
        return render_template("admin/field_remove.html", extra_field=field, subject=field.subject,
                               used=used, counted_up_to=COUNTED_UP_TO, button_form=ButtonForm())
    label = field.label
    # The database deletes the values typed in this field (field_value.field_id is
    # ON DELETE CASCADE); nothing on the ORM side holds them.
    db.session.delete(field)
    db.session.commit()
    flash(f"Campo “{label}” removido.", "info")
    return redirect(url_for("admin.subject_edit", subject_id=subject_id) + "#campos-titulo", 303)


# --- Attendants ------------------------------------------------------------------------------

ATTENDANT_TAKEN = "Já existe um atendente com este e-mail."


@bp.get("/atendentes")
def attendants():
    items = db.session.scalars(
        sa.select(Attendant).order_by(Attendant.active.desc(), Attendant.name)
        .options(selectinload(Attendant.departments))
    ).all()
    return render_template("admin/attendants.html", items=items, me=current_attendant())


@bp.route("/atendentes/novo", methods=["GET", "POST"])
def attendant_new():
    return _attendant_page(None)


@bp.route("/atendentes/<int(max=2147483647):attendant_id>", methods=["GET", "POST"])
def attendant_edit(attendant_id: int):
    return _attendant_page(db.get_or_404(Attendant, attendant_id))


def _attendant_page(attendant: Attendant | None):
    me = current_attendant()
    if request.method == "GET":
        if attendant is None:
            form = AttendantForm(formdata=None)
        else:
            form = AttendantForm(formdata=None, obj=attendant)
        return _attendant_form(form, attendant)
    form = AttendantForm()
    form.department_ids.choices = department_options()
    ok = form.validate()
    email = normalize_email(form.email.data)
    taken = sa.select(Attendant.id).where(Attendant.email == email)
    if attendant is not None:
        taken = taken.where(Attendant.id != attendant.id)
    if email and db.session.scalar(taken.limit(1)) is not None:
        form.email.errors.append(ATTENDANT_TAKEN)
        ok = False
    if attendant is not None and attendant.id == me.id:
        # The acting administrator always keeps access, so there is always one administrator.
        if not form.is_admin.data:
            form.is_admin.errors.append(SELF_LOCKOUT)
            ok = False
        if not form.active.data:
            form.active.errors.append(SELF_LOCKOUT)
            ok = False
    if not ok:
        return _attendant_form(form, attendant, 422)
    created = attendant is None
    if created:
        attendant = Attendant()
        db.session.add(attendant)
    elif email != attendant.email or (attendant.active and not form.active.data):
        # Sign-in links went to the old address, and a deactivated attendant's sessions must
        # not come back if the account is reactivated later.
        attendant.link_version += 1
    attendant.email = email
    attendant.name = form.name.data
    attendant.is_admin = form.is_admin.data
    attendant.active = form.active.data
    chosen = set(form.department_ids.data or [])
    attendant.departments = [d for d in db.session.scalars(sa.select(Department)) if d.id in chosen]
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        form.email.errors.append(ATTENDANT_TAKEN)
        return _attendant_form(form, None if created else db.get_or_404(Attendant, attendant.id), 422)
    if attendant.id == me.id:
        sign_in_attendant(attendant)  # a new e-mail ends the other sessions, not this one
    if created:
        flash(f"Cadastro de {attendant.name} feito. Para entrar, basta informar este e-mail em "
              "Atendimento e abrir o link de entrada que chegar.", "info")
    else:
        flash(f"Atendente {attendant.name} salvo.", "info")
    return redirect(url_for("admin.attendants"), 303)


def _attendant_form(form: AttendantForm, attendant: Attendant | None, status: int = 200):
    form.department_ids.choices = department_options()
    return render_template("admin/attendant_form.html", form=form, attendant=attendant,
                           me=current_attendant(), button_form=ButtonForm()), status


@bp.post("/atendentes/<int(max=2147483647):attendant_id>/encerrar-sessoes")
def attendant_sign_out(attendant_id: int):
    attendant = db.get_or_404(Attendant, attendant_id)
    if not ButtonForm().validate():
        abort(400)
    attendant.link_version += 1  # every session and unused sign-in link stops working
    db.session.commit()
    if attendant.id == current_attendant().id:
        sign_in_attendant(attendant)  # this browser stays signed in; the others do not
        flash("Suas outras sessões foram encerradas. Esta continua aberta.", "info")
    else:
        flash(f"Sessões de {attendant.name} encerradas. Para voltar, ele precisa de um novo link "
              "de entrada.", "info")
    return redirect(url_for("admin.attendant_edit", attendant_id=attendant.id), 303)


# --- Office settings -------------------------------------------------------------------------

@bp.route("/secretaria", methods=["GET", "POST"])
def office():
    if request.method == "GET":
        current = OfficeSetting.values()
        form = OfficeForm(formdata=None, name=current["name"], phone=current["phone"],
                          emails=", ".join(current["email_list"]))
        return render_template("admin/office.html", form=form)
    form = OfficeForm()
    if not form.validate():
        return render_template("admin/office.html", form=form), 422
    new_values = {"name": form.name.data, "phone": form.phone.data, "emails": ", ".join(form.email_list())}
    for key in OfficeSetting.KEYS:
        row = db.session.get(OfficeSetting, key)
        if row is None:
            db.session.add(OfficeSetting(key=key, value=new_values[key]))
        else:
            row.value = new_values[key]
    db.session.commit()
    OfficeSetting.forget()
    flash("Dados da secretaria salvos. Aparecem nas páginas e nos próximos e-mails em alguns segundos.", "info")
    return redirect(url_for("admin.office"), 303)
