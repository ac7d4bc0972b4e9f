"""``POST /journeys/api/events`` through gunicorn on loopback, against a floor.

``wrk`` (Debian package ``wrk``; one thread, a few connections, so it leaves the CPU to
the server) posts events for ``BENCH_API_SECONDS`` (30) as a browser would (signed
visitor id and the example site's consent cookie, ``text/plain`` like sendBeacon) and as a
server would (Bearer token, contact by email among 1,000 known contacts, idempotency key).
Rows are counted afterwards: every 2xx must be a stored event.

Each path is measured right after its floor, served by the same gunicorn: a bare Django
view behind the same middleware that parses the same JSON body and INSERTs one ``Event``
(``floor_urls``). Budgets: ≥ 60 % of the floor and ≥ 1000 events/s, 0 lost. CPU per event
is printed for the web workers and, on PostgreSQL, for the database's backends; queries
per event are counted in-process. SQLite always; PostgreSQL too when reachable. Then
``/events/batch``: batches of 500 server events from the same number of keep-alive
connections; budget ≥ 10,000 events/s and ≥ 10× the single-event server path, 0 lost.

Floor and API alternate in ``BENCH_API_ROUNDS`` (3) runs each, so that a neighbour's burst
on a shared machine weighs on both alike. ``BENCH_API_CONFIGS`` lists gunicorn
configurations (``sync:4``: 4 sync workers; ``gthread:2x4``: 2 workers of 4 threads;
``+ka`` adds ``--keep-alive 5``, which wrk uses; default ``gthread:2x4+ka,sync:4``, see
docs/how-to/production.md); the first is measured in full, the others print the floor
and the server path only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.databases import postgres_reachable, shell, temp_database  # noqa: E402
from benchmarks.servers import cpu_seconds, gunicorn  # noqa: E402

SECONDS = int(os.environ.get("BENCH_API_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("BENCH_API_CONNECTIONS", "4"))
MODES = os.environ.get("BENCH_API_MODES", "browser,server").split(",")
CONFIGS = os.environ.get("BENCH_API_CONFIGS", "gthread:2x4+ka,sync:4").split(",")
ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", "3"))
BUDGET_RATE = 1000
BUDGET_FLOOR = 60
BUDGET_BATCH_RATE = 10_000
BATCH = 500
BATCH_SECONDS = float(os.environ.get("BENCH_API_BATCH_SECONDS", "15"))
EVENTS = "/journeys/api/events"
FLOOR = "/bench/floor"

PREPARE = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from wagtail.models import APIToken
from wagtail_journeys.models import Contact
from wagtail_journeys.tracking import consent
from wagtail_journeys.tracking.visitor import VisitorId
user = get_user_model().objects.create_user("bench-backend", password="x")
user.user_permissions.add(Permission.objects.get(codename="track_contacts"))
Contact.objects.bulk_create(Contact(email=f"buyer{n}@example.com") for n in range(1000))
print("server", APIToken.create_token(user=user, name="bench")[1])
print("browser", VisitorId.new().token)
print("consent", consent.cookie_value("granted"))
"""
#: One event of each kind through Django's test client, its SQL statements counted.
QUERIES = """
import json
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client()
bodies = {
    "server": ({"name": "purchase", "email": "buyer7@example.com", "properties": {"sku": "B-7"},
                "idempotency_key": "queries-1"}, "application/json",
               {"HTTP_AUTHORIZATION": "Bearer %(server)s"}),
    "browser": ({"name": "cart.updated", "visitor": "%(browser)s", "properties": {"items": 1}},
                "text/plain", {"HTTP_COOKIE": "journeys_consent=%(consent)s"}),
}
for mode, (body, content_type, headers) in bodies.items():
    client.post("%(path)s", json.dumps(body), content_type=content_type, **headers)  # warm
    body.pop("idempotency_key", None)
    body["idempotency_key"] = "queries-2" if mode == "server" else None
    body = {k: v for k, v in body.items() if v is not None}
    with CaptureQueriesContext(connection) as queries:
        answer = client.post("%(path)s", json.dumps(body), content_type=content_type, **headers)
    assert answer.status_code == 201, answer.content
    print(mode, len(queries))
"""


def count_events(env: dict[str, str]) -> int:
    """Rows in the event table, read directly (a ``manage.py shell`` costs seconds)."""
    sql = "SELECT count(*) FROM wagtail_journeys_event"
    if env.get("JOURNEYS_DB") == "postgres":
        import psycopg

        with psycopg.connect(
            host=env.get("JOURNEYS_PG_HOST", "127.0.0.1"),
            user=env.get("JOURNEYS_PG_USER", "postgres"),
            dbname=env["JOURNEYS_PG_NAME"],
        ) as connection:
            return connection.execute(sql).fetchone()[0]
    with contextlib.closing(sqlite3.connect(env["JOURNEYS_SQLITE_PATH"], timeout=30)) as db:
        return db.execute(sql).fetchone()[0]


def load_average() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def database_cpu(env: dict[str, str]) -> dict[int, float]:
    """CPU time (user + system) used so far by each PostgreSQL backend serving this
    benchmark's database, by pid (none on SQLite, where the database runs in the workers)."""
    if env.get("JOURNEYS_DB") != "postgres":
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    # "postgres: [cluster: ]USER DATABASE HOST(PORT) STATE", as PostgreSQL titles backends
    title = f": {env.get('JOURNEYS_PG_USER', 'postgres')} {env['JOURNEYS_PG_NAME']} ".encode()
    used = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if title not in (proc / "cmdline").read_bytes():
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[int(proc.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def database_cpu_since(env: dict[str, str], before: dict[int, float]) -> float:
    """CPU the backends used since ``before`` (``database_cpu``); a backend that ended
    meanwhile (a worker's connection past ``CONN_MAX_AGE``) is not counted."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in database_cpu(env).items())


def load(
    url: str, mode: str, credential: str, consent: str, run: str, seconds: int = SECONDS
) -> dict:
    """Run wrk against ``url`` for ``seconds``; return its summary (see events_load.lua)."""
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "events_load.lua"),
            url,
            "--",
            mode,
            credential,
            consent,
            run,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("WRK ")]
    return json.loads(line.removeprefix("WRK "))


@dataclass
class Run:
    """wrk runs against one URL: events answered 2xx and stored, in how long, for how much
    CPU (web workers; PostgreSQL backends)."""

    answered: int = 0
    stored: int = 0
    errors: int = 0
    seconds: float = 0.0
    worker_cpu: float = 0.0
    database_cpu: float = 0.0
    p50_ms: float = 0.0  # of the last run
    p99_ms: float = 0.0  # the worst run's

    @property
    def rate(self) -> float:
        return self.answered / max(self.seconds, 1e-9)

    @property
    def lost(self) -> int:
        return max(0, self.answered - self.stored)

    @property
    def worker_ms(self) -> float:
        return self.worker_cpu * 1000 / max(self.answered, 1)

    @property
    def database_ms(self) -> float:
        return self.database_cpu * 1000 / max(self.answered, 1)


_runs = iter(range(1, 1_000_000))


def run_load(env, url: str, master: int, mode: str, credentials, seconds: int, run: Run) -> None:
    """One wrk run against ``url``, added to ``run``."""
    before = count_events(env)
    worker_before, database_before = cpu_seconds(master), database_cpu(env)
    summary = load(url, mode, credentials[mode], credentials["consent"], str(next(_runs)), seconds)
    run.worker_cpu += cpu_seconds(master) - worker_before
    run.database_cpu += database_cpu_since(env, database_before)
    run.stored += count_events(env) - before
    answered = summary["requests"] - summary["status_errors"]
    run.answered += answered
    run.errors += summary["status_errors"] + sum(
        summary[k] for k in ("connect", "read", "write", "timeout")
    )
    run.seconds += summary["duration_us"] / 1e6
    run.p50_ms = summary["p50_us"] / 1000
    run.p99_ms = max(run.p99_ms, summary["p99_us"] / 1000)


def compare(env, url: str, master: int, mode: str, credentials) -> tuple[Run, Run]:
    """The floor and the API in ``ROUNDS`` alternating runs, so that a neighbour's burst
    on this shared machine weighs on both alike; return (floor, API)."""
    floor, api = Run(), Run()
    seconds = max(1, SECONDS // ROUNDS)
    for _ in range(ROUNDS):
        run_load(env, url + FLOOR, master, mode, credentials, seconds, floor)
        run_load(env, url + EVENTS, master, mode, credentials, seconds, api)
    return floor, api


def parse_config(text: str) -> dict:
    """``sync:4`` / ``gthread:2x4`` / ``…+ka`` → ``gunicorn()`` keyword arguments."""
    text, _, extra = text.partition("+")
    worker_class, _, shape = text.partition(":")
    workers, _, threads = shape.partition("x")
    options = {"worker_class": worker_class, "workers": int(workers), "threads": int(threads or 1)}
    if extra == "ka":
        options["keep_alive"] = 5
    return options


def describe(run: Run) -> str:
    return (
        f"{run.answered} answered 2xx, {run.stored} stored, {run.errors} errors, median"
        f" {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, CPU {run.worker_ms:.2f} ms/event in"
        f" workers + {run.database_ms:.2f} in PostgreSQL"
    )


def measure_single(kind: str, config: str, env, url, master, credentials, full: bool):
    """The floor, then the API, for each mode; return the API rate of each mode."""
    rates: dict[str, float] = {}
    queries = {}
    if full:
        code = QUERIES % {**credentials, "path": EVENTS}
        queries = dict(line.split() for line in shell(env, code).splitlines() if line)
    modes = MODES if full else ["server"]
    for mode in modes:  # every worker imports, connects and checks the token first
        for path in (FLOOR, EVENTS):
            load(url + path, mode, credentials[mode], credentials["consent"], "warm", 2)
    for mode in modes:
        floor, api = compare(env, url, master, mode, credentials)
        rates[mode] = api.rate
        name = f"events_api_{mode}_{kind}" + (
            "" if full else f"_{re.sub(r'[^a-z0-9]+', '_', config)}"
        )
        share = 100 * api.rate / floor.rate
        print(f"bench {name}_floor_rate: {floor.rate:.0f} events/s (budget n/a)")
        print(f"bench {name}_vs_floor: {share:.0f} % of the floor (budget >= {BUDGET_FLOOR} %)")
        print(f"bench {name}_rate: {api.rate:.0f} events/s (budget >= {BUDGET_RATE} events/s)")
        print(f"bench {name}_lost: {api.lost} events (budget 0 events)")
        # On a shared machine the rate says as much about the neighbours as about us; the
        # CPU each event costs (web worker + database backend) does not.
        total = api.worker_ms + api.database_ms
        print(f"bench {name}_cpu: {total:.2f} ms/event (budget n/a)")
        if full:
            print(f"bench {name}_p99: {api.p99_ms:.1f} ms (budget n/a)")
            print(f"bench {name}_queries: {queries[mode]} queries/event (budget <= 2)")
        print(f"  {mode}/{kind} {config}, floor: {describe(floor)}")
        print(f"  {mode}/{kind} {config}, API: {describe(api)}; {load_average()}", flush=True)
    return rates


def post_batches(url: str, token: str, seconds: float) -> tuple[int, int]:
    """Post batches of ``BATCH`` server events (new contacts, idempotency keys) from
    ``CONNECTIONS`` keep-alive connections for ``seconds``; return (events stored as
    answered, requests that failed)."""
    parts = urllib.parse.urlsplit(url)
    stop = time.monotonic() + seconds
    counts = {"stored": 0, "failed": 0}
    lock = threading.Lock()

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        sent = 0
        while time.monotonic() < stop:
            events = [
                {
                    "name": "purchase",
                    "email": f"buyer{(number * 7919 + sent + i) % 5000}@example.com",
                    "properties": {"amount": 12.5, "sku": "B-17"},
                    "idempotency_key": f"batch-{number}-{sent + i}",
                }
                for i in range(BATCH)
            ]
            sent += BATCH
            body = json.dumps({"events": events})
            connection.request(
                "POST",
                "/journeys/api/events/batch",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            answer = response.read()
            with lock:
                if response.status == 200:
                    counts["stored"] += json.loads(answer)["stored"]
                else:
                    counts["failed"] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["stored"], counts["failed"]


def measure_batches(
    kind: str, env, url: str, master: int, token: str, server_rate: float | None
) -> None:
    before = count_events(env)
    worker_before, database_before = cpu_seconds(master), database_cpu(env)
    started = time.monotonic()
    answered, failed = post_batches(url, token, BATCH_SECONDS)
    elapsed = time.monotonic() - started
    worker = cpu_seconds(master) - worker_before
    database = database_cpu_since(env, database_before)
    stored = count_events(env) - before
    rate = answered / elapsed
    name = f"events_api_batch_{kind}"
    print(f"bench {name}_rate: {rate:.0f} events/s (budget >= {BUDGET_BATCH_RATE} events/s)")
    if server_rate:
        print(
            f"bench {name}_vs_single: {rate / server_rate:.1f} x the single-event server path"
            " (budget >= 10 x)"
        )
    print(f"bench {name}_lost: {max(0, answered - stored)} events (budget 0 events)")
    per = 1000 / max(answered, 1)
    print(f"bench {name}_cpu: {(worker + database) * per:.3f} ms/event (budget n/a)")
    print(
        f"  batch/{kind}: {answered} answered stored in batches of {BATCH}, {stored} stored,"
        f" CPU {worker * per:.3f} ms/event in workers + {database * per:.3f} in PostgreSQL,"
        f" {failed} failed requests, {CONNECTIONS} connections, {elapsed:.0f} s; {load_average()}",
        flush=True,
    )


def measure(kind: str) -> None:
    with temp_database(kind) as env:
        credentials = dict(line.split(" ", 1) for line in shell(env, PREPARE).split("\n") if line)
        served = {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.floor_settings"}
        for number, config in enumerate(CONFIGS):
            with gunicorn(served, **parse_config(config)) as (url, master):
                rates = measure_single(kind, config, env, url, master, credentials, not number)
                if not number:
                    measure_batches(
                        kind, env, url, master, credentials["server"], rates.get("server")
                    )


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench events_api: not run: wrk is missing (make bench installs it)")
        return 1
    print(f"  {load_average()}, {os.cpu_count()} CPUs", flush=True)
    measure("sqlite")
    if postgres_reachable():
        measure("postgres")
    else:
        print("  postgres: not reachable, skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
