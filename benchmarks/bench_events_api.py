"""``POST /journeys/api/events`` through gunicorn (2 sync workers) on loopback.

``wrk`` (Debian package ``wrk``; one thread, a few connections, so it leaves the CPU to
the server) posts events for ``BENCH_API_SECONDS`` (30) as a browser would (signed
visitor id and the example site's consent cookie, ``text/plain`` like sendBeacon) and as a
server would (Bearer token, contact by email, idempotency key). Rows are counted
afterwards: every 2xx must be a stored event. SQLite always; PostgreSQL too when
reachable. Budget: ≥ 1000 events/s, 0 lost. Then ``/events/batch``: batches of 500
server events from the same number of keep-alive connections; budget ≥ 10,000 events/s
and ≥ 10× the single-event server path, 0 lost.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.databases import postgres_reachable, shell, temp_database  # noqa: E402
from benchmarks.servers import cpu_seconds, gunicorn  # noqa: E402

SECONDS = int(os.environ.get("BENCH_API_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("BENCH_API_CONNECTIONS", "4"))
MODES = os.environ.get("BENCH_API_MODES", "browser,server").split(",")
BUDGET_RATE = 1000
BUDGET_BATCH_RATE = 10_000
BATCH = 500
BATCH_SECONDS = float(os.environ.get("BENCH_API_BATCH_SECONDS", "15"))

PREPARE = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from wagtail.models import APIToken
from wagtail_journeys.tracking import consent
from wagtail_journeys.tracking.visitor import VisitorId
user = get_user_model().objects.create_user("bench-backend", password="x")
user.user_permissions.add(Permission.objects.get(codename="track_contacts"))
print("server", APIToken.create_token(user=user, name="bench")[1])
print("browser", VisitorId.new().token)
print("consent", consent.cookie_value("granted"))
"""
COUNT = "from wagtail_journeys.models import Event; print(Event.objects.count())"


def count_events(env: dict[str, str]) -> int:
    return int(shell(env, COUNT).strip())


def load(url: str, mode: str, credential: str, consent: str) -> dict:
    """Run wrk against the events endpoint; return its summary (see events_load.lua)."""
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "events_load.lua"),
            f"{url}/journeys/api/events",
            "--",
            mode,
            credential,
            consent,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("WRK ")]
    return json.loads(line.removeprefix("WRK "))


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


def measure_batches(kind: str, env, url: str, token: str, server_rate: float | None) -> None:
    before = count_events(env)
    started = time.monotonic()
    answered, failed = post_batches(url, token, BATCH_SECONDS)
    elapsed = time.monotonic() - started
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
    print(
        f"  batch/{kind}: {answered} answered stored in batches of {BATCH}, {stored} stored,"
        f" {failed} failed requests, {CONNECTIONS} connections, {elapsed:.0f} s",
        flush=True,
    )


def measure(kind: str) -> None:
    with temp_database(kind) as env:
        credentials = dict(line.split(" ", 1) for line in shell(env, PREPARE).split("\n") if line)
        with gunicorn(env, workers=2) as (url, master):
            rates: dict[str, float] = {}
            for mode in MODES:
                before = count_events(env)
                cpu_before = cpu_seconds(master)
                summary = load(url, mode, credentials[mode], credentials["consent"])
                cpu = cpu_seconds(master) - cpu_before
                stored = count_events(env) - before
                answered = summary["requests"] - summary["status_errors"]
                errors = summary["status_errors"] + sum(
                    summary[k] for k in ("connect", "read", "write", "timeout")
                )
                lost = max(0, answered - stored)
                rate = answered / (summary["duration_us"] / 1e6)
                rates[mode] = rate
                name = f"events_api_{mode}_{kind}"
                print(f"bench {name}_rate: {rate:.0f} events/s (budget >= {BUDGET_RATE} events/s)")
                print(f"bench {name}_p99: {summary['p99_us'] / 1000:.1f} ms (budget n/a)")
                print(f"bench {name}_lost: {lost} events (budget 0 events)")
                # On a shared machine the rate says as much about the neighbours as about
                # us; the workers' own CPU time per event does not.
                per_event = cpu * 1000 / max(answered, 1)
                print(f"bench {name}_cpu: {per_event:.2f} ms/event (budget n/a)")
                print(
                    f"  {mode}/{kind}: {answered} answered 2xx, {stored} stored, {errors} errors,"
                    f" median {summary['p50_us'] / 1000:.1f} ms, {CONNECTIONS} connections,"
                    f" workers used {cpu:.1f} CPU s in {summary['duration_us'] / 1e6:.0f} s",
                    flush=True,
                )
            measure_batches(kind, env, url, credentials["server"], rates.get("server"))


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench events_api: not run: wrk is missing (make bench installs it)")
        return 1
    measure("sqlite")
    if postgres_reachable():
        measure("postgres")
    else:
        print("  postgres: not reachable, skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
