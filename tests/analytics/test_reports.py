"""The report functions over rollup rows: every figure is the sum of the rows the test
wrote for the period (rows outside it are ignored), each report costs a fixed handful of
queries however many rows there are, steps come in the tree's order."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.emails.factories import make_contact, make_email
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.analytics.figures import Period
from wagtail_journeys.analytics.reports import email_report, overview, scenario_report
from wagtail_journeys.exceptions import NotFound
from wagtail_journeys.models import (
    Branch,
    Enrollment,
    ExitStep,
    LinkDay,
    MailDay,
    Segment,
    SendEmailStep,
    SplitStep,
    StepDay,
    UpdateContactStep,
)
from wagtail_journeys.scenarios.guard import publishing_together
from wagtail_journeys.scenarios.loading import current_plan

pytestmark = pytest.mark.django_db

D0 = dt.date(2026, 3, 1)
PERIOD = Period(D0, D0 + dt.timedelta(days=9))
OUTSIDE = (D0 - dt.timedelta(days=1), D0 + dt.timedelta(days=10))


@pytest.fixture
def tree():
    """Send → split (A sends, B only updates the contact: a holdout) → exit."""
    first, second = make_email(title="Welcome"), make_email(title="Offer")
    scenario = make_scenario(title="Onboarding")
    send = add(scenario, SendEmailStep, email=first)
    with publishing_together():  # one arm at 50 % alone is refused: both, at once
        split = add(scenario, SplitStep, title="Offer or not")
        arm_a = add(split, Branch, title="A", percent=50)
        offer = add(arm_a, SendEmailStep, email=second)
        arm_b = add(split, Branch, title="B", percent=50)
        update = add(arm_b, UpdateContactStep, add_tags="no-offer")
    leave = add(scenario, ExitStep)
    return {
        "scenario": scenario,
        "emails": (first, second),
        "send": send,
        "split": split,
        "a": arm_a,
        "offer": offer,
        "b": arm_b,
        "update": update,
        "exit": leave,
    }


def step_day(scenario, step, outcome, count, day=D0, branch=0, revenue=0):
    return StepDay(
        day=day,
        scenario_id=scenario.pk,
        step_id=step.pk if step else 0,
        branch_id=branch.pk if branch else 0,
        outcome=outcome,
        count=count,
        revenue=Decimal(revenue),
    )


def mail_day(email, scenario, step, day=D0, variant="", **counts):
    return MailDay(
        day=day,
        email_page_id=email.pk,
        scenario_id=scenario.pk if scenario else 0,
        step_id=step.pk if step else 0,
        variant=variant,
        **counts,
    )


def test_scenario_report_sums_the_period(tree):
    s = tree["scenario"]
    rows, mail = [], []
    for day in (D0, D0 + dt.timedelta(days=9), *OUTSIDE):
        rows += [
            step_day(s, None, "entered", 300, day),
            step_day(s, None, "converted", 40, day, revenue="120.50"),
            step_day(s, tree["send"], "sent", 290, day),
            step_day(s, tree["send"], "skipped", 6, day),
            step_day(s, tree["send"], "deferred", 9, day),
            step_day(s, tree["split"], "done", 150, day, tree["a"]),
            step_day(s, tree["split"], "done", 140, day, tree["b"]),
            step_day(s, tree["split"], "converted", 25, day, tree["a"], "80"),
            step_day(s, tree["split"], "converted", 15, day, tree["b"], "40.50"),
            step_day(s, tree["offer"], "sent", 148, day),
            step_day(s, tree["update"], "done", 140, day),
            step_day(s, tree["exit"], "exited", 280, day),
            step_day(s, None, "exited", 3, day),
            step_day(s, None, "completed", 4, day),
        ]
        mail += [
            mail_day(tree["emails"][0], s, tree["send"], day, sent=290, opened=100, clicked=20),
            mail_day(tree["emails"][1], s, tree["offer"], day, sent=148, opened=70, converted=9),
        ]
    StepDay.objects.bulk_create(rows)
    MailDay.objects.bulk_create(mail)
    contacts = [make_contact() for _ in range(5)]
    for contact, step in zip(contacts, ("send", "send", "offer", None, "exit"), strict=True):
        Enrollment.objects.create(
            contact=contact,
            scenario=s,
            step_id=tree[step].pk if step else None,
            status="active" if step != "exit" else "exited",
        )
    Enrollment.objects.create(contact=contacts[0], scenario=make_scenario(), step_id=1)

    report = scenario_report(s.pk, PERIOD)
    days = 2  # D0 and D0 + 9 are inside; the two others are not
    assert (report.entered, report.converted) == (300 * days, 40 * days)
    assert report.revenue == Decimal("241.00")
    assert report.exited == (280 + 3) * days
    assert report.completed == 4 * days
    assert report.waiting == 4
    assert [st.step_id for st in report.steps] == [
        tree[k].pk for k in ("send", "split", "offer", "update", "exit")
    ]
    assert [st.depth for st in report.steps] == [0, 0, 1, 1, 0]
    send = report.step(tree["send"].pk)
    assert send.kind == "send_email" and send.title == "Send: Welcome"
    assert (send.passed, send.skipped, send.waiting) == (290 * days, 6 * days, 2)
    assert send.entered == (290 + 6) * days + 2
    assert send.mail.sent == 290 * days and send.mail.opened == 100 * days
    assert send.mail.open_rate == pytest.approx(100 / 290)
    assert report.step(tree["exit"].pk).exited == 280 * days
    split = report.step(tree["split"].pk)
    assert [(b.label, b.percent, b.entered, b.converted) for b in split.branches] == [
        ("A", 50, 150 * days, 25 * days),
        ("B", 50, 140 * days, 15 * days),
    ]
    assert split.branches[0].revenue == Decimal("160")
    assert split.mail is None
    assert report.mail.sent == (290 + 148) * days
    assert report.mail.converted == 9 * days
    [verdict] = report.splits
    assert verdict.step_id == tree["split"].pk
    # 50 of 300 against 30 of 280, B sends nothing: a holdout
    lift = f"{(50 / 300 - 30 / 280) * 100:.1f}"
    assert verdict.verdict.text.startswith(f"Sending lifts conversions by {lift} points over")
    assert [(f.label, f.count) for f in report.funnel] == [
        ("Entered", 600),
        ("Send: Welcome", send.entered),
        (split.title, split.entered),
        ("Converted", 80),
    ]


def test_split_below_minimum_sample(tree, settings):
    settings.WAGTAIL_JOURNEYS = {"SPLIT_MIN_SAMPLE": 1000}
    s = tree["scenario"]
    StepDay.objects.bulk_create(
        [
            step_day(s, tree["split"], "done", 370, D0, tree["a"]),
            step_day(s, tree["split"], "done", 400, D0, tree["b"]),
        ]
    )
    [split] = scenario_report(s, PERIOD).splits
    assert not split.verdict.enough
    assert split.verdict.text == "Not enough data yet: 370 of 1000 contacts in the smallest arm."


def test_removed_steps_keep_their_history(tree):
    s = tree["scenario"]
    StepDay.objects.create(
        day=D0, scenario_id=s.pk, step_id=987654, outcome="sent", count=7, branch_id=0
    )
    MailDay.objects.create(
        day=D0, email_page_id=tree["emails"][0].pk, scenario_id=s.pk, step_id=987655, sent=3
    )
    report = scenario_report(s, PERIOD)
    assert report.title == "Onboarding"
    assert [st.step_id for st in report.steps[-2:]] == [987654, 987655]
    assert report.steps[-1].mail.sent == 3
    assert report.steps[-2].step_id == 987654
    assert report.steps[-2].title == "Removed step 987654"
    assert report.steps[-2].passed == 7


def test_query_count_does_not_grow_with_rows(tree):
    s = tree["scenario"]
    current_plan(s.pk)  # the per-process plan cache, warm as in a running site
    rng = random.Random(4)
    email = tree["emails"][0]
    segments = [Segment.objects.create(name=f"Segment {i}", slug=f"segment-{i}") for i in range(3)]

    def fill(days: int) -> None:
        step_rows, mail_rows, link_rows = [], [], []
        for i in range(days):
            day = D0 + dt.timedelta(days=i)
            step_rows.append(step_day(s, None, "entered", rng.randint(1, 50), day))
            for key in ("send", "offer", "update"):
                step_rows.append(step_day(s, tree[key], "sent", rng.randint(1, 50), day))
            for variant in ("", str(segments[0].pk), f"{segments[1].pk},{segments[2].pk}"):
                mail_rows.append(mail_day(email, s, tree["send"], day, variant, sent=9))
            for link in range(4):
                link_rows.append(
                    LinkDay(
                        day=day,
                        email_page_id=email.pk,
                        scenario_id=s.pk,
                        step_id=tree["send"].pk,
                        link=link,
                        url=f"https://example.com/{link}",
                        clicks=link + 1,
                    )
                )
        StepDay.objects.bulk_create(step_rows, ignore_conflicts=True)
        MailDay.objects.bulk_create(mail_rows, ignore_conflicts=True)
        LinkDay.objects.bulk_create(link_rows, ignore_conflicts=True)

    counts = []
    for days in (1, 10):
        fill(days)
        with CaptureQueriesContext(connection) as queries:
            scenario_report(s.pk, PERIOD)
        scenario_queries = len(queries)
        with CaptureQueriesContext(connection) as queries:
            email_report(email.pk, PERIOD)
        email_queries = len(queries)
        with CaptureQueriesContext(connection) as queries:
            overview(PERIOD)
        counts.append((scenario_queries, email_queries, len(queries)))
    # scenario: its title, its stored plan (cached by key), StepDay, MailDay, who is
    # waiting now, branch titles; email: its title, MailDay, scenario titles, segment
    # names, LinkDay; overview: MailDay by day, MailDay by scenario (+ titles if flagged)
    assert counts == [(6, 5, 2), (6, 5, 2)]


def test_email_report_by_scenario_variant_and_link(tree):
    s = tree["scenario"]
    other = make_scenario(title="Winback")
    email = tree["emails"][0]
    readers = Segment.objects.create(name="Readers <b>", slug="readers")
    buyers = Segment.objects.create(name="Buyers", slug="buyers")
    both = ",".join(str(i) for i in sorted((readers.pk, buyers.pk)))
    MailDay.objects.bulk_create(
        [
            mail_day(email, s, tree["send"], D0, "", sent=100, opened=40, clicked=10),
            mail_day(email, s, tree["send"], D0, both, sent=50, opened=30, clicked=12),
            mail_day(email, other, None, D0, str(readers.pk), sent=20, opened=5, bounced=2),
            mail_day(email, None, None, D0 + dt.timedelta(days=1), "", sent=3, delivered=3),
            mail_day(email, s, tree["send"], OUTSIDE[1], "", sent=1000),
            mail_day(tree["emails"][1], s, tree["offer"], D0, "", sent=77),
        ]
    )

    def link(n, url, clicks, day=D0, scenario=s, clicked=0, machine=0):
        return LinkDay(
            day=day,
            email_page_id=email.pk,
            scenario_id=scenario.pk,
            step_id=0,
            link=n,
            url=url,
            clicks=clicks,
            clicked=clicked,
            machine_clicks=machine,
        )

    LinkDay.objects.bulk_create(
        [
            link(0, "https://shop.example/old", 10, clicked=8, machine=3),
            link(0, "https://shop.example/new", 20, D0 + dt.timedelta(days=2), clicked=5),
            link(0, "https://shop.example/new", 5, scenario=other),
            link(1, "https://shop.example/help", 15),
            link(1, "https://shop.example/help", 99, OUTSIDE[0]),
        ]
    )
    report = email_report(email, PERIOD)
    assert report.title == email.title
    assert report.mail.sent == 173 and report.mail.opened == 75 and report.mail.bounced == 2
    assert [(b.key, b.label, b.mail.sent) for b in report.by_scenario] == [
        (str(s.pk), "Onboarding", 150),
        (str(other.pk), "Winback", 20),
        ("0", "Sent outside scenarios", 3),
    ]
    assert [(b.key, b.label, b.mail.sent) for b in report.by_variant] == [
        ("", "In none of the email's segments", 103),
        (both, "Readers <b> + Buyers" if readers.pk < buyers.pk else "Buyers + Readers <b>", 50),
        (str(readers.pk), "Readers <b>", 20),
    ]
    assert [(x.link, x.url, x.clicks, x.clicked, x.machine_clicks) for x in report.links] == [
        (0, "https://shop.example/new", 35, 13, 3),
        (1, "https://shop.example/help", 15, 0, 0),
    ]
    assert [x.share for x in report.links] == [pytest.approx(35 / 50), pytest.approx(15 / 50)]


def test_overview_days_totals_and_attention(tree, settings):
    settings.WAGTAIL_JOURNEYS = {"ATTENTION_MIN_SENT": 100}
    s = tree["scenario"]
    bouncy = make_scenario(title="Old list")
    spammy = make_scenario(title="Too often")
    small = make_scenario(title="Small")
    email = tree["emails"][0]
    MailDay.objects.bulk_create(
        [
            mail_day(email, s, None, D0, sent=1000, opened=300, bounced=10, revenue=Decimal("5")),
            mail_day(email, bouncy, None, D0 + dt.timedelta(days=3), sent=200, bounced=11),
            mail_day(email, spammy, None, D0 + dt.timedelta(days=3), sent=2000, complained=3),
            mail_day(email, small, None, D0, sent=99, bounced=50),
            mail_day(email, None, None, D0, sent=500, bounced=400),
            mail_day(email, s, None, OUTSIDE[1], sent=1, bounced=1),
        ]
    )
    result = overview(PERIOD)
    assert [d.day for d in result.days] == PERIOD.each_day()
    assert result.days[0].sent == 1000 + 99 + 500 and result.days[0].opened == 300
    assert result.days[3].sent == 2200
    assert all(d.sent == 0 for i, d in enumerate(result.days) if i not in (0, 3))
    assert result.totals.sent == 3799 and result.totals.bounced == 471
    assert result.totals.revenue == Decimal("5")
    assert [(a.title, a.sent) for a in result.attention] == [("Old list", 200), ("Too often", 2000)]
    assert result.attention[0].why == "5.5 % of its emails bounced (more than 5.0 %)."
    assert result.attention[1].why == (
        "0.15 % of its emails were marked as spam (more than 0.10 %)."
    )


def test_unknown_ids_are_not_found():
    with pytest.raises(NotFound):
        scenario_report(10**9, PERIOD)
    with pytest.raises(NotFound):
        email_report(10**9, PERIOD)
