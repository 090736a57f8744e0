"""Settings, read from the environment (names in shared/spec/INTERFACES.md).

`APP_ENV` picks the class: `development` (what `.flaskenv` sets for the `flask` command),
`testing`, or `production` (the default, so a server started without it never runs with
development shortcuts such as the fixed key or `/dev/mail`).
"""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production"


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "sim"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def engine_options(database_url: str) -> dict:
    """A PostgreSQL server across the network may drop idle connections (so each is checked
    before use), and its engine runs in autocommit: models.configure_postgres opens a
    transaction before the first write. Other databases (SQLite) need nothing."""
    if not database_url.startswith("postgresql"):
        return {}
    return {"pool_pre_ping": True, "isolation_level": "AUTOCOMMIT"}


class Config:
    """Defaults. `environment()` reads the environment when the app is created, so a
    process (or a test) that sets a variable before `create_app()` is always obeyed."""

    ENV_NAME = "base"
    MAIL_CATCH = False  # development without MAIL_SERVER: print and list at /dev/mail
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "os_session"
    # A session lasts SESSION_HOURS from its last change (a sign-in, a grant, a message shown
    # after a form), not from the last page: no new signed cookie on every page, and a
    # forgotten session ends on its own.
    SESSION_REFRESH_EACH_REQUEST = False
    WTF_CSRF_TIME_LIMIT = None  # valid for the session: a slow typist never loses a form
    RATELIMIT_HEADERS_ENABLED = False
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(days=7)

    @classmethod
    def environment(cls) -> dict:
        env = os.environ.get
        attachments, attachment_mb = _env_int("MAX_ATTACHMENTS", 5), _env_int("MAX_ATTACHMENT_MB", 10)
        return {
            "SECRET_KEY": env("SECRET_KEY", DEV_SECRET_KEY),
            "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'os.db'}"),
            "BASE_URL": env("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
            # Outbound mail, with Flask-Mail's names.
            "MAIL_SERVER": env("MAIL_SERVER") or None,
            "MAIL_PORT": _env_int("MAIL_PORT", 25),
            "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS"),
            "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL"),
            "MAIL_USERNAME": env("MAIL_USERNAME") or None,
            "MAIL_PASSWORD": env("MAIL_PASSWORD") or None,
            "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER",
                                       "Sistema de O.S. <nao-responda@sefin.ro.gov.br>"),
            "MAIL_TIMEOUT": _env_int("MAIL_TIMEOUT", 20),  # seconds for one SMTP conversation
            "MAIL_MAX_ATTEMPTS": _env_int("MAIL_MAX_ATTEMPTS", 8),
            "UPLOAD_DIR": env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads")),
            "OFFICE_NAME": env("OFFICE_NAME", "Secretaria de Estado de Finanças"),
            "OFFICE_PHONE": env("OFFICE_PHONE", "(69) 3211-6100"),
            "OFFICE_EMAILS": env("OFFICE_EMAILS",
                                 "geinfresolve@sefin.ro.gov.br, monitormaster@sefin.ro.gov.br"),
            "TIMEZONE": env("TIMEZONE", "America/Porto_Velho"),
            "ACCESS_LINK_MAX_AGE": _env_int("ACCESS_LINK_HOURS", 72) * 3600,
            "ACCESS_LINKS_PER_HOUR": _env_int("ACCESS_LINKS_PER_HOUR", 3),  # per O.S.
            "ACCESS_LINKS_PER_ADDRESS_HOUR": _env_int("ACCESS_LINKS_PER_ADDRESS_HOUR", 10),
            "CONFIRM_LINK_MAX_AGE": _env_int("CONFIRM_LINK_HOURS", 48) * 3600,
            "SIGN_IN_LINK_MAX_AGE": _env_int("SIGN_IN_LINK_MINUTES", 30) * 60,
            "STAFF_SIGN_IN_LINK_MAX_AGE": _env_int("STAFF_SIGN_IN_LINK_MINUTES", 15) * 60,
            "STAFF_IDLE_MINUTES": _env_int("STAFF_IDLE_MINUTES", 60),
            "PERMANENT_SESSION_LIFETIME": timedelta(hours=_env_int("SESSION_HOURS", 24)),
            "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI", "memory://"),
            "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),  # bench/run turns them off
            "RATELIMIT_STATUS_CHECK": env("RATELIMIT_STATUS_CHECK", "10 per minute;60 per hour"),
            "RATELIMIT_ACCOUNT": env("RATELIMIT_ACCOUNT", "10 per minute;60 per hour"),
            "ACCOUNT_MAILS_PER_ADDRESS_HOUR": _env_int("ACCOUNT_MAILS_PER_ADDRESS_HOUR", 10),
            "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
            "MAX_ATTACHMENT_BYTES": attachment_mb * 1024 * 1024,
            "MAX_ATTACHMENTS": attachments,
            "ALLOW_REOPEN_CLOSED": _env_bool("ALLOW_REOPEN_CLOSED"),
            "RATELIMIT_POST": env("RATELIMIT_POST", "10 per minute;100 per hour"),
            "RATELIMIT_NEW_OS_PER_EMAIL": env("RATELIMIT_NEW_OS_PER_EMAIL", "5 per hour;20 per day"),
            # Room for every attachment the form allows at its largest, and 1 MB for the text:
            # the help under the form promises that much.
            "MAX_CONTENT_LENGTH": _env_int("MAX_REQUEST_MB", attachments * attachment_mb + 1) * 1024 * 1024,
        }

    @classmethod
    def check(cls, app) -> None:
        """Refuse settings that are unsafe for this environment."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    TEMPLATES_AUTO_RELOAD = True  # an edited template shows on the next page

    @classmethod
    def environment(cls) -> dict:
        settings = super().environment()
        settings["MAIL_CATCH"] = not settings["MAIL_SERVER"]
        return settings


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    MAIL_SUPPRESS_SEND = False  # tests deliver to a real SMTP server on 127.0.0.1

    @classmethod
    def environment(cls) -> dict:
        # Tests choose their own database and mail server; the shell's settings never leak in.
        settings = super().environment()
        settings.update(SECRET_KEY="testing-secret-key", SQLALCHEMY_DATABASE_URI="sqlite://",
                        MAIL_SERVER=None, BASE_URL="http://127.0.0.1:5000",
                        RATELIMIT_STORAGE_URI="memory://", TIMEZONE="America/Porto_Velho")
        return settings


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-os_session"
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls, app) -> None:
        missing = [
            name for name in ("SECRET_KEY", "DATABASE_URL", "BASE_URL") if not os.environ.get(name)
        ]
        if missing:
            raise RuntimeError(
                "Em produção defina as variáveis de ambiente: " + ", ".join(missing)
            )
        if app.config["SECRET_KEY"] == DEV_SECRET_KEY or len(app.config["SECRET_KEY"]) < 24:
            raise RuntimeError("SECRET_KEY de produção precisa ser própria e ter 24+ caracteres")
        if not app.config["BASE_URL"].startswith("https://"):
            # A plain-http BASE_URL is allowed for an office intranet, but then the
            # secure cookie flags would make sign-in impossible.
            app.logger.warning("BASE_URL sem https: cookies sem a marca Secure; use https na internet")
            app.config["SESSION_COOKIE_SECURE"] = False
            app.config["REMEMBER_COOKIE_SECURE"] = False
            app.config["SESSION_COOKIE_NAME"] = "os_session"
            app.config["PREFERRED_URL_SCHEME"] = "http"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
