"""Abrir uma nova O.S.: subject first with its typed fields, guest or signed-in, validation
that keeps what was typed, the receipt e-mail, alerts, limits, one O.S. per form."""

import io
import re

import sqlalchemy as sa

from app import db
from conftest import csrf_token, deliver
from models import Contact, ServiceOrder, Subject

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n"


def subject_id(app, name):
    with app.app_context():
        return db.session.scalar(sa.select(Subject.id).where(Subject.name == name))


def field_names(app, name):
    with app.app_context():
        subject = db.session.scalar(sa.select(Subject).where(Subject.name == name))
        return {f.label: f"campo_{f.id}" for f in subject.fields}


def new_order(client, app, subject="IPVA - 1º Emplacamento", fields=None, files=(), **data):
    html = client.get("/os/nova").get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, "/os/nova"),
            "chave": re.search(r'name="chave" type="hidden" value="([^"]+)"', html).group(1),
            "subject": str(subject_id(app, subject)), "formato": "texto",
            "body": "Solicito lançamento do IPVA.", "email": "maria@exemplo.com.br",
            "name": "Maria Souza", "phone": "(69) 99999-0000", "submit": "Abrir O.S."}
    names = field_names(app, subject)
    form.update({names[label]: value for label, value in (fields or {}).items()})
    form.update(data)
    form = {k: v for k, v in form.items() if v is not None}  # None: leave the field out
    form["anexos"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/os/nova", data=form, content_type="multipart/form-data")


IPVA_FIELDS = {"RENAVAM": "01234567897", "PLACA": "abc1d23"}


def test_the_subject_comes_first_and_its_fields_appear_with_it(app, client, catalogue):
    html = client.get("/os/nova").get_data(as_text=True)
    assert html.index('id="subject"') < html.index('id="body"')
    assert "— Escolha o assunto —" in html and "IPVA - 1º Emplacamento" in html
    ipva = subject_id(app, "IPVA - 1º Emplacamento")
    chosen = client.get(f"/os/nova?assunto={ipva}").get_data(as_text=True)
    assert re.search(rf'<fieldset data-subject="{ipva}">', chosen)  # shown, not hidden
    assert "11 dígitos, como no documento do veículo." in chosen


def test_without_javascript_continuing_shows_the_subjects_fields_and_keeps_the_text(app, client, catalogue):
    ipva = subject_id(app, "IPVA - 1º Emplacamento")
    response = client.post("/os/nova", data={"csrf_token": csrf_token(client, "/os/nova"), "subject": str(ipva),
                                             "body": "Meu pedido", "email": "maria@exemplo.com.br",
                                             "next_step": "Continuar"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'<fieldset data-subject="{ipva}">', html)
    assert "Meu pedido" in html and 'value="maria@exemplo.com.br"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ServiceOrder.id))) == 0


def test_a_guest_opens_an_os_and_receives_its_number_and_link(app, client, catalogue, mailbox):
    response = new_order(client, app, fields=IPVA_FIELDS, files=[("nota.pdf", PDF)])
    assert response.status_code == 303
    number = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Sua O.S. foi registrada com o número <strong class=\"big-number\">{number}</strong>" in page
    assert client.get(f"/os/{number}").status_code == 403  # the e-mail proves the address first
    # That page is this browser's: a link to it cannot announce a number, real or made up.
    for other in (number, "99999999"):
        response = app.test_client().get(f"/os/registrada/{other}")
        assert response.status_code == 404 and "foi registrada" not in response.get_data(as_text=True)
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        assert (order.channel, order.department.name, order.status.value) == ("Usuário Externo", "Atendimento", "aberta")
        assert order.extra_fields() == [("RENAVAM", "01234567897"), ("PLACA", "ABC1D23")]
        assert order.phone == "(69) 99999-0000" and order.contact.name == "Maria Souza"
        assert [a.original_name for a in order.entries[0].attachments] == ["nota.pdf"]
    deliver(app)
    [receipt] = mailbox.to("maria@exemplo.com.br")
    assert f"O.S. #{number} registrada" in receipt["Subject"]
    [link] = [l for l in mailbox.links(receipt) if "/acesso/" in l]
    client.get(link.replace("http://127.0.0.1:5000", ""))
    assert "Solicito lançamento do IPVA." in client.get(f"/os/{number}").get_data(as_text=True)
    assert mailbox.to("atendimento@exemplo.gov.br")  # the department's alert


def test_wrong_fields_get_messages_beside_them_and_everything_typed_stays(app, client, catalogue):
    response = new_order(client, app, fields={"RENAVAM": "01234567890", "PLACA": "XX-12"},
                         email="maria@", body="Texto que não pode se perder")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "RENAVAM inválido: confira os dígitos." in html
    assert "Placa inválida: use ABC-1234 ou ABC1D23." in html
    assert "Informe um endereço de e-mail válido" in html
    for kept in ('value="01234567890"', 'value="XX-12"', 'value="maria@"', "Texto que não pode se perder",
                 'value="Maria Souza"'):
        assert kept in html, kept
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ServiceOrder.id))) == 0


def test_missing_subject_and_required_fields_are_named(app, client, catalogue):
    response = new_order(client, app, subject="IPVA - 1º Emplacamento", fields={})
    html = response.get_data(as_text=True)
    assert "Informe RENAVAM." in html and "Informe PLACA." in html
    no_subject = client.post("/os/nova", data={"csrf_token": csrf_token(client, "/os/nova"), "subject": "",
                                               "body": "x", "email": "a@exemplo.com.br", "name": "A",
                                               "submit": "Abrir O.S."})
    assert no_subject.status_code == 422
    assert "Escolha o assunto." in no_subject.get_data(as_text=True)
    forged = client.post("/os/nova", data={"csrf_token": csrf_token(client, "/os/nova"), "subject": "99999",
                                           "body": "x", "email": "a@exemplo.com.br", "name": "A",
                                           "submit": "Abrir O.S."})
    assert forged.status_code == 422


def test_a_signed_in_citizen_gives_no_contact_details_and_lands_on_the_new_os(app, client, catalogue, mailbox):
    from test_account import registered

    registered(app, client, mailbox, email="eliane@exemplo.com.br")
    html = client.get("/os/nova").get_data(as_text=True)
    assert 'name="email"' not in html and "Seus dados" not in html
    response = new_order(client, app, subject="Outros assuntos", email=None, name=None, phone=None,
                         body="Pergunta de quem tem conta")
    assert response.status_code == 303
    number = re.fullmatch(r"/os/(\d{8})", response.headers["Location"]).group(1)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Sua O.S. foi registrada com o número {number}" in page
    assert "Pergunta de quem tem conta" in page
    assert number in client.get("/os").get_data(as_text=True)


def test_a_guest_using_someone_elses_address_cannot_rename_them(app, client, make_order):
    make_order(email="eliane@exemplo.com.br", name="Eliane Barbosa")
    new_order(client, app, subject="Outros assuntos", email="eliane@exemplo.com.br", name="Impostor")
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.name).where(Contact.email == "eliane@exemplo.com.br")) == "Eliane Barbosa"
        entries = db.session.scalars(sa.select(ServiceOrder)).all()
        assert all(o.entries[0].author_name == "Eliane Barbosa" for o in entries)


def test_a_resubmitted_form_opens_one_os(app, client, catalogue):
    html = client.get("/os/nova").get_data(as_text=True)
    key = re.search(r'name="chave" type="hidden" value="([^"]+)"', html).group(1)
    first = new_order(client, app, subject="Outros assuntos", chave=key)
    second = new_order(client, app, subject="Outros assuntos", chave=key)
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ServiceOrder.id))) == 1


def test_new_os_per_address_is_limited(app, client, catalogue):
    app.config["RATELIMIT_NEW_OS_PER_EMAIL"] = "2 per hour"
    statuses = [new_order(client, app, subject="Outros assuntos").status_code for _ in range(3)]
    assert statuses == [303, 303, 429]


def test_subjects_of_a_non_public_department_are_not_offered(app, client, catalogue):
    from models import Department

    with app.app_context():
        db.session.scalar(sa.select(Department).where(Department.name == "Arrecadação")).is_public = False
        db.session.commit()
    html = client.get("/os/nova").get_data(as_text=True)
    assert "IPVA - Restituição" not in html and "IPVA - 1º Emplacamento" in html
    forged = new_order(client, app, subject="IPVA - Restituição", fields={"RENAVAM": "01234567897"})
    assert forged.status_code == 422 and "Escolha o assunto." in forged.get_data(as_text=True)
