"""The demo scenarios: created once, checked clean of errors, the loop found and guarded;
then the demo's story, played forward: after the scenarios went live, its customers buy,
leave carts, read Stephen King, sign up, download, have birthdays and drift away; the
engine runs at chosen times (``now=``), and every step of every demo scenario runs at
least once (every email is sent, every branch is taken, every wait is waited). One test,
so that the demo (the costliest fixture) is loaded once."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Page

from example_site.shop.models import BookPage, FormPage
from wagtail_journeys.contacts import upsert_contact
from wagtail_journeys.engine import tick
from wagtail_journeys.events import record_event
from wagtail_journeys.models import (
    Branch,
    Contact,
    Enrollment,
    Event,
    EventSource,
    ScenarioPage,
    SendEmailStep,
    StepRun,
)
from wagtail_journeys.scenarios.report import check_all

pytestmark = pytest.mark.django_db


def customer(name: str, **fields) -> Contact:
    return upsert_contact(
        f"{name}@example.com", {"first_name": name.title(), "timezone": "UTC", **fields}
    )[0]


def happen(name: str, contact: Contact, at: dt.datetime, source=EventSource.API, **properties):
    """Record an event of the story, as it occurred. (It arrived a few seconds ago: the
    engine leaves events younger than two seconds for its next pass.)"""
    event, _ = record_event(
        name, contact=contact, properties=properties, occurred_at=at, source=source
    )
    Event.objects.filter(pk=event.pk).update(received_at=timezone.now() - dt.timedelta(seconds=5))


def view(contact: Contact, book: BookPage, at: dt.datetime) -> None:
    tags = sorted(book.tags.names())
    happen(
        "page_view",
        contact,
        at,
        EventSource.PAGE,
        page_id=book.pk,
        tags=tags,
        page_type="shop.bookpage",
    )


def post(contact: Contact, form: FormPage, at: dt.datetime) -> None:
    happen(
        "form_submitted",
        contact,
        at,
        EventSource.FORM,
        page_id=form.pk,
        form=form.slug,
        page_type="shop.formpage",
        title=form.title,
    )


def buy(contact: Contact, book: BookPage, at: dt.datetime) -> None:
    happen(
        "purchase",
        contact,
        at,
        page_id=book.pk,
        title=book.title,
        author=book.author,
        category=book.genre,
        amount=float(book.price),
    )


def play_story() -> set[int]:
    """The demo's customers act from tomorrow noon, and the engine runs after each wait of
    the demo (30 min, 1, 3, 7, 7 + 14 days); return the steps where enrolments were seen
    (waits leave no step run)."""
    start = (timezone.now() + dt.timedelta(days=1)).replace(hour=12, minute=0, second=0)
    books = {b.slug: b for b in BookPage.objects.all()}
    newsletter, white_paper = (FormPage.objects.get(slug=s) for s in ("newsletter", "white-paper"))

    # Day 0: the story's customers act (after the scenarios went live).
    buy(customer("ann"), books["gone-girl"], start)  # a thriller: the "thrillers" branch
    buy(customer("ben"), books["emma"], start)  # a classic: the "everyone else" branch
    happen("cart_updated", customer("cat"), start, items=1)  # and never buys
    dan, eve = customer("dan"), customer("eve")
    happen("email_opened", dan, start - dt.timedelta(days=2), source=EventSource.EMAIL)
    for n, slug in enumerate(["the-shining", "it", "misery"]):
        view(dan, books[slug], start + dt.timedelta(minutes=n))
        view(eve, books[slug], start + dt.timedelta(minutes=n))
    post(customer("fay"), newsletter, start)
    post(customer("gus"), white_paper, start)
    customer("hal", birth_date=start.date().replace(year=1990))
    ivy = customer("ivy")  # joined long ago, last seen four months ago: the win-back
    Contact.objects.filter(pk=ivy.pk).update(created_at=start - dt.timedelta(days=200))
    view(ivy, books["dune"], start - dt.timedelta(days=120))

    # The engine at the story's times.
    seen: set[int] = set()
    for after in [0, 0.5, 24, 72, 7 * 24, 14 * 24, 21 * 24 + 1]:
        tick(now=start + dt.timedelta(hours=after, minutes=5))
        seen |= set(Enrollment.objects.filter(status="active").values_list("step_id", flat=True))
    seen |= set(StepRun.objects.values_list("step_id", flat=True))

    return seen


def test_demo_scenarios_are_idempotent_clean_and_their_story_runs_every_step():
    call_command("journeys_demo", contacts=0, stdout=io.StringIO())
    call_command("journeys_demo", contacts=0, stdout=io.StringIO())
    scenarios = ScenarioPage.objects.live()
    assert scenarios.count() == 7
    problems = check_all()
    assert [p for _, p in problems if p.level == "error"] == []
    loops = [p.message for _, p in problems if p.code == "loop"]
    assert len(loops) == 1
    assert "Newsletter signup" in loops[0] and "White-paper download" in loops[0]
    assert "guarded" in loops[0]
    out = io.StringIO()
    call_command("journeys_check", stdout=out)
    assert "0 error(s)" in out.getvalue()

    seen = play_story()
    steps = {
        page.pk: f"{page.get_parent().title} / {page.get_admin_display_title()}"
        for scenario in scenarios
        for page in Page.objects.descendant_of(scenario).live().specific()
        if not isinstance(page, Branch)
    }
    assert {steps[i] for i in steps.keys() - seen} == set()  # every step ran
    sent = set(StepRun.objects.filter(outcome="sent").values_list("step_id", flat=True))
    sends = set(SendEmailStep.objects.live().values_list("pk", flat=True))
    assert sends - sent == set()  # every email went out, none skipped or held


def test_a_first_pass_after_the_demo_enrols_nobody_for_its_history():
    """The demo's contacts come with months of back-dated purchases and page views: none of
    them is newer than the scenarios, so the first worker pass mails no "Welcome"."""
    import datetime as dt

    from django.core import mail
    from django.utils import timezone

    from tests.conftest import journeys_demo
    from wagtail_journeys.engine import tick
    from wagtail_journeys.models import Enrollment, Event

    journeys_demo(contacts=12)
    assert Event.objects.filter(name="purchase").count() > 5
    Event.objects.update(received_at=timezone.now() - dt.timedelta(minutes=1))
    tick()
    driven_by_events = Enrollment.objects.filter(
        scenario__trigger_kind__in=["event", "page_view", "email_engagement"]
    )
    assert list(driven_by_events.values_list("scenario__title", flat=True)) == []
    assert not [m for m in mail.outbox if m.subject.startswith("Welcome")]


def _buy(contact, now):
    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.triggers import match_events
    from wagtail_journeys.events import record_event

    event, _ = record_event(
        "purchase", contact=contact, properties={"category": "thriller"}, occurred_at=now
    )
    match_events([event], now=now)
    advance_due(now=now)


def test_the_demo_welcome_subject_goes_out_with_the_issued_promo_code(settings):
    from django.core import mail
    from django.utils import timezone

    from example_site.shop.demo_scenarios import create_scenarios
    from tests.conftest import journeys_demo
    from tests.emails.factories import make_contact
    from wagtail_journeys.models import EmailPage

    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}
    create_scenarios(journeys_demo(pages_only=True))  # no seed emails: the scenarios' own
    assert EmailPage.objects.get(slug="welcome").subject == "Welcome! Here is {{ promo_code }}"
    ada = make_contact("ada@example.com")
    _buy(ada, timezone.now())
    ada.refresh_from_db()
    code = ada.attributes["promo_code"]
    assert code.startswith("WELCOME-")
    assert [m.subject for m in mail.outbox] == [f"Welcome! Here is {code}"]
