"""SIGTERM stops a real ``qcluster`` in seconds, starts nothing new and loses nothing.

Two scenario pumps (85 s each) are running and a contacts import waits in the queue when
the signal comes: before ``wagtail_journeys.workers``, django-q2 let both pumps run out and
then started the queued work (151 s measured), and a SIGTERM to the process group hung
the cluster. Now the pumps end after their round, the queued import goes back to the queue,
and the next start runs it. With django-q2's ORM broker (SQLite and PostgreSQL) and Redis
(on PostgreSQL, its scale-out companion).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.processes import Process, django_env, wait_for
from tests.test_qcluster import REDIS_URL, in_django_shell
from wagtail_journeys.models import Contact, ContactImport, ImportStatus

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

#: A pump that would run 85 s by itself; the test stops the cluster long before.
PUMP = "wagtail_journeys.tasks.run_scenarios"
IMPORT = "wagtail_journeys.tasks.import_contacts"
#: What "in seconds" means here, with a wide margin for a loaded machine: far below the
#: 85 s a pump would run, and below the tests' task timeout (300 s).
STOPPED_WITHIN = 45


def start(env: dict[str, str], log) -> Process:
    cluster = Process.manage("qcluster", env=env, log=log)
    wait_for(
        lambda: "] running." in cluster.output(50000) or not cluster.running(),
        timeout=60,
        what="qcluster to start",
    )
    assert cluster.running(), cluster.output()
    return cluster


def enqueue(env: dict[str, str], import_id: int) -> None:
    """Two pumps for the two workers, then the import behind them (in the broker the
    cluster uses: a separate process, so Redis is reached as the site would)."""
    in_django_shell(
        env,
        "from django_q.tasks import async_task\n"
        f"async_task({PUMP!r}, 85, 1.0, 0)\n"
        f"async_task({PUMP!r}, 85, 1.0, 0)\n"
        f"async_task({IMPORT!r}, {import_id})\n",
    )


def queued_import() -> ContactImport:
    return ContactImport.objects.create(
        file_name="late.csv",
        size=40,
        data=b"email\nlate.reader@example.com\n",
        status=ImportStatus.QUEUED,
    )


def stop_and_time(cluster: Process, *, group: bool) -> float:
    started = time.monotonic()
    if group:
        os.killpg(cluster.popen.pid, signal.SIGTERM)
    else:
        cluster.popen.send_signal(signal.SIGTERM)
    try:
        cluster.popen.wait(timeout=STOPPED_WITHIN)
    except subprocess.TimeoutExpired:
        tree = subprocess.run(
            ["ps", "-o", "pid,ppid,stat,wchan:20,cmd", "-g", str(cluster.popen.pid)],
            capture_output=True,
            text=True,
        ).stdout
        output = cluster.output()
        pytest.fail(f"qcluster running {STOPPED_WITHIN} s after SIGTERM:\n{tree}\n{output}")
    return time.monotonic() - started


def no_worker_left(cluster: Process) -> bool:
    """Every process of the cluster's group has exited (no orphaned worker)."""
    try:
        os.killpg(cluster.popen.pid, 0)
    except ProcessLookupError:
        return True
    return False


def pumps_running(cluster: Process) -> bool:
    return cluster.output(200000).count("run_scenarios") >= 2


def run_and_stop(env, tmp_path, *, group: bool) -> tuple[float, ContactImport]:
    job = queued_import()
    cluster = start(env, tmp_path / "qcluster.log")
    try:
        enqueue(env, job.pk)
        wait_for(lambda: pumps_running(cluster), timeout=60, what="both pumps to start")
        seconds = stop_and_time(cluster, group=group)
        wait_for(lambda: no_worker_left(cluster), timeout=20, what="the workers to exit")
    finally:
        cluster.stop(grace=2)
    job.refresh_from_db()
    return seconds, job


@pytest.mark.parametrize("group", [False, True], ids=["main-process", "process-group"])
def test_sigterm_stops_the_orm_cluster_in_seconds_and_keeps_the_queued_import(tmp_path, group):
    env = django_env(JOURNEYS_BROKER="orm")
    seconds, job = run_and_stop(env, tmp_path, group=group)
    print(f"qcluster (ORM broker) stopped {seconds:.1f} s after SIGTERM")
    # The import never ran, and was not dropped: the next start runs it.
    assert job.status == ImportStatus.QUEUED
    assert not Contact.objects.filter(email="late.reader@example.com").exists()
    if group:
        return
    cluster = start(env, tmp_path / "again.log")
    try:
        wait_for(
            lambda: Contact.objects.filter(email="late.reader@example.com").exists(),
            timeout=60,
            what="the requeued import to run",
        )
    finally:
        cluster.stop(grace=2)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.created == 1


@pytest.mark.postgres  # Redis is the scale-out broker, beside PostgreSQL
def test_sigterm_to_the_group_stops_the_redis_cluster_and_keeps_the_queued_import(
    require_redis, tmp_path
):
    import redis

    queue = redis.Redis.from_url(REDIS_URL)
    stale = queue.keys("django_q:journeys:*")
    if stale:
        queue.delete(*stale)
    env = django_env(JOURNEYS_BROKER="redis", JOURNEYS_REDIS_URL=REDIS_URL)
    try:
        seconds, job = run_and_stop(env, tmp_path, group=True)
        print(f"qcluster (Redis broker) stopped {seconds:.1f} s after SIGTERM")
        assert job.status == ImportStatus.QUEUED
        # Popped from Redis by the stopping cluster, and pushed back for the next one.
        assert queue.llen("django_q:journeys:q") == 1
    finally:
        stale = queue.keys("django_q:journeys:*")
        if stale:
            queue.delete(*stale)
