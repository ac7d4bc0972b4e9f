"""The scenario forms in a real headless Chromium: a scenario created from a template, the
trigger panel showing only the chosen kind's fields, event names and property keys offered
from the event log, and a property filter typed as rows and saved as the engine's JSON."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model

from tests.factories import EventFactory
from tests.scenarios.factories import scenario_index
from wagtail_journeys.models import ScenarioPage

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def page(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("chromium is not installed")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1440, "height": 900})
        browser.close()


def options(page, datalist: str) -> list[str]:
    return page.eval_on_selector_all(f"#{datalist} option", "els => els.map(e => e.value)")


def test_a_scenario_from_a_template_with_a_filter_typed_as_rows(live_server, page):
    get_user_model().objects.create_superuser("boss", "boss@x.com", "pw")
    folder = scenario_index()
    EventFactory(name="cart_updated", properties={"items": 2, "currency": "EUR"})
    EventFactory(name="purchase", properties={"amount": 12})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")

    # "New scenario" opens the library; the template is created as a draft.
    page.goto(f"{live_server.url}/admin/pages/add/wagtail_journeys/scenariopage/{folder.pk}/")
    page.get_by_role("button", name="Use “Abandoned cart after 30 minutes”").click()
    page.wait_for_url("**/edit/")
    scenario = ScenarioPage.objects.get(title="Abandoned cart")
    assert not scenario.live
    assert page.get_by_text("To fill in").count() == 0  # this one needs nothing

    # Only the chosen trigger kind's fields are visible, and they follow the choice.
    event, time = page.locator("#id_trigger_event"), page.locator("#id_trigger_time")
    assert event.is_visible() and not time.is_visible()
    assert not page.locator("#id_broadcast_at").is_visible()
    page.select_option("#id_trigger_kind", "birthday")
    time.wait_for(state="visible", timeout=5000)
    assert not event.is_visible()
    assert not page.locator("input[name=trigger_filters-key]").first.is_visible()
    page.select_option("#id_trigger_kind", "event")
    event.wait_for(state="visible", timeout=5000)
    assert not time.is_visible()

    # Event names and the event's property keys come from the event log.
    event.focus()
    page.wait_for_function(
        "document.querySelectorAll('#id_trigger_event-suggestions option').length === 2"
    )
    assert options(page, "id_trigger_event-suggestions") == ["cart_updated", "purchase"]
    key = page.locator("input[name=trigger_filters-key]").first
    key.focus()
    page.wait_for_function(
        "document.querySelectorAll('#id_trigger_filters-keys option').length === 2"
    )
    assert options(page, "id_trigger_filters-keys") == ["currency", "items"]

    # Two rows: items is 2, currency is one of EUR, USD.
    key.fill("items")
    page.locator("input[name=trigger_filters-value]").first.fill("2")
    page.get_by_role("button", name="Add a filter").first.click()
    page.locator("input[name=trigger_filters-key]").nth(1).fill("currency")
    page.locator("select[name=trigger_filters-operator]").nth(1).select_option("one_of")
    page.locator("input[name=trigger_filters-value]").nth(1).fill("EUR, USD")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("has been updated").first.wait_for(timeout=15000)
    draft = ScenarioPage.objects.get(pk=scenario.pk).get_latest_revision_as_object()
    assert draft.trigger_filters == {"items": 2, "currency": ["EUR", "USD"]}
    assert not ScenarioPage.objects.get(pk=scenario.pk).live
