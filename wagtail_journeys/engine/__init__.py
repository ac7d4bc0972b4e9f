"""The engine: pure step logic over a Plan (``steps``, ``timing``) plus small DB helpers
(``enroll``, ``advance``, ``triggers``, ``exits``, ``dates``) that load and save rows in
batches; ``passes`` runs them in order.
"""

from __future__ import annotations

import datetime as dt


def tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run one full pass of the engine, as if the clock read ``now`` (an aware datetime;
    default: the current time), and return what it did. The public, stable way to run the
    engine at a chosen time (cron, tests, replays); ``manage.py journeys_tick`` calls it.
    See ``engine.passes.tick`` for what a pass does, in which order."""
    from .passes import tick as run_pass

    return run_pass(now=now)
