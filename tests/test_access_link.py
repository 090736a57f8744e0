"""Access links: signed, expiring, bound to one O.S. and its e-mail, revocable, scanner-safe."""

import re
import time

import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from app import db
from conftest import csrf_token, deliver
from models import Contact, ServiceOrder
from tokens import make_token


def request_link(app, client, mailbox, email, number) -> str:
    client.post("/verificar", data={"csrf_token": csrf_token(client), "email": email,
                                    "number": number})
    deliver(app)
    [message] = mailbox.to(email)[-1:]
    [link] = [link for link in mailbox.links(message) if "/acesso/" in link]
    return link


def path_of(link: str) -> str:
    return link.split("127.0.0.1:5000", 1)[1]


def test_link_from_the_received_email_lands_on_the_os_at_a_clean_url(app, client, make_order, mailbox):
    number = make_order(message="Solicito lançamento do IPVA.")
    link = request_link(app, client, mailbox, "eliane@exemplo.com.br", number)
    assert link.startswith("http://127.0.0.1:5000/acesso/")  # BASE_URL, not the Host header
    response = client.get(path_of(link))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/os/{number}"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = client.get(f"/os/{number}").get_data(as_text=True)
    assert f"O.S. #{number}" in page
    assert "Solicito lançamento do IPVA." in page


def test_a_scanner_opening_the_link_first_does_not_use_it_up(app, make_order, mailbox):
    number = make_order()
    citizen = app.test_client()
    link = request_link(app, citizen, mailbox, "eliane@exemplo.com.br", number)
    scanner = app.test_client()
    assert scanner.get(path_of(link)).status_code == 303
    assert citizen.get(path_of(link)).status_code == 303
    assert citizen.get(f"/os/{number}").status_code == 200


def test_the_link_opens_that_os_only(app, client, make_order, mailbox):
    mine = make_order(email="eliane@exemplo.com.br")
    my_other = make_order(email="eliane@exemplo.com.br", message="Outra O.S. minha")
    theirs = make_order(email="joao@exemplo.com.br", name="João")
    client.get(path_of(request_link(app, client, mailbox, "eliane@exemplo.com.br", mine)))
    assert client.get(f"/os/{mine}").status_code == 200
    for number in (my_other, theirs, "99999999"):
        response = client.get(f"/os/{number}")
        assert response.status_code == 403
        assert "Acesso à O.S." in response.get_data(as_text=True)


def test_a_missing_os_and_a_forbidden_one_look_the_same(client, make_order):
    number = make_order()
    token = re.compile(r'name="csrf_token" type="hidden" value="[^"]+"')  # signed with the time
    forbidden = token.sub("", client.get(f"/os/{number}").get_data(as_text=True))
    missing = token.sub("", client.get("/os/99999999").get_data(as_text=True))
    assert forbidden.replace(number, "X") == missing.replace("99999999", "X")


def test_an_expired_link_gets_a_clear_page_with_the_form_to_ask_again(app, client, make_order, monkeypatch):
    number = make_order()
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 73 * 3600)
    with app.test_request_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        token = make_token("access", {"o": order.id, "c": order.contact_id, "v": 0})
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    response = client.get(f"/acesso/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "Este link de acesso expirou" in html
    assert f'value="{number}"' in html
    assert 'action="/verificar"' in html
    assert client.get(f"/os/{number}").status_code == 403


def test_a_tampered_link_is_refused(app, client, make_order, mailbox):
    number = make_order()
    link = request_link(app, client, mailbox, "eliane@exemplo.com.br", number)
    path = path_of(link)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "Link de acesso inválido" in response.get_data(as_text=True)
    assert client.get(f"/os/{number}").status_code == 403


def test_garbage_and_huge_tokens_are_refused_without_error(client):
    for token in ("x", "a.b.c", "%00", "é" * 20, "A" * 5000):
        response = client.get(f"/acesso/{token}")
        assert response.status_code == 400, token
        assert "Link de acesso inválido" in response.get_data(as_text=True)


def test_a_token_minted_for_another_purpose_does_not_open_an_os(app, client, make_order):
    number = make_order()
    with app.test_request_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        token = make_token("signin", {"o": order.id, "c": order.contact_id, "v": 0})
    assert client.get(f"/acesso/{token}").status_code == 400


def test_raising_the_revocation_counter_kills_links_and_open_sessions(app, client, make_order, mailbox):
    number = make_order()
    link = request_link(app, client, mailbox, "eliane@exemplo.com.br", number)
    client.get(path_of(link))
    assert client.get(f"/os/{number}").status_code == 200
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == "eliane@exemplo.com.br"))
        contact.link_version += 1
        db.session.commit()
    assert client.get(f"/os/{number}").status_code == 403
    response = client.get(path_of(link))
    assert response.status_code == 410
    assert "não vale mais" in response.get_data(as_text=True)


def test_changing_the_contacts_email_kills_old_links(app, client, make_order, mailbox):
    number = make_order()
    link = request_link(app, client, mailbox, "eliane@exemplo.com.br", number)
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == "eliane@exemplo.com.br"))
        contact.email = "eliane.nova@exemplo.com.br"
        db.session.commit()
    assert client.get(path_of(link)).status_code == 410
    assert client.get(f"/os/{number}").status_code == 403


def test_access_ends_with_the_browser_and_a_guest_can_sign_out(app, client, make_order, mailbox):
    number = make_order()
    response = client.get(path_of(request_link(app, client, mailbox, "eliane@exemplo.com.br", number)))
    cookie = response.headers["Set-Cookie"]
    assert "Expires" not in cookie and "Max-Age" not in cookie  # a browser-session cookie
    page = client.get(f"/os/{number}").get_data(as_text=True)
    assert 'action="/sair"' in page
    client.post("/sair", data={"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)})
    assert client.get(f"/os/{number}").status_code == 403
