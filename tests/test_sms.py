"""SMS: merge tags filled from the contact, opt-in required, backend pluggable."""

from __future__ import annotations

import pytest

from tests.emails.factories import make_contact
from wagtail_journeys.sms import render_sms, send_sms

pytestmark = pytest.mark.django_db
sent = []


class RecordingBackend:
    def send(self, to, text, *, key):
        sent.append((to, text, key))


def test_sms_needs_opt_in_and_a_phone_and_fills_only_known_tags(settings):
    settings.WAGTAIL_JOURNEYS = {"SMS_BACKEND": "tests.test_sms.RecordingBackend"}
    ada = make_contact(first_name="Ada", phone="+33600000000")
    assert send_sms(ada, "Hi {{ first_name }}", key="k1") == "no SMS opt-in"
    ada.sms_opt_in = True
    assert send_sms(ada, "Hi {{ first_name }} {{ contact.__class__ }}", key="k2") is None
    assert sent == [("+33600000000", "Hi Ada {{ contact.__class__ }}", "k2")]
    assert render_sms("{{ email }}", ada) == ada.email
