"""Administration of the console: who may enter, departments, subjects and their extra fields,
attendants (and cutting their access), the office's name, phone and e-mails."""

import re
import time

import pytest
import sqlalchemy as sa

from app import db
from conftest import csrf_token, open_in
from models import (Attendant, Contact, Department, FieldKind, FieldValue, Subject, SubjectField,
                    utcnow)

ADMIN = "admin@exemplo.gov.br"
MARCOS = "atendimento@exemplo.gov.br"

PAGES = [
    "/atendimento/admin/",
    "/atendimento/admin/departamentos",
    "/atendimento/admin/departamentos/novo",
    "/atendimento/admin/departamentos/1",
    "/atendimento/admin/assuntos",
    "/atendimento/admin/assuntos/novo",
    "/atendimento/admin/assuntos/1",
    "/atendimento/admin/assuntos/1/campos/1",
    "/atendimento/admin/atendentes",
    "/atendimento/admin/atendentes/novo",
    "/atendimento/admin/atendentes/1",
    "/atendimento/admin/secretaria",
]
ACTIONS = [  # every address that accepts a POST
    "/atendimento/admin/departamentos/novo",
    "/atendimento/admin/departamentos/1",
    "/atendimento/admin/assuntos/novo",
    "/atendimento/admin/assuntos/1",
    "/atendimento/admin/assuntos/1/campos",
    "/atendimento/admin/assuntos/1/campos/1",
    "/atendimento/admin/assuntos/1/campos/1/remover",
    "/atendimento/admin/atendentes/novo",
    "/atendimento/admin/atendentes/1",
    "/atendimento/admin/atendentes/1/encerrar-sessoes",
    "/atendimento/admin/secretaria",
]


def sign_in_as(app, client, email):
    """The browser signed in to the console as this attendant, as a sign-in link leaves it."""
    with app.app_context():
        attendant = db.session.scalar(sa.select(Attendant).where(Attendant.email == email))
        with client.session_transaction() as session:
            session["staff"] = [attendant.id, attendant.link_version, int(time.time())]
        return attendant.id


@pytest.fixture
def admin(app, client, catalogue):
    sign_in_as(app, client, ADMIN)
    return client


def post(client, path, data, token_page=None, prefix=""):
    data = {**data, f"{prefix}csrf_token": csrf_token(client, token_page or path)}
    return client.post(path, data=data)


def html_of(response) -> str:
    return response.get_data(as_text=True)


def one(app, model, **where):
    with app.app_context():
        row = db.session.scalar(sa.select(model).filter_by(**where))
        if row is not None:
            db.session.expunge(row)
        return row


def department_form(**changes):
    data = {"name": "Tributação", "is_public": "y", "response_hours": "24",
            "alert_email": "tributacao@exemplo.gov.br", "alerts_enabled": "y"}
    data.update(changes)
    return data


# --- Who may enter ---------------------------------------------------------------------------

def test_guest_is_sent_to_the_console_sign_in_with_the_page_to_return_to(client, catalogue):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/atendimento/?next=")
    response = client.get("/atendimento/admin/departamentos", follow_redirects=True)
    assert "Enviar link de entrada" in html_of(response)


def test_citizen_signed_in_on_the_citizen_side_is_not_let_in(app, client, catalogue, make_order):
    number = make_order()
    open_in(app, client, number)  # an access link opened in this browser...
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact))
        contact.confirmed_at = utcnow()  # ...and a confirmed account, signed in
        db.session.commit()
        user_id = contact.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    assert "O.S. (1)" in html_of(client.get("/"))
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/atendimento/?next=")


def test_attendant_who_is_not_an_administrator_gets_403_on_every_page_and_action(app, client, catalogue):
    sign_in_as(app, client, MARCOS)
    assert client.get("/atendimento/").status_code == 200  # the console itself is open to him
    assert "Administração" not in html_of(client.get("/atendimento/"))
    token = csrf_token(client, "/atendimento/")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Acesso negado" in html_of(response)
    for path in ACTIONS:
        response = client.post(path, data={"csrf_token": token, "campo-csrf_token": token,
                                           "name": "Invasão", "email": "x@exemplo.gov.br",
                                           "is_admin": "y", "active": "y"})
        assert response.status_code == 403, path
    with app.app_context():
        assert db.session.scalar(sa.select(Attendant.is_admin).where(Attendant.email == MARCOS)) is False
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SubjectField)) > 0


def test_administrator_sees_every_page_and_the_index_links_the_sections_with_counts(admin):
    for path in PAGES:
        assert admin.get(path).status_code == 200, path
    html = html_of(admin.get("/atendimento/admin/"))
    for section in ("Departamentos", "Assuntos", "Atendentes", "Dados da secretaria"):
        assert section in html
    assert "3 departamentos" in html and "6 assuntos" in html and "2 atendentes" in html
    assert 'href="/atendimento/admin/"' in html_of(admin.get("/atendimento/"))  # in the console nav


def test_post_without_csrf_token_is_refused(app, admin):
    response = admin.post("/atendimento/admin/departamentos/novo", data=department_form())
    assert response.status_code == 400
    assert "Formulário expirado" in html_of(response)
    assert one(app, Department, name="Tributação") is None


def test_missing_records_are_404(admin):
    assert admin.get("/atendimento/admin/departamentos/999").status_code == 404
    assert admin.get("/atendimento/admin/assuntos/999").status_code == 404
    assert admin.get("/atendimento/admin/atendentes/999").status_code == 404
    # A field seen through another subject's address does not exist there.
    assert admin.get("/atendimento/admin/assuntos/2/campos/1").status_code == 404


# --- Departments -----------------------------------------------------------------------------

def test_department_create_shows_errors_and_keeps_what_was_typed(app, admin):
    path = "/atendimento/admin/departamentos/novo"
    response = post(admin, path, department_form(name="Atendimento", response_hours="900",
                                                 alert_email="não é e-mail"))
    assert response.status_code == 422
    html = html_of(response)
    assert "Já existe um departamento com este nome." in html
    assert "Informe um número inteiro de horas, de 1 a 720." in html
    assert "Informe um endereço de e-mail válido" in html
    assert 'value="Atendimento"' in html and 'value="900"' in html and 'value="não é e-mail"' in html
    assert 'aria-invalid="true"' in html

    response = post(admin, path, department_form(name="", response_hours="doze"))
    html = html_of(response)
    assert "Informe o nome do departamento." in html
    assert html.count("Informe um número inteiro de horas, de 1 a 720.") == 2  # alert list + field
    assert 'value="doze"' in html

    response = post(admin, path, department_form(name="  Tributação  "))
    assert response.status_code == 303
    assert response.headers["Location"] == "/atendimento/admin/departamentos"
    listing = html_of(admin.get("/atendimento/admin/departamentos"))
    assert "Departamento “Tributação” salvo." in listing
    assert "Tributação" in listing and "24 horas" in listing and "tributacao@exemplo.gov.br" in listing
    created = one(app, Department, name="Tributação")
    assert created.is_public and created.alerts_enabled and not created.is_default
    assert created.response_hours == 24


def test_department_name_is_unique_whatever_the_capitals(app, admin):
    response = post(admin, "/atendimento/admin/departamentos/novo", department_form(name="atendimento"))
    assert response.status_code == 422
    assert "Já existe um departamento com este nome." in html_of(response)


def test_department_edit_saves_checkboxes_and_can_keep_its_own_name(app, admin):
    department = one(app, Department, name="Arrecadação")
    path = f"/atendimento/admin/departamentos/{department.id}"
    page = html_of(admin.get(path))
    assert 'value="Arrecadação"' in page and 'value="48"' in page
    response = post(admin, path, {"name": "Arrecadação", "response_hours": "72", "alert_email": ""})
    assert response.status_code == 303
    saved = one(app, Department, name="Arrecadação")
    assert saved.response_hours == 72
    assert not saved.is_public and not saved.alerts_enabled and saved.alert_email is None


def test_only_one_department_is_the_default(app, admin):
    fiscal = one(app, Department, name="Fiscalização")
    response = post(admin, f"/atendimento/admin/departamentos/{fiscal.id}",
                    department_form(name="Fiscalização", is_default="y"))
    assert response.status_code == 303
    with app.app_context():
        defaults = db.session.scalars(sa.select(Department.name).where(Department.is_default.is_(True))).all()
    assert defaults == ["Fiscalização"]
    response = post(admin, "/atendimento/admin/departamentos/novo", department_form(is_default="y"))
    assert response.status_code == 303
    with app.app_context():
        defaults = db.session.scalars(sa.select(Department.name).where(Department.is_default.is_(True))).all()
    assert defaults == ["Tributação"]


def test_the_default_department_cannot_just_be_unmarked(app, admin):
    default = one(app, Department, is_default=True)
    path = f"/atendimento/admin/departamentos/{default.id}"
    response = post(admin, path, department_form(name=default.name))
    assert response.status_code == 422
    assert "Deve haver um departamento padrão" in html_of(response)
    assert one(app, Department, id=default.id).is_default


# --- Subjects and extra fields ---------------------------------------------------------------

def test_subject_create_and_edit(app, admin):
    fiscal = one(app, Department, name="Fiscalização")
    path = "/atendimento/admin/assuntos/novo"
    response = post(admin, path, {"name": "IPVA - Restituição", "department_id": str(fiscal.id),
                                  "active": "y", "position": "x"})
    assert response.status_code == 422
    html = html_of(response)
    assert "Já existe um assunto com este nome." in html
    assert "Informe um número inteiro de 0 a 9999." in html
    assert 'value="x"' in html
    assert re.search(rf'<option selected value="{fiscal.id}">Fiscalização</option>', html)

    response = post(admin, path, {"name": "ITCMD - Isenção", "department_id": str(fiscal.id),
                                  "active": "y", "is_public": "y", "position": "3"})
    assert response.status_code == 303
    subject = one(app, Subject, name="ITCMD - Isenção")
    assert response.headers["Location"] == f"/atendimento/admin/assuntos/{subject.id}"
    assert subject.department_id == fiscal.id and subject.active and subject.is_public
    assert subject.position == 3
    assert "ITCMD - Isenção" in html_of(admin.get("/os/nova"))  # citizens can choose it

    response = post(admin, f"/atendimento/admin/assuntos/{subject.id}",
                    {"name": "ITCMD - Isenção", "department_id": str(fiscal.id), "active": "y",
                     "position": "3"})
    assert response.status_code == 303
    listing = html_of(admin.get("/atendimento/admin/assuntos"))
    assert "ITCMD - Isenção" in listing and "Assunto “ITCMD - Isenção” salvo." in listing
    assert not one(app, Subject, id=subject.id).is_public
    assert "ITCMD - Isenção" not in html_of(admin.get("/os/nova"))  # staff-only now


def test_extra_field_add_edit_and_remove_show_on_the_citizens_new_os_page(app, admin):
    subject = one(app, Subject, name="Outros assuntos")
    page = f"/atendimento/admin/assuntos/{subject.id}"
    add = f"{page}/campos"
    field = {"campo-label": "Município", "campo-kind": "choice", "campo-required": "y",
             "campo-position": "0", "campo-choices": ""}
    response = post(admin, add, field, token_page=page, prefix="campo-")
    assert response.status_code == 422
    html = html_of(response)
    assert "Informe as opções da lista, uma por linha." in html
    assert 'value="Município"' in html
    assert re.search(r'<option selected value="choice">Lista de opções</option>', html)

    response = post(admin, add, {**field, "campo-choices": "Porto Velho\n\n Ji-Paraná \nPorto Velho"},
                    token_page=page, prefix="campo-")
    assert response.status_code == 303
    created = one(app, SubjectField, subject_id=subject.id, label="Município")
    assert created.kind == FieldKind.CHOICE and created.required
    assert created.choices == "Porto Velho\nJi-Paraná"
    html = html_of(admin.get(page))
    assert "Lista de opções" in html and "Porto Velho, Ji-Paraná" in html

    citizen = html_of(admin.get(f"/os/nova?assunto={subject.id}"))
    assert "Município" in citizen and "<option>Ji-Paraná</option>" in citizen

    duplicate = post(admin, add, {**field, "campo-choices": "A"}, token_page=page, prefix="campo-")
    assert "Este assunto já tem um campo com este rótulo." in html_of(duplicate)

    edit = f"{page}/campos/{created.id}"
    assert 'value="Município"' in html_of(admin.get(edit))
    response = post(admin, edit, {"label": "Inscrição estadual", "kind": "number", "position": "1",
                                  "choices": "ignorado"})
    assert response.status_code == 303
    edited = one(app, SubjectField, id=created.id)
    assert edited.label == "Inscrição estadual" and edited.kind == FieldKind.NUMBER
    assert not edited.required and edited.choices is None
    citizen = html_of(admin.get(f"/os/nova?assunto={subject.id}"))
    assert "Inscrição estadual" in citizen and "Município" not in citizen

    response = post(admin, f"{edit}/remover", {}, token_page=page)
    assert response.status_code == 303
    assert one(app, SubjectField, id=created.id) is None
    assert "Campo “Inscrição estadual” removido." in html_of(admin.get(page))
    assert "Inscrição estadual" not in html_of(admin.get(f"/os/nova?assunto={subject.id}"))


def test_extra_field_label_is_required_and_at_most_80_characters(app, admin):
    subject = one(app, Subject, name="Outros assuntos")
    page = f"/atendimento/admin/assuntos/{subject.id}"
    for label, message in (("", "Informe o rótulo do campo."),
                           ("x" * 81, "O rótulo pode ter no máximo 80 caracteres.")):
        response = post(admin, f"{page}/campos", {"campo-label": label, "campo-kind": "text",
                                                   "campo-position": "0"}, token_page=page, prefix="campo-")
        assert response.status_code == 422
        assert message in html_of(response)


def test_a_fields_values_are_counted_up_to_a_limit_on_the_subject_page(app, admin, make_order, monkeypatch):
    import views.admin

    monkeypatch.setattr(views.admin, "COUNTED_UP_TO", 2)  # 10,000 in use
    for renavam in ("01234567897", "01234567897", "01234567897"):
        make_order(subject="IPVA - 1º Emplacamento", field_values={"RENAVAM": renavam, "PLACA": "NBB0A00"})
    subject = one(app, Subject, name="IPVA - 1º Emplacamento")
    html = html_of(admin.get(f"/atendimento/admin/assuntos/{subject.id}"))
    assert html.count("Preenchido em mais de 2 O.S.; remover apaga esses valores.") == 2
    monkeypatch.setattr(views.admin, "COUNTED_UP_TO", 3)
    html = html_of(admin.get(f"/atendimento/admin/assuntos/{subject.id}"))
    assert html.count("Preenchido em 3 O.S.; remover apaga esses valores.") == 2


def test_removing_a_field_deletes_the_values_typed_in_it(app, admin, make_order):
    number = make_order(subject="IPVA - 1º Emplacamento",
                        field_values={"RENAVAM": "01234567897", "PLACA": "NBB0A00"})
    subject = one(app, Subject, name="IPVA - 1º Emplacamento")
    placa = one(app, SubjectField, subject_id=subject.id, label="PLACA")
    page = f"/atendimento/admin/assuntos/{subject.id}"
    assert "Preenchido em 1 O.S.; remover apaga esses valores." in html_of(admin.get(page))
    # One click on "Remover" only asks: the values would go for good.
    asked = post(admin, f"{page}/campos/{placa.id}/remover", {}, token_page=page)
    html = html_of(asked)
    assert asked.status_code == 200 and "Remover o campo PLACA?" in html
    assert "Ele está preenchido em 1 O.S. do assunto IPVA - 1º Emplacamento." in html
    assert 'name="confirmar" value="sim"' in html and "Cancelar" in html
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(FieldValue.value))) == ["01234567897", "NBB0A00"]
    response = post(admin, f"{page}/campos/{placa.id}/remover", {"confirmar": "sim"}, token_page=page)
    assert response.status_code == 303
    with app.app_context():
        values = db.session.scalars(sa.select(FieldValue.value)).all()
    assert values == ["01234567897"]
    citizen = app.test_client()
    open_in(app, citizen, number)
    order = html_of(citizen.get(f"/os/{number}"))
    assert "01234567897" in order and "NBB0A00" not in order


# --- Attendants ------------------------------------------------------------------------------

def test_attendant_create_with_departments(app, admin):
    departments = {d.name: d.id for d in [one(app, Department, name="Arrecadação"),
                                          one(app, Department, name="Fiscalização")]}
    path = "/atendimento/admin/atendentes/novo"
    page = html_of(admin.get(path))
    assert re.search(r'<label><input id="department_ids-\d" name="department_ids" type="checkbox" '
                     r'value="\d+"> Arrecadação</label>', page)
    response = post(admin, path, {"email": "  Eliane.Souza@Exemplo.gov.br ", "name": "Eliane Souza",
                                  "department_ids": list(departments.values()), "active": "y"})
    assert response.status_code == 303
    listing = html_of(admin.get("/atendimento/admin/atendentes"))
    assert "Cadastro de Eliane Souza feito. Para entrar, basta informar este e-mail em Atendimento" in listing
    assert "eliane.souza@exemplo.gov.br" in listing and "Arrecadação, Fiscalização" in listing
    with app.app_context():
        created = db.session.scalar(
            sa.select(Attendant).where(Attendant.email == "eliane.souza@exemplo.gov.br"))
        assert sorted(d.name for d in created.departments) == ["Arrecadação", "Fiscalização"]
        assert created.active and not created.is_admin
        created_id = created.id
    # Opened again, the form has their departments checked, and only those.
    checked = re.findall(r'<input checked id="department_ids-\d" name="department_ids" type="checkbox" '
                         r'value="(\d+)">', html_of(admin.get(f"/atendimento/admin/atendentes/{created_id}")))
    assert sorted(map(int, checked)) == sorted(departments.values())


def test_attendant_duplicate_email_is_refused_and_the_form_kept(app, admin):
    response = post(admin, "/atendimento/admin/atendentes/novo",
                    {"email": "ATENDIMENTO@exemplo.gov.br", "name": "Outro Marcos", "active": "y"})
    assert response.status_code == 422
    html = html_of(response)
    assert "Já existe um atendente com este e-mail." in html
    assert 'value="ATENDIMENTO@exemplo.gov.br"' in html and 'value="Outro Marcos"' in html
    response = post(admin, "/atendimento/admin/atendentes/novo", {"email": "", "name": ""})
    html = html_of(response)
    assert "Informe o endereço de e-mail do atendente." in html and "Informe o nome do atendente." in html


def assert_signed_out(browser):
    """The console answers this browser with its sign-in page, and its session is gone."""
    page = html_of(browser.get("/atendimento/"))
    assert "Enviar link de entrada" in page and "Fila de O.S." not in page
    with browser.session_transaction() as session:
        assert "staff" not in session


def test_deactivating_an_attendant_signs_them_out_at_once(app, admin):
    marcos_browser = app.test_client()
    marcos_id = sign_in_as(app, marcos_browser, MARCOS)
    assert "Fila de O.S." in html_of(marcos_browser.get("/atendimento/"))
    path = f"/atendimento/admin/atendentes/{marcos_id}"
    marcos = one(app, Attendant, id=marcos_id)
    response = post(admin, path, {"email": MARCOS, "name": "Marcos Atendente",
                                  "department_ids": [one(app, Department, name="Atendimento").id]})
    assert response.status_code == 303
    assert not one(app, Attendant, id=marcos_id).active
    assert_signed_out(marcos_browser)
    # Reactivated later, the old session does not come back.
    post(admin, path, {"email": MARCOS, "name": "Marcos Atendente", "active": "y"})
    assert one(app, Attendant, id=marcos_id).link_version > marcos.link_version
    assert_signed_out(marcos_browser)


def test_ending_sessions_signs_the_attendant_out_everywhere(app, admin):
    marcos_browser = app.test_client()
    marcos_id = sign_in_as(app, marcos_browser, MARCOS)
    assert "Fila de O.S." in html_of(marcos_browser.get("/atendimento/"))
    page = f"/atendimento/admin/atendentes/{marcos_id}"
    assert "Encerrar sessões" in html_of(admin.get(page))
    response = post(admin, f"{page}/encerrar-sessoes", {}, token_page=page)
    assert response.status_code == 303
    assert "Sessões de Marcos Atendente encerradas." in html_of(admin.get(page))
    assert_signed_out(marcos_browser)
    assert one(app, Attendant, id=marcos_id).active  # still an attendant, only signed out


def test_administrator_ending_their_own_sessions_stays_signed_in_here(app, admin):
    elsewhere = app.test_client()
    admin_id = sign_in_as(app, elsewhere, ADMIN)
    page = f"/atendimento/admin/atendentes/{admin_id}"
    response = post(admin, f"{page}/encerrar-sessoes", {}, token_page=page)
    assert response.status_code == 303
    assert "Suas outras sessões foram encerradas." in html_of(admin.get(page))
    assert elsewhere.get("/atendimento/admin/").status_code == 302


def test_administrator_cannot_demote_or_deactivate_themselves(app, admin):
    admin_id = one(app, Attendant, email=ADMIN).id
    path = f"/atendimento/admin/atendentes/{admin_id}"
    for data in ({"email": ADMIN, "name": "Administrador", "active": "y"},
                 {"email": ADMIN, "name": "Administrador", "is_admin": "y"}):
        response = post(admin, path, data)
        assert response.status_code == 422
        assert "Você não pode remover o seu próprio acesso de administrador." in html_of(response)
    saved = one(app, Attendant, id=admin_id)
    assert saved.is_admin and saved.active
    assert admin.get("/atendimento/admin/").status_code == 200


def test_changing_an_email_ends_the_sessions_but_not_the_administrators_own_here(app, admin):
    marcos_browser = app.test_client()
    marcos_id = sign_in_as(app, marcos_browser, MARCOS)
    response = post(admin, f"/atendimento/admin/atendentes/{marcos_id}",
                    {"email": "marcos@exemplo.gov.br", "name": "Marcos Atendente", "active": "y"})
    assert response.status_code == 303
    assert_signed_out(marcos_browser)  # sign-in links went to the old address

    admin_id = one(app, Attendant, email=ADMIN).id
    elsewhere = app.test_client()
    sign_in_as(app, elsewhere, ADMIN)
    response = post(admin, f"/atendimento/admin/atendentes/{admin_id}",
                    {"email": "chefia@exemplo.gov.br", "name": "Administrador", "is_admin": "y",
                     "active": "y"})
    assert response.status_code == 303
    assert admin.get("/atendimento/admin/").status_code == 200
    assert elsewhere.get("/atendimento/admin/").status_code == 302


def test_administrator_can_remove_another_administrators_flag(app, admin):
    marcos_browser = app.test_client()
    marcos_id = sign_in_as(app, marcos_browser, MARCOS)
    path = f"/atendimento/admin/atendentes/{marcos_id}"
    post(admin, path, {"email": MARCOS, "name": "Marcos Atendente", "is_admin": "y", "active": "y"})
    assert marcos_browser.get("/atendimento/admin/").status_code == 200
    post(admin, path, {"email": MARCOS, "name": "Marcos Atendente", "active": "y"})
    assert marcos_browser.get("/atendimento/admin/").status_code == 403


# --- Office settings -------------------------------------------------------------------------

def test_office_settings_show_the_current_values_and_change_the_pages_at_once(app, admin):
    path = "/atendimento/admin/secretaria"
    page = html_of(admin.get(path))
    assert 'value="Secretaria de Estado de Finanças"' in page and 'value="(69) 3211-6100"' in page
    assert "(69) 3211-6100" in html_of(app.test_client().get("/"))  # the home page a guest sees, kept
    response = post(admin, path, {"name": "Secretaria de Finanças de Rondônia", "phone": "(69) 3211-7000",
                                  "emails": "sac@sefin.ro.gov.br,  ouvidoria@sefin.ro.gov.br"})
    assert response.status_code == 303
    home = html_of(app.test_client().get("/"))
    assert '<span class="brand-office">Secretaria de Finanças de Rondônia</span>' in home
    assert "(69) 3211-7000" in home
    assert "mailto:sac@sefin.ro.gov.br" in home and "mailto:ouvidoria@sefin.ro.gov.br" in home
    assert 'value="sac@sefin.ro.gov.br, ouvidoria@sefin.ro.gov.br"' in html_of(admin.get(path))


def test_office_settings_validate_each_email_and_keep_what_was_typed(app, admin):
    path = "/atendimento/admin/secretaria"
    response = post(admin, path, {"name": "", "phone": "", "emails": "sac@sefin.ro.gov.br, sac@, ouvidoria"})
    assert response.status_code == 422
    html = html_of(response)
    assert "Informe o nome da secretaria." in html
    assert "Informe o telefone da Central de Atendimento." in html
    assert "Confira os endereços sac@, ouvidoria." in html
    assert 'value="sac@sefin.ro.gov.br, sac@, ouvidoria"' in html
    assert "Secretaria de Estado de Finanças" in html_of(app.test_client().get("/"))
