"""End to end in a real headless Chromium: the citizen types their e-mail and O.S. number,
receives the link by real SMTP, clicks it and reads their O.S.; and the ways it can go wrong."""

import time

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from app import db
from conftest import deliver, go
from models import ServiceOrder
from tokens import make_token

pytestmark = pytest.mark.browser


def ask_for_link(page, base, email, number):
    page.goto(base + "/")
    page.get_by_label("Endereço de E-mail").fill(email)
    page.get_by_label("Número da O.S.").fill(number)
    go(page.get_by_role("button", name="Enviar link de acesso"))
    page.wait_for_load_state()


def test_citizen_follows_the_emailed_link_to_their_os(app, live_server, page, make_order, mailbox):
    number = make_order(subject="IPVA - 1º Emplacamento", channel="Usuário Externo",
                        message="Solicito lançamento do IPVA referente ao veículo informado.",
                        field_values={"RENAVAM": "01234567897", "PLACA": "NBB0A00"})
    other = make_order(email="joao@exemplo.com.br", name="João da Silva", message="Segredo do João")

    ask_for_link(page, live_server, "eliane@exemplo.com.br", number)
    assert "Se o e-mail e o número informados conferirem" in page.content()
    deliver(app)
    [message] = mailbox.to("eliane@exemplo.com.br")
    [link] = [l for l in mailbox.links(message) if "/acesso/" in l]

    page.goto(link)
    assert page.url == f"{live_server}/os/{number}"  # the token is gone from the address bar
    assert page.get_by_role("heading", level=1).inner_text() == f"O.S. #{number}"
    body = page.inner_text("main")
    for text in ("Aberta", "Atendimento", "Usuário Externo", "Eliane Barbosa", "RENAVAM",
                 "01234567897", "NBB0A00", "IPVA - 1º Emplacamento",
                 "Solicito lançamento do IPVA referente ao veículo informado."):
        assert text in body, text

    page.goto(f"{live_server}/os/{other}")
    assert "Segredo do João" not in page.content()
    assert page.get_by_role("heading", level=1).inner_text() == "Acesso à O.S."
    # Back to their own O.S.: still open in this browser.
    page.goto(f"{live_server}/os/{number}")
    assert page.get_by_role("heading", level=1).inner_text() == f"O.S. #{number}"


def test_wrong_pair_gets_the_same_answer_and_no_mail(app, live_server, page, make_order, mailbox):
    make_order()
    other = make_order(email="joao@exemplo.com.br", name="João")
    ask_for_link(page, live_server, "eliane@exemplo.com.br", other)
    assert "Se o e-mail e o número informados conferirem" in page.content()
    deliver(app)
    assert mailbox.messages == []


def test_bad_input_is_explained_next_to_the_fields_and_kept(live_server, page):
    ask_for_link(page, live_server, "eliane@", "12ab")
    assert "Informe um endereço de e-mail válido" in page.content()
    assert "com até 8 dígitos" in page.content()
    assert page.get_by_label("Endereço de E-mail").input_value() == "eliane@"
    assert page.get_by_label("Número da O.S.").input_value() == "12ab"
    assert page.get_by_label("Endereço de E-mail").get_attribute("aria-invalid") == "true"


def test_expired_and_tampered_links_offer_a_new_one(app, live_server, page, make_order, monkeypatch):
    number = make_order()
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        payload = {"o": order.id, "c": order.contact_id, "v": 0}
        good = make_token("access", payload)
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 80 * 3600)
        old = make_token("access", payload)
        monkeypatch.undo()

    page.goto(f"{live_server}/acesso/{old}")
    assert page.get_by_role("heading", level=1).inner_text() == "Este link de acesso expirou"
    assert page.get_by_label("Número da O.S.").input_value() == number

    page.goto(f"{live_server}/acesso/{good[:-4]}abcd")
    assert page.get_by_role("heading", level=1).inner_text() == "Link de acesso inválido"
    page.goto(f"{live_server}/os/{number}")
    assert page.get_by_role("heading", level=1).inner_text() == "Acesso à O.S."


def test_pages_fit_a_360px_phone_and_work_by_keyboard(app, live_server, browser, make_order, mailbox):
    number = make_order()
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="pt-BR")
    page = context.new_page()
    try:
        page.goto(live_server + "/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        # Keyboard only: skip link, then the fields in order, Enter submits.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Ir para o conteúdo"
        page.focus("#email")
        page.keyboard.type("eliane@exemplo.com.br")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "number"
        page.keyboard.type(number)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server}/verificar/enviado")
        deliver(app)
        [link] = [l for l in mailbox.links(mailbox.messages[0]) if "/acesso/" in l]
        page.goto(link)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_no_console_errors_or_csp_violations_on_the_pages(live_server, page, make_order):
    number = make_order()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    for path in ("/", f"/os/{number}", "/acesso/invalido", "/nao-existe"):
        page.goto(live_server + path)
    assert [p for p in problems if "Failed to load resource" not in p] == []
