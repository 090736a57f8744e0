"""Where a page spends its time: calls the app's WSGI function directly, in this process.

    .venv/bin/python bench/timing.py --size 1000000              # every page: µs per request
    .venv/bin/python bench/timing.py --size 1000000 --page 0 --top 40   # and a cProfile of page 0

No server and no load tool: the numbers are the app's own CPU time per request, next to the
bare Flask app's, so a change to a page can be judged in seconds before bench/run measures it.
Uses the databases bench/run seeded (bench/results/os-<n>.db).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.run import RESULTS, environment, prepare_targets, remove_written, seed, write_marks  # noqa: E402


def call(app, target, counter=[0]) -> int:
    counter[0] += 1
    parts = urlsplit(target.path)
    body = target.body.encode()
    if target.unique_field:
        body += f"&{target.unique_field}=p{os.getpid()}-{time.time_ns()}-{counter[0]}".encode()
    environ = {
        "REQUEST_METHOD": target.method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }
    if target.cookie:
        environ["HTTP_COOKIE"] = target.cookie
    if target.method == "POST":
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(body))
    status = []
    result = app(environ, lambda s, h, exc_info=None: status.append(s))
    for _ in result:
        pass
    if hasattr(result, "close"):
        result.close()
    return int(status[0].split()[0])


def timed(app, target, seconds: float) -> tuple[float, int]:
    for _ in range(20):
        code = call(app, target)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call(app, target)
        count += 1
    return (time.perf_counter() - start) / count * 1e6, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--page", type=int, action="append", help="index of a page (repeatable)")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--top", type=int, default=0, help="print a cProfile of the pages, this many lines")
    parser.add_argument("--database-url-template", default=f"sqlite:///{RESULTS}/os-{{n}}.db")
    args = parser.parse_args()
    database_url = args.database_url_template.format(n=args.size)
    summary = seed(args.size, database_url, False)
    env = environment(database_url, 8000, secrets.token_urlsafe(48))
    targets = prepare_targets(env, summary)

    from bench.hello import create_app as bare_app
    from app import create_app

    app = create_app("production")
    marks = write_marks(database_url)
    try:
        measure(app, bare_app, targets, args)
    finally:
        remove_written(database_url, marks)  # the POSTs' replies and mail, as bench/run does


def measure(app, bare_app, targets, args) -> None:
    bare_us, _ = timed(bare_app(), type(targets[0])("bare", "/"), args.seconds)
    print(f"{'Flask puro (hello)':<40} {bare_us:8.0f} µs")
    chosen = args.page if args.page is not None else range(len(targets))
    for index in chosen:
        target = targets[index]
        if target.cookie_factory:
            target.cookie = target.cookie_factory()
        us, code = timed(app, target, args.seconds)
        print(f"{index:>2} {target.name:<37} {us:8.0f} µs  {code}  {bare_us / us:5.2f}× Flask")
        if args.top:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(300):
                call(app, target)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
