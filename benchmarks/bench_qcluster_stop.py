"""How long a real ``qcluster`` takes to stop on SIGTERM while its pumps are working.

Both clusters (marketing, priority), SQLite and PostgreSQL with the ORM broker, Redis on
PostgreSQL; the signal to the main process (systemd's ``KillMode=mixed``) and to the whole
process group (``control-group``). Two pumps (85 s each) run and a third task waits when
the signal comes. Budget: within the cluster's task ``timeout`` (300 s in the example
site); before ``wagtail_journeys.workers`` it took 85–151 s, or hung on a group signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.databases import MANAGE, postgres_reachable, shell, temp_database  # noqa: E402

TIMEOUT = 300  # the example site's Q_CLUSTER["timeout"]
REDIS_URL = os.environ.get("JOURNEYS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")


def redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


def measure(env: dict[str, str], *, cluster: str, group: bool) -> float:
    env = dict(env)
    task = "run_scenarios"
    if cluster != "journeys":
        env["Q_CLUSTER_NAME"] = cluster
        task = "run_transactional"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "qcluster"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:

            def output() -> str:
                log.seek(0)
                return log.read().decode(errors="replace")

            deadline = time.monotonic() + 60
            while "] running." not in output():
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"qcluster did not start:\n{output()[-3000:]}")
                time.sleep(0.2)
            shell(
                env,
                "from django_q.tasks import async_task\n"
                + f"async_task('wagtail_journeys.tasks.{task}', 85, cluster={cluster!r})\n" * 3,
            )
            deadline = time.monotonic() + 60
            while output().count(task) < 1:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the pumps did not start:\n{output()[-3000:]}")
                time.sleep(0.2)
            time.sleep(1)
            started = time.monotonic()
            if group:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
            process.wait(timeout=TIMEOUT + 60)
            return time.monotonic() - started
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def report(label: str, env: dict[str, str]) -> None:
    for cluster in ("journeys", "journeys-priority"):
        for group in (False, True):
            seconds = measure(env, cluster=cluster, group=group)
            target = "group" if group else "main"
            name = f"qcluster_stop_{label}_{'priority' if cluster != 'journeys' else 'marketing'}"
            print(
                f"bench {name}_{target}: {seconds:.1f} s (budget ≤ {TIMEOUT} s, the task timeout)",
                flush=True,
            )


def main() -> int:
    with temp_database("sqlite") as env:
        report("sqlite_orm", env)
    if postgres_reachable():
        with temp_database("postgres") as env:
            report("postgres_orm", env)
            if redis_reachable():
                import redis

                queue = redis.Redis.from_url(REDIS_URL)
                env = {**env, "JOURNEYS_BROKER": "redis", "JOURNEYS_REDIS_URL": REDIS_URL}
                try:
                    report("postgres_redis", env)
                finally:
                    stale = queue.keys("django_q:*")
                    if stale:
                        queue.delete(*stale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
