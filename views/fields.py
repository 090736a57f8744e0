"""Form fields that several forms share, so an e-mail or a name is validated the same way
and answers with the same Portuguese messages everywhere."""

from __future__ import annotations

from urllib.parse import urlencode

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectChoice, StringField, widgets
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp
from wtforms.widgets.core import clean_key

# The plain <input> widgets, rendered by `Form` itself: WTForms' html_params() formats every
# attribute through Markup.format, and on the home page that was a third of the request.
PLAIN_INPUTS = (widgets.TextInput, widgets.EmailInput, widgets.TelInput, widgets.HiddenInput,
                widgets.SubmitInput, widgets.SearchInput)


class Form(FlaskForm):
    """The base of our forms: FlaskForm (CSRF) with a quicker rendering of plain inputs that
    writes exactly what WTForms would (tests/test_forms_render.py compares the two)."""

    class Meta:
        def render_field(self, field, render_kw):
            widget = field.widget
            if type(widget) not in PLAIN_INPUTS or field.render_kw or getattr(field, "_datalist", None) is not None:
                return super().render_field(field, render_kw)
            return input_tag(field, widget, render_kw)


def input_tag(field, widget, render_kw) -> Markup:
    attrs = {clean_key(k): v for k, v in render_kw.items()}
    attrs.setdefault("id", field.id)
    attrs.setdefault("type", widget.input_type)
    if "value" not in attrs:
        attrs["value"] = field.label.text if widget.input_type == "submit" else field._value()
    for name, value in vars(field.flags).items():
        if name in widget.validation_attrs and name not in attrs:
            attrs[name] = value() if callable(value) else value
    attrs["name"] = field.name
    parts = []
    for name in sorted(attrs):
        value = attrs[name]
        if value is True:
            parts.append(name)
        elif value is not False:
            # escape() leaves Markup as it is: its quotes are WTForms' &quot; too.
            parts.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(f"<input {' '.join(parts)}>")


def strip(value):
    return value.strip() if isinstance(value, str) else value


def email_field(label: str = "Endereço de E-mail") -> StringField:
    return StringField(label, filters=[strip], validators=[
        DataRequired("Informe seu endereço de e-mail."),
        Length(max=254, message="O endereço de e-mail pode ter no máximo 254 caracteres."),
        Email("Informe um endereço de e-mail válido, por exemplo nome@exemplo.com.br."),
    ])


def name_field(label: str = "Nome completo", missing: str = "Informe seu nome completo.") -> StringField:
    return StringField(label, filters=[strip], validators=[
        DataRequired(missing),
        Length(max=120, message="O nome pode ter no máximo 120 caracteres."),
    ])


def phone_field(label: str = "Número de telefone") -> StringField:
    # Phones are kept as typed ("(69) 3211-6100"); only the characters are checked.
    return StringField(label, filters=[strip], validators=[
        Optional(),
        Length(max=40, message="O telefone pode ter no máximo 40 caracteres."),
        Regexp(r"^[0-9+()\-. ]*[0-9][0-9+()\-. ]*$",
               message="Use apenas números, espaços, parênteses, hífen e +, por exemplo (69) 3211-6100."),
    ])


def extension_field(label: str = "Ramal") -> StringField:
    return StringField(label, filters=[strip], validators=[
        Optional(),
        Length(max=10, message="O ramal pode ter no máximo 10 dígitos."),
        Regexp(r"^[0-9]+$", message="O ramal deve ter apenas números."),
    ])


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices of a SelectField."""
    return [SelectChoice(str(value), label) for value, label in pairs]


def department_options() -> list[SelectChoice]:
    """Every department, by name, as SelectField choices."""
    import sqlalchemy as sa

    from app import db
    from models import Department

    return options((d.id, d.name) for d in db.session.scalars(sa.select(Department).order_by(Department.name)))


def path_before(endpoint: str, argument: str) -> str:
    """The path of `endpoint` up to its last `argument`, for tables that link every row:
    "/atendimento/os/" + number costs nothing; url_for() fifty times was a sixth of the queue."""
    from flask import url_for

    return url_for(endpoint, **{argument: "-"}).removesuffix("-")


def page_links(path: str, params: dict, defaults: dict):
    """`url(p)` for a pager: the list's address with its filters and page p, the filters
    encoded once (a pager asks for a dozen addresses)."""
    query = urlencode({k: v for k, v in params.items() if k != "pagina" and v != defaults[k]})
    first = f"{path}?{query}" if query else path
    more = f"{path}?{query}&pagina=" if query else f"{path}?pagina="
    return lambda page: first if page == 1 else f"{more}{page}"


def small_int(text: str | None) -> int | None:
    """A number typed in a form or URL, if it is one a database column can hold."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None
