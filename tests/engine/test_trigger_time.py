"""The trigger time rule: a scenario reacts only to events that occurred after it went live
and that are no older than ``TRIGGER_MAX_EVENT_AGE_HOURS``; back-filled history never
fires a trigger, reaches a goal or wakes a wait. And a trigger may require the event's
source (server or browser)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0, fire
from tests.factories import EventFactory
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.engine import tick
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.triggers import match_events
from wagtail_journeys.events import record_event
from wagtail_journeys.models import Enrollment, Event, EventSource, SendEmailStep, WaitStep

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def settled(*events: Event) -> None:
    """Make events old enough (by arrival) for the next pass to read them."""
    Event.objects.filter(pk__in=[e.pk for e in events]).update(
        received_at=timezone.now() - dt.timedelta(minutes=1)
    )


def test_history_back_filled_through_the_api_never_sends(client, server_token):
    scenario = make_scenario(title="Welcome", live_since=None)  # published now, as in the admin
    add(scenario, SendEmailStep, email=make_email(title="Welcome", subject="Welcome!"))
    scenario.refresh_from_db()
    assert scenario.live_since is not None
    now = timezone.now()
    for email, days in [("last-year@example.com", 300), ("yesterday@example.com", 1)]:
        response = client.post(
            "/journeys/api/events",
            {
                "name": "purchase",
                "email": email,
                "occurred_at": (now - dt.timedelta(days=days)).isoformat(),
            },
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {server_token}",
        )
        assert response.status_code == 201, response.content
    settled(*Event.objects.all())
    assert tick()["enrolled"] == 0
    assert mail.outbox == []
    response = client.post(
        "/journeys/api/events",
        {"name": "purchase", "email": "today@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {server_token}",
    )
    settled(Event.objects.get(pk=response.json()["id"]))
    assert tick()["enrolled"] == 1
    assert [m.to for m in mail.outbox] == [["today@example.com"]]


@pytest.mark.parametrize("kind", ["event", "page_view", "email_engagement"])
def test_every_event_trigger_ignores_events_from_before_it_went_live(kind):
    email = make_email(title="Newsletter")
    fields = {
        "event": {"trigger_event": "purchase"},
        "page_view": {"trigger_kind": "page_view", "trigger_event": "", "trigger_page_tag": "x"},
        "email_engagement": {
            "trigger_kind": "email_engagement",
            "trigger_event": "",
            "engagement_email": email,
            "engagement_kind": "opened",
        },
    }[kind]
    make_scenario(live_since=T0, **fields)
    name, properties = {
        "event": ("purchase", {}),
        "page_view": ("page_view", {"page_id": 1, "tags": ["x"]}),
        "email_engagement": ("email_opened", {"email_page_id": email.pk}),
    }[kind]
    ada = make_contact()
    assert fire(name, ada, at=T0 - dt.timedelta(minutes=1), **properties) == 0
    assert fire(name, ada, at=T0, **properties) == 1


def test_events_older_than_the_maximum_age_fire_nothing(settings):
    """A worker that was down catches up on events up to the maximum age (72 hours: a
    weekend); older ones, back-filled or not, start nothing."""
    make_scenario(reentry="always")
    ada, bob = make_contact(), make_contact()
    late = [
        record_event("purchase", contact=ada, occurred_at=T0 - 73 * HOUR)[0],
        record_event("purchase", contact=bob, occurred_at=T0 - 71 * HOUR)[0],
    ]
    assert match_events(late, now=T0) == 1
    assert Enrollment.objects.get().contact == bob
    settings.WAGTAIL_JOURNEYS = {**settings.WAGTAIL_JOURNEYS, "TRIGGER_MAX_EVENT_AGE_HOURS": 1}
    carl = make_contact()
    late = [record_event("purchase", contact=carl, occurred_at=T0 - 2 * HOUR)[0]]
    assert match_events(late, now=T0) == 0


def test_n_page_views_count_only_views_since_go_live():
    make_scenario(
        live_since=T0,
        trigger_kind="page_view",
        trigger_event="",
        trigger_page_tag="stephen-king",
        trigger_min_views=3,
        trigger_view_days=30,
    )
    ada = make_contact()
    king = {"page_id": 1, "tags": ["stephen-king"]}
    for minutes in (20, 10):  # before the scenario went live: they do not count
        fire("page_view", ada, at=T0 - dt.timedelta(minutes=minutes), **king)
    assert fire("page_view", ada, at=T0, **king) == 0
    assert fire("page_view", ada, at=T0 + HOUR, **king) == 0
    assert fire("page_view", ada, at=T0 + 2 * HOUR, **king) == 1


def test_a_paused_scenario_ignores_what_happened_while_it_was_not_live():
    scenario = make_scenario(live_since=None, reentry="always")
    add(scenario, SendEmailStep, email=make_email())
    went_live = scenario.live_since
    scenario.save_revision().publish()  # re-publishing a live scenario keeps its time
    scenario.refresh_from_db()
    assert scenario.live_since == went_live
    scenario.unpublish()
    ada = make_contact()
    during = EventFactory(name="purchase", contact=ada, occurred_at=timezone.now())
    scenario.refresh_from_db()
    scenario.save_revision().publish()
    scenario.refresh_from_db()
    assert scenario.live_since > during.occurred_at
    settled(during)
    assert tick()["enrolled"] == 0
    after = EventFactory(name="purchase", contact=ada, occurred_at=timezone.now())
    settled(after)
    assert tick()["enrolled"] == 1


def test_a_trigger_can_require_a_server_source():
    make_scenario(trigger_source="server", reentry="always")
    ada = make_contact()
    browser = [
        record_event("purchase", contact=ada, occurred_at=T0, source=source)[0]
        for source in (EventSource.BEACON, EventSource.PAGE, EventSource.FORM)
    ]
    assert match_events(browser, now=T0) == 0
    server = record_event("purchase", contact=ada, occurred_at=T0, source=EventSource.API)[0]
    assert match_events([server], now=T0) == 1


def test_a_trigger_can_require_a_browser_source():
    make_scenario(trigger_event="cart_updated", trigger_source="browser", reentry="always")
    ada = make_contact()
    api = record_event("cart_updated", contact=ada, occurred_at=T0, source=EventSource.API)[0]
    assert match_events([api], now=T0) == 0
    beacon, _ = record_event("cart_updated", contact=ada, occurred_at=T0, source=EventSource.BEACON)
    assert match_events([beacon], now=T0) == 1


def test_the_source_is_read_with_the_batch():
    """The batch reader brings each event's source, so trust costs no query per event."""
    from django.db import transaction

    from wagtail_journeys.events import read_batch

    ada = make_contact()
    settled(*[EventFactory(contact=ada, source=EventSource.BEACON) for _ in range(3)])
    with transaction.atomic():
        _, events = read_batch("test", limit=10)
    assert len(events) == 3
    assert all("source" not in e.get_deferred_fields() for e in events)


def test_goals_count_only_events_after_the_enrolment_started():
    scenario = make_scenario(goal_event="purchase_confirmed")
    add(scenario, WaitStep, amount=3, unit="days")
    add(scenario, SendEmailStep, email=make_email())
    ada = make_contact()
    fire("purchase", ada)
    back_filled, _ = record_event(
        "purchase_confirmed", contact=ada, occurred_at=T0 - dt.timedelta(days=10)
    )
    match_events([back_filled], now=T0 + HOUR)
    assert Enrollment.objects.get().status == "active"
    fire("purchase_confirmed", ada, at=T0 + HOUR)
    assert Enrollment.objects.get().status == "converted"


def test_event_waits_hear_only_events_after_the_enrolment_started():
    scenario = make_scenario()
    add(scenario, WaitStep, mode="event", event_name="order_shipped", amount=3, unit="days")
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    assert Enrollment.objects.get().waiting
    back_filled, _ = record_event(
        "order_shipped", contact=ada, occurred_at=T0 - dt.timedelta(days=2)
    )
    match_events([back_filled], now=T0 + HOUR)
    assert Enrollment.objects.get().outcome == ""
    fire("order_shipped", ada, at=T0 + HOUR)
    assert Enrollment.objects.get().outcome == "event"


def test_a_batch_never_passes_an_event_that_is_still_settling():
    """An event with a smaller id that arrived after a larger-numbered one settled (the
    engine's ``email_sent`` rows carry the time their send began, seconds before their
    insert) waits for the next pass with everything after it: it used to be skipped for
    good (found by tests/test_journey_e2e.py: a reader's confirmation, never read)."""
    from django.db import transaction

    from wagtail_journeys.analytics.rollup import roll_events
    from wagtail_journeys.events import read_batch

    ada = make_contact()
    young = EventFactory(contact=ada, name="email_opened")
    older = EventFactory(contact=ada, name="email_sent")
    settled(older)
    with transaction.atomic():
        cursor, events = read_batch("test", limit=10)
    assert (events, cursor.position) == ([], 0)
    assert roll_events() == 0

    settled(young)
    with transaction.atomic():
        cursor, events = read_batch("test", limit=10)
    assert [e.pk for e in events] == [young.pk, older.pk]
    assert roll_events() == 2

    # A row stamped far ahead (a writer's clock gone wrong) holds nothing up.
    ahead = EventFactory(contact=ada, name="email_opened")
    Event.objects.filter(pk=ahead.pk).update(received_at=timezone.now() + dt.timedelta(days=1))
    with transaction.atomic():
        _, events = read_batch("test", limit=10)
    assert [e.pk for e in events] == [young.pk, older.pk, ahead.pk]
