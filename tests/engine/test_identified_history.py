"""A visitor's anonymous history counts for the scenario triggers once the visitor is
identified, whether the worker read it before or after: three Stephen King books viewed
before signing up start "Stephen King readers" (found by tests/test_journey_e2e.py, where
a running worker read the views while the reader was still anonymous)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from tests.emails.factories import make_contact
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.contacts import identify
from wagtail_journeys.engine.triggers import process_triggers
from wagtail_journeys.events import SETTLE, record_event
from wagtail_journeys.models import Enrollment, Event, EventSource, ExitStep, WaitStep

pytestmark = pytest.mark.django_db
KING = {"page_id": 7, "page_type": "shop.bookpage", "tags": ["stephen-king"]}


@pytest.fixture
def king_readers():
    """Enrols on 3 views of Stephen King pages in 30 days, every time (re-entry
    ``always``: a second enrolment would show)."""
    scenario = make_scenario(
        trigger_kind="page_view",
        trigger_event="",
        trigger_page_tag="stephen-king",
        trigger_min_views=3,
        trigger_view_days=30,
        reentry="always",
    )
    add(scenario, WaitStep, amount=3, unit="days")
    add(scenario, ExitStep)
    return scenario


def anonymous_views(visitor: uuid.UUID, count: int) -> None:
    for _ in range(count):
        record_event("page_view", visitor_id=visitor, properties=KING, source=EventSource.PAGE)


def worker_pass(time_machine) -> int:
    """One trigger pass, once what was just recorded has settled."""
    time_machine.shift(SETTLE + dt.timedelta(seconds=1))
    return process_triggers()


def test_views_read_while_anonymous_enrol_the_contact_once_identified(king_readers, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    visitor, ada = uuid.uuid4(), make_contact("ada@example.com")
    anonymous_views(visitor, 3)
    assert worker_pass(time_machine) == 0  # read while anonymous: nobody to enrol

    assert identify(visitor, ada) == 3
    (mark,) = Event.objects.filter(name="visitor_identified")
    assert (mark.contact, mark.source) == (ada, EventSource.SYSTEM)
    assert worker_pass(time_machine) == 1
    assert Enrollment.objects.get().contact == ada

    # Read as the contact's once: neither the next pass nor a repeated identify enrols again.
    assert identify(visitor, ada) == 0
    assert worker_pass(time_machine) == 0
    assert Enrollment.objects.count() == 1


def test_views_identified_before_the_worker_read_them_enrol_once(king_readers, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    visitor, ada = uuid.uuid4(), make_contact("ada@example.com")
    anonymous_views(visitor, 3)
    assert identify(visitor, ada) == 3
    assert not Event.objects.filter(name="visitor_identified").exists()  # nothing was missed
    assert worker_pass(time_machine) == 1
    assert worker_pass(time_machine) == 0


def test_history_read_while_anonymous_keeps_the_time_rule(king_readers, time_machine):
    """Late is not never: views older than TRIGGER_MAX_EVENT_AGE_HOURS fire nothing."""
    time_machine.move_to(timezone.now(), tick=False)
    visitor, ada = uuid.uuid4(), make_contact("ada@example.com")
    anonymous_views(visitor, 3)
    assert worker_pass(time_machine) == 0
    time_machine.shift(dt.timedelta(hours=73))
    assert identify(visitor, ada) == 3
    assert worker_pass(time_machine) == 0
    assert not Enrollment.objects.exists()


def test_a_forged_mark_names_nothing(king_readers, time_machine):
    """Only the app's own record counts: a server posting the same name and facts does
    not make the triggers read anyone's history again."""
    time_machine.move_to(timezone.now(), tick=False)
    visitor, ada = uuid.uuid4(), make_contact("ada@example.com")
    anonymous_views(visitor, 3)
    assert worker_pass(time_machine) == 0
    identify(visitor, ada)
    Event.objects.filter(name="visitor_identified").update(source=EventSource.API)
    assert worker_pass(time_machine) == 0


def test_the_profile_says_it_in_words():
    from wagtail_journeys.activity import describe

    activity = describe("visitor_identified", EventSource.SYSTEM, {"visitor": "x"}, {})
    assert "earlier visits in this browser now count" in activity.text
