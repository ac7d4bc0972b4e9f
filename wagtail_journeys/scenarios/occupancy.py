"""Who is on each step of a scenario now: the counts its diagram shows.

A send step holds a contact only when it deferred the send (quiet hours, frequency cap):
such an enrolment waits on the step, and its latest ``deferred`` StepRun of that visit
says why. Two grouped queries per scenario, whatever the number of contacts.
"""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery

from .plan import Plan

SEND_KINDS = ("send_email", "send_sms")


def active_by_step(scenario_id: int) -> dict[int, int]:
    """Active enrolments per step id."""
    from ..models import Enrollment

    return dict(
        Enrollment.objects.filter(scenario_id=scenario_id, status="active")
        .values_list("step_id")
        .annotate(n=Count("id"))
        .values_list("step_id", "n")
        .order_by()
    )


def deferred_by_step(scenario_id: int, plan: Plan) -> dict[int, dict[str, int]]:
    """Per send step, the contacts whose send is deferred now, by reason (``"quiet
    hours"``, ``"frequency cap (3 in 7 days)"``…, ``""`` when the log was purged)."""
    from ..models import Enrollment, StepRun

    sends = [step_id for step_id, step in plan.steps.items() if step.kind in SEND_KINDS]
    if not sends:
        return {}
    why = (
        StepRun.objects.filter(
            enrollment_id=OuterRef("pk"),
            step_id=OuterRef("step_id"),
            iteration=OuterRef("iteration"),
            outcome="deferred",
        )
        .order_by("-id")
        .values("reason")[:1]
    )
    rows = (
        Enrollment.objects.filter(
            scenario_id=scenario_id, status="active", waiting=True, step_id__in=sends
        )
        .annotate(why=Subquery(why))
        .values("step_id", "why")
        .annotate(n=Count("id"))
        .order_by()
    )
    out: dict[int, dict[str, int]] = {}
    for row in rows:
        reasons = out.setdefault(row["step_id"], {})
        reasons[row["why"] or ""] = reasons.get(row["why"] or "", 0) + row["n"]
    return out


def deferred_rows(
    plan: Plan, deferred: dict[int, dict[str, int]]
) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """``(step summary, contacts deferred, [(reason, contacts)…])`` in the plan's order,
    for the steps that have deferred contacts. Pure."""
    return [
        (
            plan.steps[step_id].summary,
            sum(deferred[step_id].values()),
            sorted(deferred[step_id].items(), key=lambda item: (-item[1], item[0])),
        )
        for step_id in plan.order
        if deferred.get(step_id)
    ]
