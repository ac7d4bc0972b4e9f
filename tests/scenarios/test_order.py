"""Steps read in the order they run (issue 11, item 4): in the explorer, in the page
chooser and in the engine, whatever was edited last; Wagtail's reordering still works."""

from __future__ import annotations

import re

import pytest

from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.models import Branch, ConditionStep, ExitStep, SendEmailStep, WaitStep
from wagtail_journeys.scenarios.loading import build_plan

pytestmark = pytest.mark.django_db


def listed_ids(html: str) -> list[int]:
    """The ids of the pages a listing shows, in its order (each row links to its edit view)."""
    seen: list[int] = []
    for found in re.findall(r'href="/admin/pages/(\d+)/edit/"', html):
        if int(found) not in seen:
            seen.append(int(found))
    return seen


def run_order(plan) -> list[int]:
    """The scenario's own steps in the order the engine runs them (``first``, ``next``…)."""
    order, current = [], plan.first
    while current is not None and current not in order:
        order.append(current)
        current = plan.steps[current].next
    return order


@pytest.fixture
def tree():
    scenario = make_scenario(title="Order")
    wait = add(scenario, WaitStep, amount=3, unit="days")
    condition = add(scenario, ConditionStep, title="Opened?")
    first = add(condition, Branch, title="opened")
    add(first, SendEmailStep, email=make_email(title="Best of"))
    other = add(condition, Branch, title="else", is_else=True)
    add(other, ExitStep)
    last = add(scenario, ExitStep)
    # The first step edited last: "Updated" order would list it last.
    wait.save_revision()
    return scenario, [wait, condition, last], [first, other]


def test_the_explorer_lists_steps_in_the_order_they_run(client, admin_user, tree):
    scenario, steps, branches = tree
    client.force_login(admin_user)
    html = client.get(f"/admin/pages/{scenario.pk}/").content.decode()
    assert listed_ids(html)[-3:] == [s.pk for s in steps]
    assert 'data-controller="w-orderable"' in html  # Wagtail's drag-and-drop reordering
    html = client.get(f"/admin/pages/{steps[1].pk}/").content.decode()
    assert listed_ids(html)[-2:] == [b.pk for b in branches]
    assert run_order(build_plan(scenario)) == [s.pk for s in steps]


def test_the_page_chooser_lists_steps_in_the_order_they_run(client, admin_user, tree):
    scenario, steps, _branches = tree
    client.force_login(admin_user)
    response = client.get(f"/admin/choose-page/{scenario.pk}/")
    html = (
        response.json()["html"] if "json" in response["Content-Type"] else response.content.decode()
    )
    ids = [int(i) for i in re.findall(r'data-id="(\d+)"', html)] or [
        int(i) for i in re.findall(r"/admin/choose-page/(\d+)/", html)
    ]
    ids = [i for i in dict.fromkeys(ids) if i in {s.pk for s in steps}]
    assert ids == [s.pk for s in steps]


def test_reordering_in_the_explorer_changes_the_run_order(client, admin_user, tree):
    scenario, (wait, condition, last), _branches = tree
    client.force_login(admin_user)
    response = client.post(f"/admin/pages/{last.pk}/set_position/?position=0")
    assert response.status_code == 200
    order = [p.pk for p in scenario.get_children()]
    assert order == [last.pk, wait.pk, condition.pk]
    html = client.get(f"/admin/pages/{scenario.pk}/").content.decode()
    assert listed_ids(html)[-3:] == order
