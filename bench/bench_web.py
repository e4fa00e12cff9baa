"""``recorder serve`` on the 1M-transition bench database: first-byte time of each page.

Loads the database of ``bench_queries.py`` (10,000 flows, about 1,000,000
transitions rows, plus one flow of 1,000 atoms; ``--scale`` shrinks it), starts
``recorder serve`` on it as a subprocess, and times each page from sending the
request to the first byte of the response (the status line), and to its last
byte, over a kept-alive loopback connection. Pages go through the indexed reads
of :mod:`recorder.query`, so a page deep in the flows list costs what the first
page does: the ``deep / first`` ratio says so, and ``page / api`` says what
rendering HTML adds to the same reads.

    .venv/bin/python bench/bench_web.py [--scale 1.0] [--no-pg] [--repeat 7]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench_queries import PG_DEFAULT, fill, pg_database, sqlite_database
from bench_queries_data import BIG_FLOW, FLOW_NAMES

from recorder.persistence import connect
from recorder.query import list_flows

ROOT = Path(__file__).resolve().parents[1]
DEEP = 5000
"""The deep page starts after this many flows (page 101 at 50 a page)."""


@contextmanager
def served(url: str) -> Iterator[tuple[str, int]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "recorder.cli", "--db", url, "serve", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        found = re.search(r"http://(127\.0\.0\.1):(\d+)/", child.stdout.readline())
        if found is None:
            raise SystemExit("recorder serve did not start")
        yield found.group(1), int(found.group(2))
    finally:
        child.terminate()
        child.wait(timeout=30)
        child.stdout.close()


def paths(url: str) -> dict[str, str]:
    """What to fetch: the pages, and the API documents with the same reads."""
    backend = connect(url)
    try:
        with backend.engine.connect() as conn:
            deep = list_flows(conn, limit=DEEP).items[-1]  # DEEP < the flows loaded
            ordinary = list_flows(conn, name=FLOW_NAMES[3], limit=1).items[0].uuid
    finally:
        backend.close()
    from recorder.query.records import FlowCursor

    token = FlowCursor(deep.created_at, deep.uuid).encode()
    name = FLOW_NAMES[3]
    return {
        "flows, first page": "/",
        "flows, page after %d" % DEEP: "/?after=" + token,
        "flows, by name": "/?name=" + name,
        "flow, 45 atoms": "/flows/" + ordinary,
        "flow, 1,000 atoms": "/flows/" + BIG_FLOW,
        "name stats, 200 runs": "/names/" + name,
        "api: flows": "/api/flows",
        "api: flow, 1,000 atoms": "/api/flows/" + BIG_FLOW,
        "api: name stats": "/api/names/" + name,
    }


def fetch(conn: http.client.HTTPConnection, path: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()  # returns once the status line and headers are in
    first = time.perf_counter() - started
    body = response.read()
    if response.status != 200:
        raise SystemExit("%s: HTTP %d %r" % (path, response.status, body[:200]))
    return first, time.perf_counter() - started, len(body)


def measure(url: str, repeat: int) -> dict[str, tuple[float, float, int]]:
    wanted = paths(url)
    results = {}
    with served(url) as (host, port):
        conn = http.client.HTTPConnection(host, port, timeout=120)
        for label, path in wanted.items():
            fetch(conn, path)  # warm: the first read of a page pulls its rows into cache
            runs = [fetch(conn, path) for _ in range(repeat)]
            results[label] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
                runs[-1][2],
            )
        conn.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="1.0 = 10,000 flows, ~1M rows (at least 0.5)"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pg-url", default=os.environ.get("RECORDER_BENCH_PG", PG_DEFAULT))
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    flows = max(2 * DEEP, int(10_000 * args.scale))
    results: dict[str, dict[str, tuple[float, float, int]]] = {}
    with sqlite_database(None) as url:
        print("SQLite:")
        fill(url, flows, 45)
        results["sqlite"] = measure(url, args.repeat)
    if not args.no_pg:
        with pg_database(args.pg_url, False) as url:
            print("PostgreSQL:")
            fill(url, flows, 45)
            results["postgresql"] = measure(url, args.repeat)
    print()
    print("median of %d requests; first byte / last byte in ms" % args.repeat)
    print("%-26s %s" % ("", "".join("%24s" % db for db in results)))
    labels = next(iter(results.values())).keys()
    for label in labels:
        cells = "".join(
            "%11.1f /%8.1f %3s" % (r[label][0] * 1e3, r[label][1] * 1e3, "")
            for r in results.values()
        )
        print("%-26s %s" % (label, cells))
    print()
    for db, r in results.items():
        deep = r["flows, page after %d" % DEEP][0] / r["flows, first page"][0]
        page = r["flow, 1,000 atoms"][0] / r["api: flow, 1,000 atoms"][0]
        stats = r["name stats, 200 runs"][0] / r["api: name stats"][0]
        print(
            "%-10s deep / first flows page %.2fx; flow page / its api %.2fx; "
            "name page / its api %.2fx" % (db, deep, page, stats)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
