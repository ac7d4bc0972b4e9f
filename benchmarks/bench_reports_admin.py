"""The admin's report pages on PostgreSQL, over the data of ``bench_reports.py`` (rollup
rows standing for 1,000,000 messages and 3,000,000 opens and clicks, 1,000,000 ``Message``
rows): the whole response of each page, as the admin serves it (report functions, the
diagram and charts, the click map, templates), for a year's period.

Standalone: ``python benchmarks/bench_reports_admin.py`` from the repository root. Creates
and drops its own database (``JOURNEYS_BENCH_DB``, default
``journeys_bench_reports_admin``). Prints ``bench NAME: VALUE UNIT (budget BUDGET)``
lines; nothing is asserted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("JOURNEYS_BENCH_DB", "journeys_bench_reports_admin")

import bench_reports as data  # noqa: E402


def measure(scenario: int, email: int) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from wagtail_journeys.analytics.figures import Period

    setup_test_environment()  # the test client's host is allowed
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    year = Period.last_days(data.DAYS)
    period = {"from": year.start.isoformat(), "to": year.end.isoformat()}

    def get(url: str, query: dict):
        def page():
            response = client.get(url, query)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return page

    ms = 1000
    pages = [
        ("admin scenario report", reverse("journeys_reports:scenario", args=[scenario]), {}),
        ("admin email report", reverse("journeys_reports:email", args=[email]), {}),
        ("admin reports index", reverse("journeys_reports:index"), {}),
        (
            "admin contacts behind first page",
            reverse("journeys_reports:contacts"),
            {"metric": "opened", "email": email},
        ),
        (
            "admin scenario export xlsx",
            reverse("journeys_reports:export"),
            {"report": "scenario", "id": scenario, "format": "xlsx"},
        ),
    ]
    for name, url, query in pages:
        budget = "500 ms" if name in ("admin scenario report", "admin email report") else None
        data.report(name, data.timed(get(url, {**period, **query})) * ms, "ms", budget)
    dashboard = get(reverse("wagtailadmin_home"), {})
    data.report("admin dashboard with the reports panel", data.timed(dashboard) * ms, "ms")


def main() -> None:
    data.recreate_database()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        pages = data.real_pages()
        data.load(*pages)
        measure(pages[0], pages[1])
    finally:
        data.drop_database()


if __name__ == "__main__":
    main()
