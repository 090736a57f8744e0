"""Form fields that several forms share, so an e-mail or a name is validated the same way
and answers with the same Portuguese messages everywhere."""

from __future__ import annotations

from wtforms import SelectChoice, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp


def strip(value):
    return value.strip() if isinstance(value, str) else value


def email_field(label: str = "Endereço de E-mail") -> StringField:
    return StringField(label, filters=[strip], validators=[
        DataRequired("Informe seu endereço de e-mail."),
        Length(max=254, message="O endereço de e-mail pode ter no máximo 254 caracteres."),
        Email("Informe um endereço de e-mail válido, por exemplo nome@exemplo.com.br."),
    ])


def name_field(label: str = "Nome completo") -> StringField:
    return StringField(label, filters=[strip], validators=[
        DataRequired("Informe seu nome completo."),
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


def small_int(text: str | None) -> int | None:
    """A number typed in a form or URL, if it is one a database column can hold."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None
