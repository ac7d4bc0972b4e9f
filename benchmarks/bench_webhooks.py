"""Budget: recording one ESP webhook event costs ≤ 5 ms server time.

A Postmark tracking webhook (basic auth, JSON) posted to django-anymail's view, through
Django's full request handling, for messages the app sent: a *delivered* event (find the
message, insert the event, one UPDATE), and a *hard bounce* (the same, and the contact's
suppression). Wall time per request in this process, median of 300 each, on SQLite and,
when reachable, PostgreSQL (a temporary test database each). The open pixel's time is
printed beside, for comparison.
Run standalone: ``python benchmarks/bench_webhooks.py``.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 300
SECRET = "bench:secret"


def report(name: str, value: float) -> None:
    print(f"bench {name}: {value:.2f} ms (budget <= 5 ms)", flush=True)


def measure(label: str) -> None:
    """In a child process whose database is ``JOURNEYS_DB``: create the test database,
    send the messages, post the webhooks, print the figures, drop the database."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.DEBUG = False
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from tests.emails.factories import make_email
        from wagtail_journeys.delivery import send_emails
        from wagtail_journeys.models import Contact

        email = make_email(subject="Hi")
        contacts = Contact.objects.bulk_create(
            Contact(email=f"c{i}@example.com") for i in range(2 * EVENTS + 20)
        )
        messages = send_emails(email, contacts)
        client = Client(HTTP_AUTHORIZATION="Basic " + base64.b64encode(SECRET.encode()).decode())

        def post(message, record: str) -> float:
            payload = {
                "RecordType": record,
                "MessageID": f"pm-{message.pk}",
                "Metadata": {"journeys_message": message.uuid.hex},
                "Recipient": message.recipient,
                "Email": message.recipient,
                "DeliveredAt": "2026-06-01T10:00:00Z",
                "BouncedAt": "2026-06-01T10:05:00Z",
                "ID": message.pk,
                "Type": "HardBounce",
                "Details": "smtp;550 5.1.1 unknown user",
            }
            body = json.dumps(payload)
            start = time.perf_counter()
            response = client.post(
                "/anymail/postmark/tracking/", body, content_type="application/json"
            )
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.content[:500]
            return elapsed * 1000

        for message in messages[:20]:  # warm up: imports, caches, connections
            post(message, "Delivery")
        delivered = [post(m, "Delivery") for m in messages[20 : 20 + EVENTS]]
        bounced = [post(m, "Bounce") for m in messages[20 + EVENTS :]]
        suffix = "" if label == "sqlite" else f" ({label})"
        report(f"esp_webhook_event{suffix}", statistics.median(delivered))
        report(f"esp_webhook_event hard bounce{suffix}", statistics.median(bounced))
        # The open pixel, for comparison (no budget of its own): a human open each.
        from wagtail_journeys.emails import links

        browser = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
        opens = []
        for message in messages[20 : 20 + EVENTS]:
            url = "/journeys/o/" + links.sign(message.uuid, links.OPEN) + ".gif"
            start = time.perf_counter()
            assert browser.get(url).status_code == 200
            opens.append((time.perf_counter() - start) * 1000)
        median = statistics.median(opens)
        print(f"bench open_pixel{suffix}: {median:.2f} ms (no budget: for comparison)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from benchmarks.databases import postgres_reachable

    kinds = ["sqlite"] + (["postgresql"] if postgres_reachable() else [])
    failed = 0
    for kind in kinds:
        env = {
            **os.environ,
            "JOURNEYS_DB": "postgres" if kind == "postgresql" else "sqlite",
            "JOURNEYS_TEST_TMP": tempfile.mkdtemp(prefix="bench-webhooks-"),
            # its own test database, whatever else runs (the test run's is test_<name>)
            "JOURNEYS_PG_NAME": f"{os.environ.get('JOURNEYS_PG_NAME', 'journeys')}_bench_"
            f"{uuid.uuid4().hex[:8]}",
        }
        done = subprocess.run([sys.executable, "-u", __file__, "--measure", kind], env=env)
        failed |= done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
