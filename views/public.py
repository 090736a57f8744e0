"""The home page ("Página Principal"), its status check, and the health check.

The status check answers the same whether or not the e-mail and number match; only a match
queues an access link, and it goes to the address stored on the O.S., never to the typed one.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_wtf import FlaskForm
from limits import parse_many
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from app import db, limiter
from models import ServiceOrder, normalize_email
from notifications import send_access_link

bp = Blueprint("public", __name__)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def valid_number(form, field):
    if ServiceOrder.parse_number(field.data) is None:
        raise ValidationError("Informe o número da O.S. com até 8 dígitos, por exemplo 00002172.")


class StatusCheckForm(FlaskForm):
    email = StringField(
        "Endereço de E-mail",
        filters=[_strip],
        validators=[
            DataRequired("Informe seu endereço de e-mail."),
            Length(max=254, message="O endereço de e-mail pode ter no máximo 254 caracteres."),
            Email("Informe um endereço de e-mail válido, por exemplo nome@exemplo.com.br."),
        ],
    )
    number = StringField(
        "Número da O.S.",
        filters=[_strip],
        validators=[
            DataRequired("Informe o número da O.S."),
            Length(max=20, message="Informe o número da O.S. com até 8 dígitos, por exemplo 00002172."),
            valid_number,
        ],
    )
    submit = SubmitField("Enviar link de acesso")


@bp.get("/")
def home():
    return render_template("public/home.html", form=StatusCheckForm())


def _status_check_limit() -> str:
    return current_app.config["RATELIMIT_STATUS_CHECK"]


@bp.post("/verificar")
@limiter.limit(_status_check_limit)
def status_check():
    form = StatusCheckForm()
    if not form.validate():
        return render_template("public/home.html", form=form), 422
    email = normalize_email(form.email.data)
    if _within_email_limit(email):
        number = ServiceOrder.parse_number(form.number.data)
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == number))
        if order is not None and order.contact.email == email:
            send_access_link(order)
            db.session.commit()
    return redirect(url_for("public.status_check_sent"), 303)


def _within_email_limit(email: str) -> bool:
    """Checks per typed e-mail, from any number of IPs. Past the limit the answer stays
    the same and nothing is looked up, so guessing numbers for one address is slow."""
    limits = parse_many(current_app.config["RATELIMIT_STATUS_CHECK_PER_EMAIL"])
    return all(limiter.limiter.hit(item, "status-check-email", email) for item in limits)


@bp.get("/verificar/enviado")
def status_check_sent():
    return render_template("public/status_check_sent.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}
