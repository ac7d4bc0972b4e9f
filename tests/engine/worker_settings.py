"""Settings of the worker processes the concurrency tests start: the test database, a
file-based outbox shared across processes, optionally a slow backend (to be killed)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["JOURNEYS_WORKER_DB"]
DATABASES["default"]["CONN_MAX_AGE"] = 0
EMAIL_BACKEND = os.environ.get(
    "JOURNEYS_WORKER_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = os.environ["JOURNEYS_WORKER_OUTBOX"]
WAGTAIL_JOURNEYS = {
    "QUIET_HOURS": None,
    "FREQUENCY_CAP": None,
    "STALE_SEND_SECONDS": int(os.environ.get("JOURNEYS_WORKER_STALE", "60")),
    "ADVANCE_BATCH_SIZE": 100,
}

_speed = float(os.environ.get("JOURNEYS_WORKER_CLOCK_SPEED", "0"))
if _speed:
    # An accelerated engine clock for end-to-end runs: waits pass without sleeping them.
    import datetime as _dt
    import time as _time

    from django.utils import timezone as _tz

    from wagtail_journeys.engine import clock as _clock

    _started = _time.time()

    def _fast_now():
        return _tz.now() + _dt.timedelta(seconds=(_time.time() - _started) * _speed)

    _clock.now = _fast_now
    # Every event looks hours old to a clock that runs this fast: keep them fresh enough to
    # fire triggers (the go-live rule still applies).
    WAGTAIL_JOURNEYS["TRIGGER_MAX_EVENT_AGE_HOURS"] = 24 * 365
