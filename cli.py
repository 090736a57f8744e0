"""Command-line commands (names in shared/spec/INTERFACES.md): `demo`, `staff add`,
`os new`, `mail send` and `mail worker`. `db upgrade` comes from Flask-Migrate.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app import db
from models import (CHANNELS, Attachment, Attendant, AuditEvent, Contact, Department, EntryKind,
                    FieldKind, NumberSequence, ServiceOrder, Status, Subject, SubjectField,
                    ThreadEntry, normalize_email)
from notifications import send_new_order
from outbox import deliver_due, run_worker
from sanitize import text_to_html

staff_cli = AppGroup("staff", help="Atendentes.")
os_cli = AppGroup("os", help="Ordens de serviço.")
mail_cli = AppGroup("mail", help="Entrega dos e-mails do outbox.")


def _valid_email(value: str) -> str:
    if len(value) > 254:
        raise click.BadParameter("e-mail com mais de 254 caracteres")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise click.BadParameter(f"e-mail inválido: {exc}") from None


def _text(value: str, option: str, maximum: int, required: bool = True) -> str | None:
    """A trimmed option value that fits its column, or a clear error."""
    value = (value or "").strip()
    if "\x00" in value:
        raise click.BadParameter("contém caracteres inválidos", param_hint=option)
    if required and not value:
        raise click.BadParameter("não pode ficar vazio", param_hint=option)
    if len(value) > maximum:
        raise click.BadParameter(f"use no máximo {maximum} caracteres", param_hint=option)
    return value or None


def _department_named(name: str) -> Department:
    department = db.session.scalar(
        sa.select(Department).where(sa.func.lower(Department.name) == name.strip().lower())
    )
    if department is None:
        names = ", ".join(db.session.scalars(sa.select(Department.name).order_by(Department.name)))
        raise click.BadParameter(f"departamento {name!r} não existe. Existentes: {names or 'nenhum'}")
    return department


@staff_cli.command("add")
@click.argument("email")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Administrador (vê e administra tudo).")
@click.option("--department", "departments", multiple=True, help="Departamento (pode repetir).")
def staff_add(email, name, admin, departments):
    """Cria (ou atualiza) um atendente, que então pede um link de acesso."""
    email = normalize_email(_valid_email(email))
    name = _text(name, "NAME", 120)
    chosen = [_department_named(d) for d in departments]
    attendant = db.session.scalar(sa.select(Attendant).where(Attendant.email == email))
    created = attendant is None
    if created:
        attendant = Attendant(email=email, name=name)
        db.session.add(attendant)
    attendant.name = name
    attendant.is_admin = attendant.is_admin or admin
    attendant.active = True
    for department in chosen:
        if department not in attendant.departments:
            attendant.departments.append(department)
    db.session.commit()
    click.echo(f"Atendente {'criado' if created else 'atualizado'}: {attendant.name}"
               f"{' (administrador)' if attendant.is_admin else ''}")


@os_cli.command("new")
@click.option("--email", required=True, help="E-mail do cidadão.")
@click.option("--name", required=True, help="Nome do cidadão.")
@click.option("--subject", required=True, help="Assunto, pelo nome.")
@click.option("--message", required=True, help="Texto do pedido.")
@click.option("--phone", default=None, help="Telefone informado.")
@click.option("--channel", default="Telefone", show_default=True,
              help="Localidade: " + ", ".join(CHANNELS))
@click.option("--department", default=None, help="Departamento, se não o do assunto.")
def os_new(email, name, subject, message, phone, channel, department):
    """Abre uma O.S. como a Central de Atendimento, imprime o número e envia o e-mail."""
    email = _valid_email(email)
    name = _text(name, "--name", 120)
    phone = _text(phone, "--phone", 40, required=False)
    message = _text(message, "--message", 100_000)
    channel_match = [c for c in CHANNELS if c.lower() == channel.strip().lower()]
    if not channel_match:
        raise click.BadParameter(f"use uma de: {', '.join(CHANNELS)}", param_hint="--channel")
    chosen_subject = db.session.scalar(
        sa.select(Subject).where(sa.func.lower(Subject.name) == subject.strip().lower())
    )
    if chosen_subject is None:
        names = ", ".join(db.session.scalars(sa.select(Subject.name).order_by(Subject.name)))
        raise click.BadParameter(f"assunto {subject!r} não existe. Existentes: {names or 'nenhum'}",
                                 param_hint="--subject")
    contact = Contact.find_or_create(email, name, phone)
    order = ServiceOrder.open(
        contact=contact, subject=chosen_subject, body_html=text_to_html(message),
        channel=channel_match[0], phone=phone,
        department=_department_named(department) if department else None,
    )
    db.session.flush()
    send_new_order(order)
    db.session.commit()
    click.echo(order.display_number)


@mail_cli.command("send")
def mail_send():
    """Entrega uma vez o que está na vez no outbox e termina."""
    total_sent = total_failed = 0
    while True:
        sent, failed = deliver_due()
        total_sent += sent
        total_failed += failed
        if sent == 0:
            break
    click.echo(f"enviadas: {total_sent}, falhas: {total_failed}")


@mail_cli.command("worker")
@click.option("--interval", default=2.0, show_default=True, help="Segundos entre verificações.")
def mail_worker(interval):
    """Entrega o outbox continuamente (processo de e-mail em produção)."""
    run_worker(interval=interval)


DEMO_DEPARTMENTS = [("Atendimento", True), ("Arrecadação", False), ("Fiscalização", False)]
DEMO_SUBJECTS = [
    ("IPVA - 1º Emplacamento", "Atendimento",
     [("RENAVAM", FieldKind.RENAVAM, True), ("PLACA", FieldKind.PLACA, True)]),
    ("IPVA - Restituição", "Arrecadação",
     [("RENAVAM", FieldKind.RENAVAM, True), ("PLACA", FieldKind.PLACA, False)]),
    ("Certidão Negativa de Débitos", "Atendimento", [("CPF/CNPJ", FieldKind.CPF_CNPJ, True)]),
    ("ICMS - Parcelamento", "Arrecadação",
     [("CPF/CNPJ", FieldKind.CPF_CNPJ, True), ("Número do parcelamento", FieldKind.TEXT, False)]),
    ("ITCD - Declaração", "Fiscalização",
     [("CPF/CNPJ", FieldKind.CPF_CNPJ, True), ("Data do fato gerador", FieldKind.DATE, False),
      ("Tipo", FieldKind.CHOICE, True, "Doação\nHerança")]),
    ("Outros assuntos", "Atendimento", []),
]
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _local(year, month, day, hour, minute):
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def _seed_catalogue() -> None:
    departments = {}
    for name, is_default in DEMO_DEPARTMENTS:
        department = db.session.scalar(sa.select(Department).where(Department.name == name))
        if department is None:
            department = Department(name=name, is_default=is_default)
            db.session.add(department)
        departments[name] = department
    for position, (name, department_name, fields) in enumerate(DEMO_SUBJECTS):
        if db.session.scalar(sa.select(Subject.id).where(Subject.name == name)) is None:
            subject = Subject(name=name, department=departments[department_name], position=position)
            for field_position, spec in enumerate(fields):
                label, kind, required = spec[:3]
                subject.fields.append(SubjectField(
                    label=label, kind=kind, required=required, position=field_position,
                    choices=spec[3] if len(spec) > 3 else None,
                ))
            db.session.add(subject)
    for email, name, admin, department in [
        ("admin@exemplo.gov.br", "Administrador", True, None),
        ("atendimento@exemplo.gov.br", "Marcos Atendente", False, "Atendimento"),
    ]:
        if db.session.scalar(sa.select(Attendant.id).where(Attendant.email == email)) is None:
            attendant = Attendant(email=email, name=name, is_admin=admin)
            if department:
                attendant.departments.append(departments[department])
            db.session.add(attendant)
    db.session.flush()


def _seed_orders() -> list[ServiceOrder]:
    if db.session.scalar(sa.select(ServiceOrder.id).limit(1)) is not None:
        return []
    # The manual's example is O.S. #00002172: numbering continues from the old system.
    if db.session.get(NumberSequence, "service_order") is None:
        db.session.add(NumberSequence(name="service_order", value=2171))
        db.session.flush()
    subjects = {s.name: s for s in db.session.scalars(sa.select(Subject))}
    marcos = db.session.scalar(sa.select(Attendant).where(Attendant.email == "atendimento@exemplo.gov.br"))
    eliane = Contact.find_or_create("eliane@exemplo.com.br", "Eliane Barbosa", "(69) 3211-0000")
    joao = Contact.find_or_create("joao.silva@exemplo.com.br", "João da Silva", "(69) 99999-1234")
    db.session.flush()
    ipva = subjects["IPVA - 1º Emplacamento"]
    fields = {f.label: f.id for f in ipva.fields}

    first = ServiceOrder.open(
        contact=eliane, subject=ipva, channel="Usuário Externo", phone="8400-0000",
        body_html=text_to_html("Solicito lançamento do IPVA referente ao veículo informado. "
                               "Segue anexo cópia da nota fiscal."),
        field_values={fields["RENAVAM"]: "01234567897", fields["PLACA"]: "NBB0A00"},
    )
    created = _local(2015, 5, 15, 10, 30)
    first.created_at = first.updated_at = first.entries[0].created_at = created
    db.session.flush()
    # Its history ("Quem fez o quê") starts when it was opened too, not today.
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.service_order_id == first.id)
                       .values(created_at=created))
    stored = f"demo-{secrets.token_hex(8)}.pdf"
    path = f"{current_app.config['UPLOAD_DIR']}/{stored}"
    with open(path, "wb") as fh:
        fh.write(DEMO_PDF)
    db.session.add(Attachment(entry=first.entries[0], service_order_id=first.id,
                              stored_name=stored, original_name="nota-fiscal.pdf",
                              size=len(DEMO_PDF), content_type="application/pdf"))
    reply_at = _local(2015, 5, 15, 14, 5)
    first.entries.append(ThreadEntry(
        kind=EntryKind.REPLY, author_name=marcos.name, attendant=marcos, created_at=reply_at,
        body_html=text_to_html("Prezada Eliane,\n\nRecebemos a nota fiscal. O lançamento do IPVA "
                               "será feito em até 2 dias úteis e a guia ficará disponível no portal."),
    ))
    first.entries.append(ThreadEntry(
        kind=EntryKind.NOTE, author_name=marcos.name, attendant=marcos, created_at=reply_at,
        body_html=text_to_html("Nota interna: conferir o chassi com o DETRAN antes de lançar."),
    ))
    first.updated_at = reply_at
    first.awaiting_reply_since = None

    second = ServiceOrder.open(
        contact=eliane, subject=subjects["Certidão Negativa de Débitos"], channel="Telefone",
        body_html=text_to_html("Preciso da certidão negativa para participar de uma licitação."),
        field_values={subjects["Certidão Negativa de Débitos"].fields[0].id: "529.982.247-25"},
    )
    second.status = Status.RESOLVIDA
    third = ServiceOrder.open(
        contact=joao, subject=subjects["Outros assuntos"], channel="E-mail",
        body_html=text_to_html("Gostaria de saber o horário de atendimento presencial."),
    )
    db.session.flush()
    return [first, second, third]


@click.command("demo")
@with_appcontext
def demo():
    """Cria dados de demonstração (idempotente)."""
    _seed_catalogue()
    orders = _seed_orders()
    db.session.commit()
    if orders:
        click.echo("Dados de demonstração criados.")
    else:
        click.echo("Dados de demonstração já existiam.")
    rows = db.session.execute(
        sa.select(ServiceOrder.number, Contact.email)
        .join(Contact, ServiceOrder.contact_id == Contact.id)
        .where(Contact.email.in_(["eliane@exemplo.com.br", "joao.silva@exemplo.com.br"]))
        .order_by(ServiceOrder.number)
    ).all()
    for number, email in rows:
        click.echo(f"  O.S. {number:08d}  e-mail {email}")


def register_commands(app) -> None:
    app.cli.add_command(staff_cli)
    app.cli.add_command(os_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(demo)
