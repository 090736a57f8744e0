"""Fill a database (SQLite or PostgreSQL) with N service orders for benchmarks, quickly.

    bench/seed --count 1000000 --database-url sqlite:///bench/results/os-1000000.db

Realistic shape: most contacts have 1-3 O.S., a few heavy users have thousands; each O.S. has
2-30 thread entries (most have few); statuses as in a real office (most closed); IPVA subjects
carry RENAVAM and PLACA values. Rows go in with bulk inserts in large transactions. The
schema is created with the project's migrations. Prints what bench/run needs as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

WORDS = ("solicito informação sobre lançamento do imposto veículo guia pagamento parcelamento "
         "certidão débito prazo documento anexo nota fiscal cadastro contribuinte empresa "
         "restituição valor multa juros declaração herança doação processo protocolo atendimento "
         "retorno urgente obrigado aguardo resposta segunda via boleto vencimento").split()
FIRST = "Ana Bruno Carla Daniel Eliane Fábio Gabriela Heitor Isabel João Karina Luiz Márcia Nuno Olga Paulo".split()
LAST = "Silva Souza Oliveira Santos Pereira Lima Costa Barbosa Almeida Rocha Gomes Martins".split()
STATUSES = ["fechada"] * 75 + ["resolvida"] * 15 + ["aberta"] * 10
CHANNELS = ["Telefone"] * 5 + ["E-mail"] * 3 + ["Balcão"] + ["Usuário Externo"] * 3
BATCH = 20_000


def renavam(rng: random.Random) -> str:
    body = [rng.randrange(10) for _ in range(10)]
    weights = [3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    digit = (sum(d * w for d, w in zip(body, weights)) * 10) % 11
    return "".join(map(str, body)) + str(0 if digit == 10 else digit)


def plate(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
    if rng.random() < 0.5:
        return f"{letters}-{rng.randrange(10000):04d}"
    return f"{letters}{rng.randrange(10)}{rng.choice('ABCDEFGHIJ')}{rng.randrange(100):02d}"


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def entry_count(rng: random.Random) -> int:
    """2-30, most O.S. short: 2 plus a geometric tail."""
    n = 2
    while n < 30 and rng.random() < 0.72:
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, help="service orders (1000 to 1000000)")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=int, default=2172)
    parser.add_argument("--upgrade", action="store_true",
                        help="only bring a seeded database to the current schema (bench/run does, "
                             "before it reuses one; migrations fill what they add)")
    args = parser.parse_args()
    if not args.upgrade and not 1000 <= (args.count or 0) <= 1_000_000:
        parser.error("--count must be between 1000 and 1000000")

    os.environ.setdefault("APP_ENV", "development")
    from app import create_app, db
    import models
    from cli import _seed_catalogue
    from flask_migrate import upgrade
    from sanitize import html_to_text

    app = create_app("development", SQLALCHEMY_DATABASE_URI=args.database_url, MAIL_CATCH=False,
                     UPLOAD_DIR=os.path.join(ROOT, "bench", "results", "uploads"))
    rng = random.Random(args.seed)
    started = time.monotonic()
    with app.app_context():
        upgrade(directory=os.path.join(ROOT, "migrations"))
        if args.upgrade:
            return
        if db.session.scalar(db.select(db.func.count(models.ServiceOrder.id))):
            sys.exit("o banco já tem O.S.: use um banco vazio")
        _seed_catalogue()
        db.session.commit()
        subjects = db.session.scalars(db.select(models.Subject)).all()
        attendants = db.session.scalars(db.select(models.Attendant)).all()
        fields = {s.id: {f.label: f.id for f in s.fields} for s in subjects}
        weights = [6 if "IPVA" in s.name else 2 for s in subjects]
        engine = db.engine
        tables = db.metadata.tables

        # Heavy users fill whole list pages at every size (so bench/run compares the same page
        # at 1,000 and 1,000,000 O.S.): 2 with 100 O.S. each at 1,000, 5 with 3,000 at a million.
        heavy = 5 if args.count >= 100_000 else 2
        per_heavy = min(3000, max(100, args.count // 300))
        contacts, owner_of = [], []
        for i in range(heavy):
            contacts.append({"id": i + 1, "email": f"pesado{i + 1}@exemplo.com.br",
                             "name": f"Usuário Pesado {i + 1}", "phone": "(69) 3211-0000"})
            owner_of += [i + 1] * per_heavy
        next_id = heavy + 1
        while len(owner_of) < args.count:
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                owner_of.append(next_id)
            contacts.append({"id": next_id, "email": f"cidadao{next_id}@exemplo.com.br",
                             "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                             "phone": f"(69) 9{rng.randrange(1000, 9999)}-{rng.randrange(10000):04d}"})
            next_id += 1
        owner_of = owner_of[:args.count]
        # O.S. #1 belongs to a typical contact and has a 30-entry thread (bench/run opens it).
        owner_of[0] = heavy + 1
        rng.shuffle(owner_of[1:])
        now = datetime.now(timezone.utc).replace(microsecond=0)
        epoch = now - timedelta(days=3650)
        span = int((now - epoch).total_seconds())

        def write(table, rows):
            with engine.begin() as connection:
                for start in range(0, len(rows), BATCH):
                    connection.execute(tables[table].insert(), rows[start:start + BATCH])

        for c in contacts:
            c.update(created_at=epoch, link_version=0, sign_in_count=0,
                     confirmed_at=epoch if c["id"] <= heavy + 1 else None)
        write("contact", contacts)

        entry_id = field_id = 0
        rare_step = max(1, args.count // 10)
        counts: dict[tuple[int, str], int] = {}
        for start in range(0, args.count, 50_000):
            orders, entries, values = [], [], []
            for number in range(start + 1, min(start + 50_000, args.count) + 1):
                subject = rng.choices(subjects, weights)[0]
                status = rng.choice(STATUSES) if number > 1 else "aberta"
                created = epoch + timedelta(seconds=span * number // (args.count + 1))
                n_entries = 30 if number == 1 else entry_count(rng)
                moment = created
                for k in range(n_entries):
                    entry_id += 1
                    kind = "message" if k % 2 == 0 else ("note" if rng.random() < 0.1 else "reply")
                    text = sentence(rng, rng.randrange(8, 40))
                    if rng.random() < 0.002:  # an uncommon word, for the queue's text search
                        text += " Conferir o número do chassi."
                    if k == 0 and number % rare_step == rare_step // 2:  # in 10 messages at any size
                        text += " Veículo com gravame em aberto."
                    html = f"<p>{text}</p>"
                    entries.append({"id": entry_id, "service_order_id": number, "kind": kind,
                                    "author_name": "Atendente" if kind != "message" else "Cidadão",
                                    "body_html": html, "body_text": html_to_text(html).lower(),
                                    "created_at": moment})
                    moment += timedelta(minutes=rng.randrange(5, 3000))
                awaiting = moment if status == "aberta" and n_entries % 2 == 1 else None
                orders.append({
                    "id": number, "number": number, "contact_id": owner_of[number - 1],
                    "subject_id": subject.id, "department_id": subject.department_id,
                    "assignee_id": rng.choice(attendants).id if rng.random() < 0.6 else None,
                    "status": status, "channel": rng.choice(CHANNELS), "phone": None,
                    "created_at": created, "updated_at": min(moment, now), "awaiting_reply_since": awaiting,
                    "closed_at": moment if status == "fechada" else None, "version": 1,
                })
                counts[(subject.department_id, status)] = counts.get((subject.department_id, status), 0) + 1
                for label, fid in fields[subject.id].items():
                    value = {"RENAVAM": renavam, "PLACA": plate}.get(label)
                    if value:
                        field_id += 1
                        values.append({"id": field_id, "service_order_id": number, "field_id": fid,
                                       "value": value(rng)})
            write("service_order", orders)
            write("thread_entry", entries)
            if values:
                write("field_value", values)
            print(f"  {start + len(orders):>9} O.S. ({time.monotonic() - started:.0f} s)", file=sys.stderr)

        with engine.begin() as connection:
            connection.execute(tables["number_sequence"].insert(), [{"name": "service_order", "value": args.count}])
            if "order_count" in tables:
                connection.execute(tables["order_count"].insert(), [
                    {"department_id": d, "status": s, "count": n} for (d, s), n in counts.items()])
            if "contact_order_count" in tables:
                connection.execute(db.text(
                    "INSERT INTO contact_order_count (contact_id, status, count) "
                    "SELECT contact_id, status, count(*) FROM service_order GROUP BY contact_id, status"))
            if engine.dialect.name == "postgresql":
                for table in ("contact", "service_order", "thread_entry", "field_value"):
                    connection.execute(db.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(db.text("ANALYZE"))
        summary = {
            "count": args.count, "entries": entry_id, "contacts": len(contacts), "seconds": round(time.monotonic() - started),
            "typical_email": contacts[heavy]["email"], "heavy_email": contacts[0]["email"],
            "heavy_orders": per_heavy, "thread_order": 1, "search_word": "chassi",
            "common_word": "protocolo", "rare_word": "gravame",
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
