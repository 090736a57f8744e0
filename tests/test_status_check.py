"""Página Principal and "Verificar Status da O.S.": neutral answers, validation, limits."""

import pytest
import sqlalchemy as sa

from app import db
from conftest import CSRF_TOKEN as TOKEN, csrf_token, deliver, open_in
from models import OutboxMessage

NEUTRAL = "Se o e-mail e o número informados conferirem, enviamos um link de acesso"


def post_check(client, email, number, token=None):
    return client.post("/verificar", data={
        "csrf_token": token or csrf_token(client), "email": email, "number": number,
    })


def test_home_shows_the_manuals_texts_and_labelled_fields(client):
    html = client.get("/").get_data(as_text=True)
    assert "Bem Vindo ao Sistema de Suporte" in html
    assert "Com o objetivo de centralizarmos todos nossos pedidos de atendimento" in html
    assert "Verificar Status da O.S." in html
    assert "Por favor, forneça seu endereço de e-mail e o número da O.S." in html
    assert '<label class="label" for="email">Endereço de E-mail' in html
    assert '<label class="label" for="number">Número da O.S.' in html
    assert "SISTEMA DE ORDEM DE SERVIÇO" in html
    assert "Usuário Não Registrado" in html
    assert "(69) 3211-6100" in html


def test_home_is_rendered_once_and_each_visitor_gets_a_token_of_their_own(app, make_order):
    number = make_order(email="eliane@exemplo.com.br")
    first, second = app.test_client(), app.test_client()
    pages = [c.get("/").get_data(as_text=True) for c in (first, second)]
    tokens = [TOKEN.search(p).group(1) for p in pages]
    assert tokens[0] != tokens[1]
    # The same page a fresh render gives, but for the token.
    app.config["TEMPLATES_AUTO_RELOAD"] = True
    fresh = app.test_client()
    rendered = fresh.get("/").get_data(as_text=True)
    app.config["TEMPLATES_AUTO_RELOAD"] = False
    assert pages[1].replace(tokens[1], "T") == rendered.replace(TOKEN.search(rendered).group(1), "T")
    assert pages[0].replace(tokens[0], "T") == pages[1].replace(tokens[1], "T")
    # Each visitor's token works for them, and not for another browser.
    assert post_check(first, "eliane@exemplo.com.br", number, tokens[1]).status_code == 400
    assert post_check(second, "eliane@exemplo.com.br", number, tokens[1]).status_code == 303
    assert post_check(first, "eliane@exemplo.com.br", number, tokens[0]).status_code == 303


def test_a_signed_in_citizens_home_is_never_the_one_guests_get(app, mailbox):
    from test_account import registered

    citizen, stranger = app.test_client(), app.test_client()
    registered(app, citizen, mailbox)
    for _ in range(2):  # first with nothing kept, then with the guests' page kept
        mine = citizen.get("/").get_data(as_text=True)
        assert '<span class="user-name">Eliane Barbosa</span>' in mine and "Usuário Não Registrado" not in mine
        theirs = stranger.get("/").get_data(as_text=True)
        assert "Eliane" not in theirs and "Usuário Não Registrado" in theirs


@pytest.mark.parametrize("key, value, shown", [
    ("name", "Secretaria de Finanças de Rondônia", '<span class="brand-office">Secretaria de Finanças de Rondônia</span>'),
    ("phone", "(69) 3211-7000", "<strong>(69) 3211-7000</strong>"),
    ("emails", "sac@sefin.ro.gov.br", 'href="mailto:sac@sefin.ro.gov.br"'),
])
def test_each_office_setting_changes_the_guests_home_at_once(app, key, value, shown):
    from models import OfficeSetting

    guest = app.test_client()
    assert shown not in guest.get("/").get_data(as_text=True)
    with app.app_context():
        db.session.merge(OfficeSetting(key=key, value=value))
        db.session.commit()
        OfficeSetting.forget()  # what saving the settings does in the administrator's process
    assert shown in guest.get("/").get_data(as_text=True)


def test_the_guests_home_under_a_path_prefix_links_there(app):
    guest = app.test_client()
    assert 'href="/os/nova"' in guest.get("/").get_data(as_text=True)
    prefixed = guest.get("/", base_url="http://localhost/prefixo").get_data(as_text=True)
    assert 'href="/prefixo/os/nova"' in prefixed and 'href="/os/nova"' not in prefixed


def test_home_shows_a_guests_sign_out_and_a_flash_next_to_the_page_others_get(app, make_order):
    number = make_order(email="eliane@exemplo.com.br")
    stranger, guest = app.test_client(), app.test_client()
    assert "Usuário Não Registrado" in stranger.get("/").get_data(as_text=True)
    open_in(app, guest, number)
    page = guest.get("/").get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    assert 'aria-label="Sair: encerrar o acesso às O.S. neste navegador"' in page
    assert page.count(f'value="{token}"') == 2  # the status check and the sign-out form
    assert "encerrar o acesso" not in stranger.get("/").get_data(as_text=True)
    signed_out = guest.post("/sair", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "Você saiu do sistema." in signed_out and "encerrar o acesso" not in signed_out
    assert "Você saiu do sistema." not in guest.get("/").get_data(as_text=True)


def test_matching_pair_emails_a_link_to_the_address_stored_on_the_os(app, client, make_order, mailbox):
    number = make_order(email="eliane@exemplo.com.br")
    response = post_check(client, "  ELIANE@Exemplo.com.br ", number.lstrip("0"))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert NEUTRAL in page
    assert deliver(app) == (1, 0)
    [message] = mailbox.messages
    assert message["X-Envelope-To"] == "eliane@exemplo.com.br"
    assert f"#{number}" in message["Subject"]
    assert any("/acesso/" in link for link in mailbox.links(message))


def test_wrong_number_gets_the_same_answer_and_sends_no_mail(app, client, make_order, mailbox):
    number = make_order(email="eliane@exemplo.com.br")
    other = make_order(email="joao@exemplo.com.br", name="João")
    right = post_check(client, "eliane@exemplo.com.br", number)
    wrong_pair = post_check(client, "eliane@exemplo.com.br", other)
    unknown = post_check(client, "eliane@exemplo.com.br", "99999999")
    assert right.status_code == wrong_pair.status_code == unknown.status_code == 303
    assert right.headers["Location"] == wrong_pair.headers["Location"] == unknown.headers["Location"]
    deliver(app)
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["X-Envelope-To"] == "eliane@exemplo.com.br"
    assert not mailbox.to("joao@exemplo.com.br")


def test_empty_fields_get_clear_messages_in_portuguese(client):
    response = post_check(client, "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Informe seu endereço de e-mail." in html
    assert "Informe o número da O.S." in html


def test_malformed_email_and_non_numeric_number_keep_what_was_typed(client):
    response = post_check(client, "eliane@", "abc-12")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Informe um endereço de e-mail válido" in html
    assert "Informe o número da O.S. com até 8 dígitos" in html
    assert 'value="eliane@"' in html
    assert 'value="abc-12"' in html


def test_unicode_digits_and_too_long_numbers_are_refused_not_crashed(client):
    for number in ("２１７２", "123456789", "1e5", "-1", "0x10"):
        response = post_check(client, "a@exemplo.com.br", number)
        assert response.status_code == 422, number
        assert "até 8 dígitos" in response.get_data(as_text=True)


def test_huge_inputs_get_a_message_not_a_500(client):
    response = post_check(client, "a" * 100_000 + "@exemplo.com.br", "1" * 100_000)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "no máximo 254 caracteres" in html


def test_status_check_without_csrf_token_is_refused_in_portuguese(client, make_order, app):
    number = make_order()
    response = client.post("/verificar", data={"email": "eliane@exemplo.com.br", "number": number})
    assert response.status_code == 400
    assert "Formulário expirado" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_per_ip_limit_answers_on_the_form_and_keeps_the_input(app, client, make_order):
    app.config["RATELIMIT_STATUS_CHECK"] = "3 per minute"
    number = make_order()
    token = csrf_token(client)
    for _ in range(3):
        assert post_check(client, "eliane@exemplo.com.br", number, token).status_code == 303
    response = post_check(client, "eliane@exemplo.com.br", number, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "muitas tentativas" in html.lower()
    assert 'value="eliane@exemplo.com.br"' in html
    assert f'value="{number}"' in html


def test_access_links_per_os_are_capped_per_hour_with_the_same_answer(app, client, make_order, mailbox):
    app.config["ACCESS_LINKS_PER_HOUR"] = 2
    number = make_order()
    token = csrf_token(client)
    answers = {post_check(client, "eliane@exemplo.com.br", number, token).headers["Location"]
               for _ in range(4)}
    assert len(answers) == 1
    deliver(app)
    assert len(mailbox.messages) == 2


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_the_request_does_the_same_work_whether_or_not_the_pair_matches(app, client, make_order):
    number = make_order()
    from models import MailRequest

    def rows():
        with app.app_context():
            return (db.session.scalar(sa.select(sa.func.count(MailRequest.id))),
                    db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))))

    token = csrf_token(client)
    post_check(client, "eliane@exemplo.com.br", number, token)
    assert rows() == (1, 0)  # nothing decided, nothing rendered while the citizen waits
    post_check(client, "outra@exemplo.com.br", number, token)
    assert rows() == (2, 0)
    deliver(app)
    assert rows() == (0, 1)  # the worker sent the one match and forgot both requests


def test_wrong_guesses_for_an_address_never_lock_its_owner_out(app, make_order, mailbox):
    app.config["RATELIMIT_STATUS_CHECK"] = "1000 per minute"  # guesses from many addresses
    number = make_order()
    for i in range(25):
        guesser = app.test_client()
        post_check(guesser, "eliane@exemplo.com.br", f"{90000000 + i}")
    post_check(app.test_client(), "eliane@exemplo.com.br", number)
    deliver(app)
    assert len(mailbox.to("eliane@exemplo.com.br")) == 1


def test_links_to_one_address_are_capped_per_hour(app, make_order, mailbox):
    app.config["ACCESS_LINKS_PER_ADDRESS_HOUR"] = 2
    numbers = [make_order() for _ in range(3)]
    for number in numbers:
        post_check(app.test_client(), "eliane@exemplo.com.br", number)
    deliver(app)
    assert len(mailbox.to("eliane@exemplo.com.br")) == 2


def test_a_get_on_the_status_check_address_goes_home(client):
    response = client.get("/verificar")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_failed_mail_request_leaves_every_other_commit_waiting_for_the_disk(app):
    """A mail request commits without waiting for the disk; if it fails, the connection must
    not go back to the pool with that setting for the next reply to inherit."""
    import pytest

    from notifications import request_mail

    with app.app_context():
        db.engine.dispose()  # one connection, so the check below gets the one that failed
        with pytest.raises(sa.exc.IntegrityError):
            request_mail("access", None, 2172)  # an e-mail is required: the INSERT fails
        with db.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            else:  # the server's own setting (the test server runs with it off), not ours
                assert connection.exec_driver_sql(
                    "SELECT setting = reset_val FROM pg_settings WHERE name = 'synchronous_commit'").scalar()
