"""Find what is wrong with Plans before contacts meet it. Pure: Plans in, problems out.

Errors block publishing (every path: see ``scenarios.publishing``) and stop the engine
from running a Plan stored with them; warnings are shown in the editor and by
``journeys_check``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .edges import Edge, World, edges
from .plan import Plan, Step

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    level: str
    code: str
    message: str
    scenario_id: int
    step_id: int | None = None
    cycle: tuple[int, ...] = ()  # for loops: the scenarios in it, in order

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def _wait_problems(plan: Plan, step: Step, now: dt.datetime | None) -> list[Problem]:
    c = step.config
    problem = None
    if c["mode"] == "until":
        if not c["until"]:
            problem = _("'%(step)s' has no date, so it never ends.")
        elif now and dt.datetime.fromisoformat(c["until"]) < now:
            return [
                Problem(
                    WARNING,
                    "wait-past",
                    _("'%(step)s' is in the past: it waits for nothing") % {"step": step.summary},
                    plan.scenario_id,
                    step.id,
                )
            ]
    elif c["mode"] == "window":
        if not c["weekdays"] or not c["start"] or not c["end"] or c["start"] == c["end"]:
            problem = _("'%(step)s' has an empty time window, so it never ends.")
    elif c["mode"] == "event":
        if not c["event"]:
            problem = _("'%(step)s' waits for no event.")
        elif not c["amount"]:
            problem = _("'%(step)s' has no timeout, so it can wait forever.")
    if problem:
        message = problem % {"step": step.summary}
        return [Problem(ERROR, "wait-never-ends", message, plan.scenario_id, step.id)]
    return []


def check_plan(plan: Plan, *, now: dt.datetime | None = None) -> list[Problem]:
    """Problems inside one scenario: empty branches, unreachable steps, emails and started
    scenarios that are not live, waits that never end, splits that do not add up,
    dangling targets."""
    problems: list[Problem] = []
    sid = plan.scenario_id

    def add(level: str, code: str, message: str, step_id: int | None = None) -> None:
        problems.append(Problem(level, code, message, sid, step_id))

    if plan.first is None:
        add(
            WARNING, "empty", _("The scenario has no live steps: contacts enter and leave at once.")
        )
    reachable = _reachable(plan)
    for step_id in plan.order:
        step = plan.steps[step_id]
        named = {"step": step.summary}
        if step_id not in reachable:
            add(WARNING, "unreachable", _("'%(step)s' can never be reached.") % named, step_id)
        kind, c = step.kind, step.config
        if kind == "send_email" and not c["email_live"]:
            add(
                ERROR, "email-not-live", _("'%(step)s' has no live email to send.") % named, step_id
            )
        elif kind == "wait":
            problems += _wait_problems(plan, step, now)
        elif kind == "start_scenario" and not c["scenario_id"]:
            add(ERROR, "no-target", _("'%(step)s' names no scenario.") % named, step_id)
        elif kind == "start_scenario" and not c.get("scenario_live", True):
            message = _("'%(step)s' starts a scenario that is not live.") % named
            add(ERROR, "target-not-live", message, step_id)
        elif kind == "split":
            total = sum(b.config["percent"] for b in step.branches)
            if total != 100:
                message = _("'%(step)s': branch shares add up to %(total)s%%, not 100%%.") % {
                    **named,
                    "total": total,
                }
                add(ERROR, "split-total", message, step_id)
        elif kind == "condition" and not step.branches:
            add(WARNING, "no-branches", _("'%(step)s' has no branches.") % named, step_id)
        if kind in ("condition", "split"):
            for branch in step.branches:
                if branch.empty:
                    message = _(
                        "Branch '%(branch)s' of '%(step)s' has no action: add a step to it, or "
                        "an Exit step to say “do nothing”."
                    ) % {**named, "branch": branch.label}
                    add(ERROR, "empty-branch", message, step_id)
    goal_step = plan.goal.get("step_id")
    if goal_step and goal_step not in plan.steps:
        add(
            ERROR,
            "goal-step",
            _("The goal jumps to a step that is not a live step of this scenario."),
        )
    return problems


def _reachable(plan: Plan) -> set[int]:
    """Steps a contact can get to from the first one (after an Exit, nothing; after an
    'else' branch, no later branch of that condition; a 0% share is never taken)."""
    seen: set[int] = set()
    todo = [plan.first]
    if plan.goal.get("step_id") in plan.steps:
        todo.append(plan.goal["step_id"])
    while todo:
        step_id = todo.pop()
        if step_id is None or step_id in seen or step_id not in plan.steps:
            continue
        seen.add(step_id)
        step = plan.steps[step_id]
        if step.kind == "exit":
            continue
        if step.kind in ("condition", "split"):
            for branch in step.branches:
                if step.kind == "split" and not branch.config["percent"]:
                    continue
                todo.append(branch.first)
                if step.kind == "condition" and branch.config["else"]:
                    break
            else:
                if step.kind == "condition":
                    todo.append(step.next)
            continue
        if step.kind == "wait" and step.config["mode"] == "event" and step.branches:
            todo.extend(b.first for b in step.branches)
            if {b.config["outcome"] for b in step.branches} >= {"event", "timeout"}:
                continue
        todo.append(step.next)
    return seen


def check_loops(plans: Iterable[Plan], world: World | None = None) -> list[Problem]:
    """Cycles across scenarios (A's actions trigger B, B's trigger A), naming the cycle and
    how each scenario starts the next (see ``scenarios.edges`` for every way it can).

    A cycle is an error unless some link in it is guarded by a condition or enters a
    scenario whose re-entry policy is "once ever"; guarded cycles are warnings."""
    world = world or World()
    by_id = {p.scenario_id: p for p in plans}
    graph: dict[int, dict[int, Edge]] = {}
    for sid, plan in by_id.items():
        best: dict[int, Edge] = {}  # one edge per target: an unguarded one if any
        for edge in edges(plan, by_id, world):
            if edge.target in by_id and (edge.target not in best or best[edge.target].guarded):
                best[edge.target] = edge
        graph[sid] = best
    problems: list[Problem] = []
    reported: set[frozenset[int]] = set()

    def visit(start: int, node: int, path: list[int], hops: list[Edge]) -> None:
        for target, edge in graph[node].items():
            if target == start:
                cycle = frozenset(path)
                if cycle not in reported:
                    reported.add(cycle)
                    problems.append(_loop(by_id, path, [*hops, edge]))
            elif target not in path:
                visit(start, target, [*path, target], [*hops, edge])

    for sid in sorted(by_id):
        visit(sid, sid, [sid], [])
    return problems


def _loop(by_id: dict[int, Plan], path: list[int], hops: list[Edge]) -> Problem:
    """The problem of one cycle: an error unless a condition or "once ever" stops it."""
    safe = any(h.guarded or by_id[h.target].entry["reentry"] == "once" for h in hops)
    titles = [by_id[s].title for s in path]
    names = " → ".join([*titles, titles[0]])
    how = []
    for title, hop in zip(titles, hops, strict=True):
        target = by_id[hop.target].title
        arrow = f"'{hop.step}' → {hop.via} → {target}" if hop.via else f"'{hop.step}' → {target}"
        how.append(f"{title}: {arrow}")
    values = {"names": names, "how": "; ".join(how)}
    if safe:
        level = WARNING
        message = _(
            "Scenarios trigger each other in a loop: %(names)s (guarded by a condition or "
            "re-entry policy). %(how)s."
        )
    else:
        level = ERROR
        message = _(
            "Scenarios trigger each other in a loop: %(names)s (nothing stops it). %(how)s."
        )
    return Problem(level, "loop", message % values, path[0], cycle=tuple(path))
