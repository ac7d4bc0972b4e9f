"""The reports' drawings and tables without the admin: the SVG charts draw what they are
given and escape every text, the diagram carries each step's figures as links, the
tables and files of the exports keep formulas as text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import openpyxl
import pytest

from wagtail_journeys.analytics.charts import day_chart, funnel_chart
from wagtail_journeys.analytics.figures import (
    BranchFigures,
    Breakdown,
    DayFigures,
    EmailReport,
    FunnelStage,
    LinkFigures,
    MailFigures,
    Period,
    ScenarioReport,
    SplitFigures,
    StepFigures,
    Verdict,
)
from wagtail_journeys.analytics.tables import email_rows, scenario_rows
from wagtail_journeys.scenarios.diagram import draw_plan
from wagtail_journeys.scenarios.plan import Branch, Plan, Step
from wagtail_journeys.spreadsheets import csv_file, xlsx_file

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & =cmd|"/C calc"!A0'
DAY = dt.date(2026, 3, 1)


def parse(svg: str) -> ET.Element:
    """The SVG as XML: it must be well formed (an unescaped text would break it)."""
    return ET.fromstring(svg)  # noqa: S314 - our own markup


def days(n: int = 5) -> list[DayFigures]:
    return [
        DayFigures(
            day=DAY + dt.timedelta(days=i),
            sent=10 * i,
            opened=5 * i,
            clicked=2 * i,
            converted=i,
            revenue=Decimal(i * 3),
        )
        for i in range(n)
    ]


def test_the_day_chart_draws_every_day_of_every_series_and_says_it_in_words():
    chart = day_chart(days(), title=HOSTILE)
    root = parse(chart)
    assert root.find(f"{SVG}title").text == HOSTILE  # escaped in markup, intact as text
    assert "<script>" not in chart
    desc = root.find(f"{SVG}desc").text
    assert "sent 100" in desc and "converted 10" in desc and "revenue 30.00" in desc
    lines = {p.get("data-series"): p for p in root.iter(f"{SVG}polyline")}
    assert set(lines) == {"sent", "opened", "clicked", "converted"}
    heights = [float(p.split(",")[1]) for p in lines["sent"].get("points").split()]
    assert len(heights) == 5 and heights == sorted(heights, reverse=True)  # rising
    tips = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]
    assert any(t.endswith("Sent 40") for t in tips)
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("data-revenue")]
    assert len(bars) == 4  # day 0 has no revenue: no bar
    # Axis labels: the counts' (0, 10 … 40), revenue's (0 … 20.00), the days under the plot.
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"0", "10", "20", "30", "40", "5.00", "20.00", "Mar 1"} <= set(texts)


def test_the_day_chart_of_no_days_or_only_zeros_is_still_a_chart():
    assert parse(day_chart([], title="Empty")).find(f"{SVG}desc").text == "No days to show."
    quiet = parse(day_chart([DayFigures(day=DAY)] * 3, title="Zeros"))
    texts = [t.text for t in quiet.iter(f"{SVG}text")]
    assert texts[:5] == ["0", "1", "2", "3", "4"]  # whole counts, no revenue axis
    assert "Revenue" not in texts


def test_the_funnel_draws_each_stage_with_its_share_and_links_its_counts():
    stages = [
        FunnelStage("Entered", 200, None),
        FunnelStage(HOSTILE, 50, 7),
        FunnelStage("Converted", 10, None),
    ]
    chart = funnel_chart(stages, title="Funnel", href=lambda s: f"/c/?step={s.step_id}&a=<b>")
    root = parse(chart)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "200" in texts and "50 (25%)" in texts and "10 (5%)" in texts
    assert HOSTILE[:36] in texts and "<script>" not in chart
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["/c/?step=None&a=<b>", "/c/?step=7&a=<b>", "/c/?step=None&a=<b>"]


def small_plan() -> Plan:
    split = Step(
        id=2,
        kind="split",
        summary="Split 50/50",
        next=None,
        branches=(Branch(id=3, label="A", first=4), Branch(id=5, label=HOSTILE, first=6)),
    )
    return Plan(
        scenario_id=1,
        title=HOSTILE,
        revision_id=None,
        first=10,
        steps={
            10: Step(id=10, kind="send_email", summary="Send email: Hello", next=2),
            2: split,
            4: Step(id=4, kind="exit", summary="Exit", next=None, path=(2, 3)),
            6: Step(id=6, kind="exit", summary="Exit", next=None, path=(2, 5)),
        },
        order=(10, 2, 4, 6),
        trigger={},
        entry={},
        goal={},
    )


def test_the_diagram_shows_each_steps_figures_as_links_to_its_contacts():
    mail = MailFigures(sent=40, delivered=39, opened=20, clicked=7, converted=3)
    mail.revenue = Decimal("59.90")
    figures = {
        10: StepFigures(10, "Send", "send_email", entered=41, waiting=1, passed=40, mail=mail),
        2: StepFigures(
            2,
            "Split",
            "split",
            entered=40,
            passed=40,
            branches=[
                BranchFigures(3, "A", 50, entered=21, converted=2),
                BranchFigures(5, HOSTILE, 50, entered=19, converted=1),
            ],
        ),
    }
    svg = draw_plan(
        small_plan(),
        "Trigger",
        {10: 1},
        figures=figures,
        link=lambda metric, step, branch: f"/contacts/?metric={metric}&step={step}&branch={branch}",
    )
    root = parse(svg)
    numbers = {
        (t.get("data-metric"), t.get("data-step"), a.get("href")): t.text
        for a in root.iter(f"{SVG}a")
        for t in a.iter(f"{SVG}tspan")
    }
    assert numbers[("entered", "10", "/contacts/?metric=entered&step=10&branch=None")] == "41"
    assert numbers[("sent", "10", "/contacts/?metric=sent&step=10&branch=None")] == "40"
    assert numbers[("clicked", "10", "/contacts/?metric=clicked&step=10&branch=None")] == "7"
    assert numbers[("revenue", "10", "/contacts/?metric=converted&step=10&branch=None")] == "59.90"
    assert numbers[("passed", "2", "/contacts/?metric=passed&step=2&branch=5")] == "19"
    assert numbers[("converted", "2", "/contacts/?metric=converted&step=2&branch=3")] == "2"
    assert "<script>" not in svg and "1 here" in svg
    # Without figures the diagram is the plain one, and no number is a link.
    plain = parse(draw_plan(small_plan(), "Trigger", {10: 1}))
    assert not list(plain.iter(f"{SVG}a"))


def test_the_diagram_without_a_link_function_shows_figures_unlinked():
    figures = {10: StepFigures(10, "Send", "send_email", entered=3)}
    root = parse(draw_plan(small_plan(), "Trigger", {}, figures=figures))
    assert not list(root.iter(f"{SVG}a"))
    assert [t.text for t in root.iter(f"{SVG}tspan") if t.get("data-metric") == "entered"] == ["3"]


def reports() -> tuple[ScenarioReport, EmailReport]:
    mail = MailFigures(sent=4, opened=2, clicked=1, converted=1, revenue=Decimal("9.50"))
    period = Period(DAY, DAY)
    arm = BranchFigures(3, HOSTILE, 50, entered=2, converted=1)
    scenario = ScenarioReport(
        scenario_id=1,
        title='=HYPERLINK("http://evil")',
        period=period,
        entered=4,
        waiting=0,
        converted=1,
        exited=3,
        completed=0,
        revenue=Decimal("9.50"),
        mail=mail,
        steps=[StepFigures(2, "@SUM(A1)", "split", entered=4, branches=[arm])],
        splits=[SplitFigures(2, "Split", [arm], Verdict(False, None, None, "-Keep going"))],
        funnel=[],
    )
    email = EmailReport(
        email_id=9,
        title="+Email",
        period=period,
        mail=mail,
        by_scenario=[Breakdown("1", "=Scenario", mail)],
        by_variant=[Breakdown("", "No segment", mail)],
        links=[LinkFigures(0, "=https://evil", 3, 1, 0.75)],
    )
    return scenario, email


def test_exports_keep_formulas_as_text_in_csv_and_xlsx_and_numbers_as_numbers():
    scenario, email = reports()
    for rows in (scenario_rows(scenario), email_rows(email)):
        cells = [c for row in csv.reader(io.StringIO(csv_file(rows))) for c in row]
        assert not [c for c in cells if re.match(r"[=+@-][^0-9]", c)], cells
        book = openpyxl.load_workbook(io.BytesIO(xlsx_file(rows)))
        sheet = book.active
        texts = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
        risky = [c for c in texts if c.value[:1] in "=+-@"]
        assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_file(email_rows(email)))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][:3] == ["Email", "+Email", 4]
    assert values[-1][:5] == [0, "=https://evil", 3, 1, 0.75]


@pytest.mark.parametrize("hostile", ["\x00", "\x1b[31m", "\ufffe"])
def test_xlsx_replaces_what_a_worksheet_cannot_hold(hostile):
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_file([["a"], [f"x{hostile}y"]]))).active
    assert sheet["A2"].value.startswith("x") and hostile not in sheet["A2"].value
