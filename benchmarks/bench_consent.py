"""What the consent check costs the page-view hook.

The hook itself (``before_serve_page``'s ``record_page_view`` and ``on_serve_page``'s
visitor cookie), called on a book page for a returning visitor (signed visitor cookie),
in two modes interleaved request by request (ABBA order, so machine noise hits both
alike), on the same migrated SQLite database with the demo bookshop:

- consent not required (``TRACKING_CONSENT_REQUIRED`` False: no check at all);
- consent required and given (a signed consent cookie to verify on every request).

Each records one ``page_view`` (one INSERT). The check alone (``consent.allowed`` on a
fresh request: the cookie's signature, verified once per value and process, and its age)
is timed too, and as a share of the hook without it. Budget: the check adds ≤ 5 % to
the hook's overhead.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.databases import temp_database  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_CONSENT_ROUNDS", "2000"))
WARMUP = 100
CHECKS = 20000
BUDGET = 1.05
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def main() -> None:
    with temp_database("sqlite") as env:
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.http import HttpResponse
        from django.test import RequestFactory

        from example_site.shop.models import BookPage
        from wagtail_journeys.models import Event
        from wagtail_journeys.tracking import consent, pages
        from wagtail_journeys.tracking import visitor as visitors

        page = BookPage.objects.live().get(slug="the-shining")
        path = page.url
        factory = RequestFactory()
        visitor = visitors.VisitorId.new().token
        granted = consent.cookie_value("granted")
        base = settings.WAGTAIL_JOURNEYS
        modes = {
            False: ({**base, "TRACKING_CONSENT_REQUIRED": False}, f"journeys_vid={visitor}"),
            True: (
                {**base, "TRACKING_CONSENT_REQUIRED": True},
                f"journeys_vid={visitor}; journeys_consent={granted}",
            ),
        }
        timings: dict[bool, list[float]] = {False: [], True: []}

        def hook(required: bool) -> float:
            journeys, cookie = modes[required]
            settings.WAGTAIL_JOURNEYS = journeys
            request = factory.get(path, HTTP_USER_AGENT=BROWSER, HTTP_COOKIE=cookie)
            response = HttpResponse()
            started = time.perf_counter()
            pages.record_page_view(page, request, (), {})
            visitors.set_cookie(request, response)
            return time.perf_counter() - started

        for i in range(WARMUP):
            hook(i % 2 == 0)
        before = Event.objects.count()
        for i in range(ROUNDS):
            for required in (True, False) if i % 2 == 0 else (False, True):
                timings[required].append(hook(required))
        recorded = Event.objects.count() - before
        if recorded != 2 * ROUNDS:
            raise RuntimeError(f"{2 * ROUNDS} page views hooked but {recorded} recorded")

        settings.WAGTAIL_JOURNEYS = modes[True][0]
        # Fresh requests (the answer is kept on a request once checked), their cookies
        # parsed already: the hook parses them for the visitor cookie in either mode.
        requests = [factory.get(path, HTTP_COOKIE=modes[True][1]) for _ in range(CHECKS)]
        for request in requests:
            request.COOKIES  # noqa: B018
        started = time.perf_counter()
        for request in requests:
            if not consent.allowed(request):
                raise RuntimeError("a genuine consent cookie was refused")
        check = (time.perf_counter() - started) / CHECKS

    without = statistics.median(timings[False]) * 1000
    with_check = statistics.median(timings[True]) * 1000
    print(f"bench consent_hook_not_required: {without:.3f} ms (budget n/a)")
    print(f"bench consent_hook_required_granted: {with_check:.3f} ms (budget n/a)")
    print(f"bench consent_hook_ratio: {with_check / without:.3f} x (budget {BUDGET:.2f} x)")
    print(f"bench consent_check: {check * 1e6:.1f} us (budget n/a)")
    share = check * 1000 / without * 100
    print(f"bench consent_check_share: {share:.1f} % (budget {(BUDGET - 1) * 100:.0f} %)")


if __name__ == "__main__":
    main()
