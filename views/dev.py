"""Development only: the mail catcher at /dev/mail lists every message the app queued,
with working links, so a newcomer can follow the flows without an SMTP server. Not
registered outside development.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, abort, make_response, render_template
from markupsafe import Markup, escape

from app import db
from models import OutboxMessage

bp = Blueprint("dev", __name__, url_prefix="/dev")
_URL = re.compile(r"https?://[^\s<>\"]+")


def _linkify(text: str) -> Markup:
    escaped = str(escape(text))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


@bp.get("/mail")
def mail_list():
    messages = db.session.scalars(
        sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50)
    ).all()
    return render_template("dev/mail.html", messages=messages, linkify=_linkify)


@bp.get("/mail/<int(max=2147483647):message_id>/html")
def mail_html(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    response = make_response(message.body_html)
    # The message is shown as mail clients show it: no scripts, nothing loaded from outside.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox allow-popups allow-top-navigation-by-user-activation"
    )
    return response
