"""``manage.py journeys_demo_serve``: the demo's site and worker, stopped together by Ctrl-C.

Runs ``runserver`` and ``qcluster`` as children, each in its own process group, and stops
them the way a terminal would (one SIGINT to each group), waits for them, and kills what is
left after a grace period. Nothing else signals them: the shell one-liner this replaces
(``trap 'kill 0' INT TERM EXIT``) signalled its own shell again from inside its trap, until
``dash`` ran out of stack ("Segmentation fault"), and sent each worker two signals.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

#: Seconds the site and the worker get to stop after Ctrl-C (a task running then, such as
#: the scenario pump, is cut short; the engine's exactly-once guarantees cover that).
GRACE_SECONDS = 10
MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


def mail_locations(base_url: str) -> list[str]:
    """Where the demo's sent mail can be read: the admin's Messages, and the email
    backend's own place (files, this terminal)."""
    lines = [f"Sent mail: {base_url}{reverse('journeys_messages:index')} (admin › Messages)"]
    backend = settings.EMAIL_BACKEND
    if backend.endswith("filebased.EmailBackend"):
        lines.append(f"  and each message as a file in {settings.EMAIL_FILE_PATH}")
    elif backend.endswith("console.EmailBackend"):
        lines.append("  and printed in full below, in this terminal")
    else:
        lines.append(f"  and delivered by {backend}")
    return lines


class Command(BaseCommand):
    help = "Run the demo site and a qcluster worker; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="The site's port.")
        parser.add_argument(
            "--grace", type=float, default=GRACE_SECONDS, help="Seconds to stop in."
        )

    def handle(self, *args, port: int, grace: float, **options):
        base_url = f"http://localhost:{port}"
        self.stdout.write(f"Site:  {base_url}/")
        self.stdout.write(f"Admin: {base_url}/admin/  (admin / journeys-demo)")
        for line in mail_locations(base_url):
            self.stdout.write(line)
        self.stdout.write("Ctrl-C stops the site and the worker.")
        self.stdout.flush()
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        # Before the children start: a signal handled here is at its default in them, even
        # when this command was started with SIGINT ignored (in the background).
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)
        env = {**os.environ, "WAGTAILADMIN_BASE_URL": base_url}
        children = [
            subprocess.Popen(  # noqa: S603 (our own manage.py, fixed arguments)
                [sys.executable, str(MANAGE), *command],
                env=env,
                start_new_session=True,
            )
            for command in (["qcluster"], ["runserver", f"127.0.0.1:{port}"])
        ]
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        forced = stop_all(children, grace)
        if forced:
            self.stdout.write(f"Site and worker stopped (forced after {grace:g} s).")
        else:
            self.stdout.write("Site and worker stopped.")
        if not stopping:  # one of them ended by itself (a port in use...)
            raise SystemExit(1)


def stop_all(children: list[subprocess.Popen], grace: float) -> bool:
    """SIGINT to each child's process group, as Ctrl-C in a terminal; SIGKILL to the
    groups still there after ``grace`` seconds. True if any had to be killed."""
    for child in children:
        signal_group(child, signal.SIGINT)
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
    late = [child for child in children if child.poll() is None]
    for child in children:
        # the group may outlive its leader (qcluster's workers, runserver's reloader child)
        signal_group(child, signal.SIGKILL)
    for child in late:
        child.wait()
    return bool(late)


def signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
