"""Test settings: the example site's, with a file SQLite database (real ``qcluster``
and gunicorn processes must share it) or PostgreSQL with ``JOURNEYS_DB=postgres``."""

import os
import tempfile
from pathlib import Path

from example_site.settings import *  # noqa: F403
from example_site.settings import DATABASES, WAGTAIL_JOURNEYS

_tmp = Path(os.environ.get("JOURNEYS_TEST_TMP", tempfile.gettempdir()))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    DATABASES["default"]["NAME"] = str(_tmp / f"journeys-{worker}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(_tmp / f"journeys-test-{worker}.sqlite3")}
# A process a test starts (qcluster, gunicorn: see tests/processes.py) opens the test's own
# database, whose name the test passes down.
if os.environ.get("JOURNEYS_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["JOURNEYS_DB_NAME"]

# The example site runs as a European site would (consent before tracking, double
# opt-in); the suite tests those features where they are its subject (tests/privacy)
# and the rest from the defaults.
WAGTAIL_JOURNEYS = {  # noqa: F405
    **WAGTAIL_JOURNEYS,  # noqa: F405
    "DOUBLE_OPT_IN": False,
    "TRACKING_CONSENT_REQUIRED": False,
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}
