"""Budget: importing a 100,000-row CSV takes ≤ 60 s on SQLite with a peak RSS ≤ 300 MB.

Generates a deterministic CSV in a temporary directory, migrates a fresh SQLite database
there, then runs ``manage.py journeys_import_contacts`` in a subprocess and measures its
wall time and peak memory (``os.wait4`` gives that one child's resource usage).
Run standalone: ``python benchmarks/bench_import.py``.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = 100_000
TIME_BUDGET_S = 60
MEMORY_BUDGET_MB = 300

FIRST = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Inès", "Jules", "Manon", "Noah"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
TIMEZONES = ["Europe/Paris", "Europe/London", "America/New_York", "Asia/Tokyo", "UTC", ""]
TAGS = [
    "horror",
    "thriller",
    "classic",
    "science-fiction",
    "stephen-king",
    "jane-austen",
    "gillian-flynn",
    "frank-herbert",
    "poetry",
    "comics",
]


def unidecoded(name: str) -> str:
    """The ASCII form used in the generated addresses (``Chloé`` → ``chloe``)."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def write_csv(path: Path, rows: int = ROWS, seed: int = 2) -> None:
    """A realistic export: every column filled in most rows, some cells left empty."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "email",
                "first_name",
                "last_name",
                "civility",
                "birth_date",
                "phone",
                "locale",
                "timezone",
                "email_status",
                "sms_opt_in",
                "tags",
                "attr:member_since",
                "attr:favourite_genre",
            ]
        )
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            writer.writerow(
                [
                    f"{unidecoded(first)}.{last.lower()}.{i}@example.com",
                    first,
                    last,
                    rng.choice(["mr", "mrs", "ms", ""]),
                    f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    f"+336{rng.randint(10000000, 99999999)}",
                    rng.choice(["fr", "en", "en-GB", ""]),
                    rng.choice(TIMEZONES),
                    rng.choice(["subscribed", "subscribed", "pending", "unsubscribed", ""]),
                    rng.choice(["yes", "no", ""]),
                    ";".join(rng.sample(TAGS, rng.randint(0, 3))),
                    str(rng.randint(2010, 2025)),
                    rng.choice(TAGS[:4]),
                ]
            )


def run_measured(
    command: list[str], env: dict[str, str], stdout=subprocess.DEVNULL
) -> tuple[float, float, float, int]:
    """Run ``command``; return (wall seconds, CPU seconds, peak RSS in MB, exit status)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=stdout)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    return elapsed, usage.ru_utime + usage.ru_stime, peak_mb, process.returncode


MANAGE = [sys.executable, str(ROOT / "example_site" / "manage.py")]


def migrated_site(tmp: Path) -> dict[str, str]:
    """The environment of the example site on a new SQLite database in ``tmp``, migrated."""
    env = {
        **os.environ,
        "JOURNEYS_SQLITE_PATH": str(tmp / "bench.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "example_site.settings",
        "PYTHONPATH": str(ROOT),
        "DJANGO_DEBUG": "0",
    }
    env.pop("JOURNEYS_DB", None)
    subprocess.run([*MANAGE, "migrate", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    return env


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="journeys-bench-import-") as tmp:
        tmp = Path(tmp)
        data = tmp / "contacts.csv"
        write_csv(data)
        env = migrated_site(tmp)
        command = [*MANAGE, "journeys_import_contacts", str(data), "--no-progress"]
        elapsed, cpu, peak_mb, status = run_measured(command, env)
        if status:
            print(f"bench import_100k_rows: failed with exit status {status}")
            return 1
        print(f"bench import_100k_rows: {elapsed:.1f} s (budget {TIME_BUDGET_S} s)")
        print(f"bench import_peak_memory: {peak_mb:.0f} MB (budget {MEMORY_BUDGET_MB} MB)")
        # CPU time does not grow when other processes share the machine; wall time does.
        print(f"bench import_100k_rows_cpu: {cpu:.1f} s (budget {TIME_BUDGET_S} s)")
        # The same file again: every row found, nothing to write (a re-run after a fix).
        again, _, _, _ = run_measured(command, env)
        print(f"bench import_100k_rows_unchanged: {again:.1f} s (budget {TIME_BUDGET_S} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
