"""Delivering the sends a batch queued, after its transaction committed.

Exactly once: the enrolment moves on and the ``queued`` StepRun (with the send's unique
key) commit together; delivery then goes through ``send_email(key=…)``, which records one
``Message`` per key and never sends a key twice. A worker killed after the commit leaves
``queued`` runs that ``deliver_stale`` picks up: a key whose Message exists is not sent
again; one without a Message is sent now.
"""

from __future__ import annotations

import datetime as dt

from django.core.mail import get_connection
from django.db import transaction

from .. import conf
from ..models import Contact, StepRun
from . import clock


def deliver(runs: list[StepRun], contacts: dict[int, Contact]) -> int:
    """Send the queued runs (one mail connection for all); mark each sent or skipped.
    Returns the number of emails handed to the backend."""
    from wagtail.models import Page

    from ..delivery import send_email
    from ..exceptions import Suppressed

    if not runs:
        return 0
    plans_steps = {}
    from ..scenarios.loading import current_plan

    pages = {}
    connection = get_connection()
    connection.open()
    sent = 0
    try:
        for run in runs:
            plan = plans_steps.get(run.scenario_id) or current_plan(run.scenario_id)
            plans_steps[run.scenario_id] = plan
            step = plan.steps.get(run.step_id) if plan else None
            email_id = step.config["email_id"] if step else None
            if email_id not in pages:
                pages[email_id] = (
                    Page.objects.filter(pk=email_id, live=True).specific().first()
                    if email_id
                    else None
                )
            page, contact = pages[email_id], contacts.get(run.contact_id)
            if page is None or contact is None:
                run.outcome, run.reason = "skipped", "the email is not live"
                run.marketing_send = False
                continue
            try:
                send_email(
                    page,
                    contact,
                    key=run.key,
                    transactional=step.config["transactional"],
                    connection=connection,
                    enrollment_id=run.enrollment_id,
                    step_id=run.step_id,
                )
            except Suppressed as exc:
                run.outcome, run.reason, run.marketing_send = "skipped", str(exc)[:200], False
                continue
            run.outcome = "sent"
            sent += 1
    finally:
        connection.close()
        with transaction.atomic():
            StepRun.objects.bulk_update(runs, ["outcome", "reason", "marketing_send"])
    return sent


def deliver_stale(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Finish sends left ``queued`` by a worker that died after its batch committed."""
    now = now or clock.now()
    runs = list(
        StepRun.objects.filter(
            outcome="queued", ran_at__lte=now - dt.timedelta(seconds=conf.get("STALE_SEND_SECONDS"))
        ).order_by("id")[:limit]
    )
    contacts = Contact.objects.in_bulk({r.contact_id for r in runs})
    return deliver(runs, contacts)
