"""Sends against Django's own message builder, side by side in one run (issue 14 item 7).

The same ≈ 40 KB personalised mail (subject and body filled with the contact's name, a
dozen tracked links) to 5,000 contacts, as messages per second:

- ``send_django_build``: Django building and serialising each message
  (``EmailMultiAlternatives(...).message().as_bytes()``, the bodies already filled): the
  floor every Django peer pays per message;
- ``send_prepared_build``: the same messages written by ``emails.mime`` (info);
- ``send_broadcast``: a broadcast scenario to the 5,000, the engine's whole path (enrol,
  advance, render, ``Message`` rows and events) through Django's SMTP backend to a
  server on loopback: budget ≥ 2× ``send_django_build``;
- ``send_emails``: ``delivery.send_emails`` in batches of 500 to the same server;
- ``send_broadcast_rows``: rows written per message by the broadcast;
- ``peer_post_office_send``: django-post-office sending the same mails from its queue to
  the same server, and ``peer_newsletter_send``: django-newsletter's ``Submission.submit()``
  (installed by this bench in a virtualenv of their own, see ``peer_post_office.py`` and
  ``peer_newsletter.py``; ``JOURNEYS_BENCH_PEERS=0`` skips them).

The SMTP server is a small sink in its own process (it reads each DATA up to its final
dot and answers 250), so what is measured is the sending side, not the server; the
mails' contents are checked end to end in ``tests/test_delivery_smtp.py``.

Each run creates a fresh test database (``test_<name>``, SQLite or PostgreSQL with
``JOURNEYS_DB=postgres``), measures, and drops it. ``make bench`` runs it on PostgreSQL
when a server is reachable, else on SQLite. Standalone:
``JOURNEYS_DB=postgres python benchmarks/bench_send.py [--contacts 5000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["JOURNEYS_TEST_TMP"] = os.path.join(os.environ.get("JOURNEYS_TEST_TMP", "/tmp"), "bench")
os.makedirs(os.environ["JOURNEYS_TEST_TMP"], exist_ok=True)


#: Django's build and serialisation, ms of CPU per message (set by ``build_rates``).
DJANGO_CPU_MS = 0.0


def report(name: str, value: float, unit: str, budget: str) -> None:
    shown = f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"  # 0.85 ms, not 0.9
    print(f"bench {name}: {shown} {unit} (budget {budget})", flush=True)


# The SMTP sink ------------------------------------------------------------------------


#: What the sink offers: PIPELINING (RFC 2920) as Postfix, Exim and most MTAs do.
EHLO = b"250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 100000000\r\n"


class Sink(asyncio.Protocol):
    """Just enough SMTP for ``smtplib``: greets, answers 250 to commands, reads DATA up
    to ``CRLF.CRLF``. ``XCOUNT`` answers the number of messages received so far."""

    received = 0

    def connection_made(self, transport):
        self.transport, self.buffer, self.data = transport, bytearray(), False
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        while True:
            if self.data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                del self.buffer[: end + 5]
                self.data = False
                Sink.received += 1
                self.transport.write(b"250 OK\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            verb = bytes(self.buffer[:4]).upper()
            del self.buffer[: end + 2]
            if verb == b"EHLO":
                self.transport.write(EHLO)
            elif verb == b"DATA":
                self.data = True
                self.transport.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 bye\r\n")
                self.transport.close()
                return
            elif verb == b"XCOU":
                self.transport.write(b"250 %d\r\n" % Sink.received)
            else:
                self.transport.write(b"250 OK\r\n")


def serve_sink(port: int) -> None:
    async def main():
        server = await asyncio.get_running_loop().create_server(Sink, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def sink_count(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        reader = conn.makefile("rb")
        reader.readline()
        conn.sendall(b"XCOUNT\r\n")
        count = int(reader.readline().split()[1])
        conn.sendall(b"QUIT\r\n")
        return count


def free_port() -> int:
    from tests.processes import free_port

    return free_port()


# The mail -----------------------------------------------------------------------------


def make_page():
    """A ≈ 40 KB email: the contact's name in the subject and body, a dozen links."""
    from tests.emails.factories import make_email, text
    from tests.scenarios.factories import site_root

    site_root()
    words = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20
    link = '<a href="https://shop.example/{0}?u={{{{ contact.email|urlencode }}}}">{0}</a>'
    body = [text("<p>Dear {{ contact.first_name }},</p>")]
    for n in range(12):
        body.append(text(f"<p>{words} {link.format(f'book-{n}') if n % 2 else ''}</p>"))
    body.append(text("<p>See you soon, {{ contact.full_name }}.</p>"))
    return make_email(body=body, subject="New this week for {{ contact.first_name }}")


def make_contacts(count: int, prefix: str) -> list:
    from wagtail_journeys.models import Contact

    names = ["Chloé", "Bruno", "Zoë", "Ann", "Ève", "Raj", "Mia", "Léo"]
    Contact.objects.bulk_create(
        [
            Contact(
                email=f"{prefix}{n}@example.com",
                first_name=names[n % len(names)],
                last_name=f"Reader{n}",
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    return list(Contact.objects.filter(email__startswith=prefix).order_by("pk"))


def build_rates(page, contacts) -> tuple[float, float, int]:
    """Django's build and ``emails.mime``'s, of the same filled messages (msgs/s), and
    the size of one message."""
    from django.core.mail import EmailMultiAlternatives

    from wagtail_journeys.delivery import sender
    from wagtail_journeys.emails.mime import PreparedMail, Skeleton
    from wagtail_journeys.emails.render import compiled_for, fill

    compiled = compiled_for(page)
    rendered = [fill(compiled, c) for c in contacts]
    from_email = sender(page)

    def fields(contact, r):
        return {
            "subject": r.subject,
            "body": r.text,
            "from_email": from_email,
            "to": [contact.email],
            "headers": {
                "Message-ID": f"<{r.message_uuid.hex}@example.com>",
                "List-Unsubscribe": f"<mailto:unsubscribe@example.com?subject=unsubscribe%20"
                f"{r.message_uuid.hex}>, <https://shop.example/journeys/u/{r.message_uuid.hex}/>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }

    started, cpu = time.perf_counter(), time.process_time()
    for contact, r in zip(contacts, rendered, strict=True):
        mail = EmailMultiAlternatives(**fields(contact, r))
        mail.attach_alternative(r.html, "text/html")
        size = len(mail.message().as_bytes(linesep="\r\n"))
    django_rate = len(contacts) / (time.perf_counter() - started)
    cpu_ms = 1000 * (time.process_time() - cpu) / len(contacts)
    report("send_django_build_cpu", cpu_ms, "ms CPU/msg", "info")
    global DJANGO_CPU_MS
    DJANGO_CPU_MS = cpu_ms
    skeleton = Skeleton()
    shared = frozenset({"from", "list-unsubscribe-post"})
    started = time.perf_counter()
    for contact, r in zip(contacts, rendered, strict=True):
        mail = PreparedMail(
            **fields(contact, r),
            skeleton=skeleton,
            shared=shared,
            pieces={"plain": r.text_pieces, "html": r.html_pieces},
        )
        mail.attach_alternative(r.html, "text/html")
        mail.message().as_bytes(linesep="\r\n")
    prepared_rate = len(contacts) / (time.perf_counter() - started)
    return django_rate, prepared_rate, size


def rows() -> dict[str, int]:
    from wagtail_journeys.models import Enrollment, Event, Message, StepRun

    return {
        "enrolments": Enrollment.objects.count(),
        "step runs": StepRun.objects.count(),
        "messages": Message.objects.count(),
        "events": Event.objects.count(),
    }


def bench(count: int, port: int) -> None:  # noqa: PLR0915 — one run, read top to bottom
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone

    from tests.scenarios.factories import add, make_scenario
    from wagtail_journeys.delivery import send_emails
    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.dates import evaluate_scheduled_triggers
    from wagtail_journeys.models import Message, MessageStatus, SendEmailStep
    from wagtail_journeys.workers import freeze_startup_objects

    # As each qcluster worker does once spawned; Django's build below gains from it too.
    freeze_startup_objects()
    vendor = connection.vendor
    print(f"# load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    page = make_page()
    contacts = make_contacts(count, "b")
    django_rate, prepared_rate, size = build_rates(page, contacts)
    print(f"# {count:,} contacts, {size / 1024:.0f} KB per message, {vendor}", flush=True)
    report("send_django_build", django_rate, "msgs/s", "the floor: Django's build per message")
    report("send_prepared_build", prepared_rate, "msgs/s", "info")
    report("send_prepared_vs_django_build", prepared_rate / django_rate, "x", "info")

    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "WAGTAIL_JOURNEYS": {"QUIET_HOURS": None, "FREQUENCY_CAP": None},
    }
    with override_settings(**smtp):
        before, received = rows(), sink_count(port)
        now = timezone.now()
        scenario = make_scenario(
            title="Bench broadcast",
            trigger_kind="broadcast",
            broadcast_at=now - dt.timedelta(minutes=1),
        )
        add(scenario, SendEmailStep, email=page)
        started, cpu = time.perf_counter(), time.process_time()
        evaluate_scheduled_triggers(now=now)
        advance_due(now=now, max_batches=1_000_000)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        sent = Message.objects.filter(status=MessageStatus.SENT).count()
        arrived = sink_count(port) - received
        after = rows()
        broadcast_rate = sent / elapsed
        report("send_broadcast", broadcast_rate, "msgs/s", "info")
        report("send_broadcast_vs_django_build", broadcast_rate / django_rate, "x", ">= 2x")
        report("send_broadcast_arrived", arrived, "msgs", f"= {count}")
        cpu_ms = 1000 * cpu / max(sent, 1)
        report("send_broadcast_cpu", cpu_ms, "ms CPU/msg", "info")
        # The sending process's own CPU only (not the database's, nor the server's).
        report("send_broadcast_cpu_vs_django_build", DJANGO_CPU_MS / cpu_ms, "x", "info")
        written = {k: after[k] - before[k] for k in after}
        print(
            "# rows per message: "
            + ", ".join(f"{k} {v / max(sent, 1):.2f}" for k, v in written.items()),
            flush=True,
        )
        report("send_broadcast_rows", sum(written.values()) / max(sent, 1), "rows/msg", "info")

        received = sink_count(port)
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, count, 500):
            batch = contacts[start : start + 500]
            send_emails(page, batch, keys=[f"bench:{c.pk}" for c in batch])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        arrived = sink_count(port) - received
        report("send_emails", arrived / elapsed, "msgs/s", "info")
        report("send_emails_cpu", 1000 * cpu / max(arrived, 1), "ms CPU/msg", "info")
        report("send_emails_vs_django_build", arrived / elapsed / django_rate, "x", "info")
    peers(page, contacts, port, broadcast_rate)


#: The peers, installed in a virtualenv of their own (never the project's).
PEERS = ("django-post-office", "django-newsletter", "sorl-thumbnail")


def peers(page, contacts, port: int, broadcast_rate: float) -> None:
    """django-post-office and django-newsletter sending the same mails, from a
    virtualenv of their own (made here, in a temporary directory: the project never
    depends on them). Skipped with ``JOURNEYS_BENCH_PEERS=0`` or when pip cannot install
    them."""
    import shutil
    import tempfile

    from wagtail_journeys.emails.render import compiled_for, fill

    if os.environ.get("JOURNEYS_BENCH_PEERS") == "0":
        print("# peers: not run (JOURNEYS_BENCH_PEERS=0)", flush=True)
        return
    sample = contacts[0]
    rendered = fill(compiled_for(page), sample)
    tmp = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    try:
        (tmp / "mail.html").write_text(rendered.html.replace(sample.first_name, "{name}"))
        (tmp / "mail.txt").write_text(rendered.text.replace(sample.first_name, "{name}"))
        python = tmp / "venv" / "bin" / "python"
        for command in (
            [sys.executable, "-m", "venv", str(tmp / "venv")],
            [str(python), "-m", "pip", "install", "-q", "django>=5.2,<5.3", *PEERS],
        ):
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode:
                print(f"# peers: not run ({done.stderr.strip()[-300:]})", flush=True)
                return
        lines = run_peer(python, "post_office", tmp, len(contacts), port)
        if lines is None:
            return
        for line in lines:
            print(line, flush=True)
        report("send_broadcast_vs_post_office", broadcast_rate / rate_of(lines[0]), "x", "info")
        newsletter(python, tmp, len(contacts), port, broadcast_rate)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_peer(python: Path, name: str, tmp: Path, count: int, port: int) -> list[str] | None:
    """Run ``benchmarks/peer_<name>.py`` in the peers' venv on the same mail and sink;
    its ``bench`` lines (the send rate first), or ``None`` (said why) if it failed."""
    done = subprocess.run(
        [
            str(python),
            str(ROOT / "benchmarks" / f"peer_{name}.py"),
            *("--port", str(port), "--contacts", str(count)),
            *("--html", str(tmp / "mail.html"), "--text", str(tmp / "mail.txt")),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("bench ")]
    if done.returncode or not lines:
        print(f"# peers: peer_{name}.py failed ({done.stderr.strip()[-300:]})")
        return None
    return lines


def rate_of(line: str) -> float:
    """The figure of a ``bench NAME: VALUE UNIT`` line."""
    return float(line.split(": ")[1].split()[0].replace(",", ""))


def newsletter(python: Path, tmp: Path, count: int, port: int, broadcast_rate: float) -> None:
    """django-newsletter's ``Submission.submit()`` sending the same mails (see
    ``peer_newsletter.py``), counted at the sink."""
    received = sink_count(port)
    lines = run_peer(python, "newsletter", tmp, count, port)
    if lines is None:
        return
    print(lines[0], flush=True)
    report("peer_newsletter_arrived", sink_count(port) - received, "msgs", f"= {count}")
    report("send_broadcast_vs_newsletter", broadcast_rate / rate_of(lines[0]), "x", "info")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink(args.sink)
        return 0
    with sink_on_fresh_database() as port:
        bench(args.contacts, port)
    return 0


@contextlib.contextmanager
def sink_on_fresh_database() -> Iterator[int]:
    """Django set up on a fresh test database (PostgreSQL when reachable, unless
    ``JOURNEYS_DB`` says), and the counting sink in its own process; yield its port.
    Shared by ``bench_send`` and ``bench_broadcast``."""
    if "JOURNEYS_DB" not in os.environ:
        from benchmarks.databases import postgres_reachable

        if postgres_reachable():
            os.environ["JOURNEYS_DB"] = "postgres"
    import django

    django.setup()
    from django.db import connection

    port = free_port()
    sink = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--sink", str(port)])
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                sink_count(port)
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        connection.close()
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    sys.exit(main())
