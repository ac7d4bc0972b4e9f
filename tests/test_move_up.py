"""Moving up, as ``docs/how-to/scale-out.md`` tells it: a SQLite site in use (the demo
bookshop, its contacts and events, a contact waiting in a scenario, mail already sent,
consent records, an import waiting in django-q2's ORM queue) is moved by
``journeys_move_database`` into a new PostgreSQL database, then run by two ``qcluster``
nodes with the Redis broker.

Afterwards every table holds as many rows as before and the SQLite file is unchanged; the
waiting contact goes on where it was, once (two nodes, one mail); a new event starts a
scenario; the queued import runs; the admin and the site serve the moved pages, and the
links of mail sent before the move still work.
"""

from __future__ import annotations

import email
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.processes import MANAGE, ROOT, Process, wait_for
from tests.test_qcluster import REDIS_URL

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

PG = {
    "host": os.environ.get("JOURNEYS_PG_HOST", "127.0.0.1"),
    "port": os.environ.get("JOURNEYS_PG_PORT", "5432"),
    "user": os.environ.get("JOURNEYS_PG_USER", "postgres"),
}
#: The site in use, built on SQLite in one process (migrated, the demo bookshop with a few
#: contacts): a contact who bought a thriller is enrolled in the welcome series (voucher,
#: welcome mail sent, now waiting a week), one more contact waits for a first purchase,
#: consents are on record, an import is queued.
SEED = """
import io, json, time
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("journeys_demo", contacts=5, stdout=io.StringIO())
from django_q.tasks import async_task
from wagtail_journeys.consent import record_consent
from wagtail_journeys.engine import tick
from wagtail_journeys.events import record_event
from wagtail_journeys.models import (
    Contact, ContactImport, Enrollment, ImportStatus, Message, ScenarioPage,
)
wendy = Contact.objects.create(email="wendy@example.com", first_name="Wendy",
                               email_status="subscribed")
bob = Contact.objects.create(email="bob@example.com", first_name="Bob",
                             email_status="subscribed")
for contact in (wendy, bob):
    record_consent(contact, action="granted", source="form", wording="Send me news")
record_event("purchase", contact=wendy, properties={"category": "thriller"}, source="server")
time.sleep(2.5)  # events settle before the engine reads them
tick()
enrolment = Enrollment.objects.get(contact=wendy)
job = ContactImport.objects.create(file_name="late.csv", size=40, status=ImportStatus.QUEUED,
                                   data=b"email\\nlate.reader@example.com\\n")
async_task("wagtail_journeys.tasks.import_contacts", job.pk)
print(json.dumps({
    "wendy": wendy.pk, "bob": bob.pk, "enrolment": enrolment.pk,
    "waiting": enrolment.waiting, "step": enrolment.step_id,
    "scenario": ScenarioPage.objects.get(pk=enrolment.scenario_id).title,
    "sent": list(Message.objects.filter(contact=wendy).values_list("status", flat=True)),
}))
"""
#: The moved site, after the switch: the queued tasks handed to Redis, the search index
#: rebuilt (both as the guide says), a week gone by for the waiting contact, a new
#: purchase by the other one, and the moved schedules' due tasks put in the Redis queue
#: (what a cluster's scheduler does 30 s after it starts, done now).
AFTER_MOVE = """
import io, json
from django.core.management import call_command
from django.utils import timezone
from django_q.scheduler import scheduler
from wagtail_journeys.events import record_event
from wagtail_journeys.models import Enrollment
out = io.StringIO()
call_command("journeys_requeue_tasks", stdout=out)
call_command("update_index", stdout=io.StringIO())
Enrollment.objects.filter(pk={enrolment}).update(due_at=timezone.now())
record_event("purchase", contact={bob}, properties={{"category": "classics"}}, source="server")
scheduler()
print(json.dumps({{"requeued": out.getvalue()}}))
"""
#: What an editor and a visitor see on the moved site.
PAGES = """
import json, os
from django.contrib.auth import get_user_model
from django.test import Client
from wagtail.models import Page
from wagtail_journeys.models import ScenarioPage
editor = Client()
editor.force_login(get_user_model().objects.get(is_superuser=True))
scenario = ScenarioPage.objects.get(title="Welcome series")
home = Page.objects.get(depth=2)
paths = ["/admin/", f"/admin/pages/{home.pk}/", f"/admin/pages/{scenario.pk}/edit/",
         "/admin/journeys_contacts/", "/admin/journeys_messages/"]
seen = {path: editor.get(path).status_code for path in paths}
for path in ("/", "/books/the-shining/"):
    seen[path] = Client().get(path).status_code
# Links in mail sent before the move, signed with the same SECRET_KEY.
links = {}
for path in json.loads(os.environ["JOURNEYS_MOVE_LINKS"]):
    response = Client().get(path)
    links[path] = [response.status_code, response.get("Location", "")]
print(json.dumps({"pages": seen, "links": links}))
"""


def site_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The example site's settings through ``tests/move_up_settings.py``, chosen by env."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOURNEYS_DB", "JOURNEYS_PG_NAME", "JOURNEYS_BROKER"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.move_up_settings",
        JOURNEYS_MOVE_OUTBOX=str(tmp_path / "outbox"),
        DJANGO_SECRET_KEY="the-same-key-before-and-after",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *command: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"manage.py {command[0]}:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout


def shell(env: dict[str, str], code: str) -> dict:
    return json.loads(manage(env, "shell", "--no-imports", "-c", code).strip().splitlines()[-1])


def sqlite_rows(path: Path) -> tuple[dict[str, int], str]:
    """Rows per table of the SQLite file, and a digest of all of them (read-only)."""
    digest = hashlib.sha256()
    counts = {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for table in tables:
            digest.update(table.encode())
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608
            counts[table] = len(rows)
            digest.update(repr(rows).encode())
    finally:
        db.close()
    return counts, digest.hexdigest()


def postgres_rows(db) -> dict[str, int]:
    """Rows per table of the PostgreSQL database (``db``: a psycopg connection)."""
    tables = db.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    return {
        table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        for (table,) in tables
    }


@pytest.fixture
def postgres_database():
    """A new PostgreSQL database of its own, dropped afterwards."""
    import psycopg

    name = f"{os.environ.get('JOURNEYS_PG_NAME', 'journeys')}_move_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_queue(require_redis):
    import redis

    queue = redis.Redis.from_url(REDIS_URL)

    def clear():
        stale = queue.keys("django_q:*")
        if stale:
            queue.delete(*stale)

    clear()
    yield
    clear()


def mail_to(tmp_path: Path, address: str) -> list[email.message.Message]:
    """The mails written to ``address`` (the file backend's outbox), oldest first."""
    found = []
    for path in sorted((tmp_path / "outbox").glob("*.log"), key=lambda p: p.stat().st_mtime):
        for text in path.read_text(errors="replace").split("\n" + "-" * 79 + "\n"):
            message = email.message_from_string(text.strip("\n"))
            if address in (message["To"] or ""):
                found.append(message)
    return found


def outbox(tmp_path: Path, address: str) -> list[str]:
    """Subjects of the mails written to ``address``."""
    return [message["Subject"] for message in mail_to(tmp_path, address)]


def signed_links(message: email.message.Message) -> list[str]:
    """The paths of a mail's tracked click and unsubscribe links."""
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    click = re.search(r"/journeys/c/[^\"'\s<>]+", body).group()
    unsubscribe = re.search(r"/journeys/u/[^\"'\s<>]+", body).group()
    return [click, unsubscribe]


#: Tables whose rows differ by database on purpose: the search index (rebuilt by
#: ``update_index``), SQLite's own bookkeeping.
NOT_COMPARED = ("wagtailsearch_", "sqlite_", "django_migrations")


def test_a_sqlite_site_moves_to_postgresql_and_runs_on_two_redis_nodes(
    tmp_path, postgres_database, redis_queue
):
    import psycopg

    sqlite_path = tmp_path / "site.sqlite3"
    before = site_env(tmp_path, JOURNEYS_SQLITE_PATH=str(sqlite_path), JOURNEYS_BROKER="orm")
    after = site_env(
        tmp_path,
        JOURNEYS_DB="postgres",
        JOURNEYS_PG_NAME=postgres_database,
        JOURNEYS_BROKER="redis",
        JOURNEYS_REDIS_URL=REDIS_URL,
    )
    # The new database is migrated (its own process) while the SQLite site is built.
    migrating = subprocess.Popen(
        [sys.executable, str(MANAGE), "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=after,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    seeded = shell(before, SEED)
    assert seeded["scenario"] == "Welcome series" and seeded["waiting"]
    assert seeded["sent"] == ["sent"]
    (welcome,) = outbox(tmp_path, "wendy@example.com")
    assert welcome.startswith("Welcome to The Bookshop")
    assert migrating.wait(timeout=300) == 0, migrating.stdout.read()
    source_counts, source_digest = sqlite_rows(sqlite_path)
    for table in (
        "wagtail_journeys_enrollment",
        "wagtail_journeys_message",
        "wagtail_journeys_steprun",
        "wagtail_journeys_consentrecord",
        "wagtail_journeys_event",
        "wagtailcore_revision",
        "django_q_schedule",
        "django_q_ormq",
    ):
        assert source_counts[table] > 0, table

    url = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{postgres_database}"
    moved = manage(before, "journeys_move_database", "--to", url)
    assert "every count matches" in moved
    # A second move would overwrite the moved site: refused, nothing written.
    again = subprocess.run(
        [sys.executable, str(MANAGE), "journeys_move_database", "--to", url],
        env=before,
        capture_output=True,
        text=True,
    )
    assert again.returncode != 0 and "holds data" in again.stderr
    # Changed since on the target, a row edited and one deleted: --replace deletes what
    # the target holds and moves again, so it holds the source's rows once more.
    with psycopg.connect(**PG, dbname=postgres_database, autocommit=True) as db:
        db.execute("UPDATE wagtail_journeys_contact SET first_name = 'Edited'")
        db.execute(
            "DELETE FROM django_q_schedule WHERE id = (SELECT min(id) FROM django_q_schedule)"
        )
    replaced = manage(before, "journeys_move_database", "--to", url, "--replace")
    assert "every count matches" in replaced
    assert sqlite_rows(sqlite_path)[1] == source_digest, "the move changed the SQLite file"
    with psycopg.connect(**PG, dbname=postgres_database, autocommit=True) as db:
        moved_counts = postgres_rows(db)
    compared = [t for t in moved_counts if not t.startswith(NOT_COMPARED)]
    assert {t: moved_counts[t] for t in compared} == {t: source_counts[t] for t in compared}
    with psycopg.connect(**PG, dbname=postgres_database, autocommit=True) as db:
        names = db.execute("SELECT first_name FROM wagtail_journeys_contact").fetchall()
    assert ("Edited",) not in names

    done = shell(after, AFTER_MOVE.format(**seeded))
    assert "Moved 1 waiting task(s)" in done["requeued"]
    nodes = [Process.manage("qcluster", env=after, log=tmp_path / f"node{n}.log") for n in (1, 2)]
    with psycopg.connect(**PG, dbname=postgres_database, autocommit=True) as db:

        def one(sql: str, *params) -> int:
            return db.execute(sql, params).fetchone()[0]

        def worked() -> bool:
            """Wendy moved on from her wait and was mailed, Bob was welcomed, the import
            ran."""
            return (
                one(ENROLMENT_STEP, seeded["enrolment"]) != seeded["step"]
                and one(SENT_TO, seeded["wendy"]) == 2
                and one(SENT_TO, seeded["bob"]) == 1
                and one(CONTACTS_NAMED, "late.reader@example.com")
            )

        try:
            for node in nodes:
                wait_for(
                    lambda node=node: "] running." in node.output(20000) or not node.running(),
                    timeout=60,
                    what="qcluster to start",
                )
                assert node.running(), node.output()
            try:
                wait_for(worked, timeout=90, interval=0.5, what="the two nodes' work")
            except TimeoutError:
                pytest.fail("\n".join(node.output() for node in nodes))
        finally:
            for node in nodes:  # both stop at once
                if node.running():
                    node.popen.send_signal(signal.SIGTERM)
            for node in nodes:
                node.stop()
        assert one(MESSAGES_TO, seeded["wendy"]) == 2
    # Wendy's welcome mail came from SQLite, her thriller mail from PostgreSQL: once.
    wendy = outbox(tmp_path, "wendy@example.com")
    assert len(wendy) == 2 and wendy[0] == welcome, wendy
    (bob,) = outbox(tmp_path, "bob@example.com")
    assert bob.startswith("Welcome to The Bookshop")
    links = signed_links(mail_to(tmp_path, "wendy@example.com")[0])
    seen = shell({**after, "JOURNEYS_MOVE_LINKS": json.dumps(links)}, PAGES)
    assert set(seen["pages"].values()) == {200}, seen
    click, unsubscribe = (seen["links"][path] for path in links)
    assert click[0] == 302 and "/journeys/" not in click[1], click  # on to the shop's page
    assert unsubscribe[0] == 200, unsubscribe  # the preferences page


ENROLMENT_STEP = "SELECT step_id FROM wagtail_journeys_enrollment WHERE id = %s"
MESSAGES_TO = "SELECT count(*) FROM wagtail_journeys_message WHERE contact_id = %s"
SENT_TO = MESSAGES_TO + " AND status = 'sent'"
CONTACTS_NAMED = "SELECT count(*) FROM wagtail_journeys_contact WHERE email = %s"
