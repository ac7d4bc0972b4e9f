"""A gunicorn serving the example site on a loopback port, stopped with all its workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import free_port, no_control_socket  # noqa: E402  (one port picker for tests and benches)


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    workers: int = 2,
    worker_class: str = "sync",
    threads: int = 1,
    keep_alive: int | None = None,
) -> Iterator[tuple[str, int]]:
    """Serve the example site with ``workers`` processes (of ``worker_class``, with
    ``threads`` each for ``gthread``; ``keep_alive`` seconds when given); yield (base URL,
    master pid)."""
    options = ["--worker-class", worker_class, "--threads", str(threads)]
    if keep_alive is not None:
        options += ["--keep-alive", str(keep_alive)]
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "example_site.wsgi:application",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--chdir",
                str(ROOT),
                "--log-level",
                "warning",
                *options,
                *no_control_socket(),
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/journeys/api/openapi.json", timeout=5):  # noqa: S310
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(
                            "gunicorn did not start:\n" + log.read().decode(errors="replace")
                        ) from None
                    time.sleep(0.2)
            yield url, process.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the processes gunicorn ``master`` forked."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0
    for pid in children:
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def postgres_cpu_seconds(connection) -> float | None:
    """CPU time (user + system) used so far by a local PostgreSQL server: its postmaster's
    own and that of the backends it has reaped (they end with their connections, so a
    reading of the live ones misses most). ``None`` if the server's files are not
    readable here (another host, another user)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        directory = cursor.fetchone()[0]
    try:
        pid = Path(directory, "postmaster.pid").read_text().split()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    live = 0
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):
            stat = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            live += int(stat[11]) + int(stat[12])
    return (sum(int(f) for f in fields[11:15]) + live) / os.sysconf("SC_CLK_TCK")
