"""The home page ("Página Principal"), its status check, and the health check.

The status check answers the same whether or not the e-mail and number match; only a match
queues an access link, and it goes to the address stored on the O.S., never to the typed one.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from app import db, limiter
from models import OfficeSetting, ServiceOrder, normalize_email
from notifications import request_mail, resolve_now_in_development
from security import limit_from
from views.fields import Form, email_field, strip

bp = Blueprint("public", __name__)


def valid_number(form, field):
    if ServiceOrder.parse_number(field.data) is None:
        raise ValidationError("Informe o número da O.S. com até 8 dígitos, por exemplo 00002172.")


class StatusCheckForm(Form):
    email = email_field()
    number = StringField(
        "Número da O.S.",
        filters=[strip],
        validators=[DataRequired("Informe o número da O.S."), valid_number],
    )
    submit = SubmitField("Enviar link de acesso")


@bp.get("/")
def home():
    token = generate_csrf()  # first: the session a new visitor's cookie carries starts here
    if current_user.is_authenticated or "_flashes" in session or current_app.config["TEMPLATES_AUTO_RELOAD"]:
        return render_template("public/home.html", form=StatusCheckForm())
    return _guest_home(token)


GUEST_HOME_VARIANTS = 8  # office settings changes and a browser's "Sair" make a handful


def _guest_home(token: str) -> str:
    """The home page as a visitor who is not signed in sees it: the same for every such
    visitor but for the CSRF token, so each process renders it once and writes each visitor's
    token into it (rendering it, with its form, was more than half of the page's time). One
    copy per version of what it shows: the office's settings (OfficeSetting.values) and
    whether this browser holds an O.S. it can sign out of."""
    office = OfficeSetting.values()
    grants = bool(session.get("grants"))
    key = (request.script_root, office["name"], office["phone"], office["emails"], grants)
    pages = current_app.extensions.setdefault("guest_home", {})
    pieces = pages.get(key)
    if pieces is None:
        html = render_template("public/home.html", form=StatusCheckForm())
        # The token is a long signed random string, written once in the status check and once
        # in the sign-out form when there is one: anything else and the page is not kept.
        pieces = html.split(token)
        if len(pieces) != (3 if grants else 2):
            return html
        if len(pages) >= GUEST_HOME_VARIANTS:
            pages.clear()
        pages[key] = pieces
    return token.join(pieces)


@bp.post("/verificar")
@limiter.limit(limit_from("RATELIMIT_STATUS_CHECK"))
def status_check():
    form = StatusCheckForm()
    if not form.validate():
        return render_template("public/home.html", form=form), 422
    # The mail worker decides whether the pair matches: this page does the same work, in
    # the same time, for every well-formed request, and so tells nothing.
    request_mail("access", normalize_email(form.email.data), ServiceOrder.parse_number(form.number.data))
    resolve_now_in_development()
    return redirect(url_for("public.status_check_sent"), 303)


@bp.get("/verificar")
def status_check_form():
    return redirect(url_for("public.home"))



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
