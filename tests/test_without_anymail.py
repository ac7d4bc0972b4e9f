"""django-anymail is optional (``pip install "wagtail-journeys[esp]"``): without it the
app imports, starts, mounts its URLs and sends through SMTP as before."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.processes import ROOT

#: Run with anymail made unimportable: Django starts (``apps.ready`` connects what it
#: can), the example site's URLs load, and a send reaches an SMTP-like backend.
PROBE = textwrap.dedent(
    """
    import sys
    sys.modules["anymail"] = None  # "pip uninstall django-anymail", for this process
    import django
    django.setup()
    from django.core import mail
    from django.test.utils import setup_test_environment
    from django.urls import resolve
    setup_test_environment()
    from example_site import urls
    from wagtail_journeys.tracking import esp
    assert esp.connect() is False
    assert resolve("/journeys/o/x.gif").url_name == "email_open"
    assert not any(str(p.pattern) == "anymail/" for p in urls.urlpatterns)
    from django.core.mail import EmailMultiAlternatives
    from wagtail_journeys.delivery import METADATA_KEY
    message = EmailMultiAlternatives("Hi", "Hello", "a@example.com", ["b@example.com"])
    message.metadata = {METADATA_KEY: "x"}  # what delivery sets: other backends ignore it
    assert mail.get_connection().send_messages([message]) == 1
    print("ok", "anymail" in sys.modules and sys.modules["anymail"] is None)
    """
)


def test_the_app_starts_and_sends_without_anymail():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ok", "True"]
