"""``GET /reports/…``: the admin's report figures for headless sites (read-only).

A Bearer token whose user has ``wagtail_journeys.view_reports``; ``?from=`` and ``?to=``
(``YYYY-MM-DD``, local dates, both included; default the last 30 days). The figures are
``analytics.reports``' own: rates are ``null`` when their base is 0, money is a decimal
string.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import ConfigDict, Field

from ..analytics import reports
from ..analytics.figures import Period
from .access import reports_token
from .openapi import documented
from .scenarios import MAX_ID

router = Router(tags=["reports"])

PROBLEMS = {
    400: "A bad `Content-Length` header.",
    401: "No token, or a token that is unknown, revoked or not `Bearer`.",
    403: "A token whose user lacks the `wagtail_journeys.view_reports` permission (a "
    "token allowed only to track contacts, say).",
    404: "No scenario (or email) has this id.",
    422: "`from` or `to` is not a date written YYYY-MM-DD, `to` is before `from`, the "
    "period is longer than 3660 days, or an id is out of range.",
}
DATE = r"^\d{4}-\d{2}-\d{2}$"


class Out(Schema):
    model_config = ConfigDict(from_attributes=True)


class PeriodOut(Out):
    start: dt.date = Field(description="First day (local date), included.")
    end: dt.date = Field(description="Last day (local date), included.")


class MailOut(Out):
    """What happened to a set of messages. `opened` and `clicked` count unique human
    openers and clickers; `opens` and `clicks` every human one; machine opens and clicks
    (privacy proxies, link scanners) apart. Rates are `null` when their base is 0."""

    sent: int
    delivered: int
    bounced: int
    hard_bounced: int
    rejected: int
    complained: int
    unsubscribed: int
    opened: int
    opens: int
    machine_opens: int
    clicked: int
    clicks: int
    machine_clicks: int
    converted: int
    conversions: int
    revenue: Decimal
    delivery_rate: float | None = Field(description="delivered / sent")
    open_rate: float | None = Field(description="opened / sent")
    click_rate: float | None = Field(description="clicked / sent")
    click_to_open: float | None = Field(description="clicked / opened")
    bounce_rate: float | None = Field(description="bounced / sent")
    complaint_rate: float | None = Field(description="complained / sent")
    unsubscribe_rate: float | None = Field(description="unsubscribed / sent")
    conversion_rate: float | None = Field(description="converted / sent")
    revenue_per_send: Decimal | None


class BranchOut(Out):
    branch_id: int
    label: str
    percent: int = Field(description="A split arm's share (0 for conditions and waits).")
    entered: int
    converted: int = Field(description="Conversions of contacts who took this split arm.")
    revenue: Decimal
    conversion_rate: float | None = Field(description="converted / entered")


class VerdictOut(Out):
    enough: bool = Field(description="Every arm has `SPLIT_MIN_SAMPLE` contacts.")
    best_branch_id: int | None = Field(
        description="The winning arm, once its probability reaches 95 %."
    )
    probability: float | None = Field(
        description="Bayesian probability that the leading arm converts best (uniform "
        "priors); with a holdout, that sending converts better than the holdout."
    )
    text: str


class SplitOut(Out):
    step_id: int
    title: str
    arms: list[BranchOut]
    verdict: VerdictOut


class StepOut(Out):
    step_id: int
    title: str
    kind: str = Field(description="send_email, wait, condition, split… ('' if removed).")
    depth: int = Field(description="0 for the scenario's own steps, 1 under a branch…")
    entered: int = Field(description="Passed, skipped or ended here, plus waiting now.")
    waiting: int = Field(description="On this step now.")
    passed: int
    skipped: int
    exited: int
    mail: MailOut | None = Field(description="On send steps.")
    branches: list[BranchOut]


class FunnelStageOut(Out):
    label: str
    count: int
    step_id: int | None


class ScenarioReportOut(Out):
    scenario_id: int
    title: str
    period: PeriodOut
    entered: int
    waiting: int = Field(description="Active enrolments now.")
    converted: int
    conversion_rate: float | None = Field(description="converted / entered")
    exited: int
    completed: int
    revenue: Decimal
    mail: MailOut
    steps: list[StepOut] = Field(description="In the tree's order.")
    splits: list[SplitOut]
    funnel: list[FunnelStageOut]


class BreakdownOut(Out):
    key: str = Field(
        description="A scenario's id (0: sent outside scenarios), or a segment "
        "variant: comma-separated segment ids ('' for contacts in none of the email's segments)."
    )
    label: str
    mail: MailOut


class LinkOut(Out):
    link: int = Field(description="The link's index in the compiled email.")
    url: str
    clicks: int = Field(description="Human clicks.")
    clicked: int = Field(description="Messages whose first human click was on this link.")
    machine_clicks: int
    share: float | None = Field(description="Share of the email's human link clicks.")


class EmailReportOut(Out):
    email_id: int
    title: str
    period: PeriodOut
    mail: MailOut
    by_scenario: list[BreakdownOut]
    by_variant: list[BreakdownOut]
    links: list[LinkOut]


class DayOut(Out):
    day: dt.date
    sent: int
    opened: int
    clicked: int
    converted: int
    revenue: Decimal


class AttentionOut(Out):
    scenario_id: int
    title: str
    sent: int
    bounce_rate: float
    complaint_rate: float
    why: str


class OverviewOut(Out):
    period: PeriodOut
    days: list[DayOut] = Field(description="Every day of the period, zeros included.")
    totals: MailOut
    attention: list[AttentionOut] = Field(
        description="Scenarios whose bounce or complaint rate is past "
        "`ATTENTION_BOUNCE_RATE` / `ATTENTION_COMPLAINT_RATE`."
    )


class PeriodQuery(Schema):
    start: str | None = Field(
        None,
        alias="from",
        max_length=10,
        pattern=DATE,
        description="YYYY-MM-DD (default: 30 days before `to`).",
    )
    end: str | None = Field(
        None, alias="to", max_length=10, pattern=DATE, description="YYYY-MM-DD (default: today)."
    )

    def period(self) -> Period:
        return Period.parse(self.start, self.end)


def _documented(*statuses: int) -> dict:
    return documented(*statuses, security=("ReportsToken",), problems=PROBLEMS)


@router.get(
    "/reports/scenarios/{scenario_id}",
    response=ScenarioReportOut,
    url_name="report_scenario",
    summary="A scenario's report",
    operation_id="report_scenario",
    openapi_extra=_documented(400, 401, 403, 404, 413, 422),
)
def scenario_report(
    request: HttpRequest,
    when: Query[PeriodQuery],
    scenario_id: int = Path(..., ge=1, le=MAX_ID, description="The scenario page's id."),
):
    """Per step entered, waiting now, passed, exited; send steps' mail figures; branches
    and splits with their verdicts; the funnel from the trigger to the goal."""
    reports_token(request)
    return reports.scenario_report(scenario_id, when.period())


@router.get(
    "/reports/emails/{email_id}",
    response=EmailReportOut,
    url_name="report_email",
    summary="An email's report",
    operation_id="report_email",
    openapi_extra=_documented(400, 401, 403, 404, 413, 422),
)
def email_report(
    request: HttpRequest,
    when: Query[PeriodQuery],
    email_id: int = Path(..., ge=1, le=MAX_ID, description="The email page's id."),
):
    """The email's figures across every scenario that sends it, per scenario, per segment
    variant and per link."""
    reports_token(request)
    return reports.email_report(email_id, when.period())


@router.get(
    "/reports/overview",
    response=OverviewOut,
    url_name="report_overview",
    summary="Every send, day by day",
    operation_id="report_overview",
    openapi_extra=_documented(400, 401, 403, 413, 422),
)
def overview(request: HttpRequest, when: Query[PeriodQuery]):
    """Sends, opens, clicks, conversions and revenue per day, totals, and the scenarios
    that need attention."""
    reports_token(request)
    return reports.overview(when.period())
