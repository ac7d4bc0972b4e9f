"""Checking every live scenario at once (``journeys_check`` and the editor panel)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .checker import ERROR, Problem, check_loops, check_plan
from .loading import build_plan, current_plan
from .plan import Plan
from .world import load_world


def held_problem(scenario_id: int) -> Problem | None:
    """An error if the engine holds the scenario: its stored Plan failed the checker."""
    stored = current_plan(scenario_id)
    if stored is None or not stored.errors:
        return None
    message = _(
        "The engine is not running this scenario (no one enters, no one moves on): its "
        "live version fails the checker (%(error)s). Fix it and publish it again."
    ) % {"error": stored.errors[0]}
    return Problem(ERROR, "held", message, scenario_id)


def scenario_problems(scenario, plan: Plan | None = None) -> list[Problem]:
    """What the checker says of one scenario (its draft fields, live steps), and whether
    the engine holds it: the editor's panel and the diagram show this."""
    from .publishing import check_scenario

    held = held_problem(scenario.pk)
    return check_scenario(scenario, extra=plan) + ([held] if held else [])


def check_all() -> list[tuple[str, Problem]]:
    """``(scenario title, problem)`` for every live scenario, loops included once, and
    the scenarios the engine holds."""
    from ..models import ScenarioPage

    plans = [build_plan(s) for s in ScenarioPage.objects.live().order_by("path")]
    titles = {p.scenario_id: p.title for p in plans}
    found = [(p.title, problem) for p in plans for problem in check_plan(p)]
    found += [(titles[p.scenario_id], p) for p in check_loops(plans, load_world(plans))]
    for plan in plans:
        held = held_problem(plan.scenario_id)
        if held is not None:
            found.append((plan.title, held))
    return found
