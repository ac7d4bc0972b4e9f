"""What happens when a page of a scenario's tree is published: check, then compile.

``refuse_invalid_publish`` (a ``before_publish_page`` hook) blocks publishing a scenario or
step whose resulting Plan has errors; ``compile_on_publish`` (``page_published`` signal)
stores the new Plan. Enrolments follow the new Plan on their next batch.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect

from .checker import ERROR, Problem, check_loops, check_plan
from .compiler import KINDS, Node, compile_plan
from .loading import (
    build_plan,
    current_plan,
    load_tree,
    publish_plan,
    scenario_of,
    scenario_settings,
    step_config,
)
from .plan import Plan


def check_scenario(scenario: Any, *, extra: Plan | None = None) -> list[Problem]:
    """Problems of one scenario's Plan, plus the loops it closes with the live scenarios."""
    from ..models import ScenarioPage

    plan = extra or build_plan(scenario)
    others = [
        p
        for p in (
            current_plan(s)
            for s in ScenarioPage.objects.live()
            .exclude(pk=scenario.pk)
            .values_list("pk", flat=True)
        )
        if p
    ]
    loops = [p for p in check_loops([plan, *others]) if _involves(p, plan)]
    return check_plan(plan) + loops


def _involves(problem: Problem, plan: Plan) -> bool:
    return problem.scenario_id == plan.scenario_id or plan.title in problem.message


def _plan_with(page: Any) -> tuple[Any, Plan] | None:
    """The Plan the scenario would have once ``page`` (unsaved content) is live."""
    from ..models import ScenarioPage

    scenario = scenario_of(page)
    if scenario is None:
        return None
    if isinstance(page.specific, ScenarioPage):
        return page, build_plan(page)
    # A step: the live tree with this step's new content in place.
    root = load_tree(scenario)

    kind = KINDS.get(type(page).__name__)
    if kind is None:
        return None
    node = Node(page.pk, kind, page.get_admin_display_title(), step_config(page))
    parent_id = page.get_parent().pk

    def place(tree: Node) -> bool:
        """Swap in the new content, or add a step not live yet under its live parent."""
        for index, child in enumerate(tree.children):
            if child.id == page.pk:
                node.children = child.children
                tree.children[index] = node
                return True
            if place(child):
                return True
        if tree.id == parent_id:
            tree.children.append(node)
            return True
        return False

    if not place(root):
        return scenario, None
    trigger, entry, goal = scenario_settings(scenario)
    return scenario, compile_plan(
        root, trigger=trigger, entry=entry, goal=goal, revision_id=scenario.live_revision_id
    )


def refuse_invalid_publish(request, page):
    """``before_publish_page``: errors in the resulting Plan block publishing."""
    found = _plan_with(page)
    if not found or found[1] is None:
        return None
    scenario, plan = found
    errors = [p for p in check_scenario(scenario, extra=plan) if p.level == ERROR]
    if not errors:
        return None
    for problem in errors:
        messages.error(request, f"Not published: {problem.message}")
    return redirect("wagtailadmin_pages:edit", page.pk)


def compile_on_publish(sender, instance, **kwargs) -> None:
    """``page_published``: store the scenario's new Plan when any page of its tree goes live."""
    scenario = scenario_of(instance)
    if scenario is not None and scenario.live:
        publish_plan(scenario)


def pause_on_unpublish(sender, instance, **kwargs) -> None:
    """``page_unpublished``: a step leaving the live tree recompiles; an unpublished
    scenario pauses by itself (the engine only advances live scenarios) and forgets when it
    went live, so that its next publish starts the trigger's time afresh."""
    from ..models import ScenarioPage

    scenario = scenario_of(instance)
    if scenario is not None and scenario.pk == instance.pk:
        ScenarioPage.objects.filter(pk=scenario.pk).update(live_since=None)
    elif scenario is not None and scenario.live:
        publish_plan(scenario)
