"""The example site's settings, plus the floor view of ``bench_events_api`` (``floor_urls``).

Same apps, middleware, database and options: only the URL conf differs, by one path, so
the floor and the events API are served by the same gunicorn in the same run.
"""

from example_site.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.floor_urls"
