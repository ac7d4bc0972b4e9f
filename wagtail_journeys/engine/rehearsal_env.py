"""The ``steps.Env`` of a rehearsal and the in-memory rows it works on: enrolments
(``Visit``), contacts (``Person``) and events of the log (``LoggedEvent``). It decides as
``engine.env.DatabaseEnv`` does and writes nothing (see ``engine.rehearsal``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from .. import conf
from ..exceptions import InvalidInput
from ..models import Contact, StepRun
from ..scenarios.plan import Step, _thaw
from . import timing
from .figures import Tally


@dataclass(eq=False, slots=True)
class Visit:
    """An enrolment kept in memory, with the fields ``steps.run`` reads and writes."""

    id: int
    contact_id: int
    scenario_id: int
    step_id: int | None
    due_at: dt.datetime | None
    started_at: dt.datetime
    start: tuple[int, dt.datetime]  # as ``enroll.enrollment_starts`` gives it
    context: dict = field(default_factory=dict)
    depth: int = 0
    waiting: bool = False
    wait_event: str = ""
    outcome: str = ""
    iteration: int = 0
    status: str = "active"
    ended_at: dt.datetime | None = None
    end_reason: str = ""
    priority: bool = False
    seen: tuple | None = None
    arms: list = field(default_factory=list)  # (step, branch) taken, for conversions

    @property
    def pk(self) -> int:
        return self.id


class Person:
    """What the steps read of a contact, kept for the whole rehearsal (a few dozen bytes
    each): its timezone, email status (an Update step's new one too), phone, SMS opt-in."""

    __slots__ = ("id", "timezone", "email_status", "phone", "sms_opt_in")
    FIELDS = __slots__
    get_timezone = Contact.get_timezone

    def __init__(self, *values: Any):
        for name, value in zip(self.FIELDS, values, strict=True):
            setattr(self, name, value)


@dataclass(slots=True)
class LoggedEvent:
    """The columns of an event the matching reads (``pk``, ``occurred_at``, ``source``…)."""

    pk: int
    contact_id: int
    name: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    source: str
    properties: dict


class RehearsalTooLarge(InvalidInput):
    """More events to read in the period than the caller allows (``max_events``)."""

    def __init__(self, events: int, limit: int):
        super().__init__(
            f"{events:,} events to read in this period, more than {limit:,}.", field="start"
        )
        self.events, self.limit = events, limit


class RehearsalEnv:
    """The ``steps.Env`` of a rehearsal: decides as ``DatabaseEnv`` does (same settings,
    same compiled rules, the cap counted over the rehearsal's own sends and the real sends
    of other scenarios), writes nothing, and tells a ``Tally`` what happened."""

    def __init__(self, tally: Tally, scenario_id: int):
        quiet = conf.get("QUIET_HOURS")
        self.quiet_hours = (
            (timing.parse_hhmm(quiet[0]), timing.parse_hhmm(quiet[1])) if quiet else None
        )
        cap = conf.get("FREQUENCY_CAP")
        self.cap = (cap["emails"], cap["days"]) if cap else None
        self.max_depth = conf.get("LOOP_DEPTH")
        self.tally = tally
        self.scenario_id = scenario_id
        self.now: dt.datetime | None = None
        self.batch_ids: set[int] = set()
        #: (rules, match, moment) -> (contacts asked, contacts inside)
        self._verdicts: dict[tuple[int, str, dt.datetime], tuple[Any, set[int], set[int]]] = {}
        self._streams: dict[int, tuple[Any, Any]] = {}
        #: The contacts due at the next passes after a moment, by pass (``Simulation``).
        self.upcoming: Callable[[dt.datetime], dict[dt.datetime, set[int]]] = lambda now: {}
        self._other_sends: dict[int, list[dt.datetime]] | None = None
        self.sends: dict[int, list[dt.datetime]] = defaultdict(list)  # the rehearsal's own
        self._email_live: dict[int, bool] = {}
        #: email id -> its topic (or None); topic id -> (contacts asked, refused ones)
        self._topics: dict[int, Any] = {}
        self._off_topic: dict[int, tuple[set[int], dict[int, str]]] = {}
        self.others_send = True  # do other scenarios' sends count? (see ``Simulation``)

    def begin(self, now: dt.datetime, contact_ids: set[int]) -> None:
        """A new batch at ``now``, of these contacts: sends are read again; the rules'
        verdicts of earlier passes are dropped."""
        if now != self.now:
            self._verdicts = {k: v for k, v in self._verdicts.items() if k[2] >= now}
        self.now, self.batch_ids = now, contact_ids
        self._other_sends = None

    def timezone(self, contact: Any) -> zoneinfo.ZoneInfo:
        return contact.get_timezone()

    def matches(self, contact: Any, rules: Any, match: str) -> bool:
        """Whether the contact matches ``rules`` at the simulated ``now`` (an event rule
        sees the log up to then, not what came after). The log does not change while it
        is rehearsed, so a verdict does not depend on when it is read: the first contact
        asked about at a pass is asked about with the rest of its batch and with those
        due at the next passes (``upcoming``), each at its own pass's time, in one query;
        a pass whose contacts were all asked about already makes none."""
        known = self._verdicts.get((id(rules), match, self.now))
        if known is None or known[0] is not rules or contact.id not in known[1]:
            self._ask(rules, match, contact.id)
            known = self._verdicts[(id(rules), match, self.now)]
        return contact.id in known[2]

    def _ask(self, rules: Any, match: str, contact_id: int) -> None:
        from django.db.models import IntegerField, Value

        from ..segments import compile_rules
        from ..segments.compiler import as_stream

        stream = self._streams.get(id(rules))
        if stream is None or stream[0] is not rules:  # parsed once, compiled per pass
            stream = self._streams[id(rules)] = (rules, as_stream(_thaw(rules)))
        wanted = {self.now: self.batch_ids | {contact_id}}
        for moment, ids in self.upcoming(self.now).items():
            wanted.setdefault(moment, set()).update(ids)
        queries, inside = [], []
        for moment, ids in wanted.items():
            key = (id(rules), match, moment)
            known = self._verdicts.get(key)
            if known is None or known[0] is not rules:
                known = self._verdicts[key] = (rules, set(), set())
            ids = ids - known[1]
            if not ids:
                continue
            known[1].update(ids)
            q = compile_rules(stream[1], match, now=moment)
            rows = Contact.objects.filter(q, pk__in=ids).order_by()
            at = Value(len(inside), output_field=IntegerField())
            queries.append(rows.annotate(at=at).values_list("pk", "at"))
            inside.append(known[2])
        if queries:
            rows = queries[0].union(*queries[1:], all=True) if len(queries) > 1 else queries[0]
            for pk, index in rows:
                inside[index].add(pk)

    def recent_sends(self, contact: Any, since: dt.datetime) -> list[dt.datetime]:
        """The rehearsal's own sends to the contact, and the real sends of the other
        scenarios up to the simulated ``now`` (one query per batch, only if any exist)."""
        if self._other_sends is None:
            self._other_sends = defaultdict(list)
            if self.others_send:
                rows = (
                    StepRun.objects.filter(
                        contact_id__in=self.batch_ids,
                        marketing_send=True,
                        ran_at__gte=self.now - dt.timedelta(days=self.cap[1]),
                        ran_at__lte=self.now,
                    )
                    .exclude(scenario_id=self.scenario_id)
                    .values_list("contact_id", "ran_at")
                )
                for contact_id, ran_at in rows:
                    self._other_sends[contact_id].append(ran_at)
        own = self.sends.get(contact.id, [])
        if own and own[0] < since:  # keep only the cap's window
            own[:] = [t for t in own if t >= since]
        return [t for t in self._other_sends.get(contact.id, []) if t >= since] + [
            t for t in own if t >= since
        ]

    def may_email(
        self, contact: Any, transactional: bool, email_id: int | None = None
    ) -> str | None:
        """As ``DatabaseEnv.may_email``; the contacts' topic choices are read as they are
        now (one query per topic and batch)."""
        status = contact.email_status
        if status in ("bounced", "complained") or (not transactional and status != "subscribed"):
            return f"contact is {status}"
        if transactional or email_id is None:
            return None
        if email_id not in self._topics:
            from ..models import EmailPage

            page = EmailPage.objects.filter(pk=email_id).select_related("topic").first()
            self._topics[email_id] = page.topic if page else None
        topic = self._topics[email_id]
        if topic is None:
            return None
        asked, refused = self._off_topic.setdefault(topic.pk, (set(), {}))
        if contact.id not in asked:
            from ..topics import refusals

            ids = (self.batch_ids | {contact.id}) - asked
            refused.update(refusals(topic, ids))
            asked.update(ids)
        return refused.get(contact.id)

    def send_email(self, enrollment: Any, step: Step, contact: Any, key: str) -> str | None:
        email_id = step.config["email_id"]
        if email_id not in self._email_live:
            from wagtail.models import Page

            self._email_live[email_id] = Page.objects.filter(pk=email_id, live=True).exists()
        if not self._email_live[email_id]:
            return gettext_noop("the email is not live")
        if not step.config["transactional"]:
            self.sends[contact.id].append(self.now)
        return None

    def send_sms(self, enrollment: Any, step: Step, contact: Any, key: str) -> str | None:
        """``sms.send_sms``'s refusals, without sending."""
        if not contact.sms_opt_in:
            return gettext_noop("no SMS opt-in")
        return None if contact.phone else "no phone number"

    def notify(self, enrollment: Any, step: Step, contact: Any, key: str) -> None:
        """Nothing is posted: the tally counts the notification."""

    def update_contact(self, enrollment: Any, step: Step, contact: Any, key: str) -> None:
        """Nothing is written; a new email status is kept in memory, so the rehearsal's
        later sends to the contact see it."""
        if step.config["email_status"]:
            contact.email_status = step.config["email_status"]

    def start_scenario(self, scenario_id: int, contact: Any, depth: int) -> str | None:
        """Counted as started; the other scenario is not rehearsed."""
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
        if outcome in ("completed", "exited"):
            self.tally.ended(outcome, enrollment)
            if step is not None:
                self.tally.step_run(enrollment, step, outcome, reason, branch_id, self.now)
            return
        self.tally.step_run(enrollment, step, outcome, reason, branch_id, self.now)
