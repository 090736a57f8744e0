"""The O.S. page ("espelho da ordem") and its attachment downloads."""

import re
from datetime import datetime, timezone

import sqlalchemy as sa

from app import db
from formatting import file_size
from models import Attachment, EntryKind, ServiceOrder, ThreadEntry


def grant(app, client, number):
    """Open the O.S. in this client as a valid access link would."""
    with app.test_request_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        with client.session_transaction() as session:
            session["grants"] = [[order.id, order.contact_id, order.contact.link_version]]


def add_entries(app, number, tmp_path):
    """An attendant reply with an attachment and an internal note with another."""
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        reply = ThreadEntry(kind=EntryKind.REPLY, author_name="Marcos Atendente",
                            body_html="<p>Segue a <strong>guia</strong>.</p>",
                            created_at=datetime(2015, 5, 16, 13, 0, tzinfo=timezone.utc))
        note = ThreadEntry(kind=EntryKind.NOTE, author_name="Marcos Atendente",
                           body_html="<p>NOTA INTERNA secreta</p>",
                           created_at=datetime(2015, 5, 16, 13, 5, tzinfo=timezone.utc))
        order.entries.extend([reply, note])
        db.session.flush()
        upload = app.config["UPLOAD_DIR"]
        ids = []
        for entry, name, content in ((reply, "guia.pdf", b"%PDF-1.4 guia"),
                                     (note, "interno.txt", b"segredo")):
            stored = f"stored-{entry.id}.bin"
            with open(f"{upload}/{stored}", "wb") as fh:
                fh.write(content)
            attachment = Attachment(entry=entry, service_order_id=order.id, stored_name=stored,
                                    original_name=name, size=len(content),
                                    content_type="application/pdf" if name.endswith("pdf") else "text/plain")
            db.session.add(attachment)
            db.session.flush()
            ids.append(attachment.id)
        order.created_at = order.entries[0].created_at = datetime(2015, 5, 15, 14, 30, tzinfo=timezone.utc)
        db.session.commit()
        return ids


def test_the_page_shows_every_field_of_the_manual(app, client, make_order, tmp_path):
    number = make_order(subject="IPVA - 1º Emplacamento", channel="Usuário Externo",
                        phone="8400-0000", message="Segue anexo cópia da nota fiscal.",
                        field_values={"RENAVAM": "01234567897", "PLACA": "NBB0A00"})
    add_entries(app, number, tmp_path)
    grant(app, client, number)
    html = client.get(f"/os/{number}").get_data(as_text=True)
    for text in (f"O.S. #{number}", "Status da O.S.:", "Aberta", "Departamento:", "Atendimento",
                 "Data de Criação:", "15/05/2015 10:30", "Localidade:", "Usuário Externo",
                 "Nome:", "Eliane Barbosa", "E-mail:", "eliane@exemplo.com.br", "Telefone:",
                 "RENAVAM:", "01234567897", "PLACA:", "NBB0A00", "Assunto:",
                 "IPVA - 1º Emplacamento", "Segue anexo cópia da nota fiscal."):
        assert text in html, text


def test_thread_is_oldest_first_without_internal_notes(app, client, make_order, tmp_path):
    number = make_order(message="Primeira mensagem")
    add_entries(app, number, tmp_path)
    grant(app, client, number)
    html = client.get(f"/os/{number}").get_data(as_text=True)
    assert "NOTA INTERNA" not in html
    assert "interno.txt" not in html
    assert "16/05/2015 09:00 " in html or "16/05/2015 09:00<" in html  # 13:00 UTC in Porto Velho
    assert "Segue a <strong>guia</strong>." in html
    assert html.index("Primeira mensagem") < html.index("Segue a")
    assert "guia.pdf" in html and "(13 bytes)" in html  # not "0,0 kb": a tiny file has a size
    # A screen reader names each entry by its writer and time, without the console's kinds.
    assert 'aria-label="Mensagem de Marcos Atendente em 16/05/2015 09:00"' in html
    assert html.count('<article class="entry') == html.count('aria-label="Mensagem de ') == 2


def test_the_console_names_each_entry_by_its_kind(app, make_order, tmp_path):
    from conftest import staff_session

    number = make_order(message="Primeira mensagem")
    add_entries(app, number, tmp_path)
    console = staff_session(app, app.test_client(), "atendimento@exemplo.gov.br")
    html = console.get(f"/atendimento/os/{number}").get_data(as_text=True)
    assert 'aria-label="Mensagem de Eliane Barbosa em 15/05/2015 10:30"' in html
    assert 'aria-label="Resposta de Marcos Atendente em 16/05/2015 09:00"' in html
    assert 'aria-label="Nota interna de Marcos Atendente em 16/05/2015 09:05"' in html


def test_every_kind_of_entry_is_named_on_both_pages(app, client, make_order):
    from conftest import staff_session

    number = make_order()
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        order.entries.extend(ThreadEntry(kind=kind, author_name="Ana", body_html="<p>x</p>") for kind in EntryKind)
        db.session.commit()
    grant(app, client, number)
    console = staff_session(app, app.test_client(), "atendimento@exemplo.gov.br")
    for html, shown in ((client.get(f"/os/{number}").get_data(as_text=True), len(EntryKind)),
                        (console.get(f"/atendimento/os/{number}").get_data(as_text=True), len(EntryKind) + 1)):
        labels = re.findall(r'<article class="entry[^"]*" id="mensagem-\d+" aria-label="([^"]*)"', html)
        assert len(labels) == shown  # the first message, and every kind (the citizen's page has no note)
        assert all(re.fullmatch(r"[A-Z][a-z]+( interna)? de .+ em \d\d/\d\d/\d{4} \d\d:\d\d", label) for label in labels), labels


def test_attachments_download_as_files_only_for_whoever_may_see_the_os(app, client, make_order, tmp_path):
    number = make_order()
    reply_file, note_file = add_entries(app, number, tmp_path)
    url = f"/os/{number}/anexos/{reply_file}"
    assert client.get(url).status_code == 404
    grant(app, client, number)
    response = client.get(url)
    body = response.data
    response.close()  # the file stays open until the response is closed
    assert response.status_code == 200
    assert body == b"%PDF-1.4 guia"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "guia.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Its own headers stand: a sandbox if a browser ever shows it, and no copy kept anywhere.
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'; sandbox"]
    assert response.headers.getlist("Cache-Control") == ["private, no-store"]
    assert client.get(f"/os/{number}/anexos/{note_file}").status_code == 404
    other = make_order(email="joao@exemplo.com.br", name="João")
    assert client.get(f"/os/{other}/anexos/{reply_file}").status_code == 404


def test_numbers_redirect_to_the_eight_digit_form_and_nonsense_is_not_an_error(client, make_order):
    number = make_order()
    response = client.get(f"/os/{int(number)}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/os/{number}"
    for path in ("/os/abc", "/os/-1", "/os/123456789012", "/os/%2e%2e", "/os/00002172/anexos/x"):
        assert client.get(path).status_code in (403, 404), path


def test_sizes_use_a_decimal_comma():
    assert file_size(132915) == "129,8 kb"
    assert file_size(512) == "512 bytes"
    assert file_size(1) == "1 byte"
    assert file_size(10 * 1024 * 1024) == "10 mb"  # no ",0" after a whole number
    assert file_size(1023 * 1024) == "1 mb"  # not "1.023 kb"
    assert file_size(1536 * 1024 * 1024) == "1.536 mb"
    assert file_size(3 * 1024 * 1024 + 200 * 1024) == "3,2 mb"
