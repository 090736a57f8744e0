"""The application factory and the extension objects.

`create_app()` picks the settings (config.py), binds the extensions, imports the models,
registers the blueprints, the error pages, the command-line commands and the middleware that
adds the security headers to every response. Nothing runs at import time.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy import event as sa_event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints, so migrations can alter them on every backend.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class OfficeApp(Flask):
    """Flask, with two answers that never change kept once per process instead of worked out
    on every request: whether a hook is a coroutine (Flask asks a dozen times a page), and
    the address of a page that takes no arguments (the layout links half a dozen). A small
    page's time dropped by a tenth (bench/timing.py)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync: dict = {}
        self._plain_urls: dict = {}

    def ensure_sync(self, func):
        try:
            return self._sync[func]
        except KeyError:
            sync = super().ensure_sync(func)
            if len(self._sync) < 1000:  # a per-request closure must not grow it without end
                self._sync[func] = sync
            return sync
        except TypeError:  # not hashable
            return super().ensure_sync(func)

    def url_for(self, endpoint, /, *, _anchor=None, _method=None, _scheme=None, _external=None, **values):
        if values or _anchor or _method or _scheme or _external or endpoint[:1] == "." \
                or not has_request_context():
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        key = (endpoint, request.script_root)  # the app may be mounted under a path prefix
        url = self._plain_urls.get(key)
        if url is None:
            url = super().url_for(endpoint)
            if len(self._plain_urls) < 1000:
                self._plain_urls[key] = url
        return url


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def create_app(config_name: str | None = None, **overrides) -> Flask:
    from config import CONFIGS, INSTANCE_DIR, engine_options

    # Production unless told otherwise, except under the `flask` command (which sets
    # FLASK_RUN_FROM_CLI), whose default is development, like `.flaskenv` says.
    from_cli = os.environ.get("FLASK_RUN_FROM_CLI") == "true"
    config_name = config_name or os.environ.get("APP_ENV") or ("development" if from_cli else "production")
    if config_name not in CONFIGS:
        raise RuntimeError(f"APP_ENV desconhecido: {config_name!r} (use development ou production)")
    config_class = CONFIGS[config_name]

    app = OfficeApp(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_class)
    app.config.update(config_class.environment())
    app.config.update(overrides)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
                                               **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    config_class.check(app)
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    if from_cli or config_name != "production":
        # Flask-Migrate (and Alembic) serve `flask db ...`: production web workers stay lighter.
        from flask_migrate import Migrate

        Migrate(app, db, render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    import models  # registers the tables on db.metadata
    import search
    import outbox
    import security
    from cli import register_commands
    from views import register_blueprints
    from views.errors import register_error_handlers
    import formatting

    with app.app_context():
        models.configure_postgres(db.engine)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    security.init_app(app)
    if not sa_event.contains(db.metadata, "after_create", search.install):
        sa_event.listen(db.metadata, "after_create", search.install)
    formatting.init_app(app)
    outbox.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind nginx: the client's address and scheme come from the proxy's headers, so the
        # per-IP limits see citizens, not the proxy. The host never comes from a header.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_prefix=0)
    return app
