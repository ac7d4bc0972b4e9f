"""The canvas's changes to a scenario's tree: insert a draft step, move a step or subtree,
delete one. Each view reads a small form, checks Wagtail's page permissions, runs
Wagtail's page hooks and operations (``add_child``/``add_sibling``, ``MovePageAction``,
``DeletePageAction``), and returns to the canvas. A live scenario's moves and deletes are
draft changes (``guard.editing_draft``: its contacts keep running the stored Plan until
"Publish changes"); others run inside ``publishing_together`` (a change that would break a
live scenario is refused with the checker's reasons). Bad ids and places are a 400, never
a 500.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail import hooks
from wagtail.actions.delete_page import DeletePageAction
from wagtail.actions.move_page import MovePageAction
from wagtail.log_actions import log
from wagtail.models import Page

from ..exceptions import ScenarioInvalid
from ..models import ExitStep, ScenarioPage
from ..scenarios import editor
from ..scenarios.guard import editing_draft, publishing_together
from .canvas import BRANCH, INSERTABLE, canvas_url, scenario_for, step_model


def _change(scenario: ScenarioPage):
    """How a move or delete changes ``scenario``: as a draft while it is live (what runs
    is unchanged until "Publish changes"), else checked together."""
    return editing_draft() if scenario.live else publishing_together()


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
    scenario = scenario_for(request, page_id)
    form = InsertForm(request.POST, scenario=scenario)
    if not form.is_valid():
        return _bad(form)
    parent, after = form.cleaned_data["parent"].specific, form.cleaned_data["after"]
    model = step_model(form.cleaned_data["type"])
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
        opened = page
        kind = form.cleaned_data["type"]
        if kind in OPENS_ITS_BRANCH:
            opened = _first_branch(page, request.user, rules=OPENS_ITS_BRANCH[kind])
            if kind == "exitif":
                _add_draft(
                    opened,
                    ExitStep(title=str(ExitStep._meta.verbose_name).capitalize()),
                    request.user,
                )
    for fn in hooks.get_hooks("after_create_page"):
        result = fn(request, page)
        if hasattr(result, "status_code"):
            return result
    if kind in NOTHING_TO_FILL:
        return redirect(f"{canvas_url(scenario.pk)}#node-{page.pk}")
    choose = "&choose=1" if kind in CHOOSES_FIRST else ""
    return redirect(f"{canvas_url(scenario.pk)}?edit={opened.pk}{choose}#node-{opened.pk}")


#: Steps with nothing to fill in: inserted without opening their editor.
NOTHING_TO_FILL = {"exitstep"}
#: Steps inserted with their first branch, whose editor opens (its rules are what is
#: asked; the step's own title is optional): type -> the rule rows it starts with.
OPENS_ITS_BRANCH = {"conditionstep": (), "exitif": ("event",)}
#: Steps whose editor opens on its chooser (the email is all a send step needs).
CHOOSES_FIRST = {"sendemailstep"}


def _add_draft(parent: Page, page: Page, user) -> Page:
    """``page`` as the last child of ``parent``: a draft with its first revision."""
    page.live, page.owner = False, user
    parent.add_child(instance=page)
    revision = page.save_revision(user=user, log_action=False)
    log(instance=page, action="wagtail.create", user=user, revision=revision)
    return page


def _first_branch(step: Page, user, rules=()) -> Page:
    """The first branch of a new condition, with an empty row of each rule type in
    ``rules`` for the editor to fill in."""
    from ..models import Branch

    branch = Branch(title=str(Branch._meta.verbose_name).capitalize())
    block = Branch._meta.get_field("rules").stream_block
    branch.rules = [(name, block.child_blocks[name].get_default()) for name in rules]
    return _add_draft(step, branch, user)


def _step_in(scenario: ScenarioPage, page_id: int) -> Page | None:
    """The page ``page_id`` if it is below ``scenario`` (a step or a branch), else None."""
    return Page.objects.filter(
        pk=page_id, path__startswith=scenario.path, depth__gt=scenario.depth
    ).first()


class MoveForm(forms.Form):
    page = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")], required=False)


@require_POST
def move_view(request, page_id: int):
    """Move a step (with everything under it) one place up or down among its siblings,
    or to another place (``parent``, ``after``) in the scenario."""
    scenario = scenario_for(request, page_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _bad(form)
    moving = _step_in(scenario, form.cleaned_data["page"])
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
    try:
        with _change(scenario):
            if not same_parent:
                for fn in hooks.get_hooks("before_move_page"):
                    if fn is editor.move_as_draft:
                        continue  # it moves to the end; the canvas moves to the chosen place
                    result = fn(request, moving, destination)
                    if hasattr(result, "status_code"):
                        return redirect(canvas_url(scenario.pk))
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
    scenario = scenario_for(request, page_id)
    form = DeleteForm(request.POST)
    if not form.is_valid():
        return _bad(form)
    page = _step_in(scenario, form.cleaned_data["page"])
    if page is None:
        return HttpResponseBadRequest(_("No such step in this scenario."))
    if not page.permissions_for_user(request.user).can_delete():
        raise PermissionDenied
    title = page.specific.get_admin_display_title()
    try:
        with _change(scenario):
            for fn in hooks.get_hooks("before_delete_page"):
                result = fn(request, page)
                if hasattr(result, "status_code"):
                    return redirect(canvas_url(scenario.pk))
            DeletePageAction(page.specific, user=request.user).execute(skip_permission_checks=True)
    except ScenarioInvalid as refused:
        return _refuse(request, scenario, refused, _("deleted"))
    messages.success(request, _("'%(title)s' deleted.") % {"title": title})
    for fn in hooks.get_hooks("after_delete_page"):
        fn(request, page)
    return redirect(canvas_url(scenario.pk))
