"""Signed, expiring tokens for the links we e-mail: one itsdangerous salt per purpose.

A token minted for one purpose (an O.S. access link, say) never validates for another
(a sign-in link). Tokens are signed, not encrypted: they carry ids and counters, never an
e-mail address or anything secret.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSES = {
    "access": "os-access-link",
    "confirm": "account-confirmation",
    "signin": "account-sign-in",
    "email": "account-email-change",
    "staff": "staff-sign-in",
}


class TokenError(Exception):
    """A token that is tampered, for another purpose or malformed."""

    def __init__(self, payload=None):
        super().__init__()
        self.payload = payload  # what an expired token said, when it was genuine


class TokenExpired(TokenError):
    pass


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=PURPOSES[purpose])


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict:
    """The payload of a valid token; TokenExpired or TokenError otherwise."""
    serializer = _serializer(purpose)
    if not token or len(token) > 1000:
        raise TokenError()
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        # The signature was genuine, only old: its payload may still name the O.S.
        try:
            expired = serializer.load_payload(exc.payload)
        except BadSignature:
            expired = None
        raise TokenExpired(expired if isinstance(expired, dict) else None) from None
    except BadSignature:
        raise TokenError() from None
    if not isinstance(payload, dict):
        raise TokenError()
    return payload


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under BASE_URL, for e-mails: never built from the request's Host."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)
