"""Budgets of double opt-in: a signup's form post, confirmation mail included, costs
≤ 80 ms server time, ≤ 30 ms more than the same post without double opt-in (the mail
goes through the normal delivery path: its ``Message`` row, its commits, the
``email_sent`` event); following the link (the confirming POST) ≤ 30 ms; signing the
link adds ≤ 150 µs to the fill of the confirmation email, and nothing to the fill of an
email without ``{{ confirm_url }}`` (it is signed only when the email shows it).

Through Django's full request handling (test ``Client``) on the bookshop's newsletter
form, with the confirmation email rendered and handed to the locmem backend (the cost of
an SMTP server's round trip is the site's own). Median of 100 each, on a temporary SQLite
test database. Run standalone: ``python benchmarks/bench_double_opt_in.py``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 100
LINK = re.compile(r"/journeys/confirm/([\w.:-]+)")


def report(name: str, value: float, unit: str, budget: str) -> None:
    print(f"bench {name}: {value:.2f} {unit} (budget {budget})", flush=True)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ.setdefault("JOURNEYS_TEST_TMP", "/tmp")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.DEBUG = False
    settings.WAGTAIL_JOURNEYS = {"DOUBLE_OPT_IN": True}
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.core import mail

        from tests.conftest import journeys_demo
        from tests.emails.factories import button, make_email, text
        from wagtail_journeys.emails.render import compiled_for, fill
        from wagtail_journeys.models import Contact

        journeys_demo(pages_only=True)
        make_email(
            [text("<p>Hello {{ contact.first_name }}</p>"), button("Yes", "{{ confirm_url }}")],
            slug="confirm-subscription",
        )
        client = Client()

        def signups(prefix: str) -> float:
            client.post("/newsletter/", {"email": f"warm-{prefix}@example.com"})  # caches
            times = []
            for i in range(RUNS):
                started = time.perf_counter()
                client.post("/newsletter/", {"first_name": "Zoé", "email": f"{prefix}{i}@ex.com"})
                times.append(time.perf_counter() - started)
            return statistics.median(times) * 1000

        settings.WAGTAIL_JOURNEYS = {"DOUBLE_OPT_IN": False}
        plain_post = signups("plain")
        settings.WAGTAIL_JOURNEYS = {"DOUBLE_OPT_IN": True}
        mail.outbox = []
        doi_post = signups("z")
        assert len(mail.outbox) == RUNS + 1
        print(f"a signup without double opt-in: {plain_post:.1f} ms", flush=True)
        report("double_opt_in_signup", doi_post, "ms", "<= 80 ms")
        report("double_opt_in_signup_added", doi_post - plain_post, "ms", "<= 30 ms")
        confirms = []
        links = [LINK.search(m.body)[1] for m in mail.outbox[1:]]
        for token in links:
            started = time.perf_counter()
            client.post(f"/journeys/confirm/{token}")
            confirms.append(time.perf_counter() - started)
        assert Contact.objects.filter(email_status="pending").count() == 1  # the warm-up's
        report("double_opt_in_confirm", statistics.median(confirms) * 1000, "ms", "<= 30 ms")

        plain = make_email([text("<p>Hello {{ contact.first_name }}, our picks.</p>")])
        compiled = compiled_for(plain)
        assert not compiled.uses_confirm
        signing = dataclasses.replace(compiled, uses_confirm=True)
        contact = Contact.objects.first()

        def per_fill(email) -> float:
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(2000):
                    fill(email, contact)
                runs.append((time.perf_counter() - started) / 2000)
            return min(runs)

        without, with_link = per_fill(compiled), per_fill(signing)
        print(f"a fill without {{{{ confirm_url }}}}: {without * 1e6:.0f} µs", flush=True)
        report("double_opt_in_link_fill", (with_link - without) * 1e6, "µs", "<= 150 µs")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
