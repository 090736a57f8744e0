"""End to end in Chromium: register → confirm from the received e-mail → the O.S. (n) list with
an O.S. opened earlier by `flask os new` → filter → open → sign out → sign in by link."""


import pytest

from conftest import go, mailed_link, shot

pytestmark = pytest.mark.browser




def test_register_confirm_list_filter_open_sign_out_and_in(app, runner, catalogue, live_server, page, mailbox):
    result = runner.invoke(args=["os", "new", "--email", "eliane@exemplo.com.br", "--name", "Eliane Barbosa",
                                 "--subject", "IPVA - 1º Emplacamento", "--message", "Pedido por telefone",
                                 "--phone", "(69) 3211-0000"])
    by_phone = result.output.strip()
    result = runner.invoke(args=["os", "new", "--email", "eliane@exemplo.com.br", "--name", "Eliane Barbosa",
                                 "--subject", "Outros assuntos", "--message", "Outra dúvida"])
    other = result.output.strip()
    mailbox.clear()

    page.goto(live_server + "/")
    go(page.get_by_role("link", name="cadastre-se"))
    assert page.get_by_role("heading", level=1).inner_text() == "Registro de conta"
    page.get_by_label("Endereço de e-mail").fill("eliane@exemplo.com.br")
    page.get_by_label("Nome completo").fill("Eliane Barbosa")
    page.get_by_label("Número de telefone").fill("(69) 3211-0000")
    go(page.get_by_role("button", name="Cadastrar"))
    assert "Enviamos um link de confirmação" in page.content()

    page.goto(mailed_link(app, mailbox, "eliane@exemplo.com.br", "/cadastro/confirmar/"))
    go(page.get_by_role("button", name="Confirmar minha conta"))
    assert page.get_by_role("heading", level=1).inner_text() == "Conta Confirmada!"
    assert "Eliane Barbosa" in page.inner_text("header")
    go(page.get_by_role("navigation", name="Navegação principal").get_by_role("link", name="O.S. (2)"))

    assert page.get_by_role("heading", level=1).inner_text() == "O.S."
    assert "Mostrando 1 - 2 de 2 O.S." in page.content()
    assert by_phone in page.inner_text("table") and other in page.inner_text("table")
    shot(page, "account-list-1366")
    page.get_by_label("Buscar por número ou assunto").fill("emplacamento")
    go(page.get_by_role("button", name="Atualizar"))
    assert "q=emplacamento" in page.url
    assert by_phone in page.inner_text("table") and other not in page.inner_text("table")
    page.get_by_label("Status").select_option(label="Fechada (0)")
    go(page.get_by_role("button", name="Atualizar"))
    assert "Sua consulta não retornou nenhum registro" in page.content()
    page.go_back()
    assert by_phone in page.inner_text("table")  # back button keeps the filters

    go(page.get_by_role("link", name=by_phone))
    assert page.get_by_role("heading", level=1).inner_text() == f"O.S. #{by_phone}"
    assert "Pedido por telefone" in page.inner_text("main")

    go(page.get_by_role("button", name="Sair"))
    assert "Usuário Não Registrado" in page.inner_text("header")
    page.goto(f"{live_server}/os/{by_phone}")
    assert page.get_by_role("heading", level=1).inner_text() == "Acesso à O.S."

    mailbox.clear()
    go(page.get_by_role("banner").get_by_role("link", name="Entrar"))
    page.get_by_label("Endereço de e-mail").fill("eliane@exemplo.com.br")
    go(page.get_by_role("button", name="Enviar link de entrada"))
    assert "Se houver uma conta com este e-mail" in page.content()
    page.goto(mailed_link(app, mailbox, "eliane@exemplo.com.br", "/entrar/"))
    go(page.get_by_role("button", name="Entrar no sistema"))
    assert page.url == f"{live_server}/os"
    assert "O.S. (2)" in page.inner_text("header")


def test_the_list_reads_well_on_a_phone(app, make_order, live_server, browser, mailbox):
    for _ in range(3):
        make_order()
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="pt-BR")
    page = context.new_page()
    try:
        page.goto(live_server + "/cadastro")
        page.get_by_label("Endereço de e-mail").fill("eliane@exemplo.com.br")
        page.get_by_label("Nome completo").fill("Eliane Barbosa")
        go(page.get_by_role("button", name="Cadastrar"))
        page.goto(mailed_link(app, mailbox, "eliane@exemplo.com.br", "/cadastro/confirmar/"))
        go(page.get_by_role("button", name="Confirmar minha conta"))
        page.goto(live_server + "/os")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, "account-list-360")
        # Column headings are hidden on a phone, so sorting is offered in the filter form.
        page.get_by_label("Ordenar por").select_option(label="Número da O.S., do menor para o maior")
        go(page.get_by_role("button", name="Atualizar"))
        assert "ordem=menor-numero" in page.url
        numbers = page.locator("td[data-label='Número da O.S.']").all_inner_texts()
        assert numbers == sorted(numbers) and len(numbers) == 3
        page.keyboard.press("Tab")  # nothing invisible takes the focus
        assert page.evaluate("document.activeElement.offsetParent !== null")
        page.goto(live_server + "/perfil")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, "account-profile-360")
    finally:
        context.close()
