"""The commands of INTERFACES.md, run as an operator would."""

import os
import re
import subprocess

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import db
from conftest import deliver, staff_session
from models import Attendant, Contact, ServiceOrder, Subject


def test_os_new_prints_the_number_and_mails_the_citizen_a_working_link(app, runner, catalogue, mailbox):
    result = runner.invoke(args=[
        "os", "new", "--email", "Maria@Exemplo.com.br", "--name", "Maria Souza",
        "--subject", "IPVA - 1º Emplacamento", "--message", "Ligou pedindo a guia.\n\nTem urgência.",
        "--phone", "(69) 99999-0000", "--channel", "balcão",
    ])
    assert result.exit_code == 0, result.output
    number = result.output.strip()
    assert re.fullmatch(r"\d{8}", number)
    with app.app_context():
        order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == int(number)))
        assert order.channel == "Balcão"
        assert order.contact.email == "maria@exemplo.com.br"
        assert order.entries[0].body_html == "<p>Ligou pedindo a guia.</p><p>Tem urgência.</p>"
    deliver(app)
    [message] = mailbox.to("maria@exemplo.com.br")
    assert number in message["Subject"]
    [link] = [l for l in mailbox.links(message) if "/acesso/" in l]
    client = app.test_client()
    landing = client.get(link.split("127.0.0.1:5000", 1)[1])
    assert landing.headers["Location"] == f"/os/{number}"
    assert "Ligou pedindo a guia." in client.get(f"/os/{number}").get_data(as_text=True)


def test_os_numbers_are_consecutive_and_unique(runner, catalogue):
    numbers = []
    for i in range(3):
        result = runner.invoke(args=["os", "new", "--email", f"p{i}@exemplo.com.br", "--name", "P",
                                     "--subject", "Outros assuntos", "--message", "Oi"])
        numbers.append(int(result.output))
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_os_new_with_unknown_subject_fails_and_lists_the_subjects(runner, catalogue):
    result = runner.invoke(args=["os", "new", "--email", "a@exemplo.com.br", "--name", "A",
                                 "--subject", "Inexistente", "--message", "Oi"])
    assert result.exit_code != 0
    assert "IPVA - 1º Emplacamento" in result.output


def test_os_new_keeps_an_existing_contacts_name(app, runner, catalogue):
    for name in ("Eliane Barbosa", "Impostor"):
        runner.invoke(args=["os", "new", "--email", "eliane@exemplo.com.br", "--name", name,
                            "--subject", "Outros assuntos", "--message", "Oi"])
    with app.app_context():
        assert db.session.scalar(sa.select(Contact.name)) == "Eliane Barbosa"


def test_staff_add_creates_an_attendant_in_a_department(app, runner, catalogue):
    result = runner.invoke(args=["staff", "add", "Ana@Exemplo.gov.br", "Ana Lima",
                                 "--department", "Arrecadação"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["staff", "add", "chefe@exemplo.gov.br", "Chefe", "--admin"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        ana = db.session.scalar(sa.select(Attendant).where(Attendant.email == "ana@exemplo.gov.br"))
        assert [d.name for d in ana.departments] == ["Arrecadação"] and not ana.is_admin
        chefe = db.session.scalar(sa.select(Attendant).where(Attendant.email == "chefe@exemplo.gov.br"))
        assert chefe.is_admin
    bad = runner.invoke(args=["staff", "add", "x@exemplo.gov.br", "X", "--department", "Nenhum"])
    assert bad.exit_code != 0 and "não existe" in bad.output


def test_demo_is_idempotent_and_has_the_ipva_subject(app, runner):
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == second.exit_code == 0
    assert "00002172" in first.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ServiceOrder.id))) == 3
        ipva = db.session.scalar(sa.select(Subject).where(Subject.name == "IPVA - 1º Emplacamento"))
        assert [(f.label, f.kind.value) for f in ipva.fields] == [("RENAVAM", "renavam"), ("PLACA", "placa")]
    admin = staff_session(app, app.test_client(), "admin@exemplo.gov.br")
    history = admin.get("/atendimento/os/00002172").get_data(as_text=True)
    assert "15/05/2015 10:30" in history.split("Quem fez o quê", 1)[1]  # opened then, not today


def test_db_upgrade_builds_the_schema_the_models_describe(app, runner):
    with app.app_context():
        db.drop_all()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0, again.output
    with app.app_context(), db.engine.connect() as connection:
        from search import is_search_object

        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            "include_object": lambda obj, name, type_, reflected, other: not (reflected and is_search_object(name)),
        })
        diff = [d for d in compare_metadata(context, db.metadata)]
        assert diff == []
        connection.execute(sa.text("DROP TABLE alembic_version"))
        connection.commit()


def run_one_migration(app, runner, before: str, migration: str, *undo: str) -> None:
    """Run one migration on the test database as if it stood at `before`: the `undo`
    statements first put back what that migration changes."""
    with app.app_context(), db.engine.connect() as connection:
        for statement in undo:
            connection.execute(sa.text(statement))
        connection.execute(sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(sa.text("DELETE FROM alembic_version"))
        connection.execute(sa.text("INSERT INTO alembic_version VALUES (:before)"), {"before": before})
        connection.commit()
    try:
        result = runner.invoke(args=["db", "upgrade", migration])  # this migration only
        assert result.exit_code == 0, result.output
    finally:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(sa.text("DROP TABLE alembic_version"))
            connection.commit()


def test_a_message_written_before_the_lower_cased_search_text_is_still_found(app, runner, make_order):
    """Migration 0a7c3e9b5d21: PostgreSQL now matches the stored text with LIKE, so the text
    of older messages is lower-cased by the upgrade (SQLite's full-text index folds case)."""
    number = make_order(message="Pedido de REVISÃO do Lançamento")
    run_one_migration(app, runner, "8e41c7d2a6f0", "0a7c3e9b5d21",
                      "UPDATE thread_entry SET body_text = 'Pedido de REVISÃO do Lançamento'")
    admin = staff_session(app, app.test_client(), "admin@exemplo.gov.br")
    for query in ("revisão do lançamento", "REVISÃO DO LANÇAMENTO"):
        html = admin.get(f"/atendimento/?status=todas&q={query}").get_data(as_text=True)
        assert f">{number}<" in html, query


def test_an_os_registered_before_its_phone_was_searchable_is_found_after_the_upgrade(app, runner, make_order):
    """Migration e7a2c9d41b35 fills the phone's last digits of the O.S. already stored."""
    number = make_order(phone="(69) 3211-0000")  # the contact's; the O.S. gets another below
    run_one_migration(app, runner, "c5e8a1f3d902", "e7a2c9d41b35", "DROP INDEX ix_service_order_phone_tail",
                      "ALTER TABLE service_order DROP COLUMN phone_tail",
                      "UPDATE service_order SET phone = '(69) 8400-0000'")
    with app.app_context():
        assert db.session.scalar(sa.select(ServiceOrder.phone_tail)) == "84000000"
    admin = staff_session(app, app.test_client(), "admin@exemplo.gov.br")
    html = admin.get("/atendimento/?status=todas&q=8400-0000").get_data(as_text=True)
    assert f">{number}<" in html


def test_os_new_refuses_values_too_long_with_a_message(runner, catalogue):
    for option, value in (("--name", "N" * 500), ("--phone", "9" * 60)):
        options = {"--email": "a@exemplo.com.br", "--name": "Ana", "--subject": "Outros assuntos",
                   "--message": "Oi", option: value}
        result = runner.invoke(args=["os", "new", *[x for pair in options.items() for x in pair]])
        assert result.exit_code == 2, (option, result.output)
        assert "no máximo" in result.output
        assert "Traceback" not in result.output


def test_staff_add_refuses_an_empty_name(runner):
    result = runner.invoke(args=["staff", "add", "x@exemplo.gov.br", "  "])
    assert result.exit_code == 2
    assert "não pode ficar vazio" in result.output


def _make_run_commands(*variables: str, **environment: str) -> list[str]:
    """The commands `make run` would run (make -n: printed, none run)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BASE_URL", "PORT", "HOST", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")} | environment
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(["make", "-n", "run", *variables], cwd=root, env=env,
                            capture_output=True, text=True, check=True)
    return [line for line in result.stdout.splitlines() if "flask --app app" in line]


def test_make_run_on_another_port_mails_links_to_that_port():
    """A developer who runs `make run PORT=5077` clicks links in /dev/mail that open that
    server, not one on port 5000; an address set by hand is kept; at the default address
    make says nothing (a .env file may set it; the app's default is that address)."""
    commands = _make_run_commands("PORT=5077")
    served = [c for c in commands if " run --host" in c]
    assert served and "--port 5077" in served[0]
    assert all("BASE_URL=http://127.0.0.1:5077 " in c for c in commands if " db upgrade" not in c), commands
    assert "BASE_URL" not in _make_run_commands()[-1]
    kept = _make_run_commands("PORT=5077", BASE_URL="https://os.exemplo.gov.br")
    assert "BASE_URL=https://os.exemplo.gov.br " in kept[-1]
