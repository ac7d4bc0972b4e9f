"""Start from a template (issue 11, item 5): "New scenario" offers the classic journeys;
each is created as a draft tree with draft emails, which the checker accepts once the
editor has filled in what the template says, and which the engine runs once switched on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.html import escape

from tests.emails.factories import make_email
from tests.scenarios.factories import scenario_index
from tests.users import make_user
from wagtail_journeys.contacts import upsert_contact
from wagtail_journeys.engine import tick
from wagtail_journeys.events import record_event
from wagtail_journeys.models import (
    Contact,
    EmailPage,
    Event,
    EventSource,
    Message,
    ScenarioPage,
    Segment,
    SendEmailStep,
)
from wagtail_journeys.scenarios.library import TEMPLATES, create_from_template

pytestmark = pytest.mark.django_db


def switch_on(scenario: ScenarioPage, user) -> None:
    """The editor publishes the template's draft emails, then switches the scenario on
    (``scenarios.switching.switch_on``: the checker over the whole draft tree, then all of
    it published at once)."""
    from wagtail_journeys.scenarios.switching import switch_on as switch

    for step in SendEmailStep.objects.descendant_of(scenario):
        if not step.email.live:
            step.email.get_latest_revision().publish()
    switch(scenario, user)


def customer(name: str, **fields) -> Contact:
    return upsert_contact(
        f"{name}@example.com", {"first_name": name.title(), "timezone": "UTC", **fields}
    )[0]


def happen(name: str, contact: Contact, at, source=EventSource.API, **properties) -> None:
    event, _ = record_event(
        name, contact=contact, properties=properties, occurred_at=at, source=source
    )
    Event.objects.filter(pk=event.pk).update(received_at=timezone.now() - dt.timedelta(seconds=5))


START = (timezone.now() + dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)


def story(key: str, scenarios: list[ScenarioPage]):
    """Fill in what the template asks, and the events that should run it: ``(times to run
    the engine at, the email that must have gone out)``."""
    first = scenarios[0]
    emails = {s.email.title: s.email for s in SendEmailStep.objects.descendant_of(first)}
    if key == "welcome":
        happen("form_submitted", customer("ann"), START, EventSource.FORM, form="newsletter")
        return [5, 3 * 24 * 60 + 10], "Welcome: tips"
    if key == "abandoned-cart":
        happen("cart_updated", customer("ben"), START, items=2)
        return [1, 35], "Your cart is waiting"
    if key == "birthday":
        customer("cat", birth_date=START.date().replace(year=1990))
        return [5], "Happy birthday"
    if key == "win-back":
        ivy = customer("ivy")
        Contact.objects.filter(pk=ivy.pk).update(created_at=START - dt.timedelta(days=200))
        happen("page_view", ivy, START - dt.timedelta(days=120), EventSource.PAGE, page_id=1)
        return [5, 14 * 24 * 60 + 10], "Last chance"
    if key == "resend":
        sent = make_email(title="Monthly news")
        first.engagement_email = sent
        first.save()  # as the editor saves a draft: its row and a revision
        first.save_revision()
        dan = customer("dan")
        happen("email_sent", dan, START, EventSource.EMAIL, email_page_id=sent.pk)
        return [1, 3 * 24 * 60 + 10], "Resend"
    if key == "author":
        first.trigger_page_tag = "stephen-king"
        first.save()
        first.save_revision()
        eve = customer("eve")
        for n in range(3):
            at = START + dt.timedelta(minutes=n)
            happen("page_view", eve, at, EventSource.PAGE, page_id=n + 1, tags=["stephen-king"])
        return [5, 3 * 24 * 60 + 10], "More from the author"
    if key == "newsletter-white-paper":
        happen("form_submitted", customer("fay"), START, EventSource.FORM, form="newsletter")
        happen("form_submitted", customer("gus"), START, EventSource.FORM, form="white-paper")
        assert len(emails) == 1
        return [5, 24 * 60 + 10], "Our white paper"
    raise AssertionError(key)


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_each_template_is_a_draft_tree_that_runs_once_switched_on(key, mailoutbox, admin_user):
    folder = scenario_index()
    emails_before = EmailPage.objects.count()
    scenarios = create_from_template(key, folder)
    template = TEMPLATES[key]
    # Drafts, all of it: nothing live, nothing sent, ready to adapt.
    assert len(EmailPage.objects.all()) == emails_before + len(template.emails)
    assert not EmailPage.objects.live().filter(title__in=[e.title for e in template.emails])
    for scenario in scenarios:
        assert not scenario.live and scenario.has_unpublished_changes
        steps = scenario.get_descendants()
        assert steps.exists() and not steps.live().exists()
        for step in steps.specific():
            if hasattr(step, "summary") and type(step).__name__ not in ("ConditionStep",):
                assert step.title == step.summary()  # named by what it does
    assert len(scenarios) == (2 if key == "newsletter-white-paper" else 1)
    # Filled in and switched on, the checker accepts it and the engine runs it.
    times, expected = story(key, scenarios)
    for scenario in scenarios:
        switch_on(ScenarioPage.objects.get(pk=scenario.pk), admin_user)
        assert ScenarioPage.objects.get(pk=scenario.pk).live
    for minutes in times:
        tick(now=START + dt.timedelta(minutes=minutes))
    sent = Message.objects.filter(email_page__title=expected)
    assert sent.count() == 1, list(Message.objects.values_list("email_page__title", "status"))


def test_the_win_back_template_creates_its_segment_once():
    folder = scenario_index()
    first = create_from_template("win-back", folder)[0]
    second = create_from_template("win-back", folder)[0]
    assert Segment.objects.filter(slug="inactive-90-days").count() == 1
    assert first.trigger_segment_id == second.trigger_segment_id
    assert first.slug != second.slug  # two drafts side by side
    none = create_from_template("win-back", folder, may_add_segments=False)
    Segment.objects.all().delete()
    third = create_from_template("win-back", folder, may_add_segments=False)[0]
    assert third.trigger_segment_id is None and none


def test_the_resend_template_says_what_to_fill_in_and_publishing_refuses_it_until_then():
    from django.core.exceptions import ValidationError

    scenario = create_from_template("resend", scenario_index())[0]
    with pytest.raises(ValidationError) as error:
        scenario.get_latest_revision_as_object().full_clean()
    assert "Choose the email to watch" in str(error.value)


# The admin ----------------------------------------------------------------------------------


def test_new_scenario_offers_the_templates_and_creates_the_chosen_one(client, admin_user):
    folder = scenario_index()
    client.force_login(admin_user)
    add = f"/admin/pages/add/wagtail_journeys/scenariopage/{folder.pk}/"
    response = client.get(add)
    assert response.status_code == 302 and response["Location"].endswith(
        f"/admin/journeys/library/{folder.pk}/"
    )
    html = client.get(response["Location"]).content.decode()
    for template in TEMPLATES.values():
        assert escape(str(template.title)) in html and escape(str(template.description)) in html
    assert f"{add}?blank=1" in html
    assert client.get(f"{add}?blank=1").status_code == 200  # the blank form, as before
    response = client.post(f"/admin/journeys/library/{folder.pk}/", {"template": "author"})
    scenario = ScenarioPage.objects.get(title="Interest in an author")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/pages/{scenario.pk}/edit/"
    html = client.get(response["Location"]).content.decode()
    assert "created as drafts" in html and "To fill in: Trigger: the viewed page tag" in html
    assert not scenario.live and scenario.owner == admin_user


@pytest.mark.parametrize("template", ["", "nope", "../welcome", "welcome\x00", "x" * 5000])
def test_a_hostile_template_choice_is_a_400_never_a_500(client, admin_user, template):
    folder = scenario_index()
    client.force_login(admin_user)
    response = client.post(f"/admin/journeys/library/{folder.pk}/", {"template": template})
    assert response.status_code == 400
    assert not ScenarioPage.objects.exists()


def test_the_library_needs_the_right_to_add_scenarios_and_emails(client):
    folder = scenario_index()
    client.force_login(make_user("outsider"))
    assert client.get(f"/admin/journeys/library/{folder.pk}/").status_code in (302, 403)
    response = client.post(f"/admin/journeys/library/{folder.pk}/", {"template": "birthday"})
    assert response.status_code in (302, 403) and not ScenarioPage.objects.exists()
    # May add scenarios, not emails: told to start blank, nothing created.
    scenarist = make_user("scenarist", pages=[folder])
    client.force_login(scenarist)
    make_email(title="Elsewhere")  # the email folder exists, and is not theirs
    response = client.post(f"/admin/journeys/library/{folder.pk}/", {"template": "birthday"})
    assert response.status_code == 400 and "you may not add emails" in response.content.decode()
    assert not ScenarioPage.objects.exists()
    assert client.get("/admin/journeys/library/999999/").status_code == 404


def test_the_cookbook_lists_every_template():
    from pathlib import Path

    cookbook = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "scenario-cookbook.md"
    text = cookbook.read_text()
    for key, template in TEMPLATES.items():
        assert f"**{template.title}**" in text and f"`{key}`" in text
