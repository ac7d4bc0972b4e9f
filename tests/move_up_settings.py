"""Settings of the sites ``tests/test_move_up.py`` builds and moves: the example site's
(the database and the broker chosen by ``JOURNEYS_DB``, ``JOURNEYS_SQLITE_PATH``,
``JOURNEYS_PG_NAME``, ``JOURNEYS_BROKER`` and ``JOURNEYS_REDIS_URL``), mail written to
files, and no quiet hours or frequency cap to hold a send back whatever the hour."""

import os

from example_site.settings import *  # noqa: F403
from example_site.settings import WAGTAIL_JOURNEYS

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["JOURNEYS_MOVE_OUTBOX"]
WAGTAIL_JOURNEYS = {**WAGTAIL_JOURNEYS, "QUIET_HOURS": None, "FREQUENCY_CAP": None}
DEBUG = False
