"""Temporary, migrated databases for the benchmarks, and Django commands run against them.

Each benchmark gets its own SQLite file in a temporary directory (or its own PostgreSQL
database, dropped afterwards): the developer's ``db.sqlite3`` is never touched.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example_site" / "manage.py"


def site_env(**extra: str) -> dict[str, str]:
    """The example site's settings, DEBUG off (no query log), on this repo's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_DB")}
    env.update(
        DJANGO_SETTINGS_MODULE="example_site.settings",
        DJANGO_DEBUG="0",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *command: str) -> str:
    """Run ``manage.py COMMAND`` and return its output; raise with it if it fails."""
    done = subprocess.run(
        [sys.executable, str(MANAGE), *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def shell(env: dict[str, str], code: str) -> str:
    """Run Python ``code`` in ``manage.py shell`` and return what it printed."""
    return manage(env, "shell", "--no-imports", "-c", code)


def postgres_reachable() -> bool:
    import socket

    try:
        with socket.create_connection((os.environ.get("JOURNEYS_PG_HOST", "127.0.0.1"), 5432), 1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def temp_database(kind: str = "sqlite") -> Iterator[dict[str, str]]:
    """Yield the environment of a freshly migrated database with the demo bookshop pages."""
    with tempfile.TemporaryDirectory(prefix="journeys-bench-") as tmp:
        if kind == "sqlite":
            env = site_env(JOURNEYS_SQLITE_PATH=str(Path(tmp) / "bench.sqlite3"))
            manage(env, "migrate", "--noinput", "-v0")
            manage(env, "journeys_demo", "--contacts", "0")
            yield env
            return
        import psycopg

        base = os.environ.get("JOURNEYS_PG_NAME", "journeys")
        name = f"{base}_bench_{uuid.uuid4().hex[:8]}"
        admin = {
            "host": os.environ.get("JOURNEYS_PG_HOST", "127.0.0.1"),
            "user": os.environ.get("JOURNEYS_PG_USER", "postgres"),
            "dbname": "postgres",
            "autocommit": True,
        }
        with psycopg.connect(**admin) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            env = site_env(JOURNEYS_DB="postgres", JOURNEYS_PG_NAME=name)
            manage(env, "migrate", "--noinput", "-v0")
            manage(env, "journeys_demo", "--contacts", "0")
            yield env
        finally:
            with psycopg.connect(**admin) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_admin_connection():
    """A connection to the PostgreSQL server's ``postgres`` database (autocommit), for
    creating and dropping a benchmark's own database."""
    import psycopg

    return psycopg.connect(
        host=os.environ.get("JOURNEYS_PG_HOST", "127.0.0.1"),
        port=os.environ.get("JOURNEYS_PG_PORT", "5432"),
        user=os.environ.get("JOURNEYS_PG_USER", "postgres"),
        dbname="postgres",
        autocommit=True,
    )


def recreate_pg_database(name: str) -> None:
    """Drop (with its connections) and create the PostgreSQL database ``name``."""
    with pg_admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(name: str) -> None:
    """Close this process's Django connections, then drop the database ``name``."""
    from django.db import connections

    connections.close_all()
    with pg_admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main_on_each_database(
    script: str, bench, *, databases: tuple[str, ...] = ("sqlite", "postgres")
) -> int:
    """``main()`` of a benchmark that runs in-process on a fresh test database: without
    arguments, run ``script`` again once per database (PostgreSQL when reachable); with
    ``run``, set Django up, create the test database, call ``bench(events)``, drop it."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("benches", nargs="*")
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    if not args.benches:
        status = 0
        for database in databases:
            if database == "postgres" and not postgres_reachable():
                print("PostgreSQL unreachable: skipped", flush=True)
                continue
            status |= subprocess.call(
                [sys.executable, "-u", script, "run", "--events", str(args.events)],
                env={**os.environ, "JOURNEYS_DB": database},
            )
        return status
    import django

    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        bench(args.events)
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
    return 0
