"""Switching on a template's journey: its send steps use draft emails, and "Switch on"
lists them ("These emails go live too") and publishes them with the scenario, so that the
engine runs it at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.scenarios.factories import scenario_index
from tests.scenarios.test_library import START, customer, happen
from wagtail_journeys.engine import tick
from wagtail_journeys.models import EmailPage, Message, ScenarioPage, SendEmailStep
from wagtail_journeys.scenarios.library import create_from_template

pytestmark = pytest.mark.django_db


def test_switch_on_publishes_the_draft_emails_of_a_template_together(admin_client, mailoutbox):
    (scenario,) = create_from_template("abandoned-cart", scenario_index())
    (step,) = SendEmailStep.objects.descendant_of(scenario)
    email = EmailPage.objects.get(pk=step.email_id)
    assert not email.live
    url = reverse("wagtail_journeys_switch_on", args=[scenario.pk])
    page = admin_client.get(url)
    html = page.content.decode()
    assert "These emails go live too" in html
    assert f'<li data-email="{email.pk}">' in html and email.title in html
    assert [p["message"] for p in page.context["problems"] if p["error"]] == []
    assert not page.context["blocked"]

    canvas = reverse("journeys_scenarios:canvas", args=[scenario.pk])
    response = admin_client.post(url, {"next": canvas})
    assert (response.status_code, response["Location"]) == (302, canvas)
    assert ScenarioPage.objects.get(pk=scenario.pk).live
    assert EmailPage.objects.get(pk=email.pk).live
    assert not admin_client.get(
        reverse("wagtail_journeys_publish_changes", args=[scenario.pk])
    ).context["emails"]

    ben = customer("ben")
    happen("cart_updated", ben, START, items=2)
    for minutes in (1, 35):
        tick(now=START + dt.timedelta(minutes=minutes))
    sent = Message.objects.filter(contact=ben, email_page_id=email.pk)
    assert sent.count() == 1


def test_an_email_nobody_saved_still_blocks_switch_on(admin_client):
    """A step whose email is gone (deleted) is still a problem the checker names."""
    (scenario,) = create_from_template("abandoned-cart", scenario_index())
    (step,) = SendEmailStep.objects.descendant_of(scenario)
    EmailPage.objects.get(pk=step.email_id).delete()
    url = reverse("wagtail_journeys_switch_on", args=[scenario.pk])
    response = admin_client.post(url)
    assert response.status_code == 409
    assert not ScenarioPage.objects.get(pk=scenario.pk).live
