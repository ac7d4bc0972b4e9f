"""The scenario tree in Wagtail's admin: "Publish" on a scenario or step keeps a draft (the
tree goes live together, ``scenarios.switching``); moving or deleting a step of a live
scenario is a draft change too; unpublishing and bulk actions that would leave a live
scenario failing the checker are refused, saying why on the page the editor returns to
(the same check that ``scenarios.guard`` applies to every other path)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from ..exceptions import ScenarioInvalid
from . import guard
from .checker import ERROR
from .loading import build_plan, scenario_of
from .publishing import check_scenario

#: Bulk actions that change scenario trees (the guard checks them once, at their end).
BULK_ACTIONS = {"publish", "unpublish", "move", "delete"}
_CHANGE_ATTR = "_journeys_bulk_change"


def _refuse(request, page, problems: list[str], verb: str):
    for problem in problems:
        messages.error(request, _("Not %(verb)s: %(problem)s") % {"verb": verb, "problem": problem})
    return redirect("wagtailadmin_pages:edit", page.pk)


def _errors(scenario: Any, **change: Any) -> list[str]:
    plan = build_plan(scenario, **change)
    return [p.message for p in check_scenario(scenario, extra=plan) if p.level == ERROR]


def keep_scenario_drafts(request, page):
    """``before_publish_page``: in the admin, "Publish" on a scenario or one of its steps
    keeps what the editor saved (the edit and create views save the revision first) as a
    draft, and says how the tree goes live: all together, with "Switch on" (or, once on,
    "Publish changes"; see ``scenarios.switching``). Publishing from code is unchanged."""
    from wagtail.models import Page

    scenario = scenario_of(page)
    if scenario is None:
        return None
    if page.live and page.first_published_at is None:  # the create view adds it as live
        Page.objects.filter(pk=page.pk).update(live=False)
    if scenario.live:
        message = _(
            "Saved as a draft. Contacts inside go on with the live version until you "
            "publish all the scenario's changes at once: “Publish changes”."
        )
    else:
        message = _(
            "Saved as a draft. The scenario and its steps go live together when you switch "
            "it on: “Switch on”, once it is ready."
        )
    messages.success(request, message)
    return redirect("wagtailadmin_pages:edit", page.pk)


def hide_publish(menu_items, request, context) -> None:
    """``construct_page_action_menu``: no "Publish" on a scenario or a step (nor when
    creating one): they go live together ("Switch on", "Publish changes")."""
    from ..models import ScenarioIndexPage

    page = context.get("page") or context.get("parent_page")
    if page is None:
        return
    in_tree = scenario_of(page) is not None or (
        context["view"] == "create" and isinstance(page.specific, ScenarioIndexPage)
    )
    if in_tree:
        menu_items[:] = [item for item in menu_items if item.name != "action-publish"]


def _refuse_removal(request, page, verb: str):
    scenario = scenario_of(page)
    if scenario is None or scenario.pk == page.pk or not scenario.live:
        return None
    errors = _errors(scenario, without=page)
    return _refuse(request, page, errors, verb) if errors else None


def refuse_invalid_unpublish(request, page):
    """``before_unpublish_page``: a step leaves the live tree only if what remains passes
    (unpublishing the scenario itself always works: it stops)."""
    return _refuse_removal(request, page, _("unpublished"))


def _live_step(page) -> Any:
    """The live scenario ``page`` is a step (or branch) of, or None."""
    scenario = scenario_of(page)
    if scenario is None or scenario.pk == page.pk or not scenario.live:
        return None
    return scenario


_DRAFT_NOTE = _(
    "The contacts inside '%(scenario)s' go on with its live version until you publish its "
    "changes (“Publish changes”)."
)


def delete_as_draft(request, page):
    """``before_delete_page``: deleting a step of a live scenario is a draft change (the
    view's transaction becomes one, see ``guard.begin_draft``): the page goes, the running
    Plan stays until "Publish changes", which checks it. Other pages: as Wagtail does."""
    scenario = _live_step(page)
    if scenario is None:
        return None
    guard.begin_draft()
    if request.method == "POST":
        messages.info(request, _DRAFT_NOTE % {"scenario": scenario.title})
    return None


def move_as_draft(request, page, destination):
    """``before_move_page``: moving a step into, out of or within a live scenario is a
    draft change (``guard.editing_draft``): the page moves, the running Plans stay until
    "Publish changes". Other pages: as Wagtail does."""
    from wagtail.actions.move_page import MovePageAction
    from wagtail.models import Page

    target = scenario_of(destination)
    scenario = _live_step(page) or (target if target is not None and target.live else None)
    if scenario is None:
        return None  # no live scenario changes
    if request.method != "POST":
        return None  # Wagtail's confirmation page
    with guard.editing_draft():
        MovePageAction(
            Page.objects.get(pk=page.pk).specific,
            Page.objects.get(pk=destination.pk),
            pos="last-child",
            user=request.user,
        ).execute()
    messages.success(
        request,
        _("'%(page)s' moved in the draft.") % {"page": page.get_admin_display_title()},
    )
    messages.info(request, _DRAFT_NOTE % {"scenario": scenario.title})
    return redirect("wagtailadmin_explore", destination.pk)


def _touches_scenarios(objects) -> bool:
    return any(scenario_of(page) is not None for page in objects)


def begin_bulk_action(request, action_type, objects, action):
    """``before_bulk_action``: collect the scenarios a bulk action changes (it runs in one
    transaction), to check them once at its end."""
    if action_type in BULK_ACTIONS and _touches_scenarios(objects):
        setattr(request, _CHANGE_ATTR, guard.begin())


def finish_bulk_action(request, action_type, objects, action):
    """``after_bulk_action``: check the scenarios changed; if one fails, roll the whole
    action back and say why."""
    token = getattr(request, _CHANGE_ATTR, None)
    if token is None:
        return None
    try:
        guard.finish(token)
    except ScenarioInvalid as refused:
        transaction.set_rollback(True)
        for title, problem in refused.problems:
            messages.error(
                request,
                _("Nothing changed: %(scenario)s: %(problem)s")
                % {
                    "scenario": title,
                    "problem": problem,
                },
            )
        return redirect(action.next_url)
    return None
