"""Step logic over a Plan with a fake Env: no database, time fully controlled."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from types import SimpleNamespace

from tests.scenarios.test_compiler import branch, email, plan, wait
from wagtail_journeys.engine.steps import bucket, run
from wagtail_journeys.scenarios.compiler import Node

T0 = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)  # Monday


class FakeEnv:
    def __init__(self, *, quiet=None, cap=None, max_depth=3, tz="UTC", matching=()):
        self.quiet_hours = quiet
        self.cap = cap
        self.max_depth = max_depth
        self.tz = zoneinfo.ZoneInfo(tz)
        self.matching = set(matching)
        self.sent, self.log_lines, self.started, self.sends_at = [], [], [], []
        self.branches = []

    def timezone(self, contact):
        return self.tz

    def matches(self, contact, rules, match):
        return bool(set(rules) & self.matching)

    def recent_sends(self, contact, since):
        return [t for t in self.sends_at if t >= since]

    def may_email(self, contact, transactional, email_id=None):
        return None if contact.email_status == "subscribed" or transactional else "unsubscribed"

    def send_email(self, enr, step, contact, key):
        self.sent.append((step.id, key))

    def send_sms(self, enr, step, contact, key):
        return None

    def notify(self, enr, step, contact, key):
        pass

    def update_contact(self, enr, step, contact, key):
        pass

    def start_scenario(self, scenario_id, contact, depth):
        self.started.append((scenario_id, depth))

    def log(self, enr, step, outcome, reason="", marketing_send=False, branch_id=0):
        self.log_lines.append((step.id if step else None, outcome, reason))
        self.branches.append(branch_id)


def enrolment(p, **fields):
    base = {
        "id": 7,
        "contact_id": 1,
        "step_id": p.first,
        "waiting": False,
        "due_at": T0,
        "wait_event": "",
        "outcome": "",
        "iteration": 0,
        "depth": 0,
        "status": "active",
        "priority": False,
    }
    return SimpleNamespace(**{**base, **fields})


CONTACT = SimpleNamespace(id=1, email_status="subscribed")


def test_a_wait_parks_then_the_send_happens_once_when_due():
    p = plan(wait(2, amount=3, unit="days"), email(3))
    env, enr = FakeEnv(), None
    enr = enrolment(p)
    run(p, enr, CONTACT, env, T0)
    assert (enr.waiting, enr.due_at, env.sent) == (True, T0 + dt.timedelta(days=3), [])
    run(p, enr, CONTACT, env, T0 + dt.timedelta(days=3))
    assert env.sent == [(3, "enr:7:3:1")]
    assert enr.status == "completed"


def test_condition_first_match_wins_and_else_catches_the_rest():
    cond = Node(
        2,
        "condition",
        "C",
        children=[
            branch(3, email(4), label="a"),
            branch(5, email(6), label="b"),
            branch(7, email(8), is_else=True),
        ],
    )
    cond.children[0].config["rules"] = ["a"]
    cond.children[1].config["rules"] = ["b"]
    p = plan(cond)
    for matching, expected in ((["a", "b"], 4), (["b"], 6), ([], 8)):
        env = FakeEnv(matching=matching)
        run(p, enrolment(p), CONTACT, env, T0)
        assert [s for s, _ in env.sent] == [expected]
        assert env.branches[0] == expected - 1  # the branch taken is logged (reports)


def test_split_is_stable_per_contact_and_follows_the_shares():
    p = plan(
        Node(
            2,
            "split",
            "AB",
            children=[branch(3, email(4), percent=20), branch(5, email(6), percent=80)],
        )
    )
    picks = []
    for contact_id in range(1000):
        env = FakeEnv()
        run(p, enrolment(p), SimpleNamespace(id=contact_id, email_status="subscribed"), env, T0)
        picks.append(env.sent[0][0])
        assert env.branches[0] == env.sent[0][0] - 1  # the arm taken is logged
        assert bucket(2, contact_id) == bucket(2, contact_id)
    assert 150 < picks.count(4) < 250


def test_quiet_hours_defer_the_send_to_the_morning_in_the_contacts_timezone():
    p = plan(email(2))
    env = FakeEnv(quiet=(dt.time(21), dt.time(8)), tz="Asia/Tokyo")
    enr = enrolment(p)
    late = dt.datetime(2026, 6, 15, 13, 30, tzinfo=dt.UTC)  # 22:30 in Tokyo
    run(p, enr, CONTACT, env, late)
    assert env.sent == [] and enr.due_at == dt.datetime(2026, 6, 15, 23, 0, tzinfo=dt.UTC)
    assert env.log_lines == [(2, "deferred", "quiet hours")]
    run(p, enr, CONTACT, env, enr.due_at)
    assert len(env.sent) == 1


def test_frequency_cap_skips_or_defers_per_step():
    env = FakeEnv(cap=(2, 7))
    env.sends_at = [T0 - dt.timedelta(days=6), T0 - dt.timedelta(days=1)]
    skip = email(2)
    skip.config["on_cap"] = "skip"
    p = plan(skip, email(3))
    enr = enrolment(p)
    run(p, enr, CONTACT, env, T0)
    assert env.sent == []
    assert env.log_lines[0] == (2, "skipped", "frequency cap (2 in 7 days)")
    assert env.log_lines[1] == (3, "deferred", "frequency cap (2 in 7 days)")
    assert enr.due_at == T0 + dt.timedelta(days=1, seconds=1)  # the older send ages out


def test_transactional_sends_ignore_caps_and_quiet_hours_but_not_bounces():
    tx = email(2)
    tx.config["transactional"] = True
    p = plan(tx)
    env = FakeEnv(quiet=(dt.time(0), dt.time(23, 59)), cap=(1, 7))
    env.sends_at = [T0]
    run(p, enrolment(p), CONTACT, env, T0)
    assert len(env.sent) == 1


def test_loop_guard_stops_deep_chains():
    p = plan(Node(2, "start_scenario", "Start", {"scenario_id": 9}))
    env = FakeEnv(max_depth=3)
    run(p, enrolment(p, depth=2), CONTACT, env, T0)
    assert env.started == [(9, 3)]
    env = FakeEnv(max_depth=3)
    run(p, enrolment(p, depth=3), CONTACT, env, T0)
    assert env.started == [] and "loop guard" in env.log_lines[0][2]


def test_event_wait_takes_the_branch_of_its_outcome():
    w = wait(2, mode="event", event="purchase", amount=1, unit="days")
    w.children = [branch(3, email(4), outcome="event"), branch(5, email(6), outcome="timeout")]
    p = plan(w)
    env = FakeEnv()
    enr = enrolment(p)
    run(p, enr, CONTACT, env, T0)
    assert enr.wait_event == "purchase"
    enr.outcome = "event"
    run(p, enr, CONTACT, env, T0 + dt.timedelta(hours=1))
    assert [s for s, _ in env.sent] == [4]
    assert (env.log_lines[0], env.branches[0]) == ((2, "done", "event"), 3)  # the wait ends
    env, enr = FakeEnv(), enrolment(p)
    run(p, enr, CONTACT, env, T0)
    run(p, enr, CONTACT, env, T0 + dt.timedelta(days=1))
    assert [s for s, _ in env.sent] == [6]


def test_a_step_missing_from_the_new_plan_ends_the_enrolment_with_a_reason():
    p = plan(email(3))
    env, enr = FakeEnv(), enrolment(p, step_id=99)
    run(p, enr, CONTACT, env, T0)
    assert (enr.status, enr.end_reason) == ("exited", "step 99 was removed")
