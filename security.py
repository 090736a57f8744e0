"""Who the browser is, what it may see, and the headers every response carries.

A browser may see an O.S. on the citizen side because it signed in as the O.S.'s confirmed
account (Flask-Login), or because it opened a valid access link to that O.S. (a "grant" kept in
the signed session); `can_view()` asks the model's one rule, `ServiceOrder.visible_to`, with
what this browser has. Attendants sign in separately (`session["staff"]`, with its own idle
timeout): `current_attendant()` is who they are, and the console passes it to the same rule.
"""

from __future__ import annotations

import time
from functools import cache
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import UserMixin, current_user
from limits import parse_many

from app import db, limiter, login_manager
from models import Attendant, Contact, attendant_departments, read

MAX_GRANTS = 30
CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
])


class Grant(NamedTuple):
    order_id: int
    contact_id: int
    link_version: int


def add_grant(order_id: int, contact_id: int, link_version: int) -> None:
    """Let this browser see that O.S. (and only it), as an access link allows: while its
    contact stays the same and raises no `link_version`."""
    grants = [g for g in session.get("grants", []) if g[0] != order_id]
    grants.append([order_id, contact_id, link_version])
    session["grants"] = grants[-MAX_GRANTS:]
    # Not `permanent`: the grant ends when the browser closes (a shared office PC), and
    # SESSION_HOURS after it was given at the latest.


def current_grants() -> list[Grant]:
    grants = []
    for item in session.get("grants", []):
        if isinstance(item, list) and len(item) == 3 and all(isinstance(v, int) for v in item):
            grants.append(Grant(*item))
    return grants


def signed_in_contact_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def can_view(order) -> bool:
    return order.visible_to(contact_id=signed_in_contact_id(), grants=current_grants())


def sign_in_attendant(attendant: Attendant) -> None:
    session["staff"] = [attendant.id, attendant.link_version, int(time.time())]
    g.pop("attendant", None)  # read again, as every page reads it


def sign_out_attendant() -> None:
    session.pop("staff", None)
    g.attendant = None


class SignedInAttendant:
    """The signed-in attendant as the console sees and checks them: one row (and, for
    those who are not administrators, their department ids) read per request instead of an
    ORM object and its departments, which cost more than the queue's own queries. Views
    that change an attendant load the record."""

    __slots__ = ("id", "name", "email", "is_admin", "active", "link_version", "department_ids")
    serves = Attendant.serves  # one rule for who serves a department

    def __init__(self, id: int, name: str, email: str, is_admin: bool, active: bool, link_version: int,
                 department_ids: frozenset[int]):
        self.id, self.name, self.email, self.is_admin = id, name, email, is_admin
        self.active, self.link_version, self.department_ids = active, link_version, department_ids


def current_attendant() -> SignedInAttendant | None:
    """The attendant signed in on this browser: active, not revoked, not idle too long."""
    if "attendant" in g:
        return g.attendant
    g.attendant = None
    data = session.get("staff")
    if isinstance(data, list) and len(data) == 3 and all(isinstance(v, int) for v in data):
        attendant_id, version, seen = data
        now = int(time.time())
        if now - seen <= current_app.config["STAFF_IDLE_MINUTES"] * 60:
            statements = _attendant_statements()
            row = read(statements["attendant"], {"id": attendant_id}).first()
            if row is not None and row.active and row.link_version == version:
                departments = frozenset() if row.is_admin else frozenset(
                    read(statements["departments"], {"id": attendant_id}).scalars())
                g.attendant = SignedInAttendant(*row, departments)
                if now - seen >= 30:  # the idle clock restarts, without a new cookie every request
                    session["staff"] = [attendant_id, version, now]
    if g.attendant is None and "staff" in session:
        session.pop("staff")
    return g.attendant


@cache
def _attendant_statements() -> dict[str, sa.Select]:
    return {
        "attendant": sa.select(Attendant.id, Attendant.name, Attendant.email, Attendant.is_admin,
                               Attendant.active, Attendant.link_version)
        .where(Attendant.id == sa.bindparam("id")),
        "departments": sa.select(attendant_departments.c.department_id)
        .where(attendant_departments.c.attendant_id == sa.bindparam("id")),
    }


def limit_from(setting: str):
    """A Flask-Limiter limit read from the settings on each request (tests change them)."""
    return lambda: current_app.config[setting]


def within_limit(setting: str, scope: str, key: str) -> bool:
    """Counts one attempt for `key` (a typed e-mail, say) against the limits in `setting`.
    Callers that must stay neutral simply skip the work when this says no."""
    items = parse_many(current_app.config[setting])
    return all(limiter.limiter.hit(item, scope, key) for item in items)


def is_safe_next(target: str | None) -> bool:
    """Only paths on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


class SignedInContact(UserMixin):
    """The signed-in citizen as pages see it (`current_user`): one row read per request.
    Views that change the account load the record itself: `signed_in_record()`."""

    def __init__(self, id: int, name: str, email: str, link_version: int):
        self.id, self.name, self.email, self.link_version = id, name, email, link_version

    def get_id(self) -> str:
        return f"{self.id}.{self.link_version}"


@login_manager.user_loader
def load_contact(user_id: str):
    contact_id, _, version = user_id.partition(".")
    if not contact_id.isdigit() or not version.isdigit():
        return None
    row = Contact.signed_in_row(int(contact_id))
    if row is None or row.link_version != int(version):
        return None
    return SignedInContact(*row)


def signed_in_record() -> Contact:
    """The signed-in citizen's Contact, to change it (sign-out everywhere, profile)."""
    return db.session.get(Contact, current_user.id)


def _ask_to_sign_in():
    # Only the path goes into `next` (Flask-Login's default is the whole URL, host included).
    flash("Entre com o link enviado ao seu e-mail para ver esta página.", "info")
    next_path = request.full_path.rstrip("?")
    return redirect(url_for("account.sign_in", next=next_path if is_safe_next(next_path) else None))


# Headers every response carries unless a view set its own (a download's, say).
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
]
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """WSGI middleware: the headers every response carries unless the view set its own (a
    download's, say). Pages get `Cache-Control: no-store` (they carry personal data),
    versioned static files (views.static_url) a year's cache, HTTPS responses HSTS. Added as
    plain tuples on the way out: set through werkzeug's Headers, which checks every value,
    they cost a tenth of a small page."""

    def __init__(self, wsgi_app, static_path: str):
        self.wsgi_app = wsgi_app
        self.static_prefix = static_path.rstrip("/") + "/"

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            added = [header for header in SECURITY_HEADERS if header[0].lower() not in present]
            if not environ.get("PATH_INFO", "").startswith(self.static_prefix):
                if "cache-control" not in present:
                    added.append(("Cache-Control", "no-store"))
            elif status.startswith("200 ") and "v" in parse_qs(environ.get("QUERY_STRING", "")):
                headers = [h for h in headers if h[0].lower() != "cache-control"]
                added.append(("Cache-Control", "public, max-age=31536000, immutable"))
            if environ.get("wsgi.url_scheme") == "https" and "strict-transport-security" not in present:
                added.append(HSTS)
            return start_response(status, headers + added, exc_info)

        return self.wsgi_app(environ, start)


def refuse_nul_bytes():
    """No browser sends a NUL byte in a form; PostgreSQL refuses to store one. Refuse the
    request in Portuguese instead of failing later."""
    values = [v for _, v in request.args.items(multi=True)]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        values += [v for _, v in request.form.items(multi=True)]
        values += [f.filename or "" for _, f in request.files.items(multi=True)]
    if any("\x00" in v for v in values):
        abort(400, description="O envio contém caracteres inválidos.")


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signer built once per secret key instead of
    twice per request (a twentieth of a small page's time)."""

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = app.extensions.get("session_signer")
        if cached is None or cached[0] != key:
            cached = (key, super().get_signing_serializer(app))
            app.extensions["session_signer"] = cached
        return cached[1]


def init_app(app) -> None:
    app.session_interface = SignedCookieSessions()
    login_manager.unauthorized_handler(_ask_to_sign_in)
    login_manager.session_protection = "basic"
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.static_url_path)
    app.before_request(refuse_nul_bytes)
