"""The flow canvas: a scenario's page tree drawn as a flow chart, the scenario's main view
in the admin. Each node opens Wagtail's own editor; "+" inserts a draft step where it is
clicked; steps and subtrees move and go with Wagtail's page actions and permissions.

The views are thin: they read the input, check Wagtail's page permissions, and call
Wagtail's page operations (``add_child``/``add_sibling``, ``MovePageAction``,
``DeletePageAction``) inside ``publishing_together``, so a change that would break a live
scenario is refused with the checker's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.actions.delete_page import DeletePageAction
from wagtail.actions.move_page import MovePageAction
from wagtail.admin.views.pages.edit import EditView
from wagtail.admin.widgets import Button
from wagtail.log_actions import log
from wagtail.models import Page

from ..analytics.figures import Period
from ..analytics.reports import scenario_report
from ..exceptions import InvalidInput, ScenarioInvalid
from ..models import ScenarioPage
from ..models.scenarios import STEP_TYPES
from ..scenarios.canvas import BRANCHING, lay_out
from ..scenarios.drafts import draft_plan, draft_tree
from ..scenarios.guard import publishing_together
from ..scenarios.loading import scenario_of
from ..scenarios.report import scenario_problems
from ..scenarios.summaries import summarize_trigger
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
}
#: What "+" offers, in this order: model name -> kind.
INSERTABLE = {
    "sendemailstep": "send_email",
    "waitstep": "wait",
    "conditionstep": "condition",
    "splitstep": "split",
    "updatecontactstep": "update_contact",
    "sendsmsstep": "send_sms",
    "notifystep": "notify",
    "startscenariostep": "start_scenario",
    "exitstep": "exit",
}
BRANCH = "branch"


def _model(name: str) -> type[Page] | None:
    from django.apps import apps

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

    @property
    def id(self) -> int:
        return self.page.pk

    @property
    def edit_url(self) -> str:
        return _EDIT.replace("/0/", f"/{self.id}/", 1)

    @property
    def panel_url(self) -> str:
        return _PANEL.replace("/0/", f"/{self.id}/", 1)

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


def canvas_context(request, scenario: ScenarioPage, period: Period) -> dict[str, Any]:
    """Everything the canvas template draws: the tree as last saved, the checker's
    problems on their nodes, and each step's figures over ``period`` from the scenario's
    report (``analytics.reports``: the rollups, and who is on each step now)."""
    tree = draft_tree(scenario)
    plan = draft_plan(scenario, tree)
    ids = set(plan.steps) | {b.id for s in plan.steps.values() for b in s.branches}
    problems = _attach_problems(scenario_problems(scenario, plan), plan, ids)
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
                draft=node.draft,
                parent_id=parents.get(node.id),
                can_branch=node.kind in BRANCHING,
                descendants=under.get(node.id, 0),
                last_branch=next((c.id for c in reversed(node.children) if c.kind == BRANCH), None),
            )
        )
    slots = [
        (slot, _slot_label(slot, by_id, tree), by_id[slot.parent_id].page.path)
        for slot in layout.slots
    ]
    can_edit = scenario.permissions_for_user(request.user).can_edit()
    return {
        "scenario": scenario,
        "latest": latest,
        "layout": layout,
        "nodes": nodes,
        "problems": [p for ps in problems.values() for p in ps],
        "slots": slots,
        "insertable": [(name, *KINDS[kind]) for name, kind in INSERTABLE.items()],
        "can_edit": can_edit,
        "edit_id": request.GET.get("edit", ""),
        "period": period,
        "report_url": (
            reverse("journeys_reports:scenario", args=[scenario.pk])
            + f"?from={period.start.isoformat()}&to={period.end.isoformat()}"
            if can_view_reports(request.user)
            else ""
        ),
    }


def _slot_label(slot: Any, by_id: dict[int, Any], tree: Any) -> str:
    if slot.after_id is not None:
        return _("after “%(step)s”") % {"step": by_id[slot.after_id].summary}
    if slot.parent_id == tree.id:
        return _("at the start")
    return _("at the start of “%(branch)s”") % {"branch": by_id[slot.parent_id].summary}


def _scenario_for(request, page_id: int) -> ScenarioPage:
    """The scenario at ``page_id`` if the user may edit it; 404 for anything else."""
    scenario = ScenarioPage.objects.filter(pk=page_id).first()
    if scenario is None:
        raise Http404
    if not scenario.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    return scenario


def canvas_view(request, page_id: int):
    """The canvas of a scenario, with each step's figures over ``?from=&to=`` (the last
    30 days by default); for a step or branch, its scenario's canvas with the step in
    view."""
    page = get_object_or_404(Page, pk=page_id)
    scenario = scenario_of(page)
    if scenario is None:
        raise Http404
    if scenario.pk != page.pk:
        return redirect(f"{canvas_url(scenario.pk)}#node-{page.pk}")
    scenario = _scenario_for(request, page_id)
    try:
        period = Period.parse(request.GET.get("from"), request.GET.get("to"))
    except InvalidInput as exc:
        return bad_request(request, str(exc), title=_("Canvas"))
    context = canvas_context(request, scenario, period)
    return TemplateResponse(request, "wagtail_journeys/canvas/canvas.html", context)


def canvas_url(scenario_id: int) -> str:
    return reverse("journeys_scenarios:canvas", args=[scenario_id])


class PositionForm(forms.Form):
    """A place in the scenario's tree: first under ``parent``, or right after ``after``
    (a child of ``parent``)."""

    parent = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    after = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)

    def __init__(self, *args, scenario: ScenarioPage, **kwargs):
        super().__init__(*args, **kwargs)
        self.scenario = scenario

    def _in_scenario(self, page_id: int) -> Page:
        page = Page.objects.filter(pk=page_id, path__startswith=self.scenario.path).first()
        if page is None:
            raise forms.ValidationError(_("No page %(id)s in this scenario.") % {"id": page_id})
        return page

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        data["parent"] = self._in_scenario(data["parent"])
        if data.get("after"):
            after = self._in_scenario(data["after"])
            if after.path[: -Page.steplen] != data["parent"].path:
                raise forms.ValidationError(_("That step is not under that parent."))
            data["after"] = after
        else:
            data["after"] = None
        return data


class InsertForm(PositionForm):
    type = forms.ChoiceField(choices=[(name, name) for name in [*INSERTABLE, BRANCH]])


def _refuse(request, scenario: ScenarioPage, refused: ScenarioInvalid, verb: str):
    for _title, problem in refused.problems:
        messages.error(request, _("Not %(verb)s: %(problem)s") % {"verb": verb, "problem": problem})
    return redirect(canvas_url(scenario.pk))


def _bad(form: forms.Form) -> HttpResponseBadRequest:
    text = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")


@require_POST
def insert_view(request, page_id: int):
    """Create a draft step (or branch) of the chosen type at the chosen place, then come
    back to the canvas with its editor open."""
    scenario = _scenario_for(request, page_id)
    form = InsertForm(request.POST, scenario=scenario)
    if not form.is_valid():
        return _bad(form)
    parent, after = form.cleaned_data["parent"].specific, form.cleaned_data["after"]
    model = _model(form.cleaned_data["type"])
    if model is None or not model.can_create_at(parent):
        return HttpResponseBadRequest(
            _("A %(type)s cannot go there.") % {"type": form.cleaned_data["type"]}
        )
    if not parent.permissions_for_user(request.user).can_add_subpage():
        raise PermissionDenied
    for fn in hooks.get_hooks("before_create_page"):
        result = fn(request, parent, model)
        if hasattr(result, "status_code"):
            return result
    page = model(title=str(model._meta.verbose_name).capitalize(), live=False, owner=request.user)
    with transaction.atomic():
        if after is not None:
            after.add_sibling(pos="right", instance=page)
        elif parent.get_children().exists():
            parent.get_first_child().add_sibling(pos="left", instance=page)
        else:
            parent.add_child(instance=page)
        revision = page.save_revision(user=request.user, log_action=False)
        log(instance=page, action="wagtail.create", user=request.user, revision=revision)
    for fn in hooks.get_hooks("after_create_page"):
        result = fn(request, page)
        if hasattr(result, "status_code"):
            return result
    return redirect(f"{canvas_url(scenario.pk)}?edit={page.pk}#node-{page.pk}")


class MoveForm(forms.Form):
    page = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")], required=False)


@require_POST
def move_view(request, page_id: int):
    """Move a step (with everything under it) one place up or down among its siblings,
    or to another place (``parent``, ``after``) in the scenario."""
    scenario = _scenario_for(request, page_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _bad(form)
    moving = Page.objects.filter(
        pk=form.cleaned_data["page"], path__startswith=scenario.path, depth__gt=scenario.depth
    ).first()
    if moving is None:
        return HttpResponseBadRequest(_("No such step in this scenario."))
    parent = moving.get_parent()
    direction = form.cleaned_data["direction"]
    if direction:
        siblings = parent.get_children()
        neighbour = (
            siblings.filter(path__lt=moving.path).order_by("-path").first()
            if direction == "up"
            else siblings.filter(path__gt=moving.path).order_by("path").first()
        )
        if neighbour is None:
            return HttpResponseBadRequest(_("The step is already at that end."))
        target, pos, destination = neighbour, ("left" if direction == "up" else "right"), parent
    else:
        place = PositionForm(request.POST, scenario=scenario)
        if not place.is_valid():
            return _bad(place)
        destination, after = place.cleaned_data["parent"], place.cleaned_data["after"]
        if destination.path.startswith(moving.path) or after == moving:
            return HttpResponseBadRequest(_("A step cannot move inside itself."))
        if not moving.specific.can_move_to(destination):
            return HttpResponseBadRequest(_("That step cannot go there."))
        target, pos = (after, "right") if after is not None else (destination, "first-child")
    perms = moving.permissions_for_user(request.user)
    same_parent = destination.pk == parent.pk
    if same_parent:
        allowed = parent.permissions_for_user(request.user).can_reorder_children()
    else:
        allowed = perms.can_move_to(destination)
    if not allowed:
        raise PermissionDenied
    if not same_parent:
        for fn in hooks.get_hooks("before_move_page"):
            result = fn(request, moving, destination)
            if hasattr(result, "status_code"):
                return redirect(canvas_url(scenario.pk))
    try:
        with publishing_together():
            action = MovePageAction(moving.specific, target, pos=pos, user=request.user)
            action.execute(skip_permission_checks=True)
    except ScenarioInvalid as refused:
        return _refuse(request, scenario, refused, _("moved"))
    return redirect(f"{canvas_url(scenario.pk)}#node-{moving.pk}")


class DeleteForm(forms.Form):
    page = forms.IntegerField(min_value=1, max_value=2**31 - 1)


@require_POST
def delete_view(request, page_id: int):
    """Delete a step and everything under it (the canvas asks first)."""
    scenario = _scenario_for(request, page_id)
    form = DeleteForm(request.POST)
    if not form.is_valid():
        return _bad(form)
    page = Page.objects.filter(
        pk=form.cleaned_data["page"], path__startswith=scenario.path, depth__gt=scenario.depth
    ).first()
    if page is None:
        return HttpResponseBadRequest(_("No such step in this scenario."))
    if not page.permissions_for_user(request.user).can_delete():
        raise PermissionDenied
    for fn in hooks.get_hooks("before_delete_page"):
        result = fn(request, page)
        if hasattr(result, "status_code"):
            return redirect(canvas_url(scenario.pk))
    title = page.specific.get_admin_display_title()
    try:
        with publishing_together():
            DeletePageAction(page.specific, user=request.user).execute(skip_permission_checks=True)
    except ScenarioInvalid as refused:
        return _refuse(request, scenario, refused, _("deleted"))
    messages.success(request, _("'%(title)s' deleted.") % {"title": title})
    for fn in hooks.get_hooks("after_delete_page"):
        fn(request, page)
    return redirect(canvas_url(scenario.pk))


def canvas_button(page: Any, user: Any) -> Button | None:
    """A "Canvas" button for the header and listing of a scenario or one of its steps,
    or None."""
    from django.apps import apps

    app = apps.get_app_config("wagtail_journeys")
    names = {label.split(".")[1].lower() for label in STEP_TYPES} | {BRANCH, "scenariopage"}
    specific = page.specific_class
    if specific is None or specific._meta.app_label != app.label:
        return None
    if specific._meta.model_name not in names:
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
    return [
        path("<int:page_id>/canvas/", canvas_view, name="canvas"),
        path("<int:page_id>/canvas/edit/", PanelEditView.as_view(), name="edit"),
        path("<int:page_id>/canvas/insert/", insert_view, name="insert"),
        path("<int:page_id>/canvas/move/", move_view, name="move"),
        path("<int:page_id>/canvas/delete/", delete_view, name="delete"),
    ]
