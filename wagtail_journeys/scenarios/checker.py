"""Find what is wrong with Plans before contacts meet it. Pure: Plans in, problems out.

Errors block publishing; warnings are shown in the editor and by ``journeys_check``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from .plan import Plan, Step

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    level: str
    code: str
    message: str
    scenario_id: int
    step_id: int | None = None

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def _wait_problems(plan: Plan, step: Step, now: dt.datetime | None) -> list[Problem]:
    c = step.config
    problem = None
    if c["mode"] == "until":
        if not c["until"]:
            problem = "has no date, so it never ends"
        elif now and dt.datetime.fromisoformat(c["until"]) < now:
            return [
                Problem(
                    WARNING,
                    "wait-past",
                    f"'{step.summary}' is in the past: it waits for nothing",
                    plan.scenario_id,
                    step.id,
                )
            ]
    elif c["mode"] == "window":
        if not c["weekdays"] or not c["start"] or not c["end"] or c["start"] == c["end"]:
            problem = "has an empty time window, so it never ends"
    elif c["mode"] == "event":
        if not c["event"]:
            problem = "waits for no event"
        elif not c["amount"]:
            problem = "has no timeout, so it can wait forever"
    if problem:
        return [
            Problem(
                ERROR, "wait-never-ends", f"'{step.summary}' {problem}.", plan.scenario_id, step.id
            )
        ]
    return []


def check_plan(plan: Plan, *, now: dt.datetime | None = None) -> list[Problem]:
    """Problems inside one scenario: empty branches, unreachable steps, emails that are not
    live, waits that never end, splits that do not add up, dangling targets."""
    problems: list[Problem] = []
    sid = plan.scenario_id

    def add(level: str, code: str, message: str, step_id: int | None = None) -> None:
        problems.append(Problem(level, code, message, sid, step_id))

    if plan.first is None:
        add(WARNING, "empty", "The scenario has no live steps: contacts enter and leave at once.")
    reachable = _reachable(plan)
    for step_id in plan.order:
        step = plan.steps[step_id]
        if step_id not in reachable:
            add(WARNING, "unreachable", f"'{step.summary}' can never be reached.", step_id)
        kind, c = step.kind, step.config
        if kind == "send_email" and not c["email_live"]:
            add(ERROR, "email-not-live", f"'{step.summary}' has no live email to send.", step_id)
        elif kind == "wait":
            problems += _wait_problems(plan, step, now)
        elif kind == "start_scenario" and not c["scenario_id"]:
            add(ERROR, "no-target", f"'{step.summary}' names no scenario.", step_id)
        elif kind == "split":
            total = sum(b.config["percent"] for b in step.branches)
            if total != 100:
                add(
                    ERROR,
                    "split-total",
                    f"'{step.summary}': branch shares add up to {total}%, not 100%.",
                    step_id,
                )
        elif kind == "condition" and not step.branches:
            add(WARNING, "no-branches", f"'{step.summary}' has no branches.", step_id)
        if kind in ("condition", "split"):
            for branch in step.branches:
                if branch.empty:
                    add(
                        WARNING,
                        "empty-branch",
                        f"Branch '{branch.label}' of '{step.summary}' has no action.",
                        step_id,
                    )
    goal_step = plan.goal.get("step_id")
    if goal_step and goal_step not in plan.steps:
        add(
            ERROR, "goal-step", "The goal jumps to a step that is not a live step of this scenario."
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


def _edges(plan: Plan, plans: dict[int, Plan]) -> list[tuple[int, bool, str]]:
    """Scenarios this plan's actions can start: ``(target, guarded, how)``. An action is
    guarded when it sits in a branch of a condition (rules decide, so a loop can stop)."""
    out = []
    conditions = {s.id for s in plan.steps.values() if s.kind == "condition"}
    for step in plan.steps.values():
        guarded = any(p in conditions for p in step.path)
        if step.kind == "start_scenario" and step.config["scenario_id"]:
            out.append((step.config["scenario_id"], guarded, f"'{step.summary}'"))
        if step.kind != "send_email":
            continue
        email_id, links = step.config["email_id"], set(step.config["links"])
        for other in plans.values():
            t = other.trigger
            engaged = t["kind"] == "email_engagement" and t["email_id"] == email_id
            invited = t["kind"] in ("event", "page_view") and (
                (t["page_id"] and t["page_id"] in links) or (t["filters"].get("page_id") in links)
            )
            if engaged or invited:
                out.append((other.scenario_id, guarded, f"'{step.summary}'"))
    return out


def check_loops(plans: Iterable[Plan]) -> list[Problem]:
    """Cycles across scenarios (A's actions trigger B, B's trigger A), naming the cycle.

    A cycle is an error unless some link in it is guarded by a condition or enters a
    scenario whose re-entry policy is "once ever"; guarded cycles are warnings."""
    by_id = {p.scenario_id: p for p in plans}
    graph = {sid: _edges(p, by_id) for sid, p in by_id.items()}
    problems: list[Problem] = []
    reported: set[frozenset[int]] = set()

    def visit(start: int, node: int, path: list[int], guards: list[bool]) -> None:
        for target, guarded, _how in graph.get(node, []):
            if target not in by_id:
                continue
            once = by_id[target].entry["reentry"] == "once"
            if target == start:
                cycle = frozenset(path)
                if cycle in reported:
                    continue
                reported.add(cycle)
                names = " → ".join(by_id[s].title for s in [*path, start])
                safe = any(guards) or guarded or once
                level, tail = (
                    (WARNING, "guarded by a condition or re-entry policy")
                    if safe
                    else (ERROR, "nothing stops it")
                )
                problems.append(
                    Problem(
                        level,
                        "loop",
                        f"Scenarios trigger each other in a loop: {names} ({tail}).",
                        start,
                    )
                )
            elif target not in path:
                visit(start, target, [*path, target], [*guards, guarded or once])

    for sid in sorted(by_id):
        visit(sid, sid, [sid], [])
    return problems
