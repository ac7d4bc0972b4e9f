"""Budget: a contact's profile in the admin with 10,000 events and 500 messages renders in
≤ 300 ms server time (the whole response, through Django's test client, on SQLite).

The contact also has enrolments and step runs in a scenario, and the site has 20 segments
(the profile checks each one). Standalone: ``python benchmarks/bench_contact_profile.py``
from the repository root; migrates a fresh SQLite database in a temporary directory.
Prints ``bench NAME: VALUE UNIT (budget BUDGET)``; nothing is asserted.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVENTS = 10_000
MESSAGES = 500
SEGMENTS = 20
BUDGET_MS = 300


def timed(function, repeat: int = 7, clock=time.perf_counter) -> float:
    """Median time of ``function()`` in seconds by ``clock``, after one warm-up run."""
    function()
    runs = []
    for _ in range(repeat):
        start = clock()
        function()
        runs.append(clock() - start)
    return statistics.median(runs)


def load():
    """The contact, its history, the emails its messages came from and the segments."""
    from django.utils import timezone
    from wagtail.models import Page

    from wagtail_journeys.models import (
        Contact,
        EmailIndexPage,
        EmailPage,
        Event,
        EventSource,
        Message,
        MessageStatus,
        Segment,
    )

    root = Page.objects.filter(depth=2).first() or Page.get_first_root_node()
    index = root.add_child(instance=EmailIndexPage(title="Emails", slug="bench-emails"))
    emails = [
        index.add_child(instance=EmailPage(title=f"Email {n}", slug=f"email-{n}", subject="Hi"))
        for n in range(10)
    ]
    contact = Contact.objects.create(email="reader@example.com", first_name="Ann")
    contact.tags.add("thriller", "stephen-king")
    now = timezone.now()
    kinds = [
        ("page_view", EventSource.PAGE, lambda i: {"page_id": emails[i % 10].pk, "path": "/b/"}),
        ("email_sent", EventSource.EMAIL, lambda i: {"email_page_id": emails[i % 10].pk}),
        ("email_opened", EventSource.EMAIL, lambda i: {"email_page_id": emails[i % 10].pk}),
        (
            "email_clicked",
            EventSource.EMAIL,
            lambda i: {"email_page_id": emails[i % 10].pk, "url": "https://shop.test/x"},
        ),
        ("purchase", EventSource.API, lambda i: {"amount": 12.5, "currency": "EUR", "items": [1]}),
    ]
    Event.objects.bulk_create(
        (
            Event(
                name=kinds[i % 5][0],
                source=kinds[i % 5][1],
                properties=kinds[i % 5][2](i),
                contact=contact,
                occurred_at=now - dt.timedelta(minutes=i),
            )
            for i in range(EVENTS)
        ),
        batch_size=2000,
    )
    Message.objects.bulk_create(
        Message(
            contact=contact,
            email_page=emails[i % 10],
            subject=f"Subject {i}",
            status=MessageStatus.SENT if i % 7 else MessageStatus.SUPPRESSED,
            error="" if i % 7 else "The contact unsubscribed.",
            open_count=i % 3,
            click_count=i % 2,
            created_at=now - dt.timedelta(hours=i),
        )
        for i in range(MESSAGES)
    )
    for n in range(SEGMENTS):
        Segment.objects.create(
            name=f"Segment {n}",
            slug=f"segment-{n}",
            rules=[
                {"type": "tags", "value": {"negate": False, "tags": f"tag-{n}, thriller"}},
            ],
        )
    # noise: other contacts' events, so the contact's are found by index
    others = Contact.objects.bulk_create(Contact(email=f"o{n}@example.com") for n in range(200))
    Event.objects.bulk_create(
        (
            Event(name="page_view", source=EventSource.PAGE, contact=other, properties={})
            for other in others
            for _ in range(50)
        ),
        batch_size=2000,
    )
    return contact


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="journeys-bench-profile-") as tmp:
        os.environ["JOURNEYS_SQLITE_PATH"] = str(Path(tmp) / "bench.sqlite3")
        os.environ["DJANGO_SETTINGS_MODULE"] = "example_site.settings"
        os.environ["DJANGO_DEBUG"] = "0"
        os.environ.pop("JOURNEYS_DB", None)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext, setup_test_environment
        from django.urls import reverse

        call_command("migrate", verbosity=0)
        contact = load()
        setup_test_environment()
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
        client = Client()
        client.force_login(user)
        url = reverse("journeys_contacts:inspect", args=[contact.pk])

        def page(query=None):
            def get():
                response = client.get(url, query or {})
                assert response.status_code == 200, response.status_code
                assert b"journeys-feed__item" in response.content

            return get

        first = timed(page()) * 1000
        print(
            f"bench contact_profile_10k_events_500_messages: {first:.0f} ms "
            f"(budget {BUDGET_MS} ms)",
            flush=True,
        )
        # CPU time does not grow when other processes share the machine; wall time does.
        cpu = timed(page(), clock=time.process_time) * 1000
        print(f"bench contact_profile_cpu: {cpu:.0f} ms (budget {BUDGET_MS} ms)", flush=True)
        oldest = timed(page({"p": EVENTS // 100})) * 1000
        print(f"bench contact_profile_oldest_feed_page: {oldest:.0f} ms (budget {BUDGET_MS} ms)")
        with CaptureQueriesContext(connection) as queries:
            page()()
        print(f"bench contact_profile_queries: {len(queries.captured_queries)} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
