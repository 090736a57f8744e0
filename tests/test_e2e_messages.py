"""End to end in Chromium: the editor (toolbar, shortcuts, paste), attachments, posting a
reply and downloading it back, XSS through the form, and opening a new O.S. with and without
JavaScript."""


import pytest

from conftest import deliver, go, shot, sign_in_in_browser

pytestmark = pytest.mark.browser
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
       b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")



def browse_order(app, page, live_server, number):
    """Open the O.S. in this browser the way an access link does, then go to it."""
    import sqlalchemy as sa

    from app import db
    from models import ServiceOrder
    from notifications import access_link

    with app.test_request_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        link = access_link(order)
    page.goto(link)
    assert page.url.endswith(f"/os/{number}")


def test_citizen_formats_a_reply_attaches_a_file_posts_and_downloads_it(app, live_server, page, make_order,
                                                                        mailbox, tmp_path):
    number = make_order()
    browse_order(app, page, live_server, number)
    editor = page.get_by_role("textbox", name="Para ajudá-lo melhor, solicitamos que seja específico e detalhado")
    editor.click()
    page.keyboard.type("Bom dia. ")
    page.get_by_role("button", name="Negrito (Ctrl+B)").click()
    page.keyboard.type("Urgente")
    page.get_by_role("button", name="Negrito (Ctrl+B)").click()
    page.keyboard.type(" e ")
    page.keyboard.press("Control+i")
    page.keyboard.type("importante")
    page.keyboard.press("Control+i")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Lista com marcadores").click()
    page.keyboard.type("primeiro item")
    photo = tmp_path / "foto do documento.png"
    photo.write_bytes(PNG)
    page.get_by_label("Anexos").set_input_files(str(photo))
    assert "foto do documento.png (67 bytes)" in page.inner_text(".file-list")
    shot(page, "reply-editor-1366")
    go(page.get_by_role("button", name="Postar resposta"))

    assert "Sua resposta foi registrada." in page.content()
    last = page.locator("article.entry").last
    assert last.locator("strong", has_text="Urgente").count() == 1
    assert last.locator("em", has_text="importante").count() == 1
    assert last.locator("li", has_text="primeiro item").count() == 1
    with page.expect_download() as download_info:
        last.get_by_role("link", name="foto do documento.png").click()
    download = download_info.value
    assert download.suggested_filename == "foto do documento.png"
    with open(download.path(), "rb") as downloaded:
        assert downloaded.read() == PNG
    deliver(app)
    assert mailbox.to("atendimento@exemplo.gov.br")


def test_no_payload_posted_through_the_form_ever_runs(app, live_server, page, make_order):
    number = make_order()
    browse_order(app, page, live_server, number)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    payload = ('<img src=x onerror="alert(1)"><svg onload="alert(2)"></svg><script>alert(3)</script>'
               '<a href="javascript:alert(4)">clique</a><iframe src="javascript:alert(5)"></iframe>'
               '<p style="color:red" onclick="alert(6)">texto colado</p>')
    editor = page.get_by_role("textbox", name="Para ajudá-lo melhor, solicitamos que seja específico e detalhado")
    editor.click()
    # A paste of hostile HTML, as from a web page.
    page.evaluate("""(html) => {
        const data = new DataTransfer();
        data.setData('text/html', html);
        data.setData('text/plain', 'texto colado');
        document.querySelector('.editor-area').dispatchEvent(
            new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
    }""", payload)
    assert page.locator(".editor-area img, .editor-area svg, .editor-area script, .editor-area iframe").count() == 0
    go(page.get_by_role("button", name="Postar resposta"))
    # And the same payload sent as if the editor had been bypassed.
    with page.expect_navigation():
        page.evaluate("""(html) => {
            const form = document.querySelector('form[action*="/responder"]');
            form.querySelector('textarea').value = html;
            form.querySelector('input[name=formato]').value = 'html';
            HTMLFormElement.prototype.submit.call(form);
        }""", payload)
    assert page.locator("article.entry").count() == 3
    thread = page.locator("section.thread")
    assert thread.locator("script, img, svg, iframe, [onclick], [onerror], [onload], [style]").count() == 0
    hrefs = thread.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(h is None or h.startswith(("http", "/os/")) for h in hrefs)
    assert thread.get_by_text("texto colado").count() >= 1
    page.wait_for_timeout(300)
    assert dialogs == []


def test_a_guest_opens_a_new_os_with_the_subjects_fields_appearing_at_once(app, live_server, page, catalogue,
                                                                         mailbox):
    page.goto(live_server + "/")
    go(page.get_by_role("link", name="Abrir uma nova O.S."))
    assert page.get_by_role("button", name="Continuar").is_hidden()  # JavaScript does that step
    assert page.get_by_role("textbox", name="RENAVAM").count() == 0
    page.get_by_label("Assunto").select_option(label="IPVA - 1º Emplacamento")
    page.get_by_role("textbox", name="RENAVAM").fill("01234567890")
    page.get_by_role("textbox", name="PLACA").fill("nbb0a00")
    page.get_by_label("Endereço de e-mail").fill("maria@exemplo.com.br")
    page.get_by_label("Nome completo").fill("Maria Souza")
    page.get_by_role("textbox", name="Para ajudá-lo melhor, solicitamos que seja específico e detalhado").fill(
        "Solicito o lançamento do IPVA.")
    go(page.get_by_role("button", name="Abrir O.S."))
    assert "RENAVAM inválido: confira os dígitos." in page.content()
    assert page.get_by_role("textbox", name="PLACA").input_value() == "nbb0a00"
    assert "Solicito o lançamento do IPVA." in page.inner_text(".editor-area")
    shot(page, "new-os-errors-1366")
    page.get_by_role("textbox", name="RENAVAM").fill("01234567897")
    go(page.get_by_role("button", name="Abrir O.S."))
    assert page.get_by_role("heading", level=1).inner_text() == "O.S. registrada"
    number = page.locator(".big-number").inner_text()
    deliver(app)
    [link] = [l for m in mailbox.to("maria@exemplo.com.br") for l in mailbox.links(m) if "/acesso/" in l]
    page.goto(link)
    body = page.inner_text("main")
    assert f"O.S. #{number}" in body and "NBB0A00" in body and "Solicito o lançamento do IPVA." in body


def test_without_javascript_the_forms_work_in_two_steps_and_plain_text(app, live_server, browser, make_order,
                                                                      catalogue, mailbox):
    context = browser.new_context(java_script_enabled=False, locale="pt-BR")
    page = context.new_page()
    try:
        page.goto(live_server + "/os/nova")
        page.get_by_label("Assunto").select_option(label="Certidão Negativa de Débitos")
        page.get_by_label("Nome completo").fill("Maria Souza")
        go(page.get_by_role("button", name="Continuar"))
        assert page.get_by_label("Nome completo").input_value() == "Maria Souza"
        page.get_by_role("textbox", name="CPF/CNPJ").fill("52998224725")
        page.get_by_label("Endereço de e-mail").fill("maria@exemplo.com.br")
        page.get_by_label("Para ajudá-lo melhor, solicitamos que seja específico e detalhado").fill(
            "Preciso da certidão.\n\nÉ para uma licitação.")
        go(page.get_by_role("button", name="Abrir O.S."))
        assert page.get_by_role("heading", level=1).inner_text() == "O.S. registrada"

        number = make_order()
        browse_order(app, page, live_server, number)
        page.get_by_label("Para ajudá-lo melhor, solicitamos que seja específico e detalhado").fill(
            "Linha um\n\nLinha <dois>")
        go(page.get_by_role("button", name="Postar resposta"))
        last = page.locator("article.entry").last
        assert last.locator("p").all_inner_texts() == ["Linha um", "Linha <dois>"]
    finally:
        context.close()


def test_long_unbroken_words_never_widen_a_phone_page(app, live_server, browser, catalogue, make_order, mailbox):
    """A field label, a value or a message with no space to break at (a code, a link, a
    protocol number) wraps inside a 360 px screen instead of making every page scroll sideways."""
    import sqlalchemy as sa

    from app import db
    from models import FieldKind, ServiceOrder, Subject, SubjectField
    from notifications import access_link

    label = "NúmeroDoProtocoloAnteriorNoSistemaAntigoDaSecretariaDeFinançasDoEstadoDeRondô"[:80]
    with app.app_context():
        subject = db.session.scalar(sa.select(Subject).where(Subject.name == "Outros assuntos"))
        subject.fields.append(SubjectField(label=label, kind=FieldKind.TEXT, position=9))
        db.session.commit()
    number = make_order(message="Ver https://exemplo.gov.br/" + "caminho" * 20,
                        field_values={label: "SEFIN" + "0123456789" * 8})
    with app.app_context():
        link = access_link(db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number))))
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="pt-BR")
    try:
        page = context.new_page()
        page.goto(live_server + "/os/nova")
        page.get_by_label("Assunto").select_option(label="Outros assuntos")
        assert page.get_by_role("textbox", name=label).is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.goto(link.replace("http://127.0.0.1:5000", live_server))
        assert page.get_by_role("heading", level=1).inner_text() == f"O.S. #{number}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        shot(page, "long-words-os-360")
        staff = context.new_page()
        sign_in_in_browser(staff, app, mailbox, live_server, "atendimento@exemplo.gov.br")
        staff.goto(f"{live_server}/atendimento/os/{number}")
        assert staff.get_by_role("textbox", name=label).is_visible()
        assert staff.evaluate("document.documentElement.scrollWidth") <= 360
        shot(staff, "long-words-staff-os-360")
    finally:
        context.close()
