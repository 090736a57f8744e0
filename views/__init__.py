"""Blueprints, one per area of the site, and the function that registers them."""

import hashlib
from pathlib import Path  # not `import os`: the views.os module takes that name here

from flask import request


def register_blueprints(app) -> None:
    from models import OfficeSetting
    from fieldtypes import HELP
    from uploads import ACCEPT
    from views import account, admin, public, staff
    from views import os as os_views

    app.register_blueprint(public.bp)
    app.register_blueprint(os_views.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(admin.bp)
    account.register_context(app)
    if app.config["ENV_NAME"] == "development":
        from views import dev

        app.register_blueprint(dev.bp)

    @app.context_processor
    def office_context():
        return {"office": OfficeSetting.values(), "upload_accept": ACCEPT}

    app.jinja_env.globals["field_help"] = HELP  # macros see globals, not the page's context
    app.jinja_env.globals["page_numbers"] = page_numbers
    app.jinja_env.globals["static_url"] = static_urls(app)
    app.jinja_env.globals["fields_with_errors"] = fields_with_errors


def fields_with_errors(form) -> list:
    """The fields to list in a form's error summary, in the form's order (a refused CSRF
    token has its own page)."""
    return [f for f in form if f.errors and f.name != "csrf_token"]


def static_urls(app):
    """`static_url(filename)`: the address of a file in static/, versioned by its content
    ("app.css?v=3f2a…"), so browsers may keep it for a year (security.SecurityHeaders) and
    still get a new version the moment it changes. Worked out once per process, or on every
    page in development, where files are being edited."""
    urls: dict[tuple[str, str], str] = {}

    def static_url(filename: str) -> str:
        key = (filename, request.script_root)  # the app may be mounted under a path prefix
        url = urls.get(key)
        if url is None or app.config["TEMPLATES_AUTO_RELOAD"]:
            version = hashlib.sha256(Path(app.static_folder, filename).read_bytes()).hexdigest()[:12]
            url = urls[key] = app.url_for("static", filename=filename, v=version)
        return url

    return static_url


def page_numbers(page: int, pages: int) -> list[int | None]:
    """The page links worth showing: the first two, the last two and two either side of
    the current one; None where pages are skipped. A list of 2,000 pages costs what 10 do."""
    shown = sorted({p for p in (1, 2, pages - 1, pages, *range(page - 2, page + 3)) if 1 <= p <= pages})
    numbers: list[int | None] = []
    for p in shown:
        if numbers and p - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(p)
    return numbers
