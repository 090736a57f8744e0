"""Postar uma resposta: sanitized text, attachments, limits, one post per form, status rules,
and the alert to the department's attendants."""

import io
import re

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app import db
from conftest import deliver, open_in
from models import AuditEvent, EntryKind, ServiceOrder, Status

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n"


def form_key(client, number):
    html = client.get(f"/os/{number}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    key = re.search(r'name="chave" type="hidden" value="([^"]+)"', html).group(1)
    return token, key


def post_reply(client, number, body, fmt="texto", files=(), key=None):
    token, fresh_key = form_key(client, number)
    data = {"csrf_token": token, "body": body, "formato": fmt, "chave": key or fresh_key,
            "anexos": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/os/{number}/responder", data=data, content_type="multipart/form-data")


def order(number):
    return db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))


def test_the_page_offers_the_reply_form_with_the_manuals_wording(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    html = client.get(f"/os/{number}").get_data(as_text=True)
    assert "Postar uma resposta" in html
    assert "Para ajudá-lo melhor, solicitamos que seja específico e detalhado" in html
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html


def test_a_plain_text_reply_appears_in_the_thread_escaped_with_paragraphs(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    response = post_reply(client, number, "Segue o número.\n\nObrigada! <b>não é negrito</b>")
    assert response.status_code == 303
    assert re.fullmatch(rf"/os/{number}#mensagem-\d+", response.headers["Location"])
    html = client.get(f"/os/{number}").get_data(as_text=True)
    assert "Sua resposta foi registrada." in html
    assert "<p>Segue o número.</p><p>Obrigada! &lt;b&gt;não é negrito&lt;/b&gt;</p>" in html


def test_an_html_reply_from_the_editor_is_sanitized_before_it_is_stored(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    post_reply(client, number, '<p><strong>Urgente</strong><img src=x onerror=alert(1)>'
                               '<a href="javascript:alert(1)">aqui</a><script>alert(2)</script></p>', "html")
    with app.app_context():
        assert order(number).entries[-1].body_html == "<p><strong>Urgente</strong>aqui</p>"


def test_an_empty_reply_gets_a_clear_error(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    for body, fmt in (("", "texto"), ("   \n ", "texto"), ("<p><br></p>", "html")):
        response = post_reply(client, number, body, fmt)
        assert response.status_code == 422
        assert "Escreva sua mensagem." in response.get_data(as_text=True)
    with app.app_context():
        assert len(order(number).entries) == 1


def test_attachments_are_stored_and_downloadable_from_the_thread(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    post_reply(client, number, "Segue a nota.", files=[("nota fiscal.pdf", PDF), ("foto.png", b"\x89PNG\r\n\x1a\n123")])
    html = client.get(f"/os/{number}").get_data(as_text=True)
    links = re.findall(rf'href="(/os/{number}/anexos/\d+)"[^>]*>([^<]+)</a> <span class="size">\(([^)]+)\)', html)
    assert [(name, size) for _, name, size in links] == [("nota fiscal.pdf", "27 bytes"), ("foto.png", "11 bytes")]
    download = client.get(links[0][0])
    body = download.data
    download.close()
    assert body == PDF and "attachment" in download.headers["Content-Disposition"]


def test_a_refused_file_keeps_the_text_and_names_the_file(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    response = post_reply(client, number, "Meu texto longo e importante.", files=[("virus.exe", b"MZ\x90")])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "virus.exe: tipo de arquivo não aceito" in html
    assert "Meu texto longo e importante." in html  # still in the textarea
    with app.app_context():
        assert len(order(number).entries) == 1


def test_too_large_files_are_refused_with_the_limit(app, client, make_order):
    app.config["MAX_ATTACHMENT_BYTES"] = 1024
    number = make_order()
    open_in(app, client, number)
    response = post_reply(client, number, "Texto", files=[("grande.pdf", PDF + b"x" * 5000)])
    assert response.status_code == 422
    assert "o limite é 1 kb por arquivo" in response.get_data(as_text=True)


def test_good_files_with_a_bad_text_are_asked_for_again_by_name(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    response = post_reply(client, number, "", files=[("nota.pdf", PDF)])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "escolha novamente os arquivos: nota.pdf" in html


def test_a_resubmitted_form_posts_once(app, client, make_order):
    number = make_order()
    open_in(app, client, number)
    _, key = form_key(client, number)
    first = post_reply(client, number, "Uma vez só", key=key)
    second = post_reply(client, number, "Uma vez só", key=key)
    assert first.status_code == second.status_code == 303
    with app.app_context():
        assert [e.body_html for e in order(number).entries].count("<p>Uma vez só</p>") == 1


def test_a_reply_to_a_resolved_os_reopens_it(app, client, make_order):
    number = make_order()
    with app.app_context():
        order(number).status = Status.RESOLVIDA
        db.session.commit()
    open_in(app, client, number)
    assert "ela será reaberta" in client.get(f"/os/{number}").get_data(as_text=True)
    post_reply(client, number, "Ainda não recebi a guia.")
    with app.app_context():
        assert order(number).status == Status.ABERTA
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "reaberta"))


def test_a_closed_os_explains_why_and_refuses_replies_unless_allowed(app, client, make_order):
    number = make_order()
    with app.app_context():
        order(number).status = Status.FECHADA
        db.session.commit()
    open_in(app, client, number)
    html = client.get(f"/os/{number}").get_data(as_text=True)
    assert "Esta O.S. está fechada e não recebe novas respostas" in html
    assert "/responder" not in html
    app.config["ALLOW_REOPEN_CLOSED"] = True
    assert post_reply(client, number, "Reabrindo").status_code == 303
    with app.app_context():
        assert order(number).status == Status.ABERTA
    app.config["ALLOW_REOPEN_CLOSED"] = False
    with app.app_context():
        order(number).status = Status.FECHADA
        db.session.commit()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get(f"/os/{number}").get_data(as_text=True)).group(1)
    refused = client.post(f"/os/{number}/responder", data={"csrf_token": token, "body": "x"})
    assert refused.status_code == 303
    with app.app_context():
        assert order(number).entries[-1].body_html == "<p>Reabrindo</p>"


def test_the_departments_attendants_are_alerted(app, client, make_order, mailbox):
    number = make_order()
    open_in(app, client, number)
    post_reply(client, number, "Nova informação", files=[("nota.pdf", PDF)])
    deliver(app)
    [alert] = mailbox.to("atendimento@exemplo.gov.br")  # Marcos serves Atendimento
    assert f"Nova resposta do cidadão na O.S. #{number}" in alert["Subject"]
    assert "Nova informação" in mailbox.text(alert)
    assert "nota.pdf" in mailbox.text(alert)
    assert not mailbox.to("admin@exemplo.gov.br")


def test_replying_needs_access_to_that_os(app, client, make_order):
    number = make_order()
    other = make_order(email="joao@exemplo.com.br", name="João")
    open_in(app, client, number)
    token, key = form_key(client, number)
    response = client.post(f"/os/{other}/responder", data={"csrf_token": token, "body": "intruso", "chave": key})
    assert response.status_code == 403
    with app.app_context():
        assert all(e.kind == EntryKind.MESSAGE and "intruso" not in e.body_html for e in order(other).entries)


def test_a_request_too_large_to_read_gets_a_portuguese_page_even_with_access(app, client, make_order):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    number = make_order()
    open_in(app, client, number)  # the header then shows "Sair", a form of its own
    token, key = form_key(client, number)
    data = {"csrf_token": token, "body": "texto", "chave": key,
            "anexos": [(io.BytesIO(PDF + b"x" * 5000), "grande.pdf")]}
    response = client.post(f"/os/{number}/responder", data=data, content_type="multipart/form-data",
                           headers={"Referer": f"http://localhost/os/{number}"})
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Envio grande demais" in html and "o envio passa do limite de 2 kb" in html
    # The way back to the form (a new copy of it: what was typed is in the browser's history).
    assert f'<a class="button primary" href="/os/{number}">Abrir o formulário de novo</a>' in html
    data["anexos"] = [(io.BytesIO(PDF + b"x" * 5000), "grande.pdf")]
    foreign = client.post(f"/os/{number}/responder", data=data, content_type="multipart/form-data",
                          headers={"Referer": "https://golpe.example/os"})
    assert foreign.status_code == 413 and "Abrir o formulário de novo" not in foreign.get_data(as_text=True)


def test_the_attachments_the_form_promises_fit_in_one_reply(app, client, make_order):
    """Under the form: "Até 5 arquivos de até 10 mb cada". Five of 10 mb go in one reply."""
    number = make_order()
    open_in(app, client, number)
    html = client.get(f"/os/{number}").get_data(as_text=True)
    assert "Até 5 arquivos de até 10 mb cada:" in html
    size = app.config["MAX_ATTACHMENT_BYTES"]
    files = [(f"parte {i}.pdf", PDF + b"x" * (size - len(PDF))) for i in range(app.config["MAX_ATTACHMENTS"])]
    token, key = form_key(client, number)
    # Encoded here in memory: the test client would spool 50 MB to a file it leaves open.
    boundary, body = encode_multipart(MultiDict(
        [("csrf_token", token), ("body", "Seguem os documentos."), ("formato", "texto"), ("chave", key)]
        + [("anexos", FileStorage(io.BytesIO(content), name)) for name, content in files]))
    response = client.post(f"/os/{number}/responder", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 303
    with app.app_context():
        stored = order(number).entries[-1].attachments
        assert sorted(a.original_name for a in stored) == [name for name, _ in files]
        assert all(a.size == size for a in stored)


def test_a_smaller_limit_for_the_whole_reply_is_stated_under_the_form(app, client, make_order):
    app.config["MAX_CONTENT_LENGTH"] = 21 * 1024 * 1024
    number = make_order()
    open_in(app, client, number)
    html = client.get(f"/os/{number}").get_data(as_text=True)
    assert "Até 5 arquivos de até 10 mb cada, 20 mb no total:" in html
    assert f'data-max-total="{20 * 1024 * 1024}"' in html


def test_citizen_emails_read_as_plain_text_without_entities(app, make_order, mailbox):
    from conftest import staff_session

    number = make_order()
    marcos = staff_session(app, app.test_client(), "atendimento@exemplo.gov.br")
    path = f"/atendimento/os/{number}"
    from test_staff import page_form

    hidden = page_form(marcos, path, f"{path}/mensagem")
    marcos.post(f"{path}/mensagem", data={**hidden, "formato": "html", "reply": "x",
                                          "body": '<p>Atenção&nbsp;ao prazo. Veja <a href="https://sefin.ro.gov.br/guia?a=1&amp;b=2">a guia</a>.</p>'})
    deliver(app)
    [reply] = mailbox.to("eliane@exemplo.com.br")
    text = mailbox.text(reply)
    assert "Atenção ao prazo. Veja a guia (https://sefin.ro.gov.br/guia?a=1&b=2)." in text
    assert "&nbsp;" not in text and "&amp;" not in text


def test_a_reply_while_an_attendant_changes_the_os_is_kept_not_an_error(app, client, make_order, monkeypatch):
    number = make_order()
    open_in(app, client, number)
    original = ServiceOrder.add_citizen_message
    raced = []

    def add_after_an_attendant_saved(self, *args, **kwargs):
        if not raced:  # the first time: someone else saves the O.S. just before us
            raced.append(True)
            with app.app_context():
                db.session.execute(sa.update(ServiceOrder).where(ServiceOrder.id == self.id)
                                   .values(version=ServiceOrder.version + 1))
                db.session.commit()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ServiceOrder, "add_citizen_message", add_after_an_attendant_saved)
    response = post_reply(client, number, "Chegou junto com a mudança")
    assert response.status_code == 303
    assert raced
    with app.app_context():
        bodies = [e.body_html for e in order(number).entries]
        assert bodies.count("<p>Chegou junto com a mudança</p>") == 1 and len(bodies) == 2
