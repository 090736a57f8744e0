"""The attendant console: sign-in by link, sessions, the queue and its scope, phone intake,
the O.S. page's actions, the audit trail, and who may reach what."""

import io
import re
import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from app import db
from conftest import csrf_token, deliver, open_in, staff_session
from models import (Attendant, AuditEvent, Department, EntryKind, ServiceOrder, Status, Subject,
                    ThreadEntry, utcnow)

MARCOS = "atendimento@exemplo.gov.br"  # serves "Atendimento"
ADMIN = "admin@exemplo.gov.br"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n"


def get_order(number):
    return db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))


def page_form(client, path, form_action):
    """The hidden fields of the form posting to `form_action` on `path`."""
    html = client.get(path).get_data(as_text=True)
    form = html[html.index(f'action="{form_action}'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"', form)
                + re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))


@pytest.fixture
def marcos(app, catalogue):
    return staff_session(app, app.test_client(), MARCOS)


@pytest.fixture
def admin(app, catalogue):
    return staff_session(app, app.test_client(), ADMIN)


@pytest.fixture
def other_department(app, catalogue):
    with app.app_context():
        ana = Attendant(email="ana@exemplo.gov.br", name="Ana Arrecadação")
        ana.departments.append(db.session.scalar(sa.select(Department).where(Department.name == "Arrecadação")))
        db.session.add(ana)
        db.session.commit()
    return staff_session(app, app.test_client(), "ana@exemplo.gov.br")


# --- Sign-in ---

def test_console_shows_its_sign_in_page_to_everyone_else(client):
    html = client.get("/atendimento").get_data(as_text=True) + client.get("/atendimento/").get_data(as_text=True)
    assert "Atendimento: entrar" in html and 'type="password"' not in html


def test_attendant_signs_in_by_a_link_that_works_once(app, client, catalogue, mailbox):
    client.post("/atendimento/entrar", data={"csrf_token": csrf_token(client, "/atendimento/"), "email": MARCOS})
    deliver(app)
    [message] = mailbox.to(MARCOS)
    [link] = [l for l in mailbox.links(message) if "/atendimento/entrar/" in l]
    path = link.replace("http://127.0.0.1:5000", "")
    assert app.test_client().get(path).status_code == 200  # a scanner's visit spends nothing
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.headers["Location"] == "/atendimento/"
    assert "Fila de O.S." in client.get("/atendimento/").get_data(as_text=True)
    assert app.test_client().get(path).status_code == 410


def test_unknown_and_inactive_addresses_get_the_same_answer_and_no_mail(app, client, catalogue, mailbox):
    with app.app_context():
        db.session.scalar(sa.select(Attendant).where(Attendant.email == MARCOS)).active = False
        db.session.commit()
    for email in ("ninguem@exemplo.gov.br", MARCOS, "eliane@exemplo.com.br"):
        response = client.post("/atendimento/entrar", data={"csrf_token": csrf_token(client, "/atendimento/"),
                                                            "email": email})
        assert response.headers["Location"] == "/atendimento/entrar/enviado"
    deliver(app)
    assert mailbox.messages == []


def test_a_deactivated_or_revoked_attendant_loses_access_at_once(app, marcos):
    assert marcos.get("/atendimento/").status_code == 200
    with app.app_context():
        db.session.scalar(sa.select(Attendant).where(Attendant.email == MARCOS)).link_version += 1
        db.session.commit()
    assert "Atendimento: entrar" in marcos.get("/atendimento/").get_data(as_text=True)
    staff_session(app, marcos, MARCOS)
    with app.app_context():
        db.session.scalar(sa.select(Attendant).where(Attendant.email == MARCOS)).active = False
        db.session.commit()
    assert marcos.get("/atendimento/os/nova").status_code == 302


def test_an_idle_session_expires(app, marcos):
    with app.app_context():
        attendant = db.session.scalar(sa.select(Attendant).where(Attendant.email == MARCOS))
        with marcos.session_transaction() as session:
            session["staff"] = [attendant.id, attendant.link_version, int(time.time()) - 61 * 60]
    assert marcos.get("/atendimento/os/nova").status_code == 302


def test_staff_and_citizen_sessions_are_separate(app, client, make_order, mailbox):
    from test_account import registered

    registered(app, client, mailbox)  # a citizen's browser
    assert client.get("/atendimento/os/nova").status_code == 302
    staff_session(app, client, MARCOS)
    assert client.get("/os").status_code == 200  # still the citizen too
    client.post("/sair", data={"csrf_token": csrf_token(client, "/perfil")})  # the citizen leaves
    assert client.get("/os").status_code == 302
    assert client.get("/atendimento/os/nova").status_code == 200  # the attendant stays
    client.post("/atendimento/sair", data={"csrf_token": csrf_token(client, "/atendimento/")})
    assert client.get("/atendimento/os/nova").status_code == 302


# --- Queue ---

def test_the_queue_shows_the_attendants_departments_newest_activity_first(app, marcos, admin, other_department,
                                                                           make_order):
    first = make_order(subject="Outros assuntos")  # Atendimento
    refund = make_order(subject="IPVA - Restituição", field_values={"RENAVAM": "01234567897"})  # Arrecadação
    latest = make_order(subject="Certidão Negativa de Débitos", field_values={"CPF/CNPJ": "52998224725"})
    html = marcos.get("/atendimento/").get_data(as_text=True)
    assert first in html and latest in html and refund not in html
    assert html.index(latest) < html.index(first)
    assert "Aberta (2)" in html
    ana = other_department.get("/atendimento/").get_data(as_text=True)
    assert refund in ana and first not in ana
    everything = admin.get("/atendimento/").get_data(as_text=True)
    assert all(n in everything for n in (first, refund, latest))


def test_a_search_finds_only_the_attendants_departments(app, marcos, admin, make_order):
    # The same caller, words and RENAVAM in an O.S. of Atendimento and one of Arrecadação.
    mine = make_order(subject="Outros assuntos", message="Dúvida sobre o chassi do veículo.")
    theirs = make_order(subject="IPVA - Restituição", message="Restituição: chassi do veículo.",
                        field_values={"RENAVAM": "01234567897"})
    for query in ("chassi", "Barbosa", "eliane@exemplo.com.br", "01234567897", theirs):
        html = marcos.get(f"/atendimento/?status=todas&q={query}").get_data(as_text=True)
        assert f">{theirs}<" not in html, query
    assert f">{mine}<" in marcos.get("/atendimento/?status=todas&q=chassi").get_data(as_text=True)
    everything = admin.get("/atendimento/?status=todas&q=chassi").get_data(as_text=True)
    assert f">{mine}<" in everything and f">{theirs}<" in everything


def test_the_queue_marks_unanswered_and_overdue_os(app, marcos, make_order):
    waiting = make_order()
    late = make_order()
    with app.app_context():
        from datetime import timedelta

        get_order(late).awaiting_reply_since = utcnow() - timedelta(hours=49)
        db.session.commit()
    html = marcos.get("/atendimento/").get_data(as_text=True)
    row = lambda n: html[html.index(f">{n}<"):html.index("</tr>", html.index(f">{n}<"))]
    assert "Atrasada" in row(late)
    assert "Aguardando resposta" in row(waiting) and "Atrasada" not in row(waiting)
    # A narrow column breaks an address after its @, not in the middle of a word.
    assert "eliane@<wbr>exemplo.com.br" in row(waiting)


@pytest.mark.parametrize("query,finds", [
    ("{number}", True), ("eliane@exemplo.com.br", True), ("ELIANE@EXEMPLO", True), ("Barbosa", True),
    ("3211-0000", True), ("32110000", True), ("01234567897", True), ("nbb0a00", True), ("NBB-0A00", True),
    ("lançamento do IPVA", True), ("LANÇAMENTO do ipva", True), ("lanç", True), ("inexistente", False),
])
def test_the_queue_searches_every_way_a_caller_identifies_an_os(app, marcos, make_order, query, finds):
    number = make_order(subject="IPVA - 1º Emplacamento", message="Solicito lançamento do IPVA.",
                        field_values={"RENAVAM": "01234567897", "PLACA": "NBB0A00"})
    other = make_order(email="joao@exemplo.com.br", name="João", phone="(69) 99999-9999")
    html = marcos.get("/atendimento/?" + f"status=todas&q={query.format(number=number)}").get_data(as_text=True)
    assert (f">{number}<" in html) is finds
    assert f">{other}<" not in html


def test_the_queue_finds_an_os_by_the_phone_given_for_it(app, marcos, make_order):
    """The O.S. page shows "Telefone da O.S." (the caller may have rung from another phone
    than their contact's): the search finds it by that number however it is typed."""
    number = make_order(phone="(69) 3211-0000")
    other = make_order(email="joao@exemplo.com.br", name="João", phone="(69) 99999-9999")
    with app.app_context():
        get_order(number).phone = "(69) 8400-0000"
        db.session.commit()
    for query in ("8400-0000", "84000000", "(69) 8400-0000", "+55 69 8400 0000", "3211-0000"):
        html = marcos.get("/atendimento/?" + urlencode({"status": "todas", "q": query})).get_data(as_text=True)
        assert f">{number}<" in html and f">{other}<" not in html, query
    for query in ("8400", "protocolo 84000000"):  # too short for a phone; not a phone
        html = marcos.get("/atendimento/?" + urlencode({"status": "todas", "q": query})).get_data(as_text=True)
        assert f">{number}<" not in html, query


def test_a_search_finds_a_callers_address_by_a_part_typed_in_capitals(app, marcos, make_order):
    number = make_order(email="contato.sefaz2024@exemplo.com.br", name="Maria Souza")
    other = make_order(email="joao@exemplo.com.br", name="João")
    html = marcos.get("/atendimento/?status=todas&q=SEFAZ2024").get_data(as_text=True)
    assert f">{number}<" in html and f">{other}<" not in html


def test_a_search_shows_the_newest_matches_of_a_whole_word_or_of_a_word_start(app, marcos, make_order,
                                                                           monkeypatch):
    import search

    monkeypatch.setattr(search, "LIMIT", 2)  # as if each word were in thousands of messages
    oldest, older, newer = (make_order(message="Segue o número do protocolo.") for _ in range(3))
    verb = make_order(message="Vou protocolar o pedido amanhã.")
    whole = marcos.get("/atendimento/?status=todas&q=protocolo").get_data(as_text=True)
    assert f">{newer}<" in whole and f">{older}<" in whole
    assert f">{oldest}<" not in whole and f">{verb}<" not in whole
    assert "A busca considerou as 2 mensagens e contatos mais recentes" in whole
    start = marcos.get("/atendimento/?status=todas&q=protoc").get_data(as_text=True)
    assert f">{verb}<" in start and f">{newer}<" in start and f">{oldest}<" not in start


def test_a_search_for_a_word_few_new_messages_have_still_shows_its_newest_matches(app, marcos, make_order,
                                                                               monkeypatch):
    import search

    # As if the newest 3 messages held the word once and LIMIT were 2: on PostgreSQL the search
    # reads a wider window of new messages instead of every match in the index.
    monkeypatch.setattr(search, "LIMIT", 2)
    monkeypatch.setattr(search, "WINDOW", 3)
    oldest, older = (make_order(message="Pergunta sobre o chassi.") for _ in range(2))
    for _ in range(5):
        make_order(message="Outro assunto qualquer.")
    newest = make_order(message="Mais uma do chassi.")
    for _ in range(2):
        make_order(message="Outro assunto qualquer.")
    html = marcos.get("/atendimento/?status=todas&q=chassi").get_data(as_text=True)
    assert f">{newest}<" in html and f">{older}<" in html and f">{oldest}<" not in html


def test_the_queue_filters_by_status_assignee_and_subject(app, marcos, make_order):
    mine = make_order()
    nobodys = make_order()
    solved = make_order(subject="Certidão Negativa de Débitos", field_values={"CPF/CNPJ": "52998224725"})
    with app.app_context():
        get_order(mine).assignee = db.session.scalar(sa.select(Attendant).where(Attendant.email == MARCOS))
        get_order(solved).status = Status.RESOLVIDA
        subject_id = db.session.scalar(sa.select(Subject.id).where(Subject.name == "Certidão Negativa de Débitos"))
        db.session.commit()
    only_mine = marcos.get("/atendimento/?responsavel=meus").get_data(as_text=True)
    assert f">{mine}<" in only_mine and f">{nobodys}<" not in only_mine
    unassigned = marcos.get("/atendimento/?responsavel=ninguem").get_data(as_text=True)
    assert f">{nobodys}<" in unassigned and f">{mine}<" not in unassigned
    resolved = marcos.get(f"/atendimento/?status=resolvida&assunto={subject_id}").get_data(as_text=True)
    assert f">{solved}<" in resolved and f">{mine}<" not in resolved
    for odd in ("status=x", "pagina=-3", "departamento=abc", "assunto=%00", "q=" + "a" * 500, "responsavel=;"):
        assert marcos.get(f"/atendimento/?{odd}").status_code in (200, 400), odd


def test_the_queues_filters_offer_the_attendants_departments_and_every_subject_by_name(app, marcos, admin):
    with app.app_context():
        departments = db.session.execute(sa.select(Department.id, Department.name)).all()
        subjects = db.session.execute(sa.select(Subject.id, Subject.name)).all()
        marcos_departments = db.session.scalar(sa.select(Attendant).where(Attendant.email == MARCOS)).departments
        own = [(d.id, d.name) for d in marcos_departments]

    def options(html, name):
        select = re.search(rf'<select id="{name}" name="{name}">(.*?)</select>', html, re.S).group(1)
        return [(int(value), text) for value, text in re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select)]

    def by_name(rows):
        return sorted(((i, n) for i, n in rows), key=lambda row: row[1])

    html = marcos.get("/atendimento/").get_data(as_text=True)
    assert len(own) < len(departments)
    assert options(html, "departamento") == by_name(own)
    assert options(html, "assunto") == by_name(subjects) and len(subjects) > 1
    html = admin.get(f"/atendimento/?assunto={subjects[0][0]}").get_data(as_text=True)
    assert options(html, "departamento") == by_name(departments)
    assert options(html, "assunto") == by_name(subjects)
    assert f'<option value="{subjects[0][0]}" selected>' in html


def test_the_queue_lists_the_most_recent_matches_and_tells_how_to_reach_the_rest(app, marcos, make_order,
                                                                                monkeypatch):
    import views.staff

    # As if MAX_LISTED were 4 (it is 10,000): six unassigned open O.S., newest activity first.
    monkeypatch.setattr(views.staff, "MAX_LISTED", 4)
    monkeypatch.setattr(views.staff, "PER_PAGE", 2)
    numbers = [make_order() for _ in range(6)]
    html = marcos.get("/atendimento/?responsavel=ninguem").get_data(as_text=True)
    assert "Aberta (mais de 4)" in html and "Todas (mais de 4)" in html and "Fechada (0)" in html
    assert "Mostrando 1 - 2 de mais de 4 O.S." in html
    assert "A fila lista as 4 com atividade mais recente; use os filtros ou a busca" in html
    assert "pagina=2" in html and "pagina=3" not in html  # 4 listed, 2 a page
    last = marcos.get("/atendimento/?responsavel=ninguem&pagina=999").get_data(as_text=True)
    assert "Mostrando 3 - 4 de mais de 4 O.S." in last
    assert f">{numbers[2]}<" in last and f">{numbers[1]}<" not in last
    # The kept totals (no filter but the department) are exact; the list still stops at 4.
    exact = marcos.get("/atendimento/").get_data(as_text=True)
    assert "Aberta (6)" in exact and "Mostrando 1 - 2 de 6 O.S." in exact and "A fila lista as 4" in exact
    # A limit that is not a whole number of pages: the last page stops at it.
    monkeypatch.setattr(views.staff, "MAX_LISTED", 3)
    for query in ("responsavel=ninguem&pagina=2", "pagina=2"):
        html = marcos.get(f"/atendimento/?{query}").get_data(as_text=True)
        assert "Mostrando 3 - 3 de" in html and f">{numbers[3]}<" in html and f">{numbers[2]}<" not in html, query


def test_every_status_with_a_filter_pages_through_all_of_them_newest_activity_first(app, marcos, make_order,
                                                                                    monkeypatch):
    import views.staff
    from datetime import timedelta

    monkeypatch.setattr(views.staff, "PER_PAGE", 2)
    statuses = ["aberta", "aberta", "fechada", "aberta", "resolvida", "aberta", "fechada"]
    hours_ago = [3, 1, 6, 2, 7, 4, 5]  # more O.S. of one status than a page holds
    numbers = [make_order() for _ in statuses]
    with app.app_context():
        for number, status, hours in zip(numbers, statuses, hours_ago):
            order = get_order(number)
            order.status = Status(status)
            order.updated_at = utcnow() - timedelta(hours=hours)
        db.session.commit()
    newest_first = [n for _, n in sorted(zip(hours_ago, numbers))]
    shown = []
    for page in (1, 2, 3, 4):
        html = marcos.get(f"/atendimento/?status=todas&responsavel=ninguem&pagina={page}").get_data(as_text=True)
        shown += [n for n in sorted(numbers, key=html.find) if f">{n}<" in html]
    assert shown == newest_first


# --- Intake by phone ---

def intake(client, app, **data):
    form = {"csrf_token": csrf_token(client, "/atendimento/os/nova"), "channel": "Telefone",
            "email": "maria@exemplo.com.br", "name": "Maria Souza", "phone": "(69) 98888-1111",
            "subject": str(subject_id(app, "Outros assuntos")), "formato": "texto",
            "body": "Ligou pedindo a segunda via.", "submit": "Registrar O.S."}
    form.update(data)
    return client.post("/atendimento/os/nova", data=form)


def subject_id(app, name):
    with app.app_context():
        return db.session.scalar(sa.select(Subject.id).where(Subject.name == name))


def test_an_os_registered_for_another_department_says_where_it_went(app, marcos, mailbox):
    response = intake(marcos, app, subject=str(subject_id(app, "ITCD - Declaração")),
                      **{"campo_" + str(fid): v for fid, v in itcd_values(app).items()})
    assert response.headers["Location"] == "/atendimento/"
    html = marcos.get("/atendimento/").get_data(as_text=True)
    assert "registrada" in html and "Ela foi para o departamento Fiscalização." in html


def itcd_values(app):
    with app.app_context():
        subject = db.session.scalar(sa.select(Subject).where(Subject.name == "ITCD - Declaração"))
        return {f.id: {"CPF/CNPJ": "52998224725", "Tipo": "Doação"}.get(f.label, "") for f in subject.fields}


def test_searching_an_unknown_caller_clears_the_previous_ones_details(app, marcos, make_order):
    make_order(email="eliane@exemplo.com.br", name="Eliane Barbosa", phone="(69) 3211-0000")
    token = csrf_token(marcos, "/atendimento/os/nova")
    marcos.post("/atendimento/os/nova", data={"csrf_token": token, "email": "eliane@exemplo.com.br", "find": "x"})
    html = marcos.post("/atendimento/os/nova", data={"csrf_token": token, "email": "novo@exemplo.com.br",
                                                     "name": "Eliane Barbosa", "phone": "(69) 3211-0000",
                                                     "find": "x"}).get_data(as_text=True)
    assert "Nenhum contato com este e-mail" in html
    assert 'value="Eliane Barbosa"' not in html and 'value="(69) 3211-0000"' not in html


def test_huge_numbers_in_addresses_and_forms_are_not_errors(app, marcos, make_order):
    number = make_order()
    assert marcos.get(f"/atendimento/os/{number}/anexos/99999999999999999999999").status_code == 404
    assert marcos.get(f"/os/{number}/anexos/99999999999999999999999").status_code == 404
    assert update(marcos, number, department="9" * 20).status_code == 400
    assert update(marcos, number, assignee="9" * 20).status_code == 400
    assert intake(marcos, app, department="9" * 20).status_code == 422


def test_an_attendant_whose_session_ended_comes_back_to_the_os_not_to_a_form_address(app, marcos, make_order):
    number = make_order()
    hidden = page_form(marcos, f"/atendimento/os/{number}", f"/atendimento/os/{number}/mensagem")
    with marcos.session_transaction() as session:
        session["staff"][2] -= 2 * 3600
        session.modified = True
    response = marcos.post(f"/atendimento/os/{number}/mensagem", data={**hidden, "body": "x", "reply": "x"})
    assert response.headers["Location"] == f"/atendimento/?next=/atendimento/os/{number}"


def test_an_attendant_registers_an_os_for_a_caller(app, marcos, mailbox):
    response = intake(marcos, app)
    assert response.status_code == 303
    number = re.fullmatch(r"/atendimento/os/(\d{8})", response.headers["Location"]).group(1)
    html = marcos.get(response.headers["Location"]).get_data(as_text=True)
    assert f"O.S. {number} registrada" in html and f"{number[:4]} {number[4:]}" in html  # to read out
    with app.app_context():
        order = get_order(number)
        assert (order.channel, order.contact.name, order.phone) == ("Telefone", "Maria Souza", "(69) 98888-1111")
        assert db.session.scalar(sa.select(AuditEvent.actor).where(AuditEvent.service_order_id == order.id)) == "Marcos Atendente"
    deliver(app)
    [receipt] = mailbox.to("maria@exemplo.com.br")
    assert number in receipt["Subject"] and any("/acesso/" in l for l in mailbox.links(receipt))
    assert not mailbox.to(MARCOS)  # no alert to the one who registered it


def test_intake_finds_a_known_caller_and_keeps_their_details(app, marcos, make_order):
    make_order(email="eliane@exemplo.com.br", name="Eliane Barbosa", phone="(69) 3211-0000")
    found = marcos.post("/atendimento/os/nova", data={"csrf_token": csrf_token(marcos, "/atendimento/os/nova"),
                                                       "email": "Eliane@exemplo.com.br", "find": "Buscar contato"})
    html = found.get_data(as_text=True)
    assert "Contato conhecido: <strong>Eliane Barbosa</strong>" in html and 'value="(69) 3211-0000"' in html
    assert re.search(r'for="name">Nome do cidadão</label>', html)  # no asterisk: the name is known
    intake(marcos, app, email="eliane@exemplo.com.br", name="Outro Nome")
    # Known: the name need not be typed again (the O.S. stays with her, as the page says).
    assert intake(marcos, app, email="eliane@exemplo.com.br", name="", phone="").status_code == 303
    with app.app_context():
        orders = db.session.scalars(sa.select(ServiceOrder)).all()
        assert len(orders) == 3 and {o.contact.name for o in orders} == {"Eliane Barbosa"}


def test_intake_validates_and_keeps_what_was_typed(app, marcos):
    response = intake(marcos, app, email="maria@", subject=str(subject_id(app, "IPVA - 1º Emplacamento")),
                      **{"body": "Texto da ligação"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Informe um endereço de e-mail válido" in html and "Informe RENAVAM." in html
    assert "Texto da ligação" in html and 'value="maria@"' in html
    # Said to the attendant about the caller, and listed in the page's order.
    unknown = intake(marcos, app, email="novo@exemplo.com.br", name="", body="",
                     anexos=(io.BytesIO(PDF), "guia.pdf")).get_data(as_text=True)
    assert "Nome do cidadão</a>: Informe o nome completo do cidadão." in unknown
    summary = [unknown.index(f">{label}</a>") for label in ("Nome do cidadão", "Pedido do cidadão, como ele contou",
                                                            "Anexos")]
    assert summary == sorted(summary), summary
    # With JavaScript, Enter in the e-mail looks the contact up instead of registering.
    page = marcos.get("/atendimento/os/nova").get_data(as_text=True)
    assert re.search(r'<input[^>]*data-enter="find"[^>]*id="email"', page)


# --- The O.S. page ---

def test_the_os_page_shows_the_whole_thread_with_notes_marked(app, marcos, make_order):
    number = make_order(message="Pedido do cidadão")
    with app.app_context():
        order = get_order(number)
        order.entries.append(ThreadEntry(kind=EntryKind.NOTE, author_name="Marcos Atendente",
                                         body_html="<p>Conferir no DETRAN</p>"))
        db.session.commit()
    html = marcos.get(f"/atendimento/os/{number}").get_data(as_text=True)
    assert "Pedido do cidadão" in html and "Conferir no DETRAN" in html
    assert "Nota interna: o cidadão não vê" in html


def post_message(client, number, body, button="reply", after="", files=()):
    path = f"/atendimento/os/{number}"
    hidden = page_form(client, path, f"/atendimento/os/{number}/mensagem")
    data = {**hidden, "body": body, "formato": "texto", "after": after, button: "x",
            "anexos": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"{path}/mensagem", data=data, content_type="multipart/form-data")


def test_a_reply_is_mailed_to_the_citizen_with_a_link_and_a_note_is_not(app, marcos, make_order, mailbox):
    number = make_order()
    post_message(marcos, number, "Nota: ligar amanhã", button="note", files=[("interno.pdf", PDF)])
    response = post_message(marcos, number, "Sua guia está pronta.", after="resolvida", files=[("guia.pdf", PDF)])
    assert response.status_code == 303
    deliver(app)
    [reply] = mailbox.to("eliane@exemplo.com.br")
    text = mailbox.text(reply)
    assert "Sua guia está pronta." in text and "Status da O.S.: Resolvida" in text and "guia.pdf" in text
    assert "ligar amanhã" not in text
    with app.app_context():
        order = get_order(number)
        assert order.status == Status.RESOLVIDA and order.awaiting_reply_since is None
        assert order.assignee.email == MARCOS  # whoever answers first takes it
    citizen = app.test_client()
    open_in(app, citizen, number)
    page = citizen.get(f"/os/{number}").get_data(as_text=True)
    assert "Sua guia está pronta." in page and "guia.pdf" in page
    assert "ligar amanhã" not in page and "interno.pdf" not in page


def test_a_reply_written_while_the_citizen_wrote_is_held_back_with_its_text(app, marcos, make_order):
    number = make_order()
    path = f"/atendimento/os/{number}"
    hidden = page_form(marcos, path, f"{path}/mensagem")
    citizen = app.test_client()
    open_in(app, citizen, number)
    from test_reply import post_reply

    post_reply(citizen, number, "Mais uma informação")
    response = marcos.post(f"{path}/mensagem", data={**hidden, "body": "Resposta antiga", "formato": "texto",
                                                     "reply": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Chegou uma mensagem nova" in html and "Resposta antiga" in html and "Mais uma informação" in html


def update(client, number, **changes):
    path = f"/atendimento/os/{number}"
    hidden = page_form(client, path, f"{path}/atualizar")
    with client.application.app_context():
        order = get_order(number)
        data = {**hidden, "status": order.status.value, "department": str(order.department_id),
                "assignee": str(order.assignee_id or "")}
    data.update(changes)
    return client.post(f"{path}/atualizar", data=data)


def test_status_changes_are_told_to_the_citizen_and_audited(app, marcos, make_order, mailbox):
    number = make_order()
    unchanged = update(marcos, number)
    assert "Nada foi alterado." in marcos.get(unchanged.headers["Location"]).get_data(as_text=True)
    response = update(marcos, number, status="fechada")
    assert response.status_code == 303
    # Back at the top, where "Alterações salvas." is: not at the form's "#acoes", which the
    # browser would keep from the form's address if the redirect had no fragment of its own.
    assert response.headers["Location"] == f"/atendimento/os/{number}#conteudo"
    assert "Alterações salvas." in marcos.get(response.headers["Location"]).get_data(as_text=True)
    deliver(app)
    [notice] = mailbox.to("eliane@exemplo.com.br")
    assert "mudou de Aberta para Fechada" in mailbox.text(notice)
    html = marcos.get(f"/atendimento/os/{number}").get_data(as_text=True)
    assert "Marcos Atendente</strong>: status (Aberta → Fechada)" in html


def test_transfer_moves_the_os_out_of_reach_and_assigning_is_audited(app, marcos, other_department, make_order):
    number = make_order()
    with app.app_context():
        arrecadacao = db.session.scalar(sa.select(Department.id).where(Department.name == "Arrecadação"))
        marcos_id = db.session.scalar(sa.select(Attendant.id).where(Attendant.email == MARCOS))
    update(marcos, number, assignee=str(marcos_id))
    assert "atribuída (Marcos Atendente)" in marcos.get(f"/atendimento/os/{number}").get_data(as_text=True)
    response = update(marcos, number, department=str(arrecadacao))
    assert response.headers["Location"] == "/atendimento/"
    # Told where it went, not just "saved": the O.S. is no longer Marcos's to open.
    assert f"O.S. #{number} transferida para Arrecadação: ela sai da sua fila." in \
        marcos.get(response.headers["Location"]).get_data(as_text=True)
    assert marcos.get(f"/atendimento/os/{number}").status_code == 404
    html = other_department.get(f"/atendimento/os/{number}").get_data(as_text=True)
    assert "transferida (Atendimento → Arrecadação)" in html
    with app.app_context():
        assert get_order(number).assignee is None  # Marcos does not serve Arrecadação


def test_two_attendants_saving_at_once_do_not_overwrite_each_other(app, marcos, admin, make_order):
    number = make_order()
    path = f"/atendimento/os/{number}"
    stale = page_form(marcos, path, f"{path}/atualizar")
    assert update(admin, number, status="resolvida").status_code == 303
    with app.app_context():
        order = get_order(number)
        data = {**stale, "status": "fechada", "department": str(order.department_id), "assignee": ""}
    response = marcos.post(f"{path}/atualizar", data=data)
    assert "Outro atendente alterou esta O.S." in marcos.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert get_order(number).status == Status.RESOLVIDA


def test_subject_fields_are_edited_with_validation_and_audited(app, marcos, make_order):
    number = make_order(subject="IPVA - 1º Emplacamento", field_values={"RENAVAM": "01234567897", "PLACA": "NBB0A00"})
    path = f"/atendimento/os/{number}"
    with app.app_context():
        fields = {f.label: f"campo_{f.id}" for f in get_order(number).subject.fields}
    hidden = page_form(marcos, path, f"{path}/campos")
    # The forms post to their own section: a page sent back with an error opens at the error
    # (on a phone the side column comes after the whole thread).
    page = marcos.get(path).get_data(as_text=True)
    assert f'action="{path}/campos#campos"' in page and 'id="campos"' in page
    assert f'action="{path}/atualizar#acoes"' in page and 'id="acoes"' in page
    bad = marcos.post(f"{path}/campos", data={**hidden, fields["RENAVAM"]: "123", fields["PLACA"]: "ABC1D23"})
    assert bad.status_code == 422 and "O RENAVAM tem 11 dígitos." in bad.get_data(as_text=True)
    saved = marcos.post(f"{path}/campos", data={**hidden, fields["RENAVAM"]: "01234567897", fields["PLACA"]: "abc1d23"})
    assert saved.headers["Location"] == f"{path}#conteudo"
    assert "Campos salvos." in marcos.get(saved.headers["Location"]).get_data(as_text=True)
    again = marcos.post(f"{path}/campos", data={**page_form(marcos, path, f"{path}/campos"),
                                                fields["RENAVAM"]: "01234567897", fields["PLACA"]: "ABC1D23"})
    assert "Nada foi alterado." in marcos.get(again.headers["Location"]).get_data(as_text=True)
    html = marcos.get(path).get_data(as_text=True)
    assert "campo alterado (PLACA: NBB0A00 → ABC1D23)" in html
    # A second attendant with the page open from before cannot put the old plate back.
    stale = marcos.post(f"{path}/campos", data={**hidden, fields["RENAVAM"]: "01234567897", fields["PLACA"]: "NBB0A00"})
    assert "Outro atendente alterou esta O.S." in marcos.get(stale.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert dict(get_order(number).extra_fields())["PLACA"] == "ABC1D23"


def test_staff_download_includes_note_attachments_but_not_other_departments(app, marcos, other_department, make_order):
    number = make_order()
    post_message(marcos, number, "Nota", button="note", files=[("interno.pdf", PDF)])
    html = marcos.get(f"/atendimento/os/{number}").get_data(as_text=True)
    url = re.search(rf'href="(/atendimento/os/{number}/anexos/\d+)"', html).group(1)
    response = marcos.get(url)
    body = response.data
    response.close()
    assert body == PDF
    assert other_department.get(url).status_code == 404


# --- Who may reach what ---

CONSOLE_PAGES = ["/atendimento/os/nova", "/atendimento/os/{number}", "/atendimento/os/{number}/anexos/1"]
CONSOLE_ACTIONS = ["/atendimento/os/{number}/mensagem", "/atendimento/os/{number}/atualizar",
                   "/atendimento/os/{number}/campos", "/atendimento/os/nova"]


def test_guests_and_citizens_never_reach_a_console_page(app, client, make_order, mailbox):
    from test_account import registered

    number = make_order()
    citizen = app.test_client()
    registered(app, citizen, mailbox)
    for browser in (client, citizen):
        for path in CONSOLE_PAGES:
            response = browser.get(path.format(number=number))
            assert response.status_code == 302 and response.headers["Location"].startswith("/atendimento/?next="), path
        token = csrf_token(browser, "/atendimento/")
        for path in CONSOLE_ACTIONS:
            response = browser.post(path.format(number=number), data={"csrf_token": token, "body": "x", "status": "fechada"})
            assert response.status_code == 302, path
    with app.app_context():
        order = get_order(number)
        assert order.status == Status.ABERTA and len(order.entries) == 1


def test_an_attendant_of_another_department_cannot_see_or_act(app, other_department, make_order):
    number = make_order()
    for path in CONSOLE_PAGES[1:]:
        assert other_department.get(path.format(number=number)).status_code == 404
    token = csrf_token(other_department, "/atendimento/")
    for path in CONSOLE_ACTIONS[:3]:
        response = other_department.post(path.format(number=number), data={"csrf_token": token, "body": "x",
                                                                             "status": "fechada"})
        assert response.status_code == 404, path
    with app.app_context():
        assert get_order(number).status == Status.ABERTA


def test_alerts_follow_the_departments_setting(app, client, make_order, mailbox):
    number = make_order()
    with app.app_context():
        db.session.scalar(sa.select(Department).where(Department.name == "Atendimento")).alerts_enabled = False
        db.session.commit()
    open_in(app, client, number)
    from test_reply import post_reply

    post_reply(client, number, "Sem alerta")
    deliver(app)
    assert not mailbox.to(MARCOS)


def test_alerts_link_to_the_console_page_of_the_os(app, client, make_order, mailbox):
    number = make_order()
    open_in(app, client, number)
    from test_reply import post_reply

    post_reply(client, number, "Com alerta")
    deliver(app)
    [alert] = mailbox.to(MARCOS)
    assert f"http://127.0.0.1:5000/atendimento/os/{number}" in mailbox.links(alert)


def test_a_transfer_alerts_the_new_department(app, marcos, other_department, make_order, mailbox):
    number = make_order()
    with app.app_context():
        arrecadacao = db.session.scalar(sa.select(Department.id).where(Department.name == "Arrecadação"))
    update(marcos, number, department=str(arrecadacao))
    deliver(app)
    [alert] = mailbox.to("ana@exemplo.gov.br")
    assert f"O.S. #{number} transferida para Arrecadação" in alert["Subject"]
    assert not mailbox.to(MARCOS)


def test_a_long_subject_name_still_fits_the_outbox(app, marcos, make_order):
    with app.app_context():
        subject = db.session.scalar(sa.select(Subject).where(Subject.name == "Outros assuntos"))
        subject.name = "S" * 160
        db.session.commit()
    with app.app_context():
        from models import OfficeSetting

        db.session.add(OfficeSetting(key="name", value="O" * 120))
        db.session.commit()
    response = intake(marcos, app, subject=str(subject_id(app, "S" * 160)))
    assert response.status_code == 303  # the receipt and the alerts were queued
    with app.app_context():
        from models import OutboxMessage

        subjects = list(db.session.scalars(sa.select(OutboxMessage.subject)))
        assert subjects and all(len(s) <= 255 for s in subjects)
