"""Checking every live scenario at once (``journeys_check`` and the editor panel)."""

from __future__ import annotations

from .checker import Problem, check_loops, check_plan
from .loading import build_plan


def check_all() -> list[tuple[str, Problem]]:
    """``(scenario title, problem)`` for every live scenario, loops included once."""
    from ..models import ScenarioPage

    plans = [build_plan(s) for s in ScenarioPage.objects.live().order_by("path")]
    titles = {p.scenario_id: p.title for p in plans}
    found = [(p.title, problem) for p in plans for problem in check_plan(p)]
    found += [(titles[p.scenario_id], p) for p in check_loops(plans)]
    return found
