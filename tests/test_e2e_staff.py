"""End to end in Chromium: an attendant signs in by link, registers an O.S. from a phone call;
the citizen opens the e-mailed link; the attendant adds a note, replies and resolves; the
citizen sees the reply and never the note."""


import pytest

from conftest import deliver, go, mailed_link, shot, sign_in_in_browser

pytestmark = pytest.mark.browser




def test_phone_intake_to_resolution(app, catalogue, live_server, browser, mailbox):
    staff = browser.new_context(locale="pt-BR", viewport={"width": 1366, "height": 900})
    citizen = browser.new_context(locale="pt-BR", viewport={"width": 360, "height": 740})
    try:
        attendant = staff.new_page()
        sign_in_in_browser(attendant, app, mailbox, live_server, "atendimento@exemplo.gov.br")
        assert attendant.get_by_role("heading", level=1).inner_text() == "Fila de O.S."

        go(attendant.get_by_role("link", name="Registrar O.S.").first)
        attendant.get_by_label("Localidade").select_option("Telefone")
        attendant.get_by_label("E-mail do cidadão").fill("maria@exemplo.com.br")
        attendant.get_by_label("Nome do cidadão").fill("Maria Souza")
        attendant.get_by_label("Telefone", exact=True).fill("(69) 98888-1111")
        attendant.get_by_label("Assunto").select_option(label="IPVA - 1º Emplacamento")
        attendant.get_by_role("textbox", name="RENAVAM").fill("01234567897")
        attendant.get_by_role("textbox", name="PLACA").fill("NBB0A00")
        attendant.get_by_role("textbox", name="Pedido do cidadão, como ele contou").fill(
            "Cidadã ligou pedindo o lançamento do IPVA.")
        go(attendant.get_by_role("button", name="Registrar O.S."))
        heading = attendant.get_by_role("heading", level=1).inner_text()
        number = heading.split("#")[1]
        assert f"O.S. {number} registrada" in attendant.content()
        shot(attendant, "staff-order-1366")

        phone = citizen.new_page()
        phone.goto(mailed_link(app, mailbox, "maria@exemplo.com.br", "/acesso/"))
        assert phone.get_by_role("heading", level=1).inner_text() == f"O.S. #{number}"
        assert "Cidadã ligou pedindo o lançamento do IPVA." in phone.inner_text("main")

        box = attendant.get_by_role("textbox", name="Mensagem", exact=True)
        box.click()
        attendant.keyboard.type("Conferir chassi no DETRAN")
        go(attendant.get_by_role("button", name="Salvar como nota interna"))
        assert "Nota interna salva." in attendant.content()
        attendant.get_by_role("textbox", name="Mensagem", exact=True).click()
        attendant.keyboard.type("Lançamento feito. A guia está no portal.")
        attendant.get_by_label("Depois de responder ao cidadão").select_option(label="Marcar como Resolvida")
        go(attendant.get_by_role("button", name="Responder ao cidadão"))
        assert "Resposta enviada ao cidadão." in attendant.content()
        assert "Resolvida" in attendant.inner_text(".badges")
        shot(attendant, "staff-order-after-1366")

        deliver(app)
        phone.reload()
        body = phone.inner_text("main")
        assert "Lançamento feito. A guia está no portal." in body and "Resolvida" in body
        assert "DETRAN" not in body
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        texts = [mailbox.text(m) for m in mailbox.to("maria@exemplo.com.br")]
        assert any("Lançamento feito." in t for t in texts) and not any("DETRAN" in t for t in texts)

        go(attendant.get_by_role("link", name="← Fila de O.S."))
        attendant.get_by_label("Status").select_option(label="Resolvida (1)")
        go(attendant.get_by_role("button", name="Filtrar"))
        assert number in attendant.inner_text("table")
        shot(attendant, "staff-queue-1366")
    finally:
        staff.close()
        citizen.close()


def test_on_a_phone_a_refused_field_edit_opens_at_the_error(app, make_order, live_server, browser, mailbox):
    number = make_order(subject="IPVA - 1º Emplacamento", field_values={"RENAVAM": "01234567897"})
    context = browser.new_context(locale="pt-BR", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        sign_in_in_browser(page, app, mailbox, live_server, "atendimento@exemplo.gov.br")
        page.goto(f"{live_server}/atendimento/os/{number}")
        # The side column is far below the thread on a phone: a link under the title goes there.
        page.get_by_role("navigation", name="Nesta O.S.").get_by_role(
            "link", name="Dados de IPVA - 1º Emplacamento").click()
        page.wait_for_function("location.hash === '#campos'")
        renavam = page.get_by_role("textbox", name="RENAVAM").bounding_box()
        assert 0 <= renavam["y"] < 740, renavam
        page.get_by_role("textbox", name="RENAVAM").fill("123")
        go(page.get_by_role("button", name="Salvar dados"))
        error = page.get_by_text("O RENAVAM tem 11 dígitos.")
        box = error.bounding_box()
        assert box is not None and 0 <= box["y"] < 740, box  # on screen, not 7,000 px below
        assert page.get_by_role("textbox", name="RENAVAM").input_value() == "123"
        shot(page, "staff-field-error-360")
    finally:
        context.close()


def test_enter_in_the_callers_email_looks_the_contact_up(app, make_order, live_server, browser, mailbox):
    make_order(email="eliane@exemplo.com.br", name="Eliane Barbosa", phone="(69) 3211-0000")
    context = browser.new_context(locale="pt-BR", viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        sign_in_in_browser(page, app, mailbox, live_server, "atendimento@exemplo.gov.br")
        page.goto(f"{live_server}/atendimento/os/nova")
        page.get_by_label("E-mail do cidadão").fill("eliane@exemplo.com.br")
        with page.expect_navigation():
            page.get_by_label("E-mail do cidadão").press("Enter")
        assert "Contato conhecido: Eliane Barbosa" in page.inner_text("main")
        assert page.get_by_label("Nome do cidadão").input_value() == "Eliane Barbosa"
        assert "Corrija" not in page.inner_text("main")  # nothing was registered or refused
    finally:
        context.close()
