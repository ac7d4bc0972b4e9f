"""The flow canvas (``journeys_scenarios:*``): what it draws, who may use it, and that
inserting, moving and deleting steps keep one order everywhere: the page tree's (the
explorer's), the canvas's, and the compiled Plan's once published."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page

from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario, scenario_index
from tests.users import make_user
from wagtail_journeys.engine.enroll import enroll
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    Contact,
    ExitStep,
    ScenarioPage,
    SendEmailStep,
    StepRun,
    WaitStep,
)
from wagtail_journeys.scenarios.canvas import COL, lay_out
from wagtail_journeys.scenarios.drafts import draft_tree
from wagtail_journeys.scenarios.guard import publishing_together
from wagtail_journeys.scenarios.loading import build_plan

pytestmark = pytest.mark.django_db

NODE = re.compile(r'<li id="node-(\d+)" class="jc-node jc-node--(\w+)')


def url(name: str, page) -> str:
    return reverse(f"journeys_scenarios:{name}", args=[page.pk])


def drawn(client, scenario) -> list[tuple[int, str]]:
    """``(page id, kind)`` of the canvas's nodes, in the order the page lists them."""
    response = client.get(url("canvas", scenario))
    assert response.status_code == 200
    return [(int(i), kind) for i, kind in NODE.findall(response.content.decode())]


def tree_order(scenario) -> list[int]:
    """The explorer's order: the pages under the scenario by tree path."""
    return list(Page.objects.descendant_of(scenario).order_by("path").values_list("pk", flat=True))


def publish_all(scenario) -> None:
    with publishing_together():
        scenario.refresh_from_db()
        scenario.get_latest_revision().publish()
        for page in Page.objects.descendant_of(scenario).order_by("path"):
            page.refresh_from_db()
            if not page.live or page.has_unpublished_changes:
                page.get_latest_revision().publish()


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@staff.example", "x")
    client.force_login(user)
    return user


@pytest.fixture
def scenario():
    """Trigger → wait → condition (rich: send; else: exit) → exit, live."""
    scenario = make_scenario(title="Stephen King readers")
    wait = add(scenario, WaitStep, amount=3, unit="days")
    condition = add(scenario, ConditionStep, title="Bought one?")
    rich = add(condition, Branch, title="rich")
    add(rich, SendEmailStep, email=make_email([]))
    add(add(condition, Branch, title="else", is_else=True), ExitStep)
    add(scenario, ExitStep)
    scenario.refresh_from_db()
    scenario.wait = wait
    return scenario


def test_the_canvas_draws_the_tree_top_down_with_branches_side_by_side(admin, client, scenario):
    nodes = drawn(client, scenario)
    assert [kind for _id, kind in nodes] == [
        "scenario",
        "wait",
        "condition",
        "branch",
        "send_email",
        "branch",
        "exit",
        "exit",
    ]
    assert [i for i, _kind in nodes[1:]] == tree_order(scenario)
    layout = lay_out(draft_tree(scenario))
    boxes = {box.node.id: box for box in layout.boxes}
    rich, other = [b for b in layout.boxes if b.node.kind == "branch"]
    assert rich.y == other.y and other.x - rich.x == COL  # side by side
    wait = boxes[scenario.wait.pk]
    assert boxes[scenario.pk].y < wait.y < rich.y  # top-down
    assert layout.width == 2 * COL + 48  # two columns, margins


def test_each_step_shows_its_figures_from_the_scenario_report(admin, client, scenario):
    from wagtail_journeys.analytics.rollup import roll_runs
    from wagtail_journeys.models import Enrollment

    contacts = [Contact.objects.create(email=f"c{i}@example.com") for i in range(3)]
    enroll(scenario.pk, [c.pk for c in contacts], now=timezone.now())
    enrollment = Enrollment.objects.filter(scenario_id=scenario.pk).first()
    for outcome in ("done", "done", "exited"):
        StepRun.objects.create(
            enrollment=enrollment,
            contact_id=enrollment.contact_id,
            scenario_id=scenario.pk,
            step_id=scenario.wait.pk,
            kind="wait",
            outcome=outcome,
        )
    while roll_runs(settle=dt.timedelta(0)):
        pass
    html = client.get(url("canvas", scenario)).content.decode()
    node = html[html.index(f'id="node-{scenario.wait.pk}"') :]
    node = node[: node.index("</li>")]
    active = Enrollment.objects.filter(scenario_id=scenario.pk, status="active")
    waiting = active.filter(step_id=scenario.wait.pk).count()
    runs = StepRun.objects.filter(step_id=scenario.wait.pk)
    done, exited = runs.filter(outcome="done").count(), runs.filter(outcome="exited").count()
    assert (waiting, done, exited) == (3, 2, 1)
    assert f'data-figure="waiting">{waiting}<' in node
    assert f'data-figure="entered">{waiting + done + exited}<' in node
    assert f'data-figure="passed">{done}<' in node
    assert f'data-figure="exited">{exited}<' in node
    # a period before any of it: nobody entered, but those on the step now are waiting
    html = client.get(url("canvas", scenario), {"from": "2020-01-01", "to": "2020-01-31"})
    node = html.content.decode()[html.content.decode().index(f'id="node-{scenario.wait.pk}"') :]
    assert 'data-figure="passed">0<' in node[: node.index("</li>")]


@pytest.mark.parametrize(
    "query",
    [{"from": "yesterday"}, {"to": "2026-13-45"}, {"from": "2026-02-01", "to": "2026-01-01"}],
)
def test_a_bad_period_is_a_400(admin, client, scenario, query):
    response = client.get(url("canvas", scenario), query)
    assert response.status_code == 400


def test_a_branch_without_an_action_shows_its_problem_on_its_node(admin, client, scenario):
    condition = ConditionStep.objects.get(title="Bought one?")
    empty = Branch(title="empty one", live=False)
    condition.add_child(instance=empty)
    empty.save_revision()
    html = client.get(url("canvas", scenario)).content.decode()
    node = html[html.index(f'id="node-{empty.pk}"') :]
    node = node[: node.index("</li>")]
    assert "jc-node--error" in node
    assert "has no action" in node
    condition_node = html[html.index(f'id="node-{condition.pk}"') :]
    assert "has no action" not in condition_node[: condition_node.index("</li>")]


def test_a_step_page_opens_its_scenarios_canvas(admin, client, scenario):
    response = client.get(url("canvas", scenario.wait))
    assert response.status_code == 302
    assert response["Location"] == f"{url('canvas', scenario)}#node-{scenario.wait.pk}"


def test_insert_creates_a_draft_step_where_it_was_asked(admin, client, scenario):
    before = tree_order(scenario)
    response = client.post(
        url("insert", scenario),
        {"parent": scenario.pk, "after": scenario.wait.pk, "type": "sendemailstep"},
    )
    assert response.status_code == 302
    new = SendEmailStep.objects.exclude(pk__in=before).get()
    assert response["Location"].startswith(f"{url('canvas', scenario)}?edit={new.pk}")
    assert not new.live and new.has_unpublished_changes and new.title == "Send email"
    assert tree_order(scenario)[:2] == [scenario.wait.pk, new.pk]
    # first in the scenario, and first in a branch
    client.post(url("insert", scenario), {"parent": scenario.pk, "type": "exitstep"})
    rich = Branch.objects.get(title="rich")
    client.post(url("insert", scenario), {"parent": rich.pk, "type": "waitstep"})
    order = tree_order(scenario)
    assert ExitStep.objects.get(pk=order[0]).live is False
    assert [p.specific_class for p in rich.get_children()] == [WaitStep, SendEmailStep]
    assert [i for i, _k in drawn(client, scenario)[1:]] == order


def test_insert_a_branch_after_the_last_one(admin, client, scenario):
    condition = ConditionStep.objects.get(title="Bought one?")
    last = condition.get_children().last()
    client.post(
        url("insert", scenario), {"parent": condition.pk, "after": last.pk, "type": "branch"}
    )
    assert condition.get_children().last().specific_class is Branch
    assert condition.get_children().count() == 3


def test_move_up_down_and_to_a_branch_keep_one_order_everywhere(admin, client, scenario):
    condition = ConditionStep.objects.get(title="Bought one?")
    wait = scenario.wait
    assert (
        client.post(url("move", scenario), {"page": wait.pk, "direction": "down"}).status_code
        == 302
    )
    assert tree_order(scenario)[0] == condition.pk
    client.post(url("move", scenario), {"page": wait.pk, "direction": "up"})
    assert tree_order(scenario)[0] == wait.pk
    rich = Branch.objects.get(title="rich")
    response = client.post(url("move", scenario), {"page": wait.pk, "parent": rich.pk})
    assert response.status_code == 302
    assert rich.get_children().first().pk == wait.pk
    publish_all(scenario)
    plan = build_plan(ScenarioPage.objects.get(pk=scenario.pk))
    drawn_steps = [i for i, kind in drawn(client, scenario) if kind not in ("scenario", "branch")]
    steps = [
        p.pk
        for p in Page.objects.descendant_of(scenario).order_by("path").specific()
        if not isinstance(p, Branch)
    ]
    assert list(plan.order) == drawn_steps == steps


def test_delete_removes_the_step_and_its_subtree(admin, client, scenario):
    condition = ConditionStep.objects.get(title="Bought one?")
    under = list(condition.get_descendants().values_list("pk", flat=True))
    response = client.post(url("delete", scenario), {"page": condition.pk})
    assert response.status_code == 302
    assert not Page.objects.filter(pk__in=[condition.pk, *under]).exists()
    assert [k for _i, k in drawn(client, scenario)] == ["scenario", "wait", "exit"]
    assert list(build_plan(ScenarioPage.objects.get(pk=scenario.pk)).order) == tree_order(scenario)


def test_a_live_scenario_changes_as_a_draft_and_shows_what_would_break(admin, client, scenario):
    """Deleting a live scenario's only action of a branch is a draft change: the node shows
    the problem, the contacts inside keep running the stored Plan, and "Publish changes"
    refuses until the branch has an action again."""
    from wagtail_journeys.exceptions import ScenarioInvalid
    from wagtail_journeys.scenarios.loading import current_plan
    from wagtail_journeys.scenarios.switching import publish_changes

    rich = Branch.objects.get(title="rich")
    send = rich.get_children().get()
    response = client.post(url("delete", scenario), {"page": send.pk}, follow=True)
    assert not Page.objects.filter(pk=send.pk).exists()
    assert "has no action" in response.content.decode()
    assert send.pk in current_plan(scenario.pk).steps
    with pytest.raises(ScenarioInvalid):
        publish_changes(ScenarioPage.objects.get(pk=scenario.pk), admin)
    assert send.pk in current_plan(scenario.pk).steps


@pytest.mark.parametrize(
    "view, data",
    [
        ("insert", {}),
        ("insert", {"parent": "x", "type": "exitstep"}),
        ("insert", {"parent": 999999, "type": "exitstep"}),
        ("insert", {"parent": "SELF", "type": "branch"}),  # a branch under the scenario
        ("insert", {"parent": "SELF", "type": "scenariopage"}),
        ("insert", {"parent": "SELF", "after": "OTHER", "type": "exitstep"}),
        ("insert", {"parent": "SELF", "type": "exitstep", "after": "-1"}),
        ("move", {"page": "SELF"}),  # the scenario itself
        ("move", {"page": "WAIT", "direction": "up"}),  # already first
        ("move", {"page": "WAIT", "direction": "sideways"}),
        ("move", {"page": "CONDITION", "parent": "BRANCH"}),  # inside itself
        ("move", {"page": "WAIT", "parent": "CONDITION"}),  # a step under a condition
        ("move", {"page": "OTHER", "direction": "down"}),  # another scenario's step
        ("move", {"page": "WAIT", "parent": "SELF", "after": "BRANCH"}),  # not its child
        ("delete", {"page": "SELF"}),
        ("delete", {"page": "OTHER"}),
        ("delete", {"page": "99999999999999999999"}),
    ],
)
def test_bad_input_is_a_400(admin, client, scenario, view, data):
    other = add(make_scenario(title="Other"), ExitStep)
    ids = {
        "SELF": scenario.pk,
        "WAIT": scenario.wait.pk,
        "CONDITION": ConditionStep.objects.get(title="Bought one?").pk,
        "BRANCH": Branch.objects.get(title="rich").pk,
        "OTHER": other.pk,
    }
    before = tree_order(scenario)
    posted = {k: ids.get(v, v) for k, v in data.items()}
    response = client.post(url(view, scenario), posted)
    assert response.status_code == 400, response.content
    assert tree_order(scenario) == before


def test_not_a_scenario_is_a_404_and_get_is_refused(admin, client, scenario):
    email = make_email([])
    assert client.get(url("canvas", email)).status_code == 404
    assert (
        client.post(url("insert", email), {"parent": email.pk, "type": "exitstep"}).status_code
        == 404
    )
    assert client.get(url("insert", scenario)).status_code == 405
    assert client.get("/admin/journeys/scenarios/0/canvas/").status_code == 404


def refused(response) -> bool:
    """Wagtail's answer to a PermissionDenied in the admin: back home, with a message."""
    return response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")


def test_permissions(client, scenario):
    outsider = make_user("outsider")
    client.force_login(outsider)
    before = tree_order(scenario)
    assert refused(client.get(url("canvas", scenario)))
    data = {"parent": scenario.pk, "type": "exitstep"}
    assert refused(client.post(url("insert", scenario), data))
    assert refused(client.post(url("delete", scenario), {"page": scenario.wait.pk}))
    assert tree_order(scenario) == before
    # an editor who may add and edit but not publish: inserts, but cannot reorder or delete
    writer = make_user(
        "writer", pages=[scenario_index()], page_permissions=("add_page", "change_page")
    )
    client.force_login(writer)
    before = tree_order(scenario)
    assert client.get(url("canvas", scenario)).status_code == 200
    assert client.post(url("insert", scenario), data).status_code == 302
    assert len(tree_order(scenario)) == len(before) + 1
    move = {"page": scenario.wait.pk, "direction": "down"}
    assert refused(client.post(url("move", scenario), move))
    assert refused(client.post(url("delete", scenario), {"page": scenario.wait.pk}))
    assert len(tree_order(scenario)) == len(before) + 1


def test_the_canvas_is_linked_from_the_scenarios_pages(admin, client, scenario):
    html = client.get(reverse("wagtailadmin_pages:edit", args=[scenario.pk])).content.decode()
    assert url("canvas", scenario) in html
    html = client.get(reverse("wagtailadmin_pages:edit", args=[scenario.wait.pk])).content.decode()
    assert url("canvas", scenario.wait) in html


def test_a_new_scenario_goes_on_to_its_canvas(admin, client, scenario):
    from tests.test_admin_walk import form_data

    index = scenario_index()
    page = ScenarioPage(title="Welcome", slug="welcome", trigger_event="signup")
    form_class = page.get_edit_handler().get_form_class()
    form = form_class(instance=page, for_user=admin, parent_page=index)
    add_url = reverse("wagtailadmin_pages:add", args=["wagtail_journeys", "scenariopage", index.pk])
    response = client.post(add_url, form_data(form))
    created = ScenarioPage.objects.get(slug="welcome")
    assert response.status_code == 302
    assert response["Location"] == url("canvas", created)
    assert not created.live
    html = client.get(reverse("wagtailadmin_pages:edit", args=[created.pk])).content.decode()
    assert 'data-testid="open-canvas"' in html


def test_a_draft_email_is_no_problem_on_the_canvas_but_a_missing_one_is(admin, client):
    """Switch on publishes the draft emails its send steps use: the canvas does not flag
    them as "no live email" (it did), but still flags a send step with no email."""
    scenario = add(
        scenario_index(), ScenarioPage, title="Drafted", trigger_event="signup", publish=False
    )
    draft = make_email(title="Not yet live", publish=False)
    with_draft = add(scenario, SendEmailStep, email=draft, publish=False)
    without = add(scenario, SendEmailStep, publish=False)

    def node(html: str, page) -> str:
        part = html[html.index(f'id="node-{page.pk}"') :]
        return part[: part.index("</li>")]

    html = client.get(url("canvas", scenario)).content.decode()
    assert "no live email" not in node(html, with_draft)
    assert "jc-node--error" not in node(html, with_draft)
    assert "no live email" in node(html, without)
