"""Citizen accounts: register, confirm, sign in by link, sign out, the O.S. (n) list, Perfil."""

import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from app import db
from conftest import csrf_token, deliver
from models import Contact, ServiceOrder, Status

BASE = "http://127.0.0.1:5000"


def link_in(mailbox, address, marker):
    deliver_pending = mailbox.to(address)
    assert deliver_pending, f"no mail to {address}"
    links = [l for l in mailbox.links(deliver_pending[-1]) if marker in l]
    assert links, f"no {marker} link in the mail to {address}"
    return links[-1].replace(BASE, "")


def register(app, client, email="eliane@exemplo.com.br", name="Eliane Barbosa", phone="(69) 3211-0000",
             extension=""):
    response = client.post("/cadastro", data={
        "csrf_token": csrf_token(client, "/cadastro"), "email": email, "name": name,
        "phone": phone, "extension": extension,
    })
    deliver(app)
    return response


def press_button(client, path):
    """What a citizen does on the page an e-mailed link opens: press its one button."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def registered(app, client, mailbox, email="eliane@exemplo.com.br", **kwargs):
    register(app, client, email=email, **kwargs)
    response = press_button(client, link_in(mailbox, email, "/cadastro/confirmar/"))
    assert response.status_code == 303
    return response


def test_register_page_has_the_manuals_labels(client):
    html = client.get("/cadastro").get_data(as_text=True)
    assert "Registro de conta" in html
    assert "Use os formulários abaixo para criar ou atualizar as informações de sua conta" in html
    assert "Informações de contato" in html
    for label in ("Endereço de e-mail", "Nome completo", "Número de telefone", "Ramal"):
        assert re.search(rf'<label class="label" for="\w+">{label}', html), label
    assert 'type="password"' not in html and "Crie uma senha" not in html  # magic links only


def test_register_confirm_signs_in_and_lists_os_opened_by_phone_before(app, client, make_order, mailbox):
    earlier = make_order(email="eliane@exemplo.com.br", name="Eliane B.")
    response = register(app, client, name="Eliane Barbosa")
    assert response.status_code == 303
    assert "Enviamos um link de confirmação" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/os").status_code == 302  # not signed in yet: nothing aggregated
    confirm_path = link_in(mailbox, "eliane@exemplo.com.br", "/cadastro/confirmar/")
    page = client.get(confirm_path).get_data(as_text=True)
    assert "Confirmar minha conta" in page
    done = client.post(confirm_path, data={"csrf_token": csrf_token(client, confirm_path)})
    assert done.headers["Location"] == "/conta/confirmada"
    html = client.get("/conta/confirmada").get_data(as_text=True)
    assert "Conta Confirmada!" in html and "Obrigado por se registrar." in html
    # "Você pode abrir uma nova O.S. ou gerenciar as O.S. existentes": both are offered.
    assert '<a class="button" href="/os/nova">Abrir uma nova O.S.</a>' in html
    assert "Você já confirmou o seu endereço de e-mail e sua conta foi ativada com êxito." in html
    # The contact known from the phone call keeps the name the office has; Perfil changes it,
    # and the page shows what is kept, with the way to change it.
    assert "Eliane B." in html and "Eliane Barbosa" not in html and "O.S. (1)" in html
    assert "<dt>Nome</dt><dd>Eliane B.</dd>" in html and "<dt>Telefone</dt><dd>(69) 3211-0000</dd>" in html
    assert 'atualize em <a href="/perfil">Perfil</a>' in html
    listing = client.get("/os").get_data(as_text=True)
    assert earlier in listing
    later = make_order(email="eliane@exemplo.com.br", message="Aberta depois pela central")
    assert later in client.get("/os").get_data(as_text=True)
    assert client.get(f"/os/{later}").status_code == 200


def test_a_mail_scanner_opening_the_confirmation_link_does_not_confirm(app, client, mailbox):
    register(app, client)
    path = link_in(mailbox, "eliane@exemplo.com.br", "/cadastro/confirmar/")
    scanner = app.test_client()
    assert scanner.get(path).status_code == 200
    with app.app_context():
        assert not db.session.scalar(sa.select(Contact)).has_account
    assert press_button(client, path).status_code == 303


def test_registering_an_existing_account_answers_the_same_and_mails_a_sign_in_link(app, client, mailbox):
    registered(app, client, mailbox)
    stranger = app.test_client()
    mailbox.clear()
    response = register(app, stranger, name="Impostor", phone="(11) 0000-0000")
    assert response.headers["Location"] == "/cadastro/enviado"
    [message] = mailbox.to("eliane@exemplo.com.br")
    assert "já possui uma conta" in mailbox.text(message)
    assert link_in(mailbox, "eliane@exemplo.com.br", "/entrar/")
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact))
        assert (contact.name, contact.phone) == ("Eliane Barbosa", "(69) 3211-0000")


def test_registering_never_renames_a_contact_known_from_an_os(app, client, make_order, mailbox):
    make_order(email="eliane@exemplo.com.br", name="Eliane Barbosa", phone="(69) 3211-0000")
    register(app, client, name="Impostor", phone="(11) 0000-0000")
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact))
        assert (contact.name, contact.phone, contact.has_account) == ("Eliane Barbosa", "(69) 3211-0000", False)


def test_register_validation_keeps_what_was_typed(client):
    response = client.post("/cadastro", data={"csrf_token": csrf_token(client, "/cadastro"),
                                              "email": "eliane@", "name": "", "phone": "abc",
                                              "extension": "12a"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Informe um endereço de e-mail válido", "Informe seu nome completo.",
                    "Use apenas números", "O ramal deve ter apenas números."):
        assert message in html
    assert 'value="eliane@"' in html and 'value="abc"' in html


def test_sign_in_link_works_once_and_is_safe_from_scanners(app, client, mailbox):
    registered(app, client, mailbox)
    client.post("/sair", data={"csrf_token": csrf_token(client, "/perfil")})
    assert client.get("/os").status_code == 302
    mailbox.clear()
    client.post("/entrar", data={"csrf_token": csrf_token(client, "/entrar"),
                                 "email": "Eliane@Exemplo.com.br"})
    deliver(app)
    path = link_in(mailbox, "eliane@exemplo.com.br", "/entrar/")
    assert app.test_client().get(path).status_code == 200  # the scanner's visit
    response = press_button(client, path)
    assert response.headers["Location"] == "/os"
    assert client.get("/os").status_code == 200
    reuse = app.test_client()
    again = reuse.get(path)
    assert again.status_code == 410
    assert "não vale mais" in again.get_data(as_text=True)


def test_sign_in_answers_the_same_for_unknown_addresses_and_sends_nothing(app, client, mailbox):
    known = client.post("/entrar", data={"csrf_token": csrf_token(client, "/entrar"),
                                         "email": "ninguem@exemplo.com.br"})
    assert known.headers["Location"] == "/entrar/enviado"
    deliver(app)
    assert mailbox.messages == []
    assert "Se houver uma conta com este e-mail" in client.get("/entrar/enviado").get_data(as_text=True)


def test_sign_in_link_expires(app, client, mailbox, monkeypatch):
    registered(app, client, mailbox)
    client.post("/sair", data={"csrf_token": csrf_token(client, "/perfil")})
    mailbox.clear()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 31 * 60)
    client.post("/entrar", data={"csrf_token": csrf_token(client, "/entrar"), "email": "eliane@exemplo.com.br"})
    deliver(app)  # the worker mints the link: 31 minutes ago, as far as it knows
    monkeypatch.undo()
    response = client.get(link_in(mailbox, "eliane@exemplo.com.br", "/entrar/"))
    assert response.status_code == 410
    assert "Este link expirou" in response.get_data(as_text=True)


def test_next_brings_the_citizen_back_and_only_to_local_paths(app, client, mailbox):
    registered(app, client, mailbox)
    client.post("/sair", data={"csrf_token": csrf_token(client, "/perfil")})
    response = client.get("/os?status=aberta")
    assert response.status_code == 302
    assert response.headers["Location"] == "/entrar?next=/os?status%3Daberta"
    for next_path, landing in (("/os?status=aberta", "/os?status=aberta"), ("https://evil.example/", "/os"),
                               ("//evil.example", "/os")):
        mailbox.clear()
        client.post(f"/entrar?next={next_path}", data={"csrf_token": csrf_token(client, "/entrar"),
                                                       "email": "eliane@exemplo.com.br"})
        deliver(app)
        assert press_button(client, link_in(mailbox, "eliane@exemplo.com.br", "/entrar/")).headers["Location"] == landing
        client.post("/sair", data={"csrf_token": csrf_token(client, "/perfil")})


def test_sign_out_is_a_post_and_clears_everything(app, client, mailbox):
    registered(app, client, mailbox)
    assert client.get("/sair").status_code == 405
    response = client.post("/sair", data={"csrf_token": csrf_token(client, "/perfil")})
    assert response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "Usuário Não Registrado" in html and "Você saiu do sistema." in html


def test_sign_out_everywhere_ends_other_sessions_and_old_links(app, client, make_order, mailbox):
    number = make_order()
    registered(app, client, mailbox)
    other_device = app.test_client()
    mailbox.clear()
    other_device.post("/entrar", data={"csrf_token": csrf_token(other_device, "/entrar"),
                                       "email": "eliane@exemplo.com.br"})
    deliver(app)
    press_button(other_device, link_in(mailbox, "eliane@exemplo.com.br", "/entrar/"))
    assert other_device.get("/os").status_code == 200
    # An access link e-mailed before also dies.
    old_link = app.test_client()
    old_link.post("/verificar", data={"csrf_token": csrf_token(old_link), "email": "eliane@exemplo.com.br",
                                      "number": number})
    deliver(app)
    access_path = link_in(mailbox, "eliane@exemplo.com.br", "/acesso/")
    response = client.post("/sair/todos", data={"csrf_token": csrf_token(client, "/perfil")})
    assert response.headers["Location"] == "/perfil"
    assert client.get("/os").status_code == 200  # this device stays in
    assert other_device.get("/os").status_code == 302
    assert old_link.get(access_path).status_code == 410


def open_orders(app, make_order, count, **kwargs):
    return [make_order(**kwargs) for _ in range(count)]


def set_status(app, number, status):
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        order.status = status
        db.session.commit()


def test_list_filters_by_status_with_counts_and_shows_the_columns(app, client, make_order, mailbox):
    numbers = open_orders(app, make_order, 4)
    set_status(app, numbers[0], Status.RESOLVIDA)
    set_status(app, numbers[1], Status.FECHADA)
    make_order(email="joao@exemplo.com.br", name="João")  # never listed for Eliane
    registered(app, client, mailbox)
    html = client.get("/os").get_data(as_text=True)
    for text in ("— Qualquer Status —", "Aberta (2)", "Resolvida (1)", "Fechada (1)", "Atualizar",
                 "Todas as O.S.", "Mostrando 1 - 4 de 4 O.S.", "Número da O.S.", "Data de Criação",
                 "Status", "Assunto", "Departamento", "Outros assuntos", "Atendimento", "O.S. (4)"):
        assert text in html, text
    abertas = client.get("/os?status=aberta").get_data(as_text=True)
    assert "<h2 id=\"lista-titulo\">Aberta</h2>" in abertas
    assert numbers[2] in abertas and numbers[0] not in abertas
    assert "Mostrando 1 - 2 de 2 O.S." in abertas


def test_list_paginates_sorts_and_survives_odd_parameters(app, client, make_order, mailbox):
    numbers = open_orders(app, make_order, 45)
    registered(app, client, mailbox)
    first = client.get("/os").get_data(as_text=True)
    assert "Mostrando 1 - 20 de 45 O.S." in first
    assert numbers[-1] in first and numbers[0] not in first  # newest first
    assert 'href="/os?pagina=3"' in first
    third = client.get("/os?pagina=3").get_data(as_text=True)
    assert "Mostrando 41 - 45 de 45 O.S." in third
    ascending = client.get("/os?ordem=menor-numero").get_data(as_text=True)
    assert ascending.index(numbers[0]) < ascending.index(numbers[1])
    # The column headings sort, keeping the filters and going back to page 1.
    filtered = client.get("/os?status=aberta&pagina=2").get_data(as_text=True)
    assert 'href="/os?status=aberta&amp;ordem=maior-numero"' in filtered
    assert 'href="/os?status=aberta&amp;ordem=antigas"' in filtered
    assert numbers[-1] not in ascending
    for query in ("pagina=999", "pagina=-1", "pagina=abc", "ordem=drop", "ordem=", "status=zzz",
                  "q=%25%27%22", "q=" + "9" * 300, "pagina=99999999999999999999"):
        response = client.get(f"/os?{query}")
        assert response.status_code == 200, query
    assert "Mostrando 41 - 45 de 45 O.S." in client.get("/os?pagina=999").get_data(as_text=True)


def test_list_search_by_whole_or_part_of_the_number_and_by_subject(app, client, make_order, mailbox):
    ipva = make_order(subject="IPVA - 1º Emplacamento",
                      field_values={"RENAVAM": "01234567897", "PLACA": "NBB0A00"})
    other = make_order()
    registered(app, client, mailbox)
    by_number = client.get(f"/os?q={ipva}").get_data(as_text=True)
    assert ipva in by_number and other not in by_number
    by_part = client.get(f"/os?q={ipva[-3:]}").get_data(as_text=True)
    assert ipva in by_part
    by_subject = client.get("/os?q=emplacamento").get_data(as_text=True)
    assert ipva in by_subject and other not in by_subject
    assert ipva in client.get("/os?q=EMPLACAMENTO").get_data(as_text=True)
    assert ipva in client.get("/os?q=1%C2%BA%20emplacamento").get_data(as_text=True)  # "1º emplacamento"
    nothing = client.get("/os?q=inexistente").get_data(as_text=True)
    assert "Sua consulta não retornou nenhum registro" in nothing


def test_list_and_profile_require_a_confirmed_account(app, client, make_order, mailbox):
    number = make_order()
    register(app, client)  # registered but not confirmed
    assert client.get("/os").status_code == 302
    assert client.get("/perfil").status_code == 302
    assert client.get(f"/os/{number}").status_code == 403


def test_an_access_link_to_another_emails_os_grants_that_os_only(app, client, make_order, mailbox):
    registered(app, client, mailbox)
    theirs = make_order(email="joao@exemplo.com.br", name="João")
    joao = app.test_client()
    joao.post("/verificar", data={"csrf_token": csrf_token(joao), "email": "joao@exemplo.com.br",
                                  "number": theirs})
    deliver(app)
    client.get(link_in(mailbox, "joao@exemplo.com.br", "/acesso/"))
    # Eliane's browser was signed in; the link grants João's O.S. but the list stays hers.
    assert client.get(f"/os/{theirs}").status_code == 200
    assert "O.S. (0)" in client.get("/").get_data(as_text=True)
    assert theirs not in client.get("/os").get_data(as_text=True)


def test_signed_in_citizen_opening_a_link_to_their_own_os_lands_on_it(app, client, make_order, mailbox):
    number = make_order()
    registered(app, client, mailbox)
    client.post("/verificar", data={"csrf_token": csrf_token(client), "email": "eliane@exemplo.com.br",
                                    "number": number})
    deliver(app)
    response = client.get(link_in(mailbox, "eliane@exemplo.com.br", "/acesso/"))
    assert response.headers["Location"] == f"/os/{number}"
    assert client.get(f"/os/{number}").status_code == 200
    assert client.get("/os").status_code == 200  # still signed in


def test_profile_edits_name_phone_and_extension(app, client, mailbox):
    registered(app, client, mailbox)
    response = client.post("/perfil", data={"csrf_token": csrf_token(client, "/perfil"),
                                            "email": "eliane@exemplo.com.br", "name": "Eliane B. Souza",
                                            "phone": "(69) 98888-7777", "extension": "204"})
    assert response.headers["Location"] == "/perfil"
    html = client.get("/perfil").get_data(as_text=True)
    assert "Seus dados foram salvos." in html
    assert 'value="Eliane B. Souza"' in html and 'value="204"' in html
    assert "Eliane B. Souza" in client.get("/").get_data(as_text=True)  # the header


def test_changing_the_email_needs_confirmation_at_the_new_address(app, client, make_order, mailbox):
    number = make_order()
    registered(app, client, mailbox)
    client.post("/verificar", data={"csrf_token": csrf_token(client), "email": "eliane@exemplo.com.br",
                                    "number": number})
    deliver(app)
    old_access = link_in(mailbox, "eliane@exemplo.com.br", "/acesso/")
    mailbox.clear()
    client.post("/perfil", data={"csrf_token": csrf_token(client, "/perfil"), "email": "nova@exemplo.com.br",
                                 "name": "Eliane Barbosa", "phone": "", "extension": ""})
    deliver(app)
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.email)) == "eliane@exemplo.com.br"  # nothing yet
    [notice] = mailbox.to("eliane@exemplo.com.br")
    assert "troca do e-mail" in mailbox.text(notice)
    assert "Aguardando confirmação do novo e-mail" in client.get("/perfil").get_data(as_text=True)
    path = link_in(mailbox, "nova@exemplo.com.br", "/perfil/email/")
    assert press_button(client, path).headers["Location"] == "/perfil"
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.email)) == "nova@exemplo.com.br"
    assert client.get("/os").status_code == 200
    assert number in client.get("/os").get_data(as_text=True)
    assert app.test_client().get(old_access).status_code == 410
    assert app.test_client().get(path).status_code == 410  # used


def test_new_email_with_os_of_its_own_brings_them_into_the_account(app, client, make_order, mailbox):
    registered(app, client, mailbox)
    mine = make_order(email="eliane@exemplo.com.br", name="Eliane Barbosa")
    by_phone = make_order(email="trabalho@exemplo.com.br", name="Eliane (trabalho)")
    client.post("/perfil", data={"csrf_token": csrf_token(client, "/perfil"), "email": "trabalho@exemplo.com.br",
                                 "name": "Eliane Barbosa", "phone": "", "extension": ""})
    deliver(app)
    press_button(client, link_in(mailbox, "trabalho@exemplo.com.br", "/perfil/email/"))
    html = client.get("/os").get_data(as_text=True)
    assert by_phone in html and mine in html
    assert "O.S. (2)" in html and "Aberta (2)" in html  # the counts moved with the O.S.


def test_new_email_of_another_account_changes_nothing_and_tells_its_owner(app, client, mailbox):
    registered(app, client, mailbox)
    registered(app, app.test_client(), mailbox, email="outra@exemplo.com.br", name="Outra Pessoa")
    mailbox.clear()
    response = client.post("/perfil", data={"csrf_token": csrf_token(client, "/perfil"),
                                            "email": "outra@exemplo.com.br", "name": "Eliane Barbosa",
                                            "phone": "", "extension": ""})
    assert "Enviamos um link de confirmação para outra@exemplo.com.br" in client.get(
        response.headers["Location"]).get_data(as_text=True)  # the same answer as for a free address
    deliver(app)
    [notice] = mailbox.to("outra@exemplo.com.br")
    assert "indicado em outra conta" in notice["Subject"]
    assert not [l for l in mailbox.links(notice) if "/perfil/email/" in l]
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Contact.email))) == ["eliane@exemplo.com.br", "outra@exemplo.com.br"]


def test_an_address_taken_after_the_link_was_sent_is_refused_at_confirmation(app, client, mailbox):
    registered(app, client, mailbox)
    client.post("/perfil", data={"csrf_token": csrf_token(client, "/perfil"), "email": "outra@exemplo.com.br",
                                 "name": "Eliane Barbosa", "phone": "", "extension": ""})
    deliver(app)
    path = link_in(mailbox, "outra@exemplo.com.br", "/perfil/email/")
    registered(app, app.test_client(), mailbox, email="outra@exemplo.com.br", name="Outra Pessoa")
    response = press_button(client, path)
    assert response.status_code == 409
    assert "já pertence a outra conta" in response.get_data(as_text=True)
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Contact.email))) == ["eliane@exemplo.com.br", "outra@exemplo.com.br"]


def test_typing_the_current_email_back_cancels_a_pending_change(app, client, mailbox):
    registered(app, client, mailbox)
    client.post("/perfil", data={"csrf_token": csrf_token(client, "/perfil"), "email": "errado@exemplo.com.br",
                                 "name": "Eliane Barbosa", "phone": "", "extension": ""})
    deliver(app)
    path = link_in(mailbox, "errado@exemplo.com.br", "/perfil/email/")
    response = client.post("/perfil", data={"csrf_token": csrf_token(client, "/perfil"),
                                            "email": "eliane@exemplo.com.br", "name": "Eliane Barbosa",
                                            "phone": "", "extension": ""})
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A troca de e-mail foi cancelada." in html
    assert "Aguardando confirmação" not in html
    stranger = app.test_client()
    assert stranger.get(path).status_code == 410  # whoever owns the mistyped mailbox gets nothing
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.email)) == "eliane@exemplo.com.br"


@pytest.mark.parametrize("path", ["/cadastro/confirmar/x", "/entrar/x", "/perfil/email/x"])
def test_bad_tokens_on_account_links_get_a_clear_page(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "Link inválido" in response.get_data(as_text=True)


def test_header_shows_name_profile_count_and_sign_out(app, client, make_order, mailbox):
    make_order()
    make_order()
    registered(app, client, mailbox)
    html = client.get("/").get_data(as_text=True)
    assert "Eliane Barbosa" in html and ">Perfil<" in html and "O.S. (2)" in html
    assert re.search(r'<form method="post" action="/sair"', html)
    assert "Usuário Não Registrado" not in html


def test_sign_in_requests_are_limited_per_address_without_changing_the_answer(app, client, mailbox):
    registered(app, client, mailbox)
    client.post("/sair", data={"csrf_token": csrf_token(client, "/perfil")})
    app.config["ACCOUNT_MAILS_PER_ADDRESS_HOUR"] = 3  # the confirmation already used one
    mailbox.clear()
    answers = set()
    for _ in range(4):
        other_ip = app.test_client()
        answers.add(other_ip.post("/entrar", data={"csrf_token": csrf_token(other_ip, "/entrar"),
                                                   "email": "eliane@exemplo.com.br"}).headers["Location"])
    deliver(app)
    assert answers == {"/entrar/enviado"}
    assert len(mailbox.to("eliane@exemplo.com.br")) == 2


def test_requests_for_unknown_addresses_use_up_nothing(app, client, mailbox):
    app.config.update(ACCOUNT_MAILS_PER_ADDRESS_HOUR=1, RATELIMIT_ACCOUNT="1000 per minute")
    for _ in range(5):  # someone hammering "Entrar" for an address without an account
        client.post("/entrar", data={"csrf_token": csrf_token(client, "/entrar"), "email": "nova@exemplo.com.br"})
    deliver(app)
    assert mailbox.messages == []
    register(app, client, email="nova@exemplo.com.br", name="Nova")  # the owner can still register
    assert link_in(mailbox, "nova@exemplo.com.br", "/cadastro/confirmar/")


def test_entrar_with_an_address_that_only_has_os_offers_to_create_the_account(app, client, make_order, mailbox):
    make_order(email="fone@exemplo.com.br", name="Fulano Telefone")
    client.post("/entrar", data={"csrf_token": csrf_token(client, "/entrar"), "email": "fone@exemplo.com.br"})
    deliver(app)
    [invite] = mailbox.to("fone@exemplo.com.br")
    assert "ainda não tem uma conta" in mailbox.text(invite)
    assert press_button(client, link_in(mailbox, "fone@exemplo.com.br", "/cadastro/confirmar/")).status_code == 303
    assert "Fulano Telefone" in client.get("/conta/confirmada").get_data(as_text=True)


def test_sign_in_requests_are_limited_per_ip_in_portuguese(app, client):
    app.config["RATELIMIT_ACCOUNT"] = "2 per minute"
    token = csrf_token(client, "/entrar")
    for _ in range(2):
        client.post("/entrar", data={"csrf_token": token, "email": "a@exemplo.com.br"})
    response = client.post("/entrar", data={"csrf_token": token, "email": "a@exemplo.com.br"})
    assert response.status_code == 429
    assert "Muitas tentativas" in response.get_data(as_text=True)
