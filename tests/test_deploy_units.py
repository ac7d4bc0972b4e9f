"""The systemd units of ``docs/how-to/production.md`` work as written.

Each unit's ``ExecStart`` is started as systemd would (its ``Environment``, its working
directory; the paths moved from ``/srv/journeys`` to this checkout), checked to serve or
run, given work, then stopped the way its ``KillMode`` says: SIGTERM to the main process
(``mixed``) or to every process (``control-group``). It must be gone, children included,
before ``TimeoutStopSec`` (when systemd would SIGKILL it).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import ROOT, Process, django_env, free_port, wait_for
from tests.test_qcluster import in_django_shell

pytestmark = pytest.mark.slow

DOC = ROOT / "docs" / "how-to" / "production.md"
PREFIX = "/srv/journeys"


def units() -> dict[str, dict[str, list[str]]]:
    """``{file name: {key: [values]}}`` of the ``[Service]`` sections of the doc's units."""
    found = {}
    for block in re.findall(r"```ini\n(.*?)```", DOC.read_text(), flags=re.DOTALL):
        name = re.match(r"# /etc/systemd/system/(\S+)", block).group(1)
        service = block.split("[Service]", 1)[1].split("\n[", 1)[0]
        keys: dict[str, list[str]] = {}
        for line in service.strip().splitlines():
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
        found[name] = keys
    return found


def test_the_doc_has_the_three_units():
    assert set(units()) == {
        "journeys-web.service",
        "journeys-worker.service",
        "journeys-priority.service",
    }


def command(unit: dict[str, list[str]], port: int) -> list[str]:
    args = shlex.split(unit["ExecStart"][0])
    venv = Path(sys.executable).parent
    moved = []
    for arg in args:
        if arg.startswith(f"{PREFIX}/.venv/bin/"):
            arg = str(venv / Path(arg).name)
            if arg.endswith("/python"):
                arg = sys.executable
        moved.append(arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    return moved


def environment(unit: dict[str, list[str]]) -> dict[str, str]:
    env = django_env(JOURNEYS_BROKER="orm")
    for assignment in unit.get("Environment", []):
        key, _, value = assignment.partition("=")
        env[key] = value
    return env


def stop_as_systemd(process: Process, unit: dict[str, list[str]]) -> float:
    mode = unit.get("KillMode", ["control-group"])[0]
    limit = int(unit["TimeoutStopSec"][0])
    started = time.monotonic()
    if mode == "mixed":
        process.popen.send_signal(signal.SIGTERM)
    else:
        os.killpg(process.popen.pid, signal.SIGTERM)
    try:
        process.popen.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {limit} s after SIGTERM (systemd would SIGKILL it)")

    def group_gone() -> bool:
        try:
            os.killpg(process.popen.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, timeout=max(1, limit - (time.monotonic() - started)), what="children")
    return time.monotonic() - started


def test_the_web_unit_serves_and_stops(transactional_db, bookshop_pages, tmp_path):
    unit = units()["journeys-web.service"]
    port = free_port()
    cwd = Path(unit["WorkingDirectory"][0].replace(PREFIX, str(ROOT / "example_site")))
    site = Process(command(unit, port), env=environment(unit), log=tmp_path / "web.log", cwd=cwd)
    try:

        def home() -> int | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    return response.status
            except OSError:
                return None

        assert wait_for(home, timeout=60, what="gunicorn to serve") == 200
        seconds = stop_as_systemd(site, unit)
        print(f"journeys-web stopped {seconds:.1f} s after SIGTERM")
    finally:
        site.stop(grace=2)


@pytest.mark.parametrize("name", ["journeys-worker.service", "journeys-priority.service"])
def test_the_worker_units_run_and_stop_in_seconds_while_working(transactional_db, tmp_path, name):
    unit = units()[name]
    env = environment(unit)
    cwd = Path(unit["WorkingDirectory"][0].replace(PREFIX, str(ROOT / "example_site")))
    cluster = Process(command(unit, 0), env=env, log=tmp_path / "qcluster.log", cwd=cwd)
    try:
        wait_for(
            lambda: "] running." in cluster.output(50000) or not cluster.running(),
            timeout=60,
            what="qcluster to start",
        )
        assert cluster.running(), cluster.output()
        # A pump of the cluster's own kind, addressed to its queue, so it is working.
        task = (
            "run_transactional"
            if env.get("Q_CLUSTER_NAME") == "journeys-priority"
            else "run_scenarios"
        )
        target = env.get("Q_CLUSTER_NAME", "journeys")
        in_django_shell(
            env,
            "from django_q.tasks import async_task\n"
            f"async_task('wagtail_journeys.tasks.{task}', 85, cluster={target!r})\n",
        )
        wait_for(lambda: task in cluster.output(50000), timeout=60, what=f"{task} to start")
        seconds = stop_as_systemd(cluster, unit)
        print(f"{name} stopped {seconds:.1f} s after SIGTERM")
    finally:
        cluster.stop(grace=2)
