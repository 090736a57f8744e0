"""The data model of the whole product and the domain rules that belong to it.

Service orders (O.S.) belong to a contact, known by a normalized e-mail address; a contact
becomes a registered citizen when they confirm an account. Each O.S. has a subject (help topic)
whose extra fields are defined in the database, a thread of entries (citizen messages, attendant
replies, internal notes) with attachments, and an audit trail. Mail leaves through the outbox.
Who may see an O.S. is decided here, in `ServiceOrder.visible_to`, and nowhere else.
"""

from __future__ import annotations

import enum
import re
import time
from datetime import datetime, timezone
from functools import cache, lru_cache
from typing import NamedTuple, Optional

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app import db
from sanitize import html_to_text

NUMBER_DIGITS = 8


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime stored")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # Foreign keys are off by default in SQLite; WAL lets the mail worker and the web
    # server write without blocking readers.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        # Every commit waits for the disk (notifications.request_mail is the one exception).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()


def configure_postgres(engine: Engine) -> None:
    """PostgreSQL: a request that only reads opens no transaction; the first statement
    that writes or locks opens one, and the session's commit or rollback ends it.

    The engine runs in autocommit (config.py), so psycopg sends no BEGIN of its own. This
    hook sends it before anything but a plain SELECT, so every write, lock and savepoint is
    inside a transaction, as before. Reads outside one lose nothing: at READ COMMITTED each
    statement sees its own snapshot anyway. What it saves, per page: the BEGIN and ROLLBACK
    round trips, and psycopg's prepared statements, which it drops at every ROLLBACK, so a
    page's queries were parsed and planned again on every request.

    Prepared statements are still planned for their values: after five runs PostgreSQL may
    keep one generic plan, and a generic plan for "this citizen's closed O.S." was four
    times slower for a citizen with 3,000 of them (bench/run, at a million O.S.).

    Not for server-side cursors (`stream_results`, `yield_per`): PostgreSQL declares them
    only inside a transaction, and none is used."""
    if engine.dialect.name != "postgresql":
        return
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    @event.listens_for(engine, "connect")
    def custom_plans(dbapi_connection, connection_record):
        if not dbapi_connection.autocommit:
            raise RuntimeError("configure_postgres needs the engine in autocommit (config.engine_options)")
        dbapi_connection.execute("SET plan_cache_mode = force_custom_plan")

    @event.listens_for(engine, "before_cursor_execute")
    def begin(conn, cursor, statement, parameters, context, executemany):
        if cursor.connection.info.transaction_status == idle and not _only_reads(statement):
            cursor.execute("BEGIN")


@lru_cache(maxsize=4096)
def _only_reads(statement: str) -> bool:
    """A SELECT (or WITH … SELECT) that neither locks rows nor changes any."""
    return bool(_READ.match(statement)) and not _WRITE_OR_LOCK.search(statement)


_READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
# FOR UPDATE, FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE lock; SELECT … INTO creates a table;
# sequences, settings, notifications and advisory locks change state. A word in a literal
# only costs a needless BEGIN.
_WRITE_OR_LOCK = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|SHARE|INTO|nextval|setval|set_config|pg_notify"
                            r"|pg_(try_)?advisory\w*)\b", re.IGNORECASE)


def normalize_email(address: str) -> str:
    """The key a contact is known by: trimmed and lower-cased."""
    return (address or "").strip().lower()


def format_number(number: int) -> str:
    return f"{number:0{NUMBER_DIGITS}d}"


STATUS_LABELS = {"aberta": "Aberta", "resolvida": "Resolvida", "fechada": "Fechada"}


class Status(str, enum.Enum):
    ABERTA = "aberta"
    RESOLVIDA = "resolvida"
    FECHADA = "fechada"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self._value_]


CHANNELS = ("Telefone", "E-mail", "Balcão", "Usuário Externo")


class EntryKind(str, enum.Enum):
    MESSAGE = "message"  # from the citizen
    REPLY = "reply"  # from an attendant, shown to the citizen
    NOTE = "note"  # internal, never shown or mailed to the citizen


class FieldKind(str, enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    RENAVAM = "renavam"
    PLACA = "placa"
    CPF_CNPJ = "cpf_cnpj"

    @property
    def label(self) -> str:
        return {"text": "Texto", "number": "Número", "date": "Data", "choice": "Lista de opções",
                "renavam": "RENAVAM", "placa": "PLACA", "cpf_cnpj": "CPF/CNPJ"}[self.value]


attendant_departments = sa.Table(
    "attendant_department",
    db.metadata,
    sa.Column("attendant_id", sa.ForeignKey("attendant.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("department_id", sa.ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)


class Department(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    is_public: Mapped[bool] = mapped_column(default=True)
    response_hours: Mapped[int] = mapped_column(default=48)
    alert_email: Mapped[Optional[str]] = mapped_column(sa.String(254))
    alerts_enabled: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=False)

    subjects: Mapped[list[Subject]] = relationship(back_populates="department")
    attendants: Mapped[list[Attendant]] = relationship(
        secondary=attendant_departments, back_populates="departments"
    )

    def __repr__(self) -> str:
        return f"<Department {self.name}>"


class Subject(db.Model):
    """A help topic ("Assunto"); its extra fields are asked when an O.S. is opened."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), unique=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"))
    active: Mapped[bool] = mapped_column(default=True)
    is_public: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    department: Mapped[Department] = relationship(back_populates="subjects")
    fields: Mapped[list[SubjectField]] = relationship(
        back_populates="subject",
        order_by="SubjectField.position, SubjectField.id",
        cascade="all, delete-orphan",
    )


class SubjectField(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[FieldKind] = mapped_column(
        sa.Enum(FieldKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    required: Mapped[bool] = mapped_column(default=False)
    choices: Mapped[Optional[str]] = mapped_column(sa.Text)  # one option per line
    position: Mapped[int] = mapped_column(default=0)

    subject: Mapped[Subject] = relationship(back_populates="fields")


class Contact(UserMixin, db.Model):
    """Someone who has O.S. with us, known by e-mail; an account once confirmed.

    As a Flask-Login user its id carries `link_version`, so raising the version
    signs the account out everywhere.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    phone: Mapped[Optional[str]] = mapped_column(sa.String(40))
    # The phone's digits only, so "3211-6100", "32116100" and "(69) 3211 6100" find it.
    phone_digits: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    extension: Mapped[Optional[str]] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the citizen confirmed an account; before that the contact aggregates nothing.
    confirmed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Raised to kill every outstanding link and session of this contact at once.
    link_version: Mapped[int] = mapped_column(default=0)
    pending_email: Mapped[Optional[str]] = mapped_column(sa.String(254))
    # Raised by each sign-in: a sign-in link works once.
    sign_in_count: Mapped[int] = mapped_column(default=0, server_default="0")

    orders: Mapped[list[ServiceOrder]] = relationship(back_populates="contact")

    @validates("phone")
    def _keep_phone_digits(self, key, value):
        self.phone_digits = ascii_digits(value)
        return value

    @validates("email")
    def _email_changes_revoke_links(self, key, value):
        # Links and sessions are bound to the address they were sent to: a new address
        # makes every earlier one worthless.
        value = normalize_email(value)
        if self.email is not None and value != self.email:
            self.link_version = (self.link_version or 0) + 1
        return value

    @classmethod
    def find_or_create(cls, email: str, name: str, phone: str | None = None,
                       extension: str | None = None) -> Contact:
        """The contact of this e-mail; a new one when there is none.

        An existing contact keeps its name and phone: whoever types an e-mail must not
        be able to rename its owner.
        """
        email = normalize_email(email)
        contact = db.session.scalar(sa.select(cls).where(cls.email == email))
        if contact is None:
            contact = cls(email=email)
            db.session.add(contact)
        elif not contact.is_unproven():
            return contact
        # Details nobody has proven (a registration never confirmed, no O.S.) give way.
        contact.name = name.strip()
        contact.phone = (phone or "").strip() or None
        contact.extension = (extension or "").strip() or None
        return contact

    def is_unproven(self) -> bool:
        """Typed by someone at registration, never confirmed, with no O.S.: anyone may
        have typed these details, so they are not kept against newer ones."""
        if self.id is None:
            return True
        if self.has_account:
            return False
        return db.session.scalar(
            sa.select(ServiceOrder.id).where(ServiceOrder.contact_id == self.id).limit(1)
        ) is None

    @property
    def has_account(self) -> bool:
        return self.confirmed_at is not None

    def confirm(self) -> None:
        """The address is proven by the link sent to it: the account is active."""
        self.confirmed_at = utcnow()
        self.sign_in_count += 1  # sign-in links sent before stop working

    def absorb(self, other: Contact) -> None:
        """Take over the O.S. of `other`, the contact of an address this account has just
        proven, and remove it. The O.S. versions move on, so a console page open on one of
        them will not save over the change."""
        db.session.execute(
            sa.update(ServiceOrder).where(ServiceOrder.contact_id == other.id)
            .values(contact_id=self.id, version=ServiceOrder.version + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.update(ThreadEntry).where(ThreadEntry.contact_id == other.id)
            .values(contact_id=self.id).execution_options(synchronize_session=False)
        )
        connection = db.session.connection()
        for status, count in Contact.counts_of(other.id).items():
            if count:
                ContactOrderCount.add(connection, self.id, status, count)
        db.session.execute(sa.delete(ContactOrderCount).where(ContactOrderCount.contact_id == other.id))
        db.session.delete(other)
        db.session.flush()

    @staticmethod
    def counts_of(contact_id: int) -> dict[Status, int]:
        """How many O.S. the contact has in each status."""
        counts = {status: 0 for status in Status}
        for status, count in read(_contact_statements()["counts"], {"contact_id": contact_id}).all():
            counts[Status(status)] = count
        return counts

    @staticmethod
    def signed_in_row(contact_id: int):
        """id, name, e-mail and link_version of a confirmed account, or None: what every
        page of a signed-in citizen needs, as one row instead of an ORM object."""
        return read(_contact_statements()["signed_in"], {"contact_id": contact_id}).first()

    @property
    def is_active(self) -> bool:
        return self.has_account

    def get_id(self) -> str:
        return f"{self.id}.{self.link_version}"


def ascii_digits(text: str | None) -> str:
    """The digits 0-9 of `text`, in order: "(69) 3211-0000" → "6932110000"."""
    return "".join(c for c in (text or "") if c.isascii() and c.isdigit())


def phone_tail(phone: str | None) -> str | None:
    """The last 8 digits of a phone, however it was typed: "(69) 8400-0000", "69 84000000"
    and "+55 69 98400-0000" all end in 84000000 (a landline's whole number, a mobile's
    without its leading 9). None for fewer than 8 digits."""
    digits = ascii_digits(phone)
    return digits[-8:] if len(digits) >= 8 else None


def read(statement, params: dict | None = None):
    """The rows of a plain SELECT (built once, see `_statements`), run on the session's
    connection: the ORM's execute layer costs more than these small queries themselves.
    Changes not yet flushed are flushed first, as the ORM would."""
    db.session.flush()
    return db.session.connection().execute(statement, params or {})


def counted_up_to(selects: dict, cap) -> sa.CompoundSelect:
    """(key, count) for each keyed SELECT, each counting at most `cap` rows (a number or a
    bound parameter): each reads at most that many entries of an index, however many rows
    match. Pages show a count that reaches its cap as "mais de …" (the `up_to` filter)."""
    return sa.union_all(*(
        sa.select(sa.literal(key).label("key"), sa.func.count()).select_from(select.limit(cap).subquery())
        for key, select in selects.items()))


@cache
def _contact_statements() -> dict[str, sa.Select]:
    contact_id = sa.bindparam("contact_id")
    return {
        "counts": sa.select(ContactOrderCount.status, ContactOrderCount.count)
        .where(ContactOrderCount.contact_id == contact_id),
        "signed_in": sa.select(Contact.id, Contact.name, Contact.email, Contact.link_version)
        .where(Contact.id == contact_id, Contact.confirmed_at.is_not(None)),
    }


class Attendant(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Raised to end every session and outstanding sign-in link of this attendant.
    link_version: Mapped[int] = mapped_column(default=0)
    sign_in_count: Mapped[int] = mapped_column(default=0, server_default="0")  # links work once

    departments: Mapped[list[Department]] = relationship(
        secondary=attendant_departments, back_populates="attendants"
    )

    @property
    def department_ids(self) -> frozenset[int]:
        return frozenset(d.id for d in self.departments)

    def serves(self, department_id: int) -> bool:
        """Administrators serve every department, others their own (the console's
        security.SignedInAttendant borrows this rule)."""
        return self.is_admin or department_id in self.department_ids


class NumberSequence(db.Model):
    """Hands out O.S. numbers: unique, increasing, never reused, on SQLite and PostgreSQL."""

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)

    @staticmethod
    def next(name: str = "service_order") -> int:
        # UPDATE ... RETURNING takes the row lock in PostgreSQL and the write lock in
        # SQLite, so two requests can never get the same number.
        stmt = (
            sa.update(NumberSequence)
            .where(NumberSequence.name == name)
            .values(value=NumberSequence.value + 1)
            .returning(NumberSequence.value)
        )
        value = db.session.execute(stmt).scalar_one_or_none()
        if value is None:
            start = (db.session.scalar(sa.select(sa.func.max(ServiceOrder.number))) or 0) + 1
            db.session.add(NumberSequence(name=name, value=start))
            db.session.flush()
            value = start
        return value


class ServiceOrder(db.Model):
    __tablename__ = "service_order"
    __table_args__ = (
        sa.Index("ix_service_order_contact_status", "contact_id", "status", "number"),
        sa.Index("ix_service_order_contact_created", "contact_id", "created_at"),
        # A citizen's search by subject is counted from this index alone.
        sa.Index("ix_service_order_contact_subject", "contact_id", "subject_id", "status"),
        sa.Index("ix_service_order_department_status", "department_id", "status", "updated_at", "id"),
        # The queue filtered by assignee ("Minhas", "Sem responsável") or by subject: its
        # counts per status and its pages, newest activity first, each from one range.
        sa.Index("ix_service_order_assignee_status", "assignee_id", "status", "updated_at", "id"),
        sa.Index("ix_service_order_subject_status", "subject_id", "status", "updated_at", "id"),
        # The queue of every department (an administrator's) by status, newest activity
        # first: a deep page of its 100,000 open O.S. read 100,000 entries of the activity
        # index at a million (26 ms). The queue's indexes end with the id, its tie-break: then
        # PostgreSQL reads a page in order from the index alone (without it, it walked the
        # activity index instead: page 400 of a subject's closed O.S., 21 ms).
        sa.Index("ix_service_order_status_updated", "status", "updated_at", "id"),
        sa.Index("ix_service_order_updated", "updated_at"),
        # The queue's search by the phone given for an O.S. (Not a partial index: most O.S.
        # have a phone, and a `sqlite_where` here made every PostgreSQL worker load SQLite's
        # dialect, half a megabyte.)
        sa.Index("ix_service_order_phone_tail", "phone_tail"),
    )

    # active_history: the kept counts (OrderCount, ContactOrderCount) need the old value of
    # these even when it was not loaded before the change.
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id"), active_history=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), active_history=True)
    assignee_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("attendant.id"))
    status: Mapped[Status] = mapped_column(
        sa.Enum(Status, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=Status.ABERTA, active_history=True,
    )
    channel: Mapped[str] = mapped_column(sa.String(40), default="Usuário Externo")
    phone: Mapped[Optional[str]] = mapped_column(sa.String(40))  # the phone given for this O.S.
    # Its last 8 digits (see phone_tail), for the queue's search.
    phone_tail: Mapped[Optional[str]] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # last activity
    # Set while the latest thread entry is the citizen's: the queue marks it unanswered.
    awaiting_reply_since: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    closed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Optimistic lock: two attendants saving the same O.S. cannot overwrite each other.
    version: Mapped[int] = mapped_column(default=1)

    contact: Mapped[Contact] = relationship(back_populates="orders")
    subject: Mapped[Subject] = relationship()
    department: Mapped[Department] = relationship()
    assignee: Mapped[Optional[Attendant]] = relationship()
    entries: Mapped[list[ThreadEntry]] = relationship(
        back_populates="order", order_by="ThreadEntry.created_at, ThreadEntry.id"
    )
    field_values: Mapped[list[FieldValue]] = relationship(
        back_populates="order", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @validates("phone")
    def _keep_phone_tail(self, key, value):
        self.phone_tail = phone_tail(value)
        return value

    @classmethod
    def open(cls, *, contact: Contact, subject: Subject, body_html: str, channel: str,
             author_name: str | None = None, phone: str | None = None,
             department: Department | None = None, field_values: dict[int, str] | None = None,
             attendant=None) -> ServiceOrder:
        """A new O.S. with its first thread entry, numbered; added to the session.
        `attendant` (security.current_attendant()) is who typed it, for the audit trail.

        `body_html` must already be sanitized. The first entry is the citizen's request,
        even when an attendant types it from a phone call.
        """
        now = utcnow()
        order = cls(
            number=NumberSequence.next(),
            contact=contact,
            subject=subject,
            department=department or subject.department,
            status=Status.ABERTA,
            channel=channel,
            phone=phone or contact.phone,
            created_at=now,
            updated_at=now,
            awaiting_reply_since=now,
        )
        db.session.add(order)
        order.field_values = [
            FieldValue(field_id=field_id, value=value)
            for field_id, value in (field_values or {}).items() if value
        ]
        order.entries.append(ThreadEntry(
            kind=EntryKind.MESSAGE,
            author_name=author_name or contact.name,
            contact=contact,
            body_html=body_html,
            created_at=now,
        ))
        actor = attendant.name if attendant else contact.name
        db.session.add(AuditEvent(order=order, actor=actor, action="aberta",
                                  detail=f"Localidade: {channel}", created_at=now))
        return order

    def set_status(self, status: Status) -> None:
        """Resolvida and Fechada mean nobody owes the citizen an answer any more."""
        self.status = status
        if status == Status.ABERTA:
            self.closed_at = None
        else:
            self.awaiting_reply_since = None
            self.closed_at = utcnow() if status == Status.FECHADA else None

    def accepts_citizen_replies(self, allow_closed: bool) -> bool:
        return self.status != Status.FECHADA or allow_closed

    def add_citizen_message(self, body_html: str, *, submission_key: str | None = None) -> ThreadEntry:
        """The citizen's reply: it joins the thread and the O.S. is theirs to answer again.

        A Resolvida O.S. (or a Fechada one, where the office allows it) opens again.
        """
        now = utcnow()
        # Added by id, not appended to `entries`: that would read the whole thread first.
        entry = ThreadEntry(kind=EntryKind.MESSAGE, author_name=self.contact.name,
                            contact_id=self.contact_id, body_html=body_html, created_at=now,
                            submission_key=submission_key, service_order_id=self.id)
        db.session.add(entry)
        if self.status != Status.ABERTA:
            db.session.add(AuditEvent(order=self, actor=self.contact.name, action="reaberta",
                                      detail=f"{self.status.label} → Aberta, por resposta do cidadão",
                                      created_at=now))
            self.set_status(Status.ABERTA)
        self.updated_at = now
        self.awaiting_reply_since = self.awaiting_reply_since or now
        return entry

    @property
    def display_number(self) -> str:
        return format_number(self.number)

    @staticmethod
    def parse_number(text: str) -> Optional[int]:
        """The number a person typed ("2172", "00002172", "#00002172"), or None."""
        cleaned = (text or "").strip().lstrip("#").strip()
        if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > NUMBER_DIGITS:
            return None
        return int(cleaned)

    def visible_to(self, *, contact_id: Optional[int] = None, grants=(), attendant=None) -> bool:
        """The one rule for who may see this O.S. and its attachments.

        - an attendant who serves its department (administrators serve all);
        - the confirmed account whose e-mail is this O.S.'s contact (`contact_id`);
        - a browser holding a grant from a valid access link to this very O.S.
        """
        if attendant is not None and attendant.active and attendant.serves(self.department_id):
            return True
        if contact_id is not None and contact_id == self.contact_id:
            return True
        return any(
            grant.order_id == self.id and grant.contact_id == self.contact_id
            and grant.link_version == self.contact.link_version
            for grant in grants
        )

    def public_thread(self) -> list[ThreadItem]:
        """The thread as the citizen's page shows it, oldest first and without internal
        notes, read as plain rows (two queries; the ORM objects of a 30-entry thread cost
        more than the rest of the page)."""
        files: dict[int, list[AttachmentItem]] = {}
        for row in read(_statements()["attachments"], {"order_id": self.id}).all():
            files.setdefault(row.entry_id, []).append(AttachmentItem(row.id, row.original_name, row.size))
        entries = read(_statements()["public_thread"], {"order_id": self.id}).all()
        return [ThreadItem(*row, files.get(row.id, [])) for row in entries]

    def extra_fields(self) -> list[tuple[str, str]]:
        """(label, value) of the subject's extra fields that have a value, in the subject's
        order (values kept from an earlier subject are not shown)."""
        rows = read(_statements()["extra_fields"], {"order_id": self.id, "subject_id": self.subject_id})
        return [tuple(row) for row in rows]


@cache
def _statements() -> dict[str, sa.Select]:
    """The statements the O.S. page runs on every view, built once: building a SELECT and
    its cache key costs more than SQLite takes to answer it."""
    order_id = sa.bindparam("order_id")
    return {
        "public_thread": sa.select(ThreadEntry.id, ThreadEntry.kind, ThreadEntry.created_at,
                                   ThreadEntry.author_name, ThreadEntry.body_html)
        .where(ThreadEntry.service_order_id == order_id, ThreadEntry.kind != EntryKind.NOTE)
        .order_by(ThreadEntry.created_at, ThreadEntry.id),
        "attachments": sa.select(Attachment.entry_id, Attachment.id, Attachment.original_name, Attachment.size)
        .where(Attachment.service_order_id == order_id).order_by(Attachment.id),
        "extra_fields": sa.select(SubjectField.label, FieldValue.value)
        .join(SubjectField, FieldValue.field_id == SubjectField.id)
        .where(FieldValue.service_order_id == order_id, SubjectField.subject_id == sa.bindparam("subject_id"),
               FieldValue.value != "")
        .order_by(SubjectField.position, SubjectField.id),
    }


class AttachmentItem(NamedTuple):
    id: int
    original_name: str
    size: int


class ThreadItem(NamedTuple):
    """A thread entry as the citizen's page shows it (see `ServiceOrder.public_thread`)."""
    id: int
    kind: EntryKind
    created_at: datetime
    author_name: str
    body_html: str
    attachments: list[AttachmentItem]


class FieldValue(db.Model):
    __table_args__ = (
        sa.UniqueConstraint("service_order_id", "field_id"),
        sa.Index("ix_field_value_field_value", "field_id", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_order.id", ondelete="CASCADE")
    )
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("subject_field.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(sa.String(200))

    order: Mapped[ServiceOrder] = relationship(back_populates="field_values")
    field: Mapped[SubjectField] = relationship()


class ThreadEntry(db.Model):
    __table_args__ = (sa.Index("ix_thread_entry_order_created", "service_order_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_order.id", ondelete="CASCADE")
    )
    kind: Mapped[EntryKind] = mapped_column(
        sa.Enum(EntryKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    author_name: Mapped[str] = mapped_column(sa.String(120))
    contact_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    attendant_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("attendant.id"))
    body_html: Mapped[str] = mapped_column(sa.Text)  # always sanitized before it is stored
    # The same message as lower-cased plain text, for search only: PostgreSQL matches it
    # with LIKE and a lower-cased pattern, at a third of the cost of an ILIKE, which folds
    # the case of every row it reads. (SQLite's full-text index folds case itself; rows
    # from before migration 0a7c3e9b5d21 keep their case there.)
    body_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Client-generated key of the form that posted it: a resubmitted form posts once.
    submission_key: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    message_id: Mapped[Optional[str]] = mapped_column(sa.String(255), index=True)

    order: Mapped[ServiceOrder] = relationship(back_populates="entries")
    contact: Mapped[Optional[Contact]] = relationship()
    attendant: Mapped[Optional[Attendant]] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="entry", order_by="Attachment.id"
    )

    @validates("body_html")
    def _keep_body_text(self, key, value):
        self.body_text = html_to_text(value).lower()
        return value


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("thread_entry.id", ondelete="CASCADE"), index=True)
    # Kept beside the entry so a download checks the O.S. without walking the thread.
    service_order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_order.id", ondelete="CASCADE"), index=True
    )
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)  # random, on disk
    original_name: Mapped[str] = mapped_column(sa.String(255))  # cleaned, for display only
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[ThreadEntry] = relationship(back_populates="attachments")


class AuditEvent(db.Model):
    __table_args__ = (sa.Index("ix_audit_event_order_created", "service_order_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_order.id", ondelete="CASCADE")
    )
    actor: Mapped[str] = mapped_column(sa.String(160))  # "Sistema", "Cidadão", an attendant
    action: Mapped[str] = mapped_column(sa.String(60))
    detail: Mapped[Optional[str]] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[ServiceOrder] = relationship()


class OrderCount(db.Model):
    """How many O.S. each department has in each status, so the queue shows its counts
    without counting a million rows. Kept up to date by the ORM events below (every change
    of an O.S.'s status or department goes through the ORM); bench/seed fills it in bulk."""

    department_id: Mapped[int] = mapped_column(sa.ForeignKey("department.id"), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    @staticmethod
    def add(connection, department_id: int, status: Status, delta: int) -> None:
        _add_count(connection, OrderCount.__table__, "department_id", department_id, status, delta)


class ContactOrderCount(db.Model):
    """How many O.S. each contact has in each status: every page of a signed-in citizen
    shows "O.S. (n)", and counting the O.S. of someone with thousands cost more than the rest
    of the page. Kept like OrderCount, and moved by `Contact.absorb`."""

    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    @staticmethod
    def add(connection, contact_id: int, status: Status, delta: int) -> None:
        _add_count(connection, ContactOrderCount.__table__, "contact_id", contact_id, status, delta)


def _add_count(connection, table: sa.Table, key: str, key_value: int, status: Status, delta: int) -> None:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values({key: key_value, "status": Status(status).value, "count": delta})
    connection.execute(stmt.on_conflict_do_update(
        index_elements=[table.c[key], table.c.status],
        set_={"count": table.c.count + delta},
    ))


@event.listens_for(ServiceOrder, "after_insert")
def _count_new_order(mapper, connection, order):
    OrderCount.add(connection, order.department_id, order.status, +1)
    ContactOrderCount.add(connection, order.contact_id, order.status, +1)


@event.listens_for(ServiceOrder, "after_update")
def _count_moved_order(mapper, connection, order):
    state = sa.inspect(order)
    status, department = state.attrs.status.history, state.attrs.department_id.history
    contact = state.attrs.contact_id.history
    old_status = status.deleted[0] if status.deleted else order.status
    if status.has_changes() or department.has_changes():
        old_department = department.deleted[0] if department.deleted else order.department_id
        OrderCount.add(connection, old_department, old_status, -1)
        OrderCount.add(connection, order.department_id, order.status, +1)
    if status.has_changes() or contact.has_changes():
        old_contact = contact.deleted[0] if contact.deleted else order.contact_id
        ContactOrderCount.add(connection, old_contact, old_status, -1)
        ContactOrderCount.add(connection, order.contact_id, order.status, +1)


@event.listens_for(ServiceOrder, "after_delete")
def _count_removed_order(mapper, connection, order):
    OrderCount.add(connection, order.department_id, order.status, -1)
    ContactOrderCount.add(connection, order.contact_id, order.status, -1)


class OfficeSetting(db.Model):
    """Office settings an administrator edits at run time; the environment gives defaults."""

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)

    KEYS = {"name": "OFFICE_NAME", "phone": "OFFICE_PHONE", "emails": "OFFICE_EMAILS"}
    TTL = 5.0  # seconds a worker may show settings another worker has just changed

    @classmethod
    def values(cls) -> dict:
        """Name, phone and support e-mails of the office. Every page shows them, so each
        process keeps them for a few seconds instead of asking the database every time."""
        cached = current_app.extensions.get("office_settings")
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        config = current_app.config
        office = {key: config[name] for key, name in cls.KEYS.items()}
        try:
            office.update({row.key: row.value for row in db.session.scalars(sa.select(cls))})
            stored = True
        except sa.exc.SQLAlchemyError:
            # Error pages still render when the database is down (with the defaults, uncached).
            db.session.rollback()
            stored = False
        office["email_list"] = [e.strip() for e in office["emails"].split(",") if e.strip()]
        if stored:
            current_app.extensions["office_settings"] = (now + cls.TTL, office)
        return office

    @classmethod
    def forget(cls) -> None:
        """Drop this process's copy (after an administrator saves new values)."""
        current_app.extensions.pop("office_settings", None)


class MailRequest(db.Model):
    """A request that may end in an e-mail, decided by the mail worker: a status check
    ("access": e-mail and O.S. number), an account sign-in ("signin") or a registration
    ("register"). The page only stores it, so it does the same work, in the same time,
    whether or not the address is known; the worker decides and deletes the row.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    email: Mapped[str] = mapped_column(sa.String(254))
    number: Mapped[Optional[int]] = mapped_column(sa.BigInteger)
    data: Mapped[Optional[dict]] = mapped_column(sa.JSON)  # typed details, a `next` path
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """A message waiting for (or done with) delivery. Written in the same transaction as
    the change that causes it; the worker delivers it with retries."""

    __table_args__ = (
        sa.Index("ix_outbox_due", "sent_at", "failed", "next_attempt_at"),
        sa.Index("ix_outbox_recipient_kind_created", "recipient", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))  # access_link, new_os, ...
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(255))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    in_reply_to: Mapped[Optional[str]] = mapped_column(sa.String(255))
    service_order_id: Mapped[Optional[int]] = mapped_column(
        sa.ForeignKey("service_order.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    failed: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[Optional[str]] = mapped_column(sa.String(500))
