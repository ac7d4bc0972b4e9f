"""The merge scope of the engine's sends: each enrolment's values (a promo code issued by
an earlier step, the start API's ``context``, the trigger event's properties) reach the
email; a required tag left empty holds the send instead of mailing a blank; promo codes
are unique per prefix by a database constraint. Real engine, real pages, Django's
locmem outbox; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.emails.factories import make_contact, make_email, text
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.engine import tick
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.outbox import deliver_stale
from wagtail_journeys.engine.triggers import match_events
from wagtail_journeys.events import record_event
from wagtail_journeys.models import (
    Contact,
    Enrollment,
    Message,
    ScenarioPage,
    SendEmailStep,
    StepRun,
    UpdateContactStep,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


@pytest.fixture
def now():
    return timezone.now()


def fire(name: str, contact, at: dt.datetime, **properties) -> int:
    event, _ = record_event(name, contact=contact, properties=properties, occurred_at=at)
    return match_events([event], now=at)


def test_an_engine_sent_email_carries_the_promo_code_an_earlier_step_issued(now):
    scenario = make_scenario()
    add(scenario, UpdateContactStep, promo_code_prefix="WELCOME")
    email = make_email(
        [text("<p>Your code: <b>{{ promo_code }}</b> (also {{ voucher_code }})</p>")],
        subject="Here is {{ promo_code }}",
    )
    add(scenario, SendEmailStep, email=email)
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    fire("purchase", ada, now)
    fire("purchase", bob, now)
    tick(now=now)
    ada.refresh_from_db()
    bob.refresh_from_db()
    codes = {c.pk: c.attributes["promo_code"] for c in (ada, bob)}
    assert codes[ada.pk].startswith("WELCOME-") and codes[ada.pk] != codes[bob.pk]
    sent = {m.to[0]: m for m in mail.outbox}
    assert sent["ada@example.com"].subject == f"Here is {codes[ada.pk]}"
    assert sent["bob@example.com"].subject == f"Here is {codes[bob.pk]}"
    code = codes[ada.pk]
    assert f"{code} (also {code})" in sent["ada@example.com"].body
    assert f"<b>{code}</b> (also {code})" in sent["ada@example.com"].alternatives[0][0]


def test_a_scenario_started_through_the_api_mails_its_context(client, server_token, settings):
    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": None,
        "FREQUENCY_CAP": None,
        "EMAIL_CONTEXT_VARIABLES": ["order_number"],
    }
    scenario = make_scenario(trigger_kind="manual")
    email = make_email(
        [text("<p>Order {{ order_number }}: {{ promo_code }}</p>")],
        subject="Order {{ order_number }}",
    )
    add(scenario, SendEmailStep, email=email)
    response = client.post(
        f"/journeys/api/scenarios/{scenario.pk}/start",
        {"email": "ada@example.com", "context": {"order_number": "A-1042", "promo_code": "VIP9"}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {server_token}",
    )
    assert response.status_code == 201
    advance_due(now=timezone.now())
    (sent,) = mail.outbox
    assert sent.subject == "Order A-1042"
    assert "Order A-1042: VIP9" in sent.body


def test_an_event_triggered_email_shows_the_events_properties(now):
    scenario = make_scenario(trigger_event="purchase")
    email = make_email(
        [text("<p>Thanks for {{ event.title }} ({{ event.amount }} {{ event.currency }})</p>")],
        subject="About {{ event.title|required }}",
    )
    add(scenario, SendEmailStep, email=email)
    ada = make_contact("ada@example.com")
    fire("purchase", ada, now, title="<The Shining>", amount=12.99, currency="EUR")
    advance_due(now=now)
    (sent,) = mail.outbox
    assert sent.subject == "About <The Shining>"
    assert "Thanks for <The Shining> (12.99 EUR)" in sent.body
    html = sent.alternatives[0][0]
    assert "&lt;The Shining&gt;" in html and "<The Shining>" not in html


def test_a_required_tag_left_empty_holds_the_send_with_its_reason(now, client):
    scenario = make_scenario()
    email = make_email(
        [text("<p>Code: {{ promo_code|required }}</p>")], subject="Your code {{ promo_code }}"
    )
    step = add(scenario, SendEmailStep, email=email, title="Send the code")
    ada = make_contact("ada@example.com")
    fire("purchase", ada, now)
    advance_due(now=now)
    assert mail.outbox == []
    message = Message.objects.get()
    assert message.status == "held" and message.sent_at is None
    assert "{{ promo_code }}" in message.error
    run = StepRun.objects.get(step_id=step.pk)
    assert run.outcome == "held" and "required merge tag {{ promo_code }} is empty" in run.reason
    assert not run.marketing_send
    assert Enrollment.objects.get().status == "completed"
    advance_due(now=now + dt.timedelta(minutes=5))
    deliver_stale(now=now + dt.timedelta(hours=1))
    assert mail.outbox == []  # held for good: never sent blank later

    from django.contrib.auth import get_user_model
    from django.urls import reverse

    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "x"))
    html = client.get(reverse("journeys_contacts:inspect", args=[ada.pk])).content.decode()
    runs = html[html.index("journeys-step-runs") :]
    assert "<code>held</code>" in runs and "required merge tag {{ promo_code }} is empty" in runs


def test_a_retried_delivery_reads_the_values_once_per_batch(now, monkeypatch):
    """A worker killed after its batch committed: ``deliver_stale`` sends later, with each
    enrolment's values read in one query for the whole batch."""
    scenario = make_scenario(trigger_kind="manual")
    email = make_email([text("<p>{{ promo_code }}</p>")], subject="Code {{ promo_code }}")
    add(scenario, SendEmailStep, email=email)
    from wagtail_journeys.engine.enroll import enroll

    contacts = [make_contact() for _ in range(4)]
    for i, contact in enumerate(contacts):
        enroll(scenario.pk, [contact.pk], now=now, context={"values": {"promo_code": f"C{i}"}})
    monkeypatch.setattr("wagtail_journeys.engine.advance.deliver", lambda *a, **k: 0)
    advance_due(now=now)
    monkeypatch.undo()
    assert mail.outbox == [] and StepRun.objects.filter(outcome="queued").count() == 4
    with CaptureQueriesContext(connection) as queries:
        deliver_stale(now=now + dt.timedelta(minutes=2))
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and '"wagtail_journeys_enrollment"."context"' in q["sql"]
    ]
    assert len(reads) == 1
    assert sorted(m.subject for m in mail.outbox) == ["Code C0", "Code C1", "Code C2", "Code C3"]


def test_promo_codes_are_unique_per_prefix_in_the_database(now):
    from wagtail_journeys.models import PromoCode

    contact = make_contact()
    PromoCode.objects.create(prefix="WELCOME", code="WELCOME-AAAA", contact=contact)
    with pytest.raises(IntegrityError), transaction.atomic():
        PromoCode.objects.create(prefix="WELCOME", code="WELCOME-AAAA", contact=make_contact())
    PromoCode.objects.create(prefix="OTHER", code="WELCOME-AAAA")  # another prefix's own


def test_a_drawn_code_already_taken_is_drawn_again_and_a_key_issues_once(monkeypatch):
    from wagtail_journeys.engine import values
    from wagtail_journeys.models import PromoCode

    contact = make_contact()
    PromoCode.objects.create(prefix="CART", code="CART-TAKEN", contact=contact)
    draws = iter(["CART-TAKEN", "CART-TAKEN", "CART-FRESH", "CART-SPARE"])
    monkeypatch.setattr(values, "_draw", lambda prefix: next(draws))
    first = values.issue_promo_code("CART", key="enr:1:2:0", contact_id=contact.pk)
    assert first == "CART-FRESH"
    again = values.issue_promo_code("CART", key="enr:1:2:0", contact_id=contact.pk)
    assert again == "CART-FRESH"  # the same step run gets its code back
    assert PromoCode.objects.filter(prefix="CART").count() == 2


def test_the_copy_of_the_trigger_event_on_the_enrolment_is_bounded(now):
    from wagtail_journeys.engine import values

    scenario = make_scenario()
    add(scenario, SendEmailStep, email=make_email(subject="{{ event.k0 }}"))
    ada = make_contact()
    properties = {f"k{i}": "x" * 5000 for i in range(200)}
    properties |= {"nested": {"a": [1, 2, 3]}, "Bad Key": "v", "items": [1, 2]}
    fire("purchase", ada, now, **properties)
    event = Enrollment.objects.get().context["event"]
    assert len(event) == values.MAX_EVENT_KEYS
    assert all(len(v) == values.MAX_TEXT for v in event.values())
    assert not {"nested", "Bad Key", "items"} & set(event)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    properties=st.dictionaries(
        st.one_of(
            strategies.hostile_text(max_pieces=40), st.sampled_from(["title", "amount", "k_1"])
        ),
        strategies.hostile_json(),
        max_size=8,
    )
)
def test_hostile_event_properties_are_stored_on_the_enrolment_and_filled(properties):
    """NUL, lone surrogates, CRLF, huge numbers: the enrolment row is written (PostgreSQL's
    jsonb refuses NUL and surrogates) and the send's context fills without raising."""
    from wagtail_journeys.engine import values

    kept = values.event_values(properties)
    contact = Contact.objects.first() or make_contact()
    scenario = ScenarioPage.objects.first() or make_scenario(trigger_kind="manual")
    with transaction.atomic():
        row = Enrollment.objects.create(
            contact=contact, scenario=scenario, context={"event": kept, "values": kept}
        )
    row.refresh_from_db()
    context = values.send_context(row.context)
    from wagtail_journeys.emails.mergetags import Scope, render

    for key in kept:
        out, _ = render(f"{{{{ event.{key} }}}}", Scope(contact, context, {}))
        out.encode("utf-8")
        assert "\x00" not in out
