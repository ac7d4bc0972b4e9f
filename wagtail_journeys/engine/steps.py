"""What each step does to an enrolment: pure logic over a Plan.

``run`` moves one enrolment through its Plan until it has to wait or it ends. Every effect
(sending, updating the contact, logging) goes through the ``Env`` given to it, so this
module never touches the database and is tested with a fake Env.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from dataclasses import dataclass
from typing import Any, Protocol

from django.utils.translation import gettext_noop

from ..scenarios.plan import Plan, Step
from . import timing

MAX_MOVES = 100
#: The stored reason of an enrolment that reached the end of its scenario.
REACHED_END = gettext_noop("reached the end")


class Env(Protocol):
    """The effects the step logic needs; ``engine.env.DatabaseEnv`` is the real one."""

    quiet_hours: tuple[dt.time, dt.time] | None
    cap: tuple[int, int] | None  # (emails, days)
    max_depth: int

    def timezone(self, contact: Any) -> zoneinfo.ZoneInfo: ...
    def matches(self, contact: Any, rules: Any, match: str) -> bool: ...
    def recent_sends(self, contact: Any, since: dt.datetime) -> list[dt.datetime]: ...
    def may_email(
        self, contact: Any, transactional: bool, email_id: int | None = None
    ) -> str | None: ...
    def send_email(self, enrollment: Any, step: Step, contact: Any, key: str) -> str | None: ...
    def send_sms(self, enrollment: Any, step: Step, contact: Any, key: str) -> str | None: ...
    def notify(self, enrollment: Any, step: Step, contact: Any, key: str) -> None: ...
    def update_contact(self, enrollment: Any, step: Step, contact: Any, key: str) -> None: ...
    def start_scenario(self, scenario_id: int, contact: Any, depth: int) -> str | None: ...
    def log(
        self,
        enrollment: Any,
        step: Step | None,
        outcome: str,
        reason: str = "",
        marketing_send: bool = False,
        branch_id: int = 0,
    ) -> None: ...


@dataclass(frozen=True)
class Next:
    step_id: int | None


@dataclass(frozen=True)
class Park:
    until: dt.datetime
    event: str = ""


@dataclass(frozen=True)
class End:
    status: str
    reason: str


def send_key(enrollment: Any, step: Step) -> str:
    """The unique key of a send: ``(enrolment, step, iteration)``."""
    return f"enr:{enrollment.id}:{step.id}:{enrollment.iteration}"


def bucket(step_id: int, contact_id: int) -> int:
    """A stable number in 0..99 for a contact at a split (same contact, same branch)."""
    digest = hashlib.sha256(f"{step_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def _wait(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    c = step.config
    if enr.waiting:
        if enr.outcome or now >= enr.due_at:
            outcome = enr.outcome or "timeout"
            for branch in step.branches:
                if branch.config["outcome"] == outcome:
                    env.log(enr, step, "done", outcome, branch_id=branch.id)
                    return Next(branch.first)
            env.log(enr, step, "done", outcome)
            return Next(step.next)
        return Park(enr.due_at, enr.wait_event)
    tz = env.timezone(contact)
    mode = c["mode"]
    if mode in ("duration", "event"):
        due = timing.after(now, c["amount"], c["unit"], tz)
    elif mode == "until":
        due = dt.datetime.fromisoformat(c["until"]) if c["until"] else None
    else:
        try:
            due = timing.next_window(
                now, tz, c["weekdays"], timing.parse_hhmm(c["start"]), timing.parse_hhmm(c["end"])
            )
        except (ValueError, TypeError, AttributeError):
            due = None
    if due is None:
        return End("exited", gettext_noop("'%(step)s' can never end") % {"step": step.summary})
    if due <= now and mode != "event":
        return Next(step.next)
    return Park(due, c["event"] if mode == "event" else "")


def _frequency_cap(count: int, days: int) -> str:
    """The stored reason of a send the frequency cap holds back (``reasons.display``
    translates it)."""
    return gettext_noop("frequency cap (%(count)s in %(days)s days)") % {
        "count": count,
        "days": days,
    }


def _send(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    c = step.config
    transactional = bool(c.get("transactional"))
    if step.kind == "send_email" and not c["email_live"]:
        env.log(enr, step, "skipped", gettext_noop("the email is not live"))
        return Next(step.next)
    if not transactional:
        if env.quiet_hours:
            ends = timing.quiet_until(now, env.timezone(contact), *env.quiet_hours)
            if ends is not None:
                env.log(enr, step, "deferred", gettext_noop("quiet hours"))
                return Park(ends)
        if env.cap and step.kind == "send_email":
            count, days = env.cap
            sends = sorted(env.recent_sends(contact, now - dt.timedelta(days=days)))
            if len(sends) >= count:
                if c["on_cap"] == "skip":
                    env.log(enr, step, "skipped", _frequency_cap(count, days))
                    return Next(step.next)
                env.log(enr, step, "deferred", _frequency_cap(count, days))
                return Park(sends[len(sends) - count] + dt.timedelta(days=days, seconds=1))
    key = send_key(enr, step)
    if step.kind == "send_email":
        refused = env.may_email(contact, transactional, c.get("email_id")) or env.send_email(
            enr, step, contact, key
        )
    else:
        refused = env.send_sms(enr, step, contact, key)
    if refused:
        env.log(enr, step, "skipped", refused)
    else:
        env.log(enr, step, "sent", marketing_send=step.kind == "send_email" and not transactional)
    return Next(step.next)


def _condition(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    for branch in step.branches:
        c = branch.config
        if c["else"] or env.matches(contact, c["rules"], c["match"]):
            env.log(
                enr,
                step,
                "done",
                gettext_noop("branch: %(label)s") % {"label": branch.label},
                branch_id=branch.id,
            )
            return Next(branch.first)
    env.log(enr, step, "done", gettext_noop("no branch matched"))
    return Next(step.next)


def _split(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    point, total = bucket(step.id, contact.id), 0
    for branch in step.branches:
        total += branch.config["percent"]
        if point < total:
            env.log(
                enr,
                step,
                "done",
                gettext_noop("branch: %(label)s") % {"label": branch.label},
                branch_id=branch.id,
            )
            return Next(branch.first)
    return Next(step.next)


def _start(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    if enr.depth + 1 > env.max_depth:
        env.log(
            enr,
            step,
            "skipped",
            gettext_noop("loop guard: depth %(depth)s > %(most)s")
            % {"depth": enr.depth + 1, "most": env.max_depth},
        )
        return Next(step.next)
    refused = env.start_scenario(step.config["scenario_id"], contact, enr.depth + 1)
    env.log(enr, step, "skipped" if refused else "done", refused or "")
    return Next(step.next)


def _notify(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    env.notify(enr, step, contact, send_key(enr, step))
    env.log(enr, step, "done")
    return Next(step.next)


def _update(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    env.update_contact(enr, step, contact, send_key(enr, step))
    env.log(enr, step, "done")
    return Next(step.next)


def _exit(step: Step, enr: Any, contact: Any, env: Env, now: dt.datetime):
    return End("exited", gettext_noop("exit step"))


HANDLERS = {
    "wait": _wait,
    "send_email": _send,
    "send_sms": _send,
    "condition": _condition,
    "split": _split,
    "start_scenario": _start,
    "notify": _notify,
    "update_contact": _update,
    "exit": _exit,
}


def run(plan: Plan, enr: Any, contact: Any, env: Env, now: dt.datetime) -> None:
    """Advance one enrolment as far as it can go now; mutates ``enr`` (step_id, waiting,
    due_at, wait_event, outcome, iteration, status, ended_at, end_reason, priority)."""
    for _ in range(MAX_MOVES):
        if enr.step_id is None:
            return _finish(enr, env, now, End("completed", REACHED_END))
        step = plan.steps.get(enr.step_id)
        if step is None:
            return _finish(
                enr,
                env,
                now,
                End("exited", gettext_noop("step %(id)s was removed") % {"id": enr.step_id}),
            )
        result = HANDLERS[step.kind](step, enr, contact, env, now)
        if isinstance(result, Park):
            enr.waiting, enr.due_at, enr.wait_event = True, result.until, result.event
            enr.priority = False
            return None
        if isinstance(result, End):
            return _finish(enr, env, now, result, step)
        enr.step_id, enr.iteration = result.step_id, enr.iteration + 1
        enr.waiting, enr.wait_event, enr.outcome, enr.due_at = False, "", "", now
        following = plan.steps.get(result.step_id)
        enr.priority = bool(
            following and following.kind == "send_email" and following.config["transactional"]
        )
    enr.due_at = now
    return None


def _finish(enr: Any, env: Env, now: dt.datetime, end: End, step: Step | None = None) -> None:
    enr.status, enr.end_reason, enr.ended_at = end.status, end.reason, now
    enr.waiting, enr.wait_event, enr.due_at, enr.priority = False, "", None, False
    env.log(enr, step, end.status, end.reason)
