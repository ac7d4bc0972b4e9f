"""A scenario's send records its scenario, step and variant on the message and on every
event about it, in one query per chunk (never one per message)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0, fire
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.delivery import send_emails
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.models import Event, Message, MessageStatus, SendEmailStep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def test_a_scenario_send_names_its_scenario_and_step_on_the_message_and_event():
    scenario = make_scenario(title="Welcome")
    step = add(scenario, SendEmailStep, email=make_email(title="Welcome", subject="Hi"))
    ada = make_contact("ada@example.com")
    assert fire("purchase", ada) == 1
    advance_due(now=T0 + dt.timedelta(minutes=1))
    assert len(mail.outbox) == 1
    message = Message.objects.get()
    assert (message.scenario_id, message.step_id) == (scenario.pk, step.pk)
    assert message.recipient == "ada@example.com" and message.sent_at is not None
    event = Event.objects.get(name="email_sent")
    assert event.properties["message"] == message.pk
    assert (event.properties["scenario_id"], event.properties["step_id"]) == (scenario.pk, step.pk)
    assert event.properties["variant"] == []


def _queries_to_send(email, n: int) -> int:
    contacts = [make_contact() for _ in range(n)]
    with CaptureQueriesContext(connection) as queries:
        send_emails(email, contacts, scenario_ids=[7] * n, step_ids=[8] * n)
    return len(queries)


def test_recording_the_new_fields_adds_no_query_per_message(email_site):
    email = make_email(subject="Hi")
    _queries_to_send(email, 1)  # compiles the email once
    one, ten = _queries_to_send(email, 1), _queries_to_send(email, 10)
    assert one == ten
    assert set(Message.objects.values_list("scenario_id", "step_id")) == {(7, 8)}


class _AnymailLikeBackend:
    """Gives each message an ESP id, as django-anymail's backends do (``anymail_status``)."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return False

    def close(self):
        pass

    def send_messages(self, messages):
        for message in messages:
            message.anymail_status = type(
                "Status", (), {"message_id": f"esp-{message.metadata['journeys_message']}"}
            )()
            mail.outbox.append(message)
        return len(messages)


def test_the_esps_message_id_is_kept_with_the_send(email_site, settings):
    settings.EMAIL_BACKEND = f"{__name__}._AnymailLikeBackend"
    email = make_email(subject="Hi")
    messages = send_emails(email, [make_contact(), make_contact()])
    assert [m.status for m in messages] == [MessageStatus.SENT] * 2
    for message in Message.objects.all():
        assert message.esp_message_id == f"esp-{message.uuid.hex}"
