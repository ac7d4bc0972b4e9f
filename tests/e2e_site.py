"""The example site as it runs for real, for ``tests/test_journey_e2e.py``: gunicorn, a
``qcluster``, an SMTP server in its own process, one movable clock, and read-only looks
at the database.

Every process runs the example site's own settings (``example_site.settings``: consent
banner, double opt-in, ``SUPPRESS_ERASED``) on a fresh SQLite file; only the environment
variables the settings read are set (database path, site address, SMTP host and port).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import email.utils
import os
import signal
import sqlite3
import sys
import time
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

from tests.processes import (
    MANAGE,
    ROOT,
    Process,
    free_port,
    no_control_socket,
    port_open,
    wait_for,
)

CLOCK_PATH = ROOT / "tests" / "clock"  # holds the test-only sitecustomize.py
SMTP_SINK = ROOT / "tests" / "smtp_sink.py"


class Clock:
    """The site's time: an offset from the real time, in a file every process follows
    (``tests/clock/sitecustomize.py``)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0.0
        self._write(0.0)

    def _write(self, offset: float) -> None:
        aside = self.path.with_suffix(".tmp")
        aside.write_text(repr(offset))
        aside.rename(self.path)  # whole or not at all, for the processes polling it
        self.offset = offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(time.time() + self.offset, dt.UTC)

    def move_to(self, when: dt.datetime) -> None:
        """Set the site's clock (every process, within ~50 ms) to ``when``, ticking on."""
        self._write(when.timestamp() - time.time())


class Mailbox:
    """The messages the SMTP process wrote into its directory, oldest first."""

    def __init__(self, directory: Path):
        self.directory = directory

    def all(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.directory.glob("*.eml"))
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.all() if m["To"] == address]

    def wait_for(self, address: str, subject: str, *, timeout: float) -> EmailMessage:
        """The first message to ``address`` with this subject, once it has arrived."""

        def arrived():
            return next((m for m in self.to(address) if m["Subject"] == subject), None)

        return wait_for(arrived, timeout=timeout, what=f"{subject!r} to arrive for {address}")

    def summary(self) -> str:
        return "\n".join(f"  {m['To']}: {m['Subject']}" for m in self.all()) or "  (none)"


class Records:
    """Read-only queries on the site's database: what the engine did, as stored."""

    def __init__(self, path: Path):
        self.path = path

    def rows(self, sql: str, *params) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA busy_timeout = 5000")
            return db.execute(sql, params).fetchall()

    def contact(self, address: str) -> tuple[int, str] | None:
        """``(id, email_status)`` of the contact with this address."""
        found = self.rows(
            "SELECT id, email_status FROM wagtail_journeys_contact WHERE email = ?", address
        )
        return found[0] if found else None

    def enrollments(self, address: str) -> dict[str, str]:
        """The scenarios the contact is enrolled in (title -> status)."""
        return dict(
            self.rows(
                "SELECT p.title, e.status FROM wagtail_journeys_enrollment e"
                " JOIN wagtail_journeys_contact c ON c.id = e.contact_id"
                " JOIN wagtailcore_page p ON p.id = e.scenario_id WHERE c.email = ?",
                address,
            )
        )

    def last_event(self, name: str) -> int:
        """The id of the latest event of this name."""
        return self.rows("SELECT max(id) FROM wagtail_journeys_event WHERE name = ?", name)[0][0]

    def triggers_read(self, event_id: int) -> bool:
        """Have the scenario triggers read the event log up to this event?"""
        cursor = self.rows(
            "SELECT position FROM wagtail_journeys_eventcursor WHERE name = ?", "scenarios"
        )
        return bool(cursor) and cursor[0][0] >= event_id

    def step_runs(self, address: str, scenario: str) -> list[tuple[str, str, str]]:
        """What each step of the contact's enrolment in ``scenario`` did, in order:
        ``(step title, outcome, reason)``."""
        return self.rows(
            "SELECT s.title, r.outcome, r.reason FROM wagtail_journeys_steprun r"
            " JOIN wagtail_journeys_enrollment e ON e.id = r.enrollment_id"
            " JOIN wagtail_journeys_contact c ON c.id = e.contact_id"
            " JOIN wagtailcore_page p ON p.id = e.scenario_id"
            " LEFT JOIN wagtailcore_page s ON s.id = r.step_id"
            " WHERE c.email = ? AND p.title = ? ORDER BY r.id",
            address,
            scenario,
        )

    def messages(self, address: str) -> list[tuple[str, str, str]]:
        """The contact's messages, oldest first: ``(subject, status, error)``."""
        return self.rows(
            "SELECT m.subject, m.status, m.error FROM wagtail_journeys_message m"
            " JOIN wagtail_journeys_contact c ON c.id = m.contact_id WHERE c.email = ?"
            " ORDER BY m.id",
            address,
        )


def copy_database(source: str, target: Path) -> None:
    """A consistent copy of a SQLite database (WAL included) through SQLite's backup API."""
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


class ExampleSite:
    """The example site's processes on loopback, started in order, all stopped by
    ``stop()`` (each with its whole process group: ``tests/processes.py``)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.database = directory / "site.sqlite3"
        # One port at a time, each taken before the next is chosen (free_port only probes).
        self.smtp_port = free_port()
        self.port = self.smtp_port
        self.url = ""
        self.mail = Mailbox(directory / "mail")
        self.records = Records(self.database)
        self.clock = Clock(directory / "clock-offset")
        self.processes: dict[str, Process] = {}
        self.started = time.monotonic()
        self.timeline: list[str] = []
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "JOURNEYS_DB", "JOURNEYS_BROKER", "JOURNEYS_PG"))
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="example_site.settings",
            PYTHONPATH=os.pathsep.join([str(ROOT), str(CLOCK_PATH)]),
            PYTHONUNBUFFERED="1",
            JOURNEYS_SQLITE_PATH=str(self.database),
            JOURNEYS_TEST_CLOCK_FILE=str(self.clock.path),
            DJANGO_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            DJANGO_EMAIL_HOST="127.0.0.1",
            DJANGO_EMAIL_PORT=str(self.smtp_port),
        )

    def _start(self, name: str, args: list[str]) -> Process:
        process = Process(args, env=self.env, log=self.directory / f"{name}.log")
        self.processes[name] = process
        return process

    def manage(self, *command: str, timeout: float) -> None:
        """Run ``manage.py COMMAND`` to its end (its output goes to ``NAME.log``)."""
        process = self._start(command[0], [sys.executable, str(MANAGE), *command])
        process.popen.wait(timeout=timeout)
        if process.popen.returncode:
            raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{process.output()}")

    def start_smtp(self) -> None:
        """The SMTP server, then the site's own port (the site's address is known from
        then on: ``WAGTAILADMIN_BASE_URL``, which ``journeys_demo`` gives its ``Site``)."""
        process = self._start(
            "smtp", [sys.executable, str(SMTP_SINK), str(self.smtp_port), str(self.mail.directory)]
        )
        self._wait_listening(process, self.smtp_port)
        self.port = free_port()
        self.url = self.env["WAGTAILADMIN_BASE_URL"] = f"http://127.0.0.1:{self.port}"

    def start_qcluster(self) -> None:
        self._start("qcluster", [sys.executable, str(MANAGE), "qcluster"])

    def start_gunicorn(self) -> None:
        args = [
            sys.executable, "-m", "gunicorn", "example_site.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
            "--access-logfile", "-", "--log-level", "info", *no_control_socket(),
        ]  # fmt: skip
        self._start("gunicorn", args)

    @staticmethod
    def _wait_listening(process: Process, port: int, timeout: float = 60) -> None:
        def up():
            if not process.running():
                raise RuntimeError(f"{process.log.stem} exited:\n{process.output()}")
            return port_open("127.0.0.1", port)

        wait_for(up, timeout=timeout, what=f"{process.log.stem} to listen on {port}")

    def wait_until_serving(self) -> None:
        self._wait_listening(self.processes["gunicorn"], self.port)
        if not self.processes["qcluster"].running():
            raise RuntimeError(f"qcluster exited:\n{self.processes['qcluster'].output()}")

    def site_time(self) -> dt.datetime:
        """The time the site tells (the ``Date`` header of its home page)."""
        request = urllib.request.Request(f"{self.url}/", method="HEAD")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return email.utils.parsedate_to_datetime(response.headers["Date"])

    def move_clock_to(self, when: dt.datetime) -> None:
        """Move every process's clock to ``when`` and wait until the site tells it."""
        self.clock.move_to(when)
        self.mark(f"clock moved to {when:%a %d %b %H:%M} UTC")
        wait_for(
            lambda: self.site_time() >= when - dt.timedelta(seconds=2),
            timeout=10,
            interval=0.05,
            what=f"the site's clock to read {when:%Y-%m-%d %H:%M}",
        )

    def logs(self, tail: int = 6000) -> str:
        return "\n".join(
            f"===== {name} ({process.log}) =====\n{process.output(tail)}"
            for name, process in self.processes.items()
        )

    def stop(self) -> None:
        """Stop every process: all told at once (SIGTERM), then each waited for and its
        group killed if it lingers (``Process.stop``)."""
        for process in self.processes.values():
            if process.running():
                with contextlib.suppress(ProcessLookupError):
                    process.popen.send_signal(signal.SIGTERM)
        for process in reversed(self.processes.values()):
            process.stop()

    def mark(self, what: str) -> None:
        """Note a step of the journey with the seconds since the site began starting."""
        self.timeline.append(f"  {time.monotonic() - self.started:6.1f} s  {what}")

    def report(self) -> str:
        """Everything that helps read a failure: the processes' logs, the mail received,
        the steps reached."""
        return (
            f"{self.logs()}\n===== mail received =====\n{self.mail.summary()}\n"
            f"===== steps =====\n" + "\n".join(self.timeline) + "\n"
            f"(everything is kept in {self.directory})"
        )

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """A failure in the block carries ``report()`` (shown under its traceback)."""
        try:
            yield
        except Exception as failure:
            failure.add_note(self.report())
            raise


@contextlib.contextmanager
def example_site(directory: Path, template_database: str) -> Iterator[ExampleSite]:
    """Start the example site on a copy of ``template_database`` (freshly migrated),
    filled by ``journeys_demo``; stop every process on the way out."""
    site = ExampleSite(directory)
    site.mail.directory.mkdir(parents=True)
    copy_database(template_database, site.database)
    try:
        site.start_smtp()
        # First: its scheduler first looks 30 s after it starts (django-q2's guard loop).
        # Then gunicorn boots while journeys_demo fills the database.
        site.start_qcluster()
        site.start_gunicorn()
        site.manage("journeys_demo", timeout=120)
        site.mark("journeys_demo done")
        site.wait_until_serving()
        site.mark("serving")
        yield site
    except BaseException:
        print(site.report(), file=sys.stderr)
        raise
    finally:
        site.stop()
