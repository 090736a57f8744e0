"""Load-test the pages under the production WSGI server, at 1,000 and at 1,000,000 O.S.

    bench/run                      # SQLite, sizes 1000 and 1000000, 10 s per page
    bench/run --sizes 1000,100000 --duration 5
    bench/run --database-url-template 'postgresql+psycopg://bench@127.0.0.1/os_{n}'

For each size: seeds a database with bench/seed (kept in bench/results/ and reused), starts
gunicorn with the production settings on 127.0.0.1, prepares sessions and tokens the way the
pages would (in this process, with the same secret), and drives each page with wrk from a
separate process; then does the same for a bare "hello" Flask app under the same gunicorn
settings. Prints requests per second, p50 and p99 latency, errors, the ratio to the bare app
and the workers' peak memory, and at the end the p50 ratio between the sizes. Rate limits
are switched off for the run (they would answer 429 to a load test); everything else is the
production configuration. The mail worker is not started: pages only write the outbox. What
the measured POSTs wrote (replies, mail requests, queued mail) is deleted after each size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
PYTHON = sys.executable
GUNICORN = os.path.join(os.path.dirname(PYTHON), "gunicorn")
sys.path.insert(0, ROOT)


@dataclass
class Target:
    name: str
    path: str
    method: str = "GET"
    cookie: str = ""
    body: str = ""
    unique_field: str = ""  # a form field that must differ on every request
    cookie_factory: object = None  # makes `cookie` just before the page is measured


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, port: int, secret: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "APP_"))}
    env.update(APP_ENV="production", SECRET_KEY=secret, DATABASE_URL=database_url,
               BASE_URL=f"http://127.0.0.1:{port}", RATELIMIT_ENABLED="0",
               UPLOAD_DIR=os.path.join(RESULTS, "uploads"), MAIL_SERVER="127.0.0.1", MAIL_PORT="1")
    return env


def start_gunicorn(app_spec: str, env: dict, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync",
         "--log-level", "warning", app_spec],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn terminou: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("gunicorn não respondeu em 60 s")


def worker_peak_mb(master: subprocess.Popen) -> float:
    """Largest peak resident memory (VmHWM) among gunicorn's worker processes."""
    peak = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master.pid):
            peak = max(peak, int(fields.get("VmHWM", "0 kB").split()[0]))
    return peak / 1024


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


LUA = """
local method, path, cookie, body, unique = %s, %s, %s, %s, %s
local counter = 0
local threads = 0
-- Each wrk thread gets its own tag (a global in its Lua state), so form keys never repeat.
function setup(thread)
  threads = threads + 1
  thread:set("tag", tostring(os.time()) .. "-" .. threads)
end
request = function()
  counter = counter + 1
  local headers = {}
  if cookie ~= "" then headers["Cookie"] = cookie end
  local payload = nil
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    payload = body
    if unique ~= "" then payload = payload .. "&" .. unique .. "=" .. tag .. "-" .. counter end
  end
  return wrk.format(method, path, headers, payload)
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run_wrk(port: int, target: Target, duration: int, connections: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % tuple(map(lua_string, (target.method, target.path, target.cookie,
                                                  target.body, target.unique_field))))
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name,
             f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(output)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def parse_wrk(output: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non_ok.group(1)) if non_ok else 0
    return Result(rps, p50, p99, errors, requests)


def prepare_targets(env: dict, summary: dict) -> list[Target]:
    """Sessions, tokens and form tokens made in this process with the server's secret."""
    os.environ.update(env)
    import sqlalchemy as sa

    from app import create_app, db
    from models import Attendant, Contact, Department, ServiceOrder, Status
    from notifications import access_link

    app = create_app("production")
    cookie_name = app.config["SESSION_COOKIE_NAME"]

    def cookie_of(client) -> str:
        return f"{cookie_name}={client.get_cookie(cookie_name).value}"

    def csrf_of(client, path) -> str:
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    with app.test_request_context():
        thread_order = db.session.scalar(sa.select(ServiceOrder).where(ServiceOrder.number == summary["thread_order"]))
        typical = db.session.scalar(sa.select(Contact).where(Contact.email == summary["typical_email"]))
        heavy = db.session.scalar(sa.select(Contact).where(Contact.email == summary["heavy_email"]))
        # Replies go to an open O.S. (a closed one would refuse them), the same at every size.
        reply_order = db.session.scalar(
            sa.select(ServiceOrder).where(ServiceOrder.status == Status.ABERTA, ServiceOrder.id != thread_order.id)
            .order_by(ServiceOrder.id).limit(1))
        admin = db.session.scalar(sa.select(Attendant).where(Attendant.is_admin.is_(True)).limit(1))
        department = db.session.scalar(sa.select(Department.id).order_by(Department.id).limit(1))
        link = access_link(thread_order).split(str(env["BASE_URL"]), 1)[1]
        grants = [[o.id, o.contact_id, o.contact.link_version] for o in (thread_order, reply_order)]
        typical_user, heavy_user = f"{typical.id}.{typical.link_version}", f"{heavy.id}.{heavy.link_version}"
        admin_id, admin_version = admin.id, admin.link_version
        typical_number = reply_order.number

    guest = app.test_client()
    home_csrf = csrf_of(guest, "/")
    with guest.session_transaction() as session:
        session["grants"] = grants
    reply_csrf = csrf_of(guest, f"/os/{reply_order.display_number}")
    guest_cookie = cookie_of(guest)

    # The session a browser holds after signing in, as wrk presents it (from 127.0.0.1, no
    # User-Agent): its CSRF token from the first page, and Flask-Login's identifier, so no
    # page rewrites the cookie (a browser would keep the rewritten one; wrk cannot).
    from flask_login.utils import _create_identifier

    with app.test_request_context(environ_overrides={"REMOTE_ADDR": "127.0.0.1"}):
        identifier = _create_identifier()

    def signed_in(user_id=None, staff_session=None) -> str:
        client = app.test_client()
        with client.session_transaction() as session:
            session["csrf_token"] = secrets.token_hex(20)
            if user_id:
                session.update({"_user_id": user_id, "_fresh": True, "_id": identifier})
                session.permanent = True  # as account._sign_in makes it
            if staff_session:
                session["staff"] = staff_session
                session["_fresh"] = False  # Flask-Login marks any session so on its first page
        return cookie_of(client)

    def staff_cookie() -> str:
        # Made when its page is measured: the console refreshes a session's idle clock (and
        # so the cookie) once it is 30 s old, and a browser would then hold the new one.
        return signed_in(staff_session=[admin_id, admin_version, int(time.time())])

    typical_cookie, heavy_cookie = signed_in(typical_user), signed_in(heavy_user)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return [
        Target("página principal", "/"),
        Target("verificar status (POST)", "/verificar", "POST", guest_cookie,
               f"csrf_token={home_csrf}&email={typical.email}&number={typical_number}"),
        Target("link de acesso", link),
        Target("lista O.S., usuário típico", "/os", cookie=typical_cookie),
        Target("lista O.S., usuário pesado", "/os", cookie=heavy_cookie),
        Target("lista O.S., pesado, filtro e busca", "/os?status=fechada&q=emplacamento", cookie=heavy_cookie),
        Target("página da O.S. (30 mensagens)", f"/os/{thread_order.display_number}", cookie=guest_cookie),
        Target("fila do atendimento, filtrada", f"/atendimento/?status=aberta&departamento={department}",
               cookie_factory=staff_cookie),
        # The last page the queue lists of every open O.S. (page 400 at a million, the last of
        # the few at 1,000): an administrator's, whose queue spans every department.
        Target("fila, última página das abertas", "/atendimento/?status=aberta&pagina=400",
               cookie_factory=staff_cookie),
        # A rare word (in ten messages at every size: as many matches in a bigger haystack),
        # an uncommon one (0.2 % of the messages: a handful at 1,000 O.S., 9,000 at a million,
        # so the page lists 6 O.S. at one size and a full page at the other) and a common one
        # (more than search.LIMIT messages at every size: the same work at both sizes).
        Target("fila, busca de palavra rara", f"/atendimento/?status=todas&q={summary['rare_word']}",
               cookie_factory=staff_cookie),
        Target("fila, busca de palavra incomum", f"/atendimento/?status=todas&q={summary['search_word']}",
               cookie_factory=staff_cookie),
        Target("fila, busca de palavra comum", f"/atendimento/?status=todas&q={summary['common_word']}",
               cookie_factory=staff_cookie),
        # Last: its thousand writes leave the database work to do (PostgreSQL's autovacuum,
        # SQLite's checkpoints) that would land on the page measured after it. Measured right
        # after it, the queue took 1.43× as long at a million O.S. as at 1,000; alone, 0.98×.
        Target("postar resposta (POST)", f"/os/{reply_order.display_number}/responder", "POST", guest_cookie,
               f"csrf_token={reply_csrf}&formato=texto&body=Resposta+de+teste+do+benchmark", "chave"),
    ]


def seed(n: int, database_url: str, reseed: bool) -> dict:
    path = database_url.removeprefix("sqlite:///") if database_url.startswith("sqlite:///") else None
    # What was seeded where: a server database gets its own record, keyed by its address.
    key = "" if path else "-" + hashlib.sha256(database_url.encode()).hexdigest()[:10]
    state = os.path.join(RESULTS, f"seed-{n}{key}.json")
    kept = not reseed and os.path.exists(state) and (path is None or os.path.exists(path))
    if kept:
        with open(state) as fh:
            summary = json.load(fh)
        if "rare_word" not in summary:  # seeded before the rare word was planted
            if path is None:
                sys.exit(f"{database_url} foi semeado antes da palavra rara do benchmark: recrie-o vazio e rode de novo")
            kept = False
    if kept:
        # Seeded by an older version of the code: its schema is brought up to date first.
        upgraded = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "seed.py"), "--upgrade",
                                   "--database-url", database_url], cwd=ROOT, capture_output=True, text=True)
        if upgraded.returncode:
            sys.exit(f"não foi possível atualizar o esquema de {database_url}:\n{upgraded.stderr}")
        return summary
    if path:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    print(f"semeando {n} O.S. em {database_url} ...", flush=True)
    output = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "seed.py"), "--count", str(n),
                             "--database-url", database_url], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    with open(state, "w") as fh:
        json.dump(summary, fh)
    print(f"  {summary['count']} O.S., {summary['entries']} mensagens, {summary['contacts']} contatos "
          f"em {summary['seconds']} s", flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--database-url-template", default=f"sqlite:///{RESULTS}/os-{{n}}.db")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk não encontrado: apt-get install -y wrk")
    os.makedirs(RESULTS, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    secret = secrets.token_urlsafe(48)
    report: dict[int, dict[str, Result]] = {}
    memory: dict[int, float] = {}
    bare_memory = 0.0
    for n in sizes:
        database_url = args.database_url_template.format(n=n)
        summary = seed(n, database_url, args.reseed)
        port = free_port()
        env = environment(database_url, port, secret)
        targets = prepare_targets(env, summary)
        marks = write_marks(database_url)
        server = start_gunicorn("app:create_app()", env, port, args.workers)
        results = {}
        try:
            for target in targets:
                if target.cookie_factory:
                    target.cookie = target.cookie_factory()
                run_wrk(port, target, 2, args.connections)  # warm-up: caches, connections
                results[target.name] = run_wrk(port, target, args.duration, args.connections)
                print(f"  {n:>9} {target.name:<40} {results[target.name].rps:8.0f} req/s", flush=True)
            memory[n] = worker_peak_mb(server)
        finally:
            stop(server)
            remove_written(database_url, marks)
        bare_port = free_port()
        bare = start_gunicorn("bench.hello:create_app()", environment(database_url, bare_port, secret),
                              bare_port, args.workers)
        try:
            run_wrk(bare_port, Target("bare", "/"), 2, args.connections)
            results["Flask puro (hello)"] = run_wrk(bare_port, Target("bare", "/"), args.duration, args.connections)
            bare_memory = max(bare_memory, worker_peak_mb(bare))
        finally:
            stop(bare)
        report[n] = results
        print_size(n, results, memory[n], args)
    if len(sizes) >= 2:
        print_ratio(sizes[0], sizes[-1], report)
    with open(os.path.join(RESULTS, "last-run.json"), "w") as fh:
        json.dump({str(n): {k: vars(v) for k, v in r.items()} for n, r in report.items()}, fh, indent=1)


# What the measured pages write: replies, mail requests and the mail they queue.
WRITTEN = ("outbox_message", "mail_request", "thread_entry")


def write_marks(database_url: str) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        marks = {table: connection.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
                 for table in WRITTEN}
    engine.dispose()
    return marks


def remove_written(database_url: str, marks: dict[str, int]) -> None:
    """Deletes what the run wrote, so every run measures the same database: thousands of
    identical benchmark replies would otherwise become the newest messages, the ones a
    search reads first."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        for table, mark in marks.items():
            connection.execute(sa.text(f"DELETE FROM {table} WHERE id > :mark"), {"mark": mark})
    engine.dispose()


def print_size(n: int, results: dict[str, Result], peak_mb: float, args) -> None:
    bare = results["Flask puro (hello)"]
    print(f"\n{n} O.S. — gunicorn {args.workers} workers sync, wrk 2 threads {args.connections} conexões, "
          f"{args.duration} s por página")
    print(f"{'página':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'erros':>6} {'× Flask':>8}")
    for name, r in results.items():
        print(f"{name:<40} {r.rps:8.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:6d} {r.rps / bare.rps:8.2f}")
    print(f"pico de memória por worker: {peak_mb:.1f} MB\n", flush=True)


def print_ratio(small: int, large: int, report: dict[int, dict[str, Result]]) -> None:
    print(f"p50 a {large} O.S. ÷ p50 a {small} O.S.")
    for name, r in report[large].items():
        if name in report[small]:
            print(f"  {name:<40} {r.p50_ms / report[small][name].p50_ms:6.2f}")


if __name__ == "__main__":
    main()
