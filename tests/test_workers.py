"""A ``qcluster`` worker once spawned (``workers.on_worker_spawn``, django-q2's
``post_spawn``): SIGTERM asks it to stop after its batch (the real clusters:
``tests/engine/test_qcluster_stop.py``), and what it loaded at start is left out of the
garbage collector's full passes, which scanned it all several times per broadcast."""

from __future__ import annotations

import subprocess
import sys

from tests.processes import MANAGE, django_env

SPAWNED = """
import gc, signal
from wagtail_journeys import workers
assert gc.get_freeze_count() == 0, gc.get_freeze_count()
workers.on_worker_spawn()
print(gc.get_freeze_count(), signal.getsignal(signal.SIGTERM) is workers._on_stop_signal)
"""


def test_a_spawned_worker_freezes_what_it_loaded_and_handles_sigterm():
    done = subprocess.run(
        [sys.executable, str(MANAGE), "shell", "-c", SPAWNED],
        env=django_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    frozen, handled = done.stdout.split()[-2:]
    assert int(frozen) > 100_000  # Django's, Wagtail's and the app's objects
    assert handled == "True"
