"""What a rehearsal found: plain dataclasses any drawing can take (the diagram, a canvas,
a JSON answer). ``Tally`` collects them as the rehearsal's Env is told what the step
logic did; nothing here reads or writes the database."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

QUIET_HOURS = gettext_noop("quiet hours")
FREQUENCY_CAP = "frequency cap"


@dataclass
class BranchTaken:
    """One way out of a condition, split or wait in a rehearsal: who took it, and who of
    them reached the goal afterwards (the attributes a report's ``BranchFigures`` has,
    so the diagram draws both alike)."""

    branch_id: int
    entered: int = 0
    converted: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.entered if self.entered else None


@dataclass
class NodeFigures:
    """One step of the Plan over the rehearsed period.

    ``entered``: visits that reached the step; ``passed``: those that went on from it;
    ``waiting``: contacts still on it at the end of the period; ``exited``/``converted``:
    enrolments that ended there (an exit, the goal); ``branches``: each branch taken
    (``BranchTaken``); ``outcomes``: ``(outcome, branch id)`` -> count, the step runs the
    engine would have logged. Send steps: ``sent``, and what the frequency cap and quiet hours held
    (``held_by_cap``: deferred or skipped by the cap; ``held_by_quiet_hours``: deferred);
    ``skipped``: reason -> count for the other sends not made (not subscribed…)."""

    step_id: int
    kind: str
    summary: str
    entered: int = 0
    passed: int = 0
    waiting: int = 0
    exited: int = 0
    converted: int = 0
    sent: int = 0
    held_by_cap: int = 0
    held_by_quiet_hours: int = 0
    branches: list[BranchTaken] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)

    #: what the diagram calls the figures a report has too, for a rehearsal
    labels = property(lambda self: {"waiting": _("waiting at the end")})

    def taken(self) -> dict[int, int]:
        """Branch id -> contacts who took it."""
        return {b.branch_id: b.entered for b in self.branches}

    def branch(self, branch_id: int) -> BranchTaken:
        for taken in self.branches:
            if taken.branch_id == branch_id:
                return taken
        self.branches.append(BranchTaken(branch_id))
        return self.branches[-1]

    def more_lines(self) -> list[list[tuple[str, str, int]]]:
        """The diagram's lines under the step beyond those a report has: the goal, and
        on send steps what would have been sent and held."""
        lines = [[("converted", _("reached the goal"), self.converted)]]
        if self.kind in ("send_email", "send_sms"):
            lines.append(
                [
                    ("sent", _("would send"), self.sent),
                    ("held_by_cap", _("held by the cap"), self.held_by_cap),
                    ("held_by_quiet_hours", _("by quiet hours"), self.held_by_quiet_hours),
                ]
            )
        return lines


@dataclass
class DaySends:
    """Emails the scenario would have sent on one day (``TIME_ZONE``), and that many as a
    share of the contacts subscribed now; ``warning`` when above the setting's share."""

    day: dt.date
    sent: int
    share: float
    warning: bool


@dataclass
class Rehearsal:
    """A scenario's draft run over a past period (``start``-``end``): scenario-wide totals,
    figures per step (``nodes``, by step id, in the Plan's order), sends per day, and
    warnings a person should read before switching it on."""

    scenario_id: int
    title: str
    start: dt.datetime
    end: dt.datetime
    events_read: int = 0
    entered: int = 0
    completed: int = 0
    exited: int = 0
    converted: int = 0
    active: int = 0
    subscribed: int = 0
    share_warning: float = 0.0
    nodes: dict[int, NodeFigures] = field(default_factory=dict)
    days: list[DaySends] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the draft Plan rehearsed (what a drawing lays the figures on)
    plan: Any = field(default=None, repr=False)

    @property
    def sent(self) -> int:
        return sum(n.sent for n in self.nodes.values())

    def counts(self) -> dict[int, int]:
        """Contacts on each step at the end (what the diagram shows as "here")."""
        return {i: n.waiting for i, n in self.nodes.items()}


def held_kind(reason: str) -> str:
    """``QUIET_HOURS``, ``FREQUENCY_CAP`` or the reason itself (a send's deferral or skip)."""
    if reason.startswith(FREQUENCY_CAP):
        return FREQUENCY_CAP
    return QUIET_HOURS if reason == QUIET_HOURS else reason


class Tally:
    """Counts what the step logic tells the rehearsal's Env, per step of the Plan."""

    PASSED = {"done", "sent", "skipped"}

    def __init__(self, result: Rehearsal, plan) -> None:
        self.result = result
        self.sends_by_day: Counter = Counter()
        for step_id in plan.order:
            step = plan.steps[step_id]
            result.nodes[step_id] = NodeFigures(step_id, step.kind, step.summary)

    def arrive(self, visit, step_id: int | None) -> None:
        """Count a visit reaching a step, once per ``(step, iteration)``."""
        key = (step_id, visit.iteration)
        if step_id is not None and visit.seen != key and step_id in self.result.nodes:
            visit.seen = key
            self.result.nodes[step_id].entered += 1

    def step_run(self, visit, step, outcome: str, reason: str, branch_id: int, now) -> None:
        if step is None:
            return
        self.arrive(visit, step.id)
        node = self.result.nodes[step.id]
        node.outcomes[(outcome, branch_id)] += 1
        if branch_id:
            node.branch(branch_id).entered += 1
            visit.arms.append((step.id, branch_id))
        if outcome in self.PASSED:
            node.passed += 1
        if outcome == "sent":
            node.sent += 1
            if step.kind == "send_email":
                self.sends_by_day[timezone.localtime(now).date()] += 1
        elif outcome in ("deferred", "skipped"):
            kind = held_kind(reason)
            if kind == FREQUENCY_CAP:
                node.held_by_cap += 1
            elif kind == QUIET_HOURS:
                node.held_by_quiet_hours += 1
            else:
                node.skipped[kind] = node.skipped.get(kind, 0) + 1

    def ended(self, status: str, visit) -> None:
        """An enrolment ended (``completed``, ``exited``) or reached the goal
        (``converted``) on the step it is on; a conversion counts for every branch it
        took."""
        r = self.result
        setattr(r, status, getattr(r, status) + 1)
        node = r.nodes.get(visit.step_id) if visit.step_id is not None else None
        if node is not None and status in ("exited", "converted"):
            setattr(node, status, getattr(node, status) + 1)
        if status == "converted":
            for step_id, branch_id in visit.arms:
                r.nodes[step_id].branch(branch_id).converted += 1

    def days(self, share: float, subscribed: int) -> list[DaySends]:
        out = []
        for day in sorted(self.sends_by_day):
            sent = self.sends_by_day[day]
            ratio = sent / subscribed if subscribed else 0.0
            out.append(DaySends(day, sent, ratio, ratio > share))
        return out
