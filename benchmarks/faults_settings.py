"""The example site as ``bench_faults`` runs it: mail to the benchmark's SMTP server
(``BENCH_SMTP_PORT``), retries seconds apart instead of minutes (``BENCH_RETRY_DELAYS``,
comma-separated seconds; ``BENCH_MAX_ATTEMPTS``), sends at any hour and without a cap,
and no double opt-in (the events' contacts are subscribed at once)."""

import os

from example_site.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "25"))
EMAIL_TIMEOUT = 10

WAGTAIL_JOURNEYS = {
    **WAGTAIL_JOURNEYS,  # noqa: F405
    "DOUBLE_OPT_IN": False,
    "TRACKING_CONSENT_REQUIRED": False,
    "QUIET_HOURS": None,
    "FREQUENCY_CAP": None,
    "STALE_SEND_SECONDS": int(os.environ.get("BENCH_STALE_SEND_SECONDS", "15")),
    "SEND_RETRY_DELAYS": [
        int(s) for s in os.environ.get("BENCH_RETRY_DELAYS", "2,4,8,16").split(",")
    ],
    "SEND_MAX_ATTEMPTS": int(os.environ.get("BENCH_MAX_ATTEMPTS", "8")),
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
