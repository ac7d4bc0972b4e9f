"""The flow canvas: a scenario's page tree drawn as a flow chart, the scenario's main view
in the admin. Each node opens Wagtail's own editor; "+" inserts a draft step where it is
clicked; steps and subtrees move and go with Wagtail's page actions and permissions.

Here: the canvas page, its "Canvas" buttons, and Wagtail's page editor for the side
panel; the changes (insert, move, delete) are in ``canvas_changes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from wagtail.admin.views.pages.edit import EditView
from wagtail.admin.widgets import Button
from wagtail.models import Page

from ..analytics.figures import Period
from ..analytics.reports import scenario_report
from ..engine.rehearsal import rehearse
from ..exceptions import InvalidInput
from ..models import ScenarioPage
from ..models.scenarios import STEP_TYPES
from ..scenarios import switching
from ..scenarios.canvas import BRANCHING, lay_out
from ..scenarios.drafts import draft_plan, draft_tree
from ..scenarios.loading import scenario_of
from ..scenarios.report import held_problem
from ..scenarios.summaries import summarize_trigger
from .rehearsals import MAX_EVENTS
from .reports import bad_request, can_view_reports

#: kind -> (label, Wagtail icon)
KINDS = {
    "scenario": (gettext_lazy("Trigger"), "crosshairs"),
    "send_email": (gettext_lazy("Send email"), "mail"),
    "send_sms": (gettext_lazy("Send SMS"), "mobile-alt"),
    "notify": (gettext_lazy("Notify"), "comment"),
    "wait": (gettext_lazy("Wait"), "time"),
    "condition": (gettext_lazy("Condition"), "help"),
    "split": (gettext_lazy("A/B split"), "order"),
    "update_contact": (gettext_lazy("Update contact"), "user"),
    "start_scenario": (gettext_lazy("Start scenario"), "redirect"),
    "exit": (gettext_lazy("Exit"), "logout"),
    "branch": (gettext_lazy("Branch"), "arrow-down"),
    "exit_if": (gettext_lazy("Exit if…"), "logout"),
}
#: What "+" offers, in this order: model name -> kind.
INSERTABLE = {
    "sendemailstep": "send_email",
    "waitstep": "wait",
    "conditionstep": "condition",
    "exitif": "exit_if",
    "splitstep": "split",
    "updatecontactstep": "update_contact",
    "sendsmsstep": "send_sms",
    "notifystep": "notify",
    "startscenariostep": "start_scenario",
    "exitstep": "exit",
}
BRANCH = "branch"
#: Insert types that are a step with more inside: name -> the step's model name. "Exit
#: if…" is a condition whose first branch ends in an exit ("unless they bought one"),
#: its rules editor open with a "Did an event" row to fill in.
COMPOSITES = {"exitif": "conditionstep"}


def step_model(name: str) -> type[Page] | None:
    """The step (or branch) model the canvas inserts under this name, or None."""
    from django.apps import apps

    name = COMPOSITES.get(name, name)
    known = {label.split(".")[1].lower() for label in STEP_TYPES} | {BRANCH}
    if name not in known:
        return None
    return apps.get_model("wagtail_journeys", name)


@dataclass
class CanvasNode:
    """One box of the canvas, with what it shows and what can be done to it."""

    box: Any
    kind: str
    label: str
    icon: str
    summary: str
    page: Any
    problems: list[Any] = field(default_factory=list)
    figures: dict[str, int] | None = None
    draft: bool = False
    parent_id: int | None = None
    can_branch: bool = False
    descendants: int = 0
    last_branch: int | None = None
    taken: int | None = None
    #: Wagtail's page editor and the side panel's, of page 0 (reversed once a canvas).
    urls: tuple[str, str] = ("", "")

    @property
    def id(self) -> int:
        return self.page.pk

    @property
    def edit_url(self) -> str:
        return (self.urls[0] or str(_EDIT)).replace("/0/", f"/{self.id}/", 1)

    @property
    def panel_url(self) -> str:
        return (self.urls[1] or str(_PANEL)).replace("/0/", f"/{self.id}/", 1)

    @property
    def level(self) -> str:
        levels = {p.level for p in self.problems}
        return "error" if "error" in levels else "warning" if levels else ""


_EDIT = reverse_lazy("wagtailadmin_pages:edit", args=[0])
_PANEL = reverse_lazy("journeys_scenarios:edit", args=[0])


def _attach_problems(problems: list[Any], plan: Any, ids: set[int]) -> dict[int, list[Any]]:
    """Problems by the node that has them: an empty branch's on the branch, a step's on
    the step, the others (the trigger, loops, the goal) on the trigger (key 0)."""
    out: dict[int, list[Any]] = {}
    empties: dict[int, list[int]] = {}
    for step_id, step in plan.steps.items():
        empties[step_id] = [b.id for b in step.branches if b.empty]
    for problem in problems:
        where = problem.step_id if problem.step_id in ids else 0
        if problem.code == "empty-branch" and empties.get(problem.step_id):
            where = empties[problem.step_id].pop(0)
        out.setdefault(where, []).append(problem)
    return out


ZERO = {"entered": 0, "waiting": 0, "passed": 0, "exited": 0}


SENDS = ("send_email", "send_sms")


def rehearsed_figures(rehearsal: Any) -> tuple[dict[int, dict[str, int]], dict[int, int]]:
    """A rehearsal's figures (``engine.figures``) as the canvas draws them: per step
    entered, waiting (at the end of the period), passed and exited, and on send steps
    would-send and held (by the frequency cap or quiet hours); per branch, the contacts
    who took it."""
    steps: dict[int, dict[str, int]] = {}
    branches: dict[int, int] = {}
    for step_id, node in rehearsal.nodes.items():
        figures = {
            "entered": node.entered,
            "waiting": node.waiting,
            "passed": node.passed,
            "exited": node.exited,
        }
        if node.kind in SENDS:
            figures["sent"] = node.sent
            figures["held"] = node.held_by_cap + node.held_by_quiet_hours
        steps[step_id] = figures
        branches.update(node.taken())
    return steps, branches


def canvas_context(
    request, scenario: ScenarioPage, period: Period, rehearsal: Any = None
) -> dict[str, Any]:
    """Everything the canvas template draws: the tree as last saved, the checker's
    problems on their nodes, and each step's figures over ``period`` from the scenario's
    report (``analytics.reports``: the rollups, and who is on each step now), or, given
    a ``rehearsal`` of the draft (``engine.rehearsal``), the rehearsal's."""
    tree = draft_tree(scenario)
    plan = draft_plan(scenario, tree)
    ids = set(plan.steps) | {b.id for s in plan.steps.values() for b in s.branches}
    # as "Switch on" checks it: a draft email its steps use goes live with them
    held = held_problem(scenario.pk)
    found = switching.draft_problems(scenario, plan) + ([held] if held else [])
    problems = _attach_problems(found, plan, ids)
    taken: dict[int, int] = {}
    if rehearsal is not None:
        figures, taken = rehearsed_figures(rehearsal)
    else:
        report = scenario_report(scenario, period)
        figures = {step.step_id: step for step in report.steps}
    layout = lay_out(tree)
    parents: dict[int, int] = {}
    under: dict[int, int] = {}
    by_id: dict[int, Any] = {}

    def walk(node: Any) -> int:
        by_id[node.id] = node
        total = 0
        for child in node.children:
            parents[child.id] = node.id
            total += 1 + walk(child)
        under[node.id] = total
        return total

    walk(tree)
    latest = (
        scenario.get_latest_revision_as_object() if scenario.has_unpublished_changes else scenario
    )
    nodes = []
    urls = (str(_EDIT), str(_PANEL))
    for box in layout.boxes:
        node = box.node
        label, icon = KINDS[node.kind]
        summary = summarize_trigger(latest) if node.kind == "scenario" else node.summary
        nodes.append(
            CanvasNode(
                box=box,
                kind=node.kind,
                label=label,
                icon=icon,
                summary=summary,
                page=node.page,
                problems=problems.get(0 if node.kind == "scenario" else node.id, []),
                figures=None if node.kind in ("scenario", BRANCH) else figures.get(node.id, ZERO),
                taken=taken.get(node.id) if node.kind == BRANCH and rehearsal else None,
                draft=node.draft,
                parent_id=parents.get(node.id),
                can_branch=node.kind in BRANCHING,
                descendants=under.get(node.id, 0),
                last_branch=next((c.id for c in reversed(node.children) if c.kind == BRANCH), None),
                urls=urls,
            )
        )
    slots = [
        (slot, _slot_label(slot, by_id, tree), by_id[slot.parent_id].page.path)
        for slot in layout.slots
    ]
    can_edit = scenario.permissions_for_user(request.user).can_edit()
    state, buttons = toolbar(request, scenario, plan)
    return {
        "state": state,
        "state_label": STATES[state],
        "buttons": buttons,
        "scenario": scenario,
        "latest": latest,
        "layout": layout,
        "nodes": nodes,
        "problems": [p for ps in problems.values() for p in ps],
        "slots": slots,
        "insertable": [(name, *KINDS[kind]) for name, kind in INSERTABLE.items()],
        "can_edit": can_edit,
        "edit_id": request.GET.get("edit", ""),
        "choose": request.GET.get("choose") == "1",
        "period": period,
        "rehearsal": rehearsal,
        "report_url": (
            reverse("journeys_reports:scenario", args=[scenario.pk])
            + f"?from={period.start.isoformat()}&to={period.end.isoformat()}"
            if can_view_reports(request.user)
            else ""
        ),
    }


#: state -> what the toolbar says
STATES = {
    "draft": gettext_lazy("Draft"),
    "on": gettext_lazy("On"),
    "changes": gettext_lazy("On · draft changes"),
    "paused": gettext_lazy("Paused"),
}


@dataclass
class ToolbarButton:
    name: str
    label: str
    url: str
    icon: str
    primary: bool = False


def scenario_state(scenario: ScenarioPage, plan: Any = None) -> str:
    """``"draft"`` (never switched on), ``"paused"``, ``"changes"`` (on, with draft
    changes to publish) or ``"on"``; ``plan``: its draft Plan, if already compiled."""
    if not scenario.live:
        return "draft"
    if scenario.paused:
        return "paused"
    return "changes" if switching.has_changes(scenario, plan) else "on"


def toolbar(request, scenario: ScenarioPage, plan: Any = None) -> tuple[str, list[ToolbarButton]]:
    """The scenario's state and the canvas's buttons that apply to it: each leads to its
    view (``views.switching``, ``views.rehearsals``) and comes back to the canvas."""
    state = scenario_state(scenario, plan)
    back = "?" + urlencode({"next": canvas_url(scenario.pk)})

    def button(name: str, label: str, url_name: str, icon: str, primary=False) -> ToolbarButton:
        return ToolbarButton(
            name, label, reverse(url_name, args=[scenario.pk]) + back, icon, primary
        )

    buttons = []
    if switching.may_switch(scenario, request.user):
        if state == "draft":
            buttons.append(
                button("switch-on", _("Switch on"), "wagtail_journeys_switch_on", "upload", True)
            )
        if state == "changes":
            buttons.append(
                button(
                    "publish-changes",
                    _("Publish changes"),
                    "wagtail_journeys_publish_changes",
                    "upload",
                    True,
                )
            )
        if state in ("on", "changes"):
            buttons.append(button("pause", _("Pause"), "wagtail_journeys_pause", "pick"))
        if state == "paused":
            buttons.append(button("resume", _("Resume"), "wagtail_journeys_resume", "resubmit"))
    buttons.append(button("rehearse", _("Rehearse"), "wagtail_journeys_rehearse", "history"))
    return state, buttons


def _slot_label(slot: Any, by_id: dict[int, Any], tree: Any) -> str:
    if slot.after_id is not None:
        return _("after “%(step)s”") % {"step": by_id[slot.after_id].summary}
    if slot.parent_id == tree.id:
        return _("at the start")
    return _("at the start of “%(branch)s”") % {"branch": by_id[slot.parent_id].summary}


def scenario_for(request, page_id: int) -> ScenarioPage:
    """The scenario at ``page_id`` if the user may edit it; 404 for anything else."""
    scenario = ScenarioPage.objects.filter(pk=page_id).first()
    if scenario is None:
        raise Http404
    if not scenario.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    return scenario


def canvas_view(request, page_id: int):
    """The canvas of a scenario, with each step's figures over ``?from=&to=`` (the last
    30 days by default), or with ``?rehearse=1`` the figures of a rehearsal of its draft
    over that period (``views.rehearsals`` has the same size guard); for a step or
    branch, its scenario's canvas with the step in view."""
    page = get_object_or_404(Page, pk=page_id)
    scenario = scenario_of(page)
    if scenario is None:
        raise Http404
    if scenario.pk != page.pk:
        return redirect(f"{canvas_url(scenario.pk)}#node-{page.pk}")
    scenario = scenario_for(request, page_id)
    try:
        period = Period.parse(request.GET.get("from"), request.GET.get("to"))
    except InvalidInput as exc:
        return bad_request(request, str(exc), title=_("Canvas"))
    rehearsal = None
    if request.GET.get("rehearse"):
        start, end = period.bounds()
        try:
            rehearsal = rehearse(
                scenario, start=start, end=min(end, timezone.now()), max_events=MAX_EVENTS
            )
        except InvalidInput as exc:
            return bad_request(request, str(exc), title=_("Rehearse"))
    context = canvas_context(request, scenario, period, rehearsal)
    return TemplateResponse(request, "wagtail_journeys/canvas/canvas.html", context)


def canvas_url(scenario_id: int) -> str:
    return reverse("journeys_scenarios:canvas", args=[scenario_id])


def canvas_button(page: Any, user: Any) -> Button | None:
    """A "Canvas" button for the header and listing of a scenario or one of its steps,
    or None."""
    specific = page.specific_class
    if specific is None or specific._meta.app_label != ScenarioPage._meta.app_label:
        return None
    if specific is not ScenarioPage and step_model(specific._meta.model_name) is None:
        return None
    if not page.permissions_for_user(user).can_edit():
        return None
    return Button(
        _("Canvas"),
        reverse("journeys_scenarios:canvas", args=[page.pk]),
        icon_name="sliders",
        priority=5,
        attrs={"data-testid": "journeys-canvas"},
    )


def open_canvas_after_create(request, page):
    """``after_create_page``: a new scenario goes on to its canvas, where its steps are
    built (its trigger and settings were just saved)."""
    if isinstance(page.specific, ScenarioPage) and not request.headers.get("x-requested-with"):
        return redirect(canvas_url(page.pk))
    return None


@method_decorator(xframe_options_sameorigin, name="dispatch")
class PanelEditView(EditView):
    """Wagtail's own page editor, for the canvas's side panel: the admin may frame it
    (``X-Frame-Options: SAMEORIGIN``), and a save lands on ``?saved=1`` of this view
    instead of the explorer, which tells the canvas to close the panel and redraw."""

    def dispatch(self, request, page_id, **kwargs):
        if scenario_of(get_object_or_404(Page, pk=page_id)) is None:
            raise Http404
        return super().dispatch(request, page_id, **kwargs)

    def get_edit_url(self):
        return reverse("journeys_scenarios:edit", args=(self.page.id,))

    def redirect_away(self):
        return redirect(f"{self.get_edit_url()}?saved=1")

    def redirect_and_remain(self):
        return redirect(f"{self.get_edit_url()}?saved=1")


def admin_urls() -> list:
    from .canvas_changes import delete_view, insert_view, move_view  # they import this module

    return [
        path("<int:page_id>/canvas/", canvas_view, name="canvas"),
        path("<int:page_id>/canvas/edit/", PanelEditView.as_view(), name="edit"),
        path("<int:page_id>/canvas/insert/", insert_view, name="insert"),
        path("<int:page_id>/canvas/move/", move_view, name="move"),
        path("<int:page_id>/canvas/delete/", delete_view, name="delete"),
    ]
