"""The compiler and checker are pure: plain trees in, Plans and problems out."""

from __future__ import annotations

from wagtail_journeys.scenarios.checker import check_loops, check_plan
from wagtail_journeys.scenarios.compiler import Node, compile_plan
from wagtail_journeys.scenarios.plan import Plan

TRIGGER = {"kind": "event", "event": "purchase", "filters": {}, "page_id": None, "email_id": None}
ENTRY = {"audience_id": None, "exclusion_id": None, "reentry": "always", "reentry_days": 30}
GOAL = {"event": "", "filters": {}, "step_id": None}


def email(id, email_id=50, live=True, links=()):
    return Node(
        id,
        "send_email",
        f"Send {email_id}",
        {
            "email_id": email_id,
            "email_live": live,
            "transactional": False,
            "on_cap": "defer",
            "links": list(links),
        },
    )


def wait(id, **config):
    base = {
        "mode": "duration",
        "amount": 3,
        "unit": "days",
        "until": None,
        "weekdays": [],
        "start": None,
        "end": None,
        "event": "",
        "filters": {},
    }
    return Node(id, "wait", "Wait", {**base, **config})


def branch(id, *children, label="b", is_else=False, percent=0, outcome=""):
    return Node(
        id,
        "branch",
        label,
        {"rules": [], "match": "all", "else": is_else, "percent": percent, "outcome": outcome},
        list(children),
    )


def plan(*children, id=1, title="S", trigger=TRIGGER, entry=ENTRY):
    return compile_plan(
        Node(id, "scenario", title, children=list(children)),
        trigger=trigger,
        entry=entry,
        goal=GOAL,
    )


def codes(p):
    return sorted((x.level, x.code, x.step_id) for x in check_plan(p))


def test_children_run_in_order_and_branches_rejoin_after_their_condition():
    p = plan(
        wait(2),
        Node(
            3,
            "condition",
            "C",
            children=[
                branch(4, email(5), email(6)),
                branch(7, email(8), is_else=True),
            ],
        ),
        email(9),
    )
    assert p.first == 2
    assert p.steps[2].next == 3
    assert [(b.id, b.first) for b in p.steps[3].branches] == [(4, 5), (7, 8)]
    assert p.steps[5].next == 6 and p.steps[6].next == 9 and p.steps[8].next == 9
    assert p.steps[9].next is None
    assert p.steps[6].path == (3, 4)


def test_plan_round_trips_through_json_and_is_immutable():
    p = plan(wait(2), Node(3, "condition", "C", children=[branch(4, email(5))]))
    again = Plan.from_json(p.to_json())
    assert again == p
    try:
        p.steps[2].config["amount"] = 9
    except TypeError:
        pass
    else:
        raise AssertionError("a Plan's config must not be writable")


def test_checker_flags_empty_branches_unreachable_steps_and_emails_not_live():
    p = plan(
        Node(
            3,
            "condition",
            "C",
            children=[
                branch(4, label="nobody acts"),
                branch(5, email(6), is_else=True),
                branch(7, email(8), label="after else"),
            ],
        ),
        email(9, live=False),
        Node(10, "exit", "Exit"),
        email(11),
    )
    assert codes(p) == [
        ("error", "email-not-live", 9),
        ("error", "empty-branch", 3),
        ("warning", "unreachable", 8),
        ("warning", "unreachable", 11),
    ]


def test_waits_that_never_end_are_errors():
    p = plan(
        wait(2, mode="until"),
        wait(3, mode="window", weekdays=[], start="09:00", end="18:00"),
        wait(4, mode="event", event="purchase", amount=0),
        wait(5, mode="window", weekdays=[0, 1], start="09:00", end="18:00"),
    )
    assert codes(p) == [
        ("error", "wait-never-ends", 2),
        ("error", "wait-never-ends", 3),
        ("error", "wait-never-ends", 4),
    ]


def test_split_shares_must_add_up():
    p = plan(
        Node(
            3,
            "split",
            "AB",
            children=[branch(4, email(5), percent=50), branch(6, email(7), percent=30)],
        )
    )
    assert ("error", "split-total", 3) in codes(p)


def test_loops_across_scenarios_are_named_and_a_condition_makes_them_warnings():
    # newsletter signup -> white-paper offer (links to the white-paper form, page 100)
    # white-paper download -> newsletter offer (links to the newsletter form, page 200)
    newsletter = plan(
        email(2, email_id=60, links=[100]),
        id=1,
        title="Newsletter signup",
        trigger={**TRIGGER, "event": "form_submitted", "filters": {"page_id": 200}},
    )
    white_paper = plan(
        email(12, email_id=61, links=[200]),
        id=11,
        title="White paper",
        trigger={**TRIGGER, "event": "form_submitted", "filters": {"page_id": 100}},
    )
    [problem] = check_loops([newsletter, white_paper])
    assert problem.level == "error"
    assert "Newsletter signup → White paper → Newsletter signup" in problem.message

    guarded = plan(
        Node(
            13,
            "condition",
            "Not subscribed?",
            children=[branch(14, email(15, email_id=61, links=[200]))],
        ),
        id=11,
        title="White paper",
        trigger={**TRIGGER, "event": "form_submitted", "filters": {"page_id": 100}},
    )
    [problem] = check_loops([newsletter, guarded])
    assert problem.level == "warning"


def test_start_scenario_cycles_are_found():
    a = plan(Node(2, "start_scenario", "Start B", {"scenario_id": 11}), id=1, title="A")
    b = plan(Node(12, "start_scenario", "Start A", {"scenario_id": 1}), id=11, title="B")
    assert [p.code for p in check_loops([a, b])] == ["loop"]
    assert check_loops([a]) == []
