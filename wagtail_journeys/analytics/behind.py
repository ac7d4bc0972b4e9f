"""The contacts behind a number of a report, read from the raw rows (``Message``,
``StepRun``, ``Enrollment``, ``Event``) for one click from a figure to the people.

Each metric is a filter on one indexed table; the result is a lazy ``Contact`` queryset
(``pk IN (subquery)``: one query however many rows, paginated by the caller). The raw
rows may be purged sooner than the rollups (``STEP_RUN_RETENTION_DAYS``): then the
contacts behind an old number are fewer than the number.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ..exceptions import InvalidInput
from .figures import Period

#: metric -> what the list of contacts shows
METRICS: dict[str, str] = {
    "sent": _("Sent"),
    "delivered": _("Delivered"),
    "opened": _("Opened"),
    "clicked": _("Clicked"),
    "bounced": _("Bounced"),
    "complained": _("Complained"),
    "unsubscribed": _("Unsubscribed"),
    "converted": _("Converted"),
    "entered": _("Entered"),
    "waiting": _("Waiting now"),
    "passed": _("Passed"),
    "exited": _("Exited"),
}

#: Message metrics: the column whose time falls in the period.
_MESSAGE_STAMPS = {
    "sent": "sent_at",
    "delivered": "delivered_at",
    "opened": "opened_at",
    "clicked": "clicked_at",
    "bounced": "bounced_at",
    "complained": "complained_at",
    "unsubscribed": "unsubscribed_at",
    "converted": "converted_at",
}
#: StepRun outcomes per step metric (as the reports count them).
_RUN_OUTCOMES = {
    "entered": ("done", "sent", "queued", "skipped", "held", "failed", "exited", "completed"),
    "passed": ("done", "sent", "queued"),
    "exited": ("exited", "completed"),
}


def contacts_behind(
    metric: str,
    *,
    period: Period,
    scenario_id: int | None = None,
    step_id: int | None = None,
    email_id: int | None = None,
    branch_id: int | None = None,
    link: int | None = None,
    variant: str | None = None,
) -> QuerySet:
    """The contacts behind ``metric`` of a report over ``period``, for a scenario, a step
    of it (and a branch of that step), an email (and one of its links, or one segment
    variant). ``InvalidInput`` for an unknown metric.

    Mail metrics (sent … converted) read ``Message`` (with ``link``: the human clicks on
    that link, from ``email_clicked`` events), or, for ``converted`` of a scenario or a
    split arm without an email, its ``converted`` step runs. ``entered`` without a step
    reads the ``Enrollment`` rows started in the period (the scenario's entered record);
    on a step, ``entered``, ``passed`` and ``exited`` read ``StepRun`` (``entered``: runs
    there plus whoever is on it now); ``waiting`` reads the active ``Enrollment`` rows
    now, whatever the period."""
    from ..models import Contact

    if metric not in METRICS:
        raise InvalidInput(
            _("Unknown metric %(metric)s.") % {"metric": repr(metric)[:60]}, field="metric"
        )
    start, end = period.bounds()
    if metric == "waiting":
        ids = _waiting(scenario_id, step_id)
    elif metric == "clicked" and link is not None:
        ids = _link_clickers(start, end, email_id, scenario_id, step_id, link, variant)
    elif metric in _MESSAGE_STAMPS and not (
        metric == "converted" and email_id is None and (step_id is None or branch_id)
    ):
        ids = _messages(metric, start, end, email_id, scenario_id, step_id, variant)
    elif metric == "entered" and not step_id:
        ids = _entered(start, end, scenario_id)
    else:
        ids = _runs(metric, start, end, scenario_id, step_id, branch_id)
        if metric == "entered":
            return Contact.objects.filter(Q(pk__in=ids) | Q(pk__in=_waiting(scenario_id, step_id)))
    return Contact.objects.filter(pk__in=ids)


def _variant_ids(variant: str) -> list[int]:
    try:
        return sorted(int(part) for part in variant.split(",") if part.strip())
    except ValueError:
        raise InvalidInput(
            _("A variant is a comma-separated list of segment ids."), field="variant"
        ) from None


def _messages(metric, start, end, email_id, scenario_id, step_id, variant) -> QuerySet:
    from ..models import Message, MessageStatus

    stamp = _MESSAGE_STAMPS[metric]
    # A message counted in the period was created before its end: the indexes on
    # (email_page, created_at) and (scenario_id, created_at) bound the walk.
    rows = Message.objects.filter(
        **{f"{stamp}__gte": start, f"{stamp}__lt": end}, created_at__lt=end
    )
    if metric == "sent":
        rows = rows.filter(status__in=MessageStatus.handed())
    if email_id is not None:
        rows = rows.filter(email_page_id=email_id)
    if scenario_id is not None:
        rows = rows.filter(scenario_id=scenario_id or None)
    if step_id is not None:
        rows = rows.filter(step_id=step_id or None)
    if variant is not None:
        rows = rows.filter(variant=_variant_ids(variant))
    return rows.values("contact_id")


def _link_clickers(start, end, email_id, scenario_id, step_id, link, variant) -> QuerySet:
    from ..models import Event

    rows = Event.objects.filter(
        name="email_clicked",
        occurred_at__gte=start,
        occurred_at__lt=end,
        properties__link=link,
        properties__machine=False,
    )
    if email_id is not None:
        rows = rows.filter(properties__email_page_id=email_id)
    if scenario_id is not None:
        rows = rows.filter(properties__scenario_id=scenario_id or None)
    if step_id is not None:
        rows = rows.filter(properties__step_id=step_id or None)
    if variant is not None:
        rows = rows.filter(properties__variant=_variant_ids(variant))
    return rows.values("contact_id")


def _runs(metric, start, end, scenario_id, step_id, branch_id) -> QuerySet:
    from ..models import StepRun

    rows = StepRun.objects.filter(ran_at__gte=start, ran_at__lt=end)
    if scenario_id is not None:
        rows = rows.filter(scenario_id=scenario_id)
    if step_id:
        rows = rows.filter(step_id=step_id)
        outcomes = ("converted",) if metric == "converted" else _RUN_OUTCOMES[metric]
    elif metric == "converted":  # the scenario's own runs
        rows, outcomes = rows.filter(step_id__isnull=True), (metric,)
    else:  # at any step: the scenario's exits count only "exited"
        outcomes = ("exited",) if metric == "exited" else _RUN_OUTCOMES[metric]
    if branch_id:
        rows = rows.filter(branch_id=branch_id)
    return rows.filter(outcome__in=outcomes).values("contact_id")


def _entered(start, end, scenario_id) -> QuerySet:
    """Who entered the scenario in the period: its enrolments started then."""
    from ..models import Enrollment

    rows = Enrollment.objects.filter(started_at__gte=start, started_at__lt=end)
    if scenario_id is not None:
        rows = rows.filter(scenario_id=scenario_id)
    return rows.values("contact_id")


def _waiting(scenario_id, step_id) -> QuerySet:
    from ..models import Enrollment

    rows = Enrollment.objects.filter(status="active")
    if scenario_id is not None:
        rows = rows.filter(scenario_id=scenario_id)
    if step_id:
        rows = rows.filter(step_id=step_id)
    return rows.values("contact_id")
