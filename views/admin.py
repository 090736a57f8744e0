"""Administration of the console, for administrators only: departments, subjects and their
extra fields, attendants, and the office's name, phone and e-mails. Changes take effect on
the next request, without a restart.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from security import current_attendant

bp = Blueprint("admin", __name__, url_prefix="/atendimento/admin")


@bp.before_request
def require_admin():
    attendant = current_attendant()
    if attendant is None or not attendant.is_admin:
        abort(404)  # a console page that does not exist for anyone else


@bp.get("/")
def index():
    return render_template("admin/index.html")
