"""Page-view hook cost: median time to serve a Wagtail book page, tracking on vs off.

Both modes run in the same process on the same migrated SQLite database with the demo
bookshop, interleaved request by request (ABBA order) so that machine noise hits both
alike. "Off" is ``WAGTAIL_JOURNEYS["TRACK_PAGE_VIEWS"] = False``; "on" records one
``page_view`` event per request. Budget: on ≤ 1.15 × off.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.databases import temp_database  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_PAGEVIEW_ROUNDS", "600"))
WARMUP = 50
BUDGET = 1.15
PATHS = ["/books/the-shining/", "/books/dune/", "/books/emma/", "/books/it/"]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def serve_once(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return elapsed


def main() -> None:
    with temp_database("sqlite") as env:
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.test import Client

        from wagtail_journeys.models import Event

        client = Client(HTTP_USER_AGENT=BROWSER, HTTP_HOST="localhost")
        timings: dict[bool, list[float]] = {True: [], False: []}

        def serve(tracking: bool, path: str) -> float:
            settings.WAGTAIL_JOURNEYS = {
                **settings.WAGTAIL_JOURNEYS,
                "TRACK_PAGE_VIEWS": tracking,
                "TRACKING_CONSENT_REQUIRED": False,  # the consent check: bench_consent.py
            }
            return serve_once(client, path)

        for i in range(WARMUP):
            serve(i % 2 == 0, PATHS[i % len(PATHS)])
        before = Event.objects.filter(name="page_view").count()
        for i in range(ROUNDS):
            path = PATHS[i % len(PATHS)]
            order = (True, False) if i % 2 == 0 else (False, True)
            for tracking in order:
                timings[tracking].append(serve(tracking, path))
        recorded = Event.objects.filter(name="page_view").count() - before
        if recorded != ROUNDS:
            raise RuntimeError(f"tracking on served {ROUNDS} pages but recorded {recorded}")

    on = statistics.median(timings[True]) * 1000
    off = statistics.median(timings[False]) * 1000
    print(f"bench pageview_median_tracking_on: {on:.2f} ms (budget n/a)")
    print(f"bench pageview_median_tracking_off: {off:.2f} ms (budget n/a)")
    print(f"bench pageview_tracking_ratio: {on / off:.2f} x (budget {BUDGET:.2f} x)")


if __name__ == "__main__":
    main()
