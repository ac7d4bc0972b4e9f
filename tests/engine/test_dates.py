"""Scheduled triggers: birthdays at 9:00 local time, broadcasts, "not opened within"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.engine import dates
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.dates import evaluate_scheduled_triggers
from wagtail_journeys.engine.enroll import enroll
from wagtail_journeys.engine.triggers import match_events
from wagtail_journeys.events import record_event
from wagtail_journeys.models import Enrollment, SendEmailStep
from wagtail_journeys.workers import stopping

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_birthday_at_nine_in_tokyo_comes_before_nine_in_paris():
    scenario = make_scenario(trigger_kind="birthday", trigger_time=dt.time(9), reentry="always")
    add(scenario, SendEmailStep, email=make_email(title="Happy birthday"))
    tokyo = make_contact(
        "tokyo@example.com", timezone="Asia/Tokyo", birth_date=dt.date(1990, 6, 15)
    )
    paris = make_contact(
        "paris@example.com", timezone="Europe/Paris", birth_date=dt.date(1985, 6, 15)
    )
    make_contact("other@example.com", timezone="Europe/Paris", birth_date=dt.date(1985, 6, 16))

    def enrolled():
        return sorted(Enrollment.objects.values_list("contact__email", flat=True))

    evaluate_scheduled_triggers(now=utc(2026, 6, 14, 23, 59))  # 08:59 Tokyo
    assert enrolled() == []
    evaluate_scheduled_triggers(now=utc(2026, 6, 15, 0, 0))  # 09:00 Tokyo, 02:00 Paris
    assert enrolled() == [tokyo.email]
    evaluate_scheduled_triggers(now=utc(2026, 6, 15, 6, 59))  # 08:59 Paris (summer time)
    assert enrolled() == [tokyo.email]
    evaluate_scheduled_triggers(now=utc(2026, 6, 15, 7, 0))
    evaluate_scheduled_triggers(now=utc(2026, 6, 15, 12, 0))  # later passes add nobody
    assert enrolled() == [paris.email, tokyo.email]
    advance_due(now=utc(2026, 6, 15, 12, 0))
    assert sorted(m.to[0] for m in mail.outbox) == [paris.email, tokyo.email]


def test_birthday_in_paris_winter_is_at_eight_utc():
    make_scenario(trigger_kind="birthday", trigger_time=dt.time(9))
    make_contact(timezone="Europe/Paris", birth_date=dt.date(1985, 1, 10))
    evaluate_scheduled_triggers(now=utc(2026, 1, 10, 7, 59))
    assert not Enrollment.objects.exists()
    evaluate_scheduled_triggers(now=utc(2026, 1, 10, 8, 0))
    assert Enrollment.objects.count() == 1


def test_broadcast_enrols_the_segment_once_per_occurrence():
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    scenario = make_scenario(
        trigger_kind="broadcast",
        trigger_segment=readers,
        broadcast_at=utc(2026, 6, 1, 9),
        broadcast_every="weekly",
        reentry="always",
    )
    add(scenario, SendEmailStep, email=make_email(title="Summer selection"))
    for n in range(5):
        make_contact(f"r{n}@example.com").tags.add("reader")
    make_contact("not-a-reader@example.com")
    assert evaluate_scheduled_triggers(now=utc(2026, 5, 31)) == 0
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 9)) == 5
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 2)) == 0
    advance_due(now=utc(2026, 6, 2))
    assert len(mail.outbox) == 5
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 8, 9)) == 5


@pytest.fixture
def chunks_of_two(monkeypatch):
    monkeypatch.setattr(dates, "CHUNK", 2)
    scenario = make_scenario(
        trigger_kind="broadcast", broadcast_at=utc(2026, 6, 1, 9), reentry="always"
    )
    add(scenario, SendEmailStep, email=make_email(title="News"))
    return [make_contact(f"r{n}@example.com").email for n in range(5)]


def enrolled_emails() -> list[str]:
    return sorted(Enrollment.objects.values_list("contact__email", flat=True))


def test_a_broadcast_killed_half_way_goes_on_without_enrolling_anyone_twice(
    chunks_of_two, monkeypatch
):
    """Each chunk commits with how far it reached: the first mails can leave while a large
    segment is still being enrolled, and a pass that dies leaves the rest to the next."""
    calls = []

    def enroll_until_killed(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return enroll(*args, **kwargs)

    monkeypatch.setattr(dates, "enroll", enroll_until_killed)
    with pytest.raises(RuntimeError):
        evaluate_scheduled_triggers(now=utc(2026, 6, 1, 9))
    assert enrolled_emails() == chunks_of_two[:2]  # the first chunk committed
    monkeypatch.setattr(dates, "enroll", enroll)
    late = make_contact("late@example.com").email  # joined before the chunks reached it
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 9, 5)) == 4
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 9, 10)) == 0
    assert enrolled_emails() == sorted([*chunks_of_two, late])


def test_a_broadcast_told_to_stop_ends_after_its_chunk(chunks_of_two, monkeypatch):
    def enroll_then_stop(*args, **kwargs):
        stopping.set()  # SIGTERM to the qcluster worker (workers.py)
        return enroll(*args, **kwargs)

    monkeypatch.setattr(dates, "enroll", enroll_then_stop)
    try:
        assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 9)) == 2
    finally:
        stopping.clear()
    monkeypatch.setattr(dates, "enroll", enroll)
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 9, 1)) == 3
    assert enrolled_emails() == chunks_of_two


def test_segment_entered_enrols_only_contacts_who_join_after_go_live():
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    scenario = make_scenario(
        trigger_kind="segment_entered", trigger_segment=readers, reentry="always"
    )
    add(scenario, SendEmailStep, email=make_email(title="Welcome, reader"))
    already = make_contact("already@example.com")
    already.tags.add("reader")
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1)) == 0  # members when it went live
    joiner = make_contact("joiner@example.com")
    joiner.tags.add("reader")
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 0, 1)) == 1
    # Still in the segment a minute later (and enrolment over): being a member is not entering.
    advance_due(now=utc(2026, 6, 1, 0, 1))
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 0, 2)) == 0
    assert [m.to for m in mail.outbox] == [[joiner.email]]
    # Leaving and joining again is a new entry (re-entry "always").
    joiner.tags.remove("reader")
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 0, 3)) == 0
    joiner.tags.add("reader")
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 0, 4)) == 1
    assert list(Enrollment.objects.values_list("contact__email", flat=True).distinct()) == [
        joiner.email
    ]


def test_segment_entered_can_take_current_members_and_restarts_on_a_new_segment():
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    horror = SegmentFactory(rules=[rule("tags", tags="horror")])
    scenario = make_scenario(
        trigger_kind="segment_entered", trigger_segment=readers, trigger_segment_existing=True
    )
    add(scenario, SendEmailStep, email=make_email(title="Welcome, reader"))
    both = make_contact("both@example.com")
    both.tags.add("reader", "horror")
    make_contact("reader@example.com").tags.add("reader")
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1)) == 2
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 0, 1)) == 0
    scenario.trigger_segment, scenario.trigger_segment_existing = horror, False
    scenario.save_revision().publish()
    make_contact("fan@example.com").tags.add("horror")
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 0, 2)) == 0  # new baseline
    late = make_contact("late@example.com")
    late.tags.add("horror")
    assert evaluate_scheduled_triggers(now=utc(2026, 6, 1, 0, 3)) == 1
    assert Enrollment.objects.filter(contact=late).exists()


def test_not_opened_within_days_enrols_only_those_who_did_not_open():
    newsletter = make_email(title="Newsletter")
    scenario = make_scenario(
        trigger_kind="email_engagement",
        engagement_email=newsletter,
        engagement_kind="not_opened",
        engagement_days=3,
    )
    add(scenario, SendEmailStep, email=make_email(title="Reminder"))
    opener, sleeper = make_contact("open@example.com"), make_contact("sleep@example.com")
    sent_at = utc(2026, 6, 1, 9)
    events = [
        record_event(
            "email_sent",
            contact=c,
            properties={"email_page_id": newsletter.pk},
            occurred_at=sent_at,
        )[0]
        for c in (opener, sleeper)
    ]
    match_events(events, now=sent_at)
    record_event(
        "email_opened",
        contact=opener,
        properties={"email_page_id": newsletter.pk},
        occurred_at=sent_at + dt.timedelta(days=1),
    )
    advance_due(now=sent_at + dt.timedelta(days=2))
    assert mail.outbox == []
    advance_due(now=sent_at + dt.timedelta(days=3))
    assert [m.to[0] for m in mail.outbox] == [sleeper.email]
    assert Enrollment.objects.get(contact=opener).end_reason == "the email was opened"
