"""``DatabaseEnv``: the real effects behind the pure step logic, collected per batch."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from .. import conf
from ..models import StepRun
from ..scenarios.plan import Step, _thaw
from . import timing
from .bulk import insert_rows
from .values import issue_promo_code, set_value


class DatabaseEnv:
    """Effects for one batch: StepRuns are collected and written in one bulk insert by
    ``flush``; sends go through ``wagtail_journeys.delivery`` with their unique key."""

    def __init__(self, now: dt.datetime):
        self.now = now
        quiet = conf.get("QUIET_HOURS")
        self.quiet_hours = (
            (timing.parse_hhmm(quiet[0]), timing.parse_hhmm(quiet[1])) if quiet else None
        )
        cap = conf.get("FREQUENCY_CAP")
        self.cap = (cap["emails"], cap["days"]) if cap else None
        self.max_depth = conf.get("LOOP_DEPTH")
        self.runs: list[StepRun] = []
        self._sends: dict[int, list[dt.datetime]] = defaultdict(list)
        self._rules: dict[int, tuple[Any, set[int]]] = {}
        self.batch_ids: set[int] = set()
        self.email_pages: dict[int, Any] = {}  # id -> live page or None, for delivery too
        self.changed_contexts: list[Any] = []  # enrolments given a value (see update_contact)
        self._changed_ids: set[int] = set()
        self._off_topic: dict[int, dict[int, str]] = {}  # topic id -> refused contacts

    def context_changed(self, enrollment: Any) -> None:
        """Have ``advance_batch`` save this enrolment's context (once however often)."""
        if enrollment.pk not in self._changed_ids:
            self._changed_ids.add(enrollment.pk)
            self.changed_contexts.append(enrollment)

    def preload(self, contact_ids: list[int]) -> None:
        """Remember the batch's contacts; read their recent marketing sends in one query."""
        self.batch_ids = set(contact_ids)
        self._off_topic = {}
        if not self.cap:
            return
        since = self.now - dt.timedelta(days=self.cap[1])
        rows = StepRun.objects.filter(
            contact_id__in=contact_ids, marketing_send=True, ran_at__gte=since
        ).values_list("contact_id", "ran_at")
        for contact_id, ran_at in rows:
            self._sends[contact_id].append(ran_at)

    def timezone(self, contact: Any) -> zoneinfo.ZoneInfo:
        return contact.get_timezone()

    def matches(self, contact: Any, rules: Any, match: str) -> bool:
        """One query per branch per batch: the batch's contacts matching the rules."""
        from ..models import Contact
        from ..segments import compile_rules

        cached = self._rules.get(id(rules))
        if cached is None or cached[0] is not rules:
            q = compile_rules(_thaw(rules), match, now=self.now)
            inside = set(
                Contact.objects.filter(q, pk__in=self.batch_ids).values_list("pk", flat=True)
            )
            cached = (rules, inside)
            self._rules[id(rules)] = cached
        if contact.id not in self.batch_ids:
            from ..segments import matches

            return matches(contact, _thaw(rules), match, now=self.now)
        return contact.id in cached[1]

    def recent_sends(self, contact: Any, since: dt.datetime) -> list[dt.datetime]:
        return [t for t in self._sends[contact.id] if t >= since]

    def may_email(
        self, contact: Any, transactional: bool, email_id: int | None = None
    ) -> str | None:
        """Why the contact may not get the email: its status, or (marketing sends) the
        email's subscription topic, read for the whole batch in one query per topic."""
        status = contact.email_status
        if status in ("bounced", "complained") or (not transactional and status != "subscribed"):
            return f"contact is {status}"
        if transactional or email_id is None:
            return None
        page = self._email(email_id)
        topic_id = getattr(page, "topic_id", None)
        if not topic_id:
            return None
        if topic_id not in self._off_topic:
            from ..topics import refusals

            self._off_topic[topic_id] = refusals(page.topic, self.batch_ids | {contact.id})
        refused = self._off_topic[topic_id]
        if contact.id not in self.batch_ids and contact.id not in refused:
            from ..topics import refusals

            refused.update(refusals(page.topic, [contact.id]))
        return refused.get(contact.id)

    def _email(self, email_id: int) -> Any:
        if email_id not in self.email_pages:
            from wagtail.models import Page

            page = Page.objects.filter(pk=email_id, live=True).specific().first()
            self.email_pages[email_id] = page
        return self.email_pages[email_id]

    def send_email(self, enrollment: Any, step: Step, contact: Any, key: str) -> str | None:
        """Nothing is sent here: ``log`` records the send ``queued`` with its key, and
        ``engine.outbox.deliver`` sends it after the batch commits."""
        if self._email(step.config["email_id"]) is None:
            return gettext_noop("the email is not live")
        if not step.config["transactional"]:
            self._sends[contact.id].append(self.now)
        return None

    def send_sms(self, enrollment: Any, step: Step, contact: Any, key: str) -> str | None:
        from ..sms import send_sms

        return send_sms(contact, step.config["text"], key=key)

    def notify(self, enrollment: Any, step: Step, contact: Any, key: str) -> None:
        """Nothing here: the notification goes out after the batch commits (``log``
        records it ``queued``; see ``engine.outbox.notify``), so a slow or failing
        webhook never holds or rolls back the batch."""

    def update_contact(self, enrollment: Any, step: Step, contact: Any, key: str) -> None:
        """Tags, attributes, subscription; a promo code (unique, once per ``key``) goes to
        the contact's ``promo_code`` attribute and to the enrolment's values, which its
        later sends are filled with (``advance_batch`` saves the enrolment's context)."""
        c = step.config
        if c["add_tags"]:
            contact.tags.add(*c["add_tags"])
        if c["remove_tags"]:
            contact.tags.remove(*c["remove_tags"])
        fields = []
        if c["attributes"] or c["promo_code_prefix"]:
            contact.attributes = {**(contact.attributes or {}), **_thaw(c["attributes"])}
            if c["promo_code_prefix"]:
                code = issue_promo_code(
                    c["promo_code_prefix"],
                    key=key,
                    contact_id=contact.id,
                    enrollment_id=enrollment.id,
                    step_id=step.id,
                )
                contact.attributes["promo_code"] = code
                set_value(enrollment, "promo_code", code)
                self.context_changed(enrollment)
            fields.append("attributes")
        if c["email_status"] and c["email_status"] != contact.email_status:
            contact.email_status = c["email_status"]
            fields.append("email_status")
        if fields:
            contact.save(update_fields=[*fields, "updated_at"])

    def start_scenario(self, scenario_id: int, contact: Any, depth: int) -> str | None:
        from .enroll import enroll

        if not enroll(scenario_id, [contact.id], now=self.now, depth=depth):
            return gettext_noop("not eligible to enter that scenario")
        return None

    def log(
        self,
        enrollment: Any,
        step: Step | None,
        outcome: str,
        reason: str = "",
        marketing_send: bool = False,
        branch_id: int = 0,
    ) -> None:
        """Collect a StepRun (``flush`` writes them). A split's arm is also remembered on
        the enrolment (``context["arms"]``): a conversion later is counted for each arm it
        took (``engine.exits``), whatever the retention of step runs. The end of the
        scenario reached right after a step ran in this move is written on that step's
        run (``ends``), not as a row of its own (see ``StepRun``)."""
        if step is None and outcome == "completed" and self._fold_end(enrollment, outcome):
            return
        if branch_id and step is not None and step.kind == "split":
            arms = dict(enrollment.context.get("arms") or {})
            arms[str(step.id)] = branch_id
            enrollment.context = {**enrollment.context, "arms": arms}
            self.context_changed(enrollment)
        key = ""
        if step is not None and (
            (outcome == "sent" and step.kind == "send_email")
            or (outcome == "done" and step.kind == "notify")
        ):
            outcome, key = "queued", f"enr:{enrollment.id}:{step.id}:{enrollment.iteration}"
        self.runs.append(
            StepRun(
                enrollment_id=enrollment.id,
                contact_id=enrollment.contact_id,
                scenario_id=enrollment.scenario_id,
                step_id=step.id if step else None,
                kind=step.kind if step else "",
                iteration=enrollment.iteration,
                outcome=outcome,
                reason=reason[:200],
                marketing_send=marketing_send,
                ran_at=self.now,
                key=key,
                branch_id=branch_id,
            )
        )

    def _fold_end(self, enrollment: Any, outcome: str) -> bool:
        """Mark the run this move just collected for ``enrollment`` as ending it; False
        when it has none (the end then gets a run of its own). A batch moves each
        enrolment once, so a run of it collected in this batch is of this move."""
        last = self.runs[-1] if self.runs else None
        if last is None or last.enrollment_id != enrollment.id or last.ends:
            return False
        last.ends = outcome
        return True

    def flush(self) -> None:
        """Write the batch's StepRuns, stamped with the real time of the write (what the
        rollup's settle rule reads), just before the batch commits."""
        written = timezone.now()
        for run in self.runs:
            run.recorded_at = written
        insert_rows(self.runs, ids=True)  # the queued ones are settled by id
        self.runs = []
