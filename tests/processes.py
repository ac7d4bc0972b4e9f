"""Real processes for integration tests: ports, environments, start and a sure stop.

A process started here runs in its own session (process group), so ``stop()`` ends it and
every child it forked (qcluster's workers, gunicorn's) even when the test failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example_site" / "manage.py"


def free_port() -> int:
    """A free loopback TCP port.

    ``JOURNEYS_TEST_PORTS=18000-18099`` confines the choice to a range (machines shared
    by several runs); otherwise the kernel picks one.
    """
    span = os.environ.get("JOURNEYS_TEST_PORTS")
    candidates = [0]
    if span:
        low, _, high = span.partition("-")
        candidates = list(range(int(low), int(high or low) + 1))
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError(f"No free port in JOURNEYS_TEST_PORTS={span}")


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def no_control_socket() -> list[str]:
    """gunicorn's option against its control socket: gunicorn 25+ opens one at a single
    path per user (``~/.gunicorn/``), not for servers that run beside others (test passes
    at once, benchmarks)."""
    from gunicorn.config import KNOWN_SETTINGS

    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


def django_env(**extra: str) -> dict[str, str]:
    """Environment for a Django subprocess that shares this test's database.

    ``tests.settings`` reads ``JOURNEYS_DB_NAME``, so the child opens the test database
    pytest-django created (a file for SQLite; ``test_…`` on PostgreSQL), not the dev one.
    """
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        JOURNEYS_DB_NAME=str(connection.settings_dict["NAME"]),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


class Process:
    """A subprocess with its output in a log file, stopped with its whole process group."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.args = args
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @classmethod
    def manage(cls, *command: str, env: dict[str, str], log: Path) -> Process:
        """``python example_site/manage.py COMMAND…`` with this interpreter."""
        return cls([sys.executable, str(MANAGE), *command], env=env, log=log)

    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self, tail: int = 4000) -> str:
        self._log_file.flush()
        return self.log.read_bytes()[-tail:].decode(errors="replace")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process (a graceful stop), then SIGKILL its group after ``grace`` s."""
        try:
            if self.running():
                with contextlib.suppress(ProcessLookupError):
                    self.popen.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=grace)
            # Children (workers) may outlive the leader: end the whole group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        finally:
            self._log_file.close()
