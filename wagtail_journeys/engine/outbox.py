"""Delivering the sends and notifications a batch queued, after its transaction committed.

Exactly once: the enrolment moves on and the ``queued`` StepRun (with the send's unique
key) commit together; delivery then goes through ``send_emails(keys=…)``, one call per
email of the batch, which records one ``Message`` per key and never sends a key twice.
A run stays ``queued`` until its message is settled (sent, suppressed, failed or
uncertain); a ``deferred`` message (the mail server could not take it for now) keeps its
run queued until it is retried. A worker killed after the commit leaves ``queued`` runs
that ``deliver_stale`` picks up: a key whose Message was sent is not sent again; one
without a Message, or whose Message was never handed to the backend, is sent now.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.translation import gettext_noop

from .. import conf
from ..delivery import stale_after
from ..models import Contact, Enrollment, Message, MessageStatus, StepRun
from . import clock
from .bulk import update_by_values
from .values import send_context

WEBHOOK_TIMEOUT = 5  # seconds
OUTCOME_FIELDS = ("outcome", "reason", "marketing_send")

#: Message status -> (StepRun outcome, still counts as a marketing send). What an ESP
#: tells after the send (delivered, bounced…) is still a message that was sent.
OUTCOMES = {
    **dict.fromkeys(MessageStatus.handed(), ("sent", True)),
    MessageStatus.SUPPRESSED: ("skipped", False),
    MessageStatus.FAILED: ("failed", False),
    MessageStatus.UNCERTAIN: ("uncertain", True),
    MessageStatus.HELD: ("held", False),
}


def deliver(
    runs: list[StepRun],
    contacts: dict[int, Contact],
    pages: dict[int, Any] | None = None,
    contexts: dict[int, Any] | None = None,
) -> int:
    """Carry out the queued runs of a committed batch: notifications, then emails.
    ``pages`` are email pages the batch already read (id -> live page or ``None``),
    ``contexts`` the enrolments' contexts it holds (id -> context; the others are read
    in one query). Returns the number of emails handed to the backend."""
    from ..scenarios.loading import current_plan

    if not runs:
        return 0
    plans = {sid: current_plan(sid) for sid in {r.scenario_id for r in runs}}
    steps = {
        r.pk: plans[r.scenario_id].steps.get(r.step_id) if plans[r.scenario_id] else None
        for r in runs
    }
    notify([r for r in runs if r.kind == "notify"], contacts, steps)
    emails = [r for r in runs if r.kind != "notify"]
    return send(emails, contacts, steps, dict(pages or {}), dict(contexts or {}))


def send(
    runs: list[StepRun],
    contacts: dict[int, Contact],
    steps: dict,
    pages: dict,
    contexts: dict[int, Any] | None = None,
) -> int:
    """Send the queued email runs, one ``send_emails`` per email on one mail connection,
    each filled with its enrolment's values (``engine.values.send_context``); mark each
    run by its message's fate. Returns the number handed to the backend."""
    from wagtail.models import Page

    from ..delivery import send_emails

    if not runs:
        return 0
    contexts = dict(contexts or {})
    unread = {r.enrollment_id for r in runs} - set(contexts)
    if unread:
        contexts.update(Enrollment.objects.filter(pk__in=unread).values_list("pk", "context"))
    groups: dict[tuple[int, bool], list[StepRun]] = {}
    for run in runs:
        step = steps[run.pk]
        email_id = step.config["email_id"] if step else None
        if email_id and email_id not in pages:
            pages[email_id] = Page.objects.filter(pk=email_id, live=True).specific().first()
        if pages.get(email_id) is None or run.contact_id not in contacts:
            run.outcome, run.reason, run.marketing_send = (
                "skipped",
                gettext_noop("the email is not live"),
                False,
            )
            continue
        groups.setdefault((email_id, bool(step.config["transactional"])), []).append(run)
    connection = get_connection()
    sent = 0
    try:
        # One connection for the batch; one that cannot be opened is tried again, and
        # recorded on its messages (deferred), by each send_emails.
        with contextlib.suppress(Exception):
            connection.open()
        for (email_id, transactional), group in groups.items():
            messages = send_emails(
                pages[email_id],
                [contacts[r.contact_id] for r in group],
                keys=[r.key for r in group],
                contexts=[send_context(contexts.get(r.enrollment_id)) for r in group],
                transactional=transactional,
                connection=connection,
                enrollment_ids=[r.enrollment_id for r in group],
                step_ids=[r.step_id for r in group],
                scenario_ids=[r.scenario_id for r in group],
            )
            sent += sum(m.status == MessageStatus.SENT for m in messages)
            settle([r.pk for r in group])
    finally:
        # A mail server that could not take a message leaves it deferred and its run
        # queued (``settle``): ``deliver_stale`` tries it again when it is due. An error
        # of ours raised here leaves the rest queued for the same pass.
        connection.close()
        update_by_values([r for r in runs if r.outcome != "queued"], OUTCOME_FIELDS)
    return sent


def settle(run_ids: list[int]) -> int:
    """Give each queued email run its message's fate, read in the same UPDATE: two
    workers settling the same run (one took over a message the other was still sending)
    end on the message's final status whatever their order. Runs whose message is still
    ``queued`` or ``sending`` are left queued. Returns the runs settled."""
    if not run_ids:
        return 0
    message = Message.objects.filter(key=OuterRef("key"))

    def having(*statuses: str) -> Exists:
        return Exists(message.filter(status__in=statuses))

    return (
        StepRun.objects.filter(pk__in=run_ids)
        .filter(having(*OUTCOMES))
        .update(
            outcome=Case(
                *[When(having(status), then=Value(o)) for status, (o, _) in OUTCOMES.items()]
            ),
            reason=Case(
                When(having(*MessageStatus.handed()), then=Value("")),
                default=Left(Subquery(message.values("error")[:1]), 200),
            ),
            marketing_send=Case(
                *[
                    When(having(status), then=Value(False))
                    for status, (_, counts) in OUTCOMES.items()
                    if not counts
                ],
                default=F("marketing_send"),
            ),
        )
    )


def sign_webhook(body: bytes) -> str:
    """``sha256=<hex>`` HMAC of a webhook body with a key derived from ``SECRET_KEY``."""
    key = hashlib.sha256(f"journeys-webhook:{settings.SECRET_KEY}".encode()).digest()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def notify(runs: list[StepRun], contacts: dict[int, Contact], steps: dict) -> None:
    """Email the team and/or POST the signed webhook of each queued Notify run; the run
    becomes ``done``, or ``failed`` with the reason. At least once: a worker killed after
    the POST and before marking it posts again, with the same ``key`` to deduplicate."""
    try:
        for run in runs:
            step, contact = steps[run.pk], contacts.get(run.contact_id)
            if step is None or contact is None:
                run.outcome, run.reason = "skipped", gettext_noop("the step or the contact is gone")
                continue
            try:
                _notify(run, step, contact)
            except Exception as exc:  # noqa: BLE001 (a receiver's failure is logged on the run)
                run.outcome, run.reason = "failed", f"{type(exc).__name__}: {exc}"[:200]
            else:
                run.outcome, run.reason = "done", ""
    finally:
        update_by_values([r for r in runs if r.outcome != "queued"], OUTCOME_FIELDS)


def _notify(run: StepRun, step, contact: Contact) -> None:
    c = step.config
    if c["email"]:
        text = f"{c['message']}\n\nContact: {contact.email} (scenario {run.scenario_id})"
        send_mail(f"[journeys] {step.summary}", text, None, [c["email"]])
    if not c["url"]:
        return
    if not c["url"].startswith(("https://", "http://")):
        raise ValueError("webhook URLs must be http(s)")
    body = json.dumps(
        {
            "key": run.key,
            "contact": {"id": contact.id, "email": contact.email},
            "scenario_id": run.scenario_id,
            "step_id": step.id,
            "message": c["message"],
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
        c["url"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Journeys-Key": run.key,
            "X-Journeys-Signature": sign_webhook(body),
        },
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT):  # noqa: S310
        pass


def deliver_stale(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Finish sends left ``queued`` by a worker that died after its batch committed (its
    runs older than ``STALE_SEND_SECONDS``), skipping those whose message another worker
    is still delivering, and retry those whose message is ``deferred`` and due (a mail
    server that could not take it before). Each message is claimed by one worker only
    (``delivery._claim``), so a run picked by two passes is still sent once."""
    now = now or clock.now()
    real_now = timezone.now()  # the clock send_emails uses
    in_flight = Message.objects.filter(key=OuterRef("key")).filter(
        Q(
            status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
            created_at__gte=real_now - stale_after(),
        )
        | Q(status=MessageStatus.DEFERRED, next_attempt_at__gt=real_now)
    )
    due = Message.objects.filter(
        key=OuterRef("key"), status=MessageStatus.DEFERRED, next_attempt_at__lte=real_now
    )
    stale = now - dt.timedelta(seconds=conf.get("STALE_SEND_SECONDS"))
    runs = list(
        StepRun.objects.filter(outcome="queued")
        .filter(Q(ran_at__lte=stale) | Exists(due))
        .filter(~Exists(in_flight))
        .order_by("id")[:limit]
    )
    contacts = Contact.objects.in_bulk({r.contact_id for r in runs})
    return deliver(runs, contacts)
