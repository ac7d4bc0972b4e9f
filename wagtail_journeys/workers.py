"""Stopping a ``qcluster`` that runs this app's tasks: quickly, starting nothing new,
losing nothing.

django-q2 stops on SIGTERM by letting its workers finish every task already handed to
them: the running scenario pump (up to 85 s) and then whatever its pusher had queued (the
next pump: 151 s measured for the priority cluster). A SIGTERM sent to the whole process
group (``kill -- -PGID``, a supervisor's default) killed its sentinel at once and left the
workers orphaned, so the cluster hung. Two small pieces fix both, installed from
``apps.ready`` when django-q2 is installed:

- in each worker (``post_spawn``), SIGTERM and SIGINT set :data:`stopping` instead of
  killing the task: every batch loop of the engine checks it, so the running task ends
  after the batch it is in (committed: nothing claimed is lost) and tasks still queued
  return at once (the schedules run them again on the next start; a queued contacts
  import is put back in the queue). A task that ignores the flag still ends at its
  django-q2 ``timeout`` (its SIGALRM), and the worker exits at the latest ``timeout``
  seconds after the signal;
- the sentinel treats SIGTERM as the main process does (a graceful stop instead of
  dying), and tells its workers to stop before handing them the poison pills.

The engine's exactly-once rules do not depend on any of this (a SIGKILL is safe too);
this is about stopping in seconds, not minutes. See ``docs/how-to/workers.md``.

Each new worker also leaves what it loaded at start out of the garbage collector's full
passes (``freeze_startup_objects``), which scanned it all several times per broadcast.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import threading

logger = logging.getLogger(__name__)

#: Set in a qcluster worker once it was told to stop (SIGTERM, or Ctrl-C's SIGINT). Never
#: set elsewhere: ``journeys_tick`` and tests run every loop to its end.
stopping = threading.Event()


def _timeout() -> int:
    from django_q.conf import Conf

    return int(Conf.TIMEOUT or 60)


_begun = threading.Lock()


def _begin_stop() -> None:
    with _begun:
        if stopping.is_set():
            return
        stopping.set()
    # The batch in progress finishes; a task stuck past the task timeout is not waited for.
    watchdog = threading.Timer(_timeout(), os._exit, args=(1,))
    watchdog.daemon = True
    watchdog.start()


def _in_a_thread(action) -> None:
    """Run ``action`` in a new thread. A signal handler runs in the main thread between
    two bytecodes, possibly while that thread holds the very lock ``Event.set`` takes (in
    ``Event.wait``): setting an event from the handler itself can deadlock, and did."""
    threading.Thread(target=action, daemon=True).start()


def _on_stop_signal(signum, frame) -> None:
    _in_a_thread(_begin_stop)


def on_worker_spawn(**kwargs) -> None:
    """django-q2's ``post_spawn`` receiver, run in each new worker process."""
    if threading.current_thread() is not threading.main_thread():
        return  # django-q2's sync mode (tests): not a worker process
    freeze_startup_objects()
    signal.signal(signal.SIGTERM, _on_stop_signal)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_stop_signal)


def freeze_startup_objects() -> None:
    """Leave what the worker holds once started (Django's, Wagtail's and this app's
    modules, classes, settings and caches: about 300,000 objects) out of the cyclic
    garbage collector's full passes (``gc.freeze``). They live as long as the process,
    yet each full pass scanned them all: 0.2 s a pass, three passes in a broadcast of
    5,000 mails, 13 % of its time. The objects made afterwards are collected as
    before. Moving them is one list splice (nothing is written to the objects, so the
    pages a forked worker shares with its sentinel stay shared)."""
    gc.freeze()


def install_graceful_sentinel() -> None:
    """Make django-q2's sentinel stop gracefully on SIGTERM and tell its workers first.

    A no-op when the installed django-q2 has not the shape this was written for (it then
    stops as django-q2 does by itself)."""
    try:
        from django_q import cluster
    except ImportError:
        return
    sentinel = cluster.Sentinel
    if getattr(sentinel, "_journeys_graceful", False):
        return
    if not all(callable(getattr(sentinel, name, None)) for name in ("start", "stop")):
        return
    original_start, original_stop = sentinel.start, sentinel.stop

    def start(self):
        # The sentinel set SIGTERM to its default (die) before calling start(): stop
        # through the guard loop instead, as the main process does on SIGTERM.
        event = self.stop_event
        signal.signal(signal.SIGTERM, lambda signum, frame: _in_a_thread(event.set))
        return original_start(self)

    def stop(self):
        for process in list(getattr(self, "pool", [])):
            with contextlib.suppress(ProcessLookupError, AttributeError, TypeError):
                os.kill(process.pid, signal.SIGTERM)
        return original_stop(self)

    sentinel.start, sentinel.stop = start, stop
    sentinel._journeys_graceful = True


def install() -> None:
    """Called from ``apps.ready``."""
    try:
        from django_q.signals import post_spawn
    except ImportError:
        return
    post_spawn.connect(on_worker_spawn, dispatch_uid="journeys-worker-stop")
    install_graceful_sentinel()
