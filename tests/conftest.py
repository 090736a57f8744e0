"""Fixtures: a fresh app and database per test (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), a real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it
receives, small factories for the catalogue and O.S., a live server and a real Chromium.
"""

from __future__ import annotations

import email
import os
import re
import socket
import threading
import uuid
from email import policy
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app import create_app, db

PG_URL = os.environ.get("TEST_DATABASE_URL")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
LINK = re.compile(r"https?://\S+")


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def clear(self):
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    def links(self, message: EmailMessage) -> list[str]:
        return LINK.findall(self.text(message))


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd cannot be given port 0
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port)
    controller.start()
    try:
        yield mailbox, controller.hostname, controller.port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    box = smtp_server[0]
    box.clear()
    return box


@pytest.fixture(scope="session")
def pg_engine():
    if not PG_URL:
        yield None
        return
    engine = sa.create_engine(PG_URL)
    yield engine
    engine.dispose()


def _database_url(tmp_path, pg_engine) -> str:
    if pg_engine is None:
        return f"sqlite:///{tmp_path / 'test.db'}"
    return PG_URL


@pytest.fixture
def app(tmp_path, smtp_server, pg_engine):
    _, host, port = smtp_server
    application = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=_database_url(tmp_path, pg_engine),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        MAIL_SERVER=host,
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="Sistema de O.S. <nao-responda@exemplo.gov.br>",
    )
    with application.app_context():
        if pg_engine is not None:
            db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        if pg_engine is not None:
            db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for a test that talks to the models directly."""
    with app.app_context():
        yield


@pytest.fixture
def catalogue(app):
    """The demo departments, subjects (with extra fields) and attendants."""
    from cli import _seed_catalogue

    with app.app_context():
        _seed_catalogue()
        db.session.commit()


@pytest.fixture
def make_order(app, catalogue):
    """Open an O.S. as the call centre would; returns its number."""
    from models import Contact, ServiceOrder, Subject
    from sanitize import text_to_html

    def make(email="eliane@exemplo.com.br", name="Eliane Barbosa", subject="Outros assuntos",
             message="Preciso de ajuda.", phone="(69) 3211-0000", channel="Telefone",
             field_values=None) -> str:
        with app.app_context():
            chosen = db.session.scalar(sa.select(Subject).where(Subject.name == subject))
            values = {}
            for label, value in (field_values or {}).items():
                values[next(f.id for f in chosen.fields if f.label == label)] = value
            order = ServiceOrder.open(
                contact=Contact.find_or_create(email, name, phone), subject=chosen,
                body_html=text_to_html(message), channel=channel, phone=phone,
                field_values=values,
            )
            db.session.commit()
            return order.display_number

    return make


CSRF_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path="/") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF_TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def deliver(app) -> tuple[int, int]:
    from outbox import deliver_due

    with app.app_context():
        return deliver_due()


@pytest.fixture
def live_server(app):
    """The app served by a real HTTP server on 127.0.0.1, in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    yield base
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="pt-BR", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def unique_email():
    return f"cidadao-{uuid.uuid4().hex[:8]}@exemplo.com.br"


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL.rsplit('@', 1)[-1] if PG_URL else 'SQLite (a file per test)'}"


def open_in(app, client, number):
    """Let `client` see O.S. `number`, as opening a valid access link does."""
    from models import ServiceOrder

    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        with client.session_transaction() as session:
            session["grants"] = [[order.id, order.contact_id, order.contact.link_version]]


def staff_session(app, client, email):
    """Sign `client` in as the attendant with `email`, as the sign-in link does."""
    import time

    from models import Attendant

    with app.app_context():
        attendant = db.session.scalar(sa.select(Attendant).where(Attendant.email == email))
        with client.session_transaction() as session:
            session["staff"] = [attendant.id, attendant.link_version, int(time.time())]
    return client


def go(locator):
    """Click something that loads a new page (a link, a form's button) and wait for that
    page, so the next assertion reads the new page and not the old one."""
    with locator.page.expect_navigation():
        locator.click()


def shot(page, name):
    """A full-page screenshot in $SCREENSHOT_DIR, when set: to look at what the tests saw."""
    directory = os.environ.get("SCREENSHOT_DIR")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def sign_in_in_browser(page, app, mailbox, live_server, email):
    """An attendant signs in as in real life: asks for the link, opens it from the e-mail."""
    page.goto(live_server + "/atendimento")
    page.get_by_label("Endereço de e-mail").fill(email)
    go(page.get_by_role("button", name="Enviar link de entrada"))
    page.goto(mailed_link(app, mailbox, email, "/atendimento/entrar/"))
    go(page.get_by_role("button", name="Entrar no atendimento"))


def mailed_link(app, mailbox, address, marker):
    """Deliver the outbox and return the newest link containing `marker` sent to `address`."""
    deliver(app)
    links = [l for m in mailbox.to(address) for l in mailbox.links(m) if marker in l]
    assert links, f"no {marker} link mailed to {address}"
    return links[-1]
