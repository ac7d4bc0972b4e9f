"""The reports: a scenario's, an email's, and the overview of every send.

Each reads only the rollup tables (``MailDay``, ``LinkDay``, ``StepDay``: sums over the
period's days), live ``Enrollment`` counts for "waiting now" (the ``scenario, status,
step_id`` index), the scenario's stored Plan and page titles. A fixed handful of grouped
queries each, whatever the number of messages or events behind them.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Sum
from django.utils.translation import gettext as _

from .. import conf
from ..exceptions import NotFound
from ..scenarios.loading import current_plan
from ..scenarios.plan import Plan
from .figures import (
    MAIL_COUNTS,
    Attention,
    BranchFigures,
    Breakdown,
    DayFigures,
    EmailReport,
    FunnelStage,
    LinkFigures,
    MailFigures,
    Overview,
    Period,
    ScenarioReport,
    SplitFigures,
    StepFigures,
    cents,
    ratio,
)
from .stats import Arm, verdict

SEND_KINDS = ("send_email", "send_sms")
#: StepDay outcomes by what they mean for a step.
PASSED = ("done", "sent")
ENDED = ("exited", "completed")
FINISHED_HERE = (*PASSED, "skipped", "held", "failed", *ENDED)

_MAIL_SUMS = {name: Sum(name) for name in (*MAIL_COUNTS, "revenue")}


def _mail_rows(queryset, *group: str) -> list[dict[str, Any]]:
    return list(queryset.values(*group).annotate(**_MAIL_SUMS).order_by())


def _titles(ids: set[int]) -> dict[int, str]:
    from wagtail.models import Page

    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(Page.objects.filter(pk__in=ids).values_list("pk", "title"))


def _scenario(scenario: Any) -> tuple[int, str]:
    from ..models import ScenarioPage

    if isinstance(scenario, ScenarioPage):
        return scenario.pk, scenario.title
    row = ScenarioPage.objects.filter(pk=scenario).values_list("pk", "title").first()
    if row is None:
        raise NotFound(_("No scenario %(id)s.") % {"id": scenario})
    return row


# -- scenario ------------------------------------------------------------------------------


def _holdout(plan: Plan, split_id: int, branch_id: int) -> bool:
    """Does this arm send nothing (no send step anywhere under it)?"""
    prefix = (split_id, branch_id)
    for step in plan.steps.values():
        path = step.path
        inside = any(path[i : i + 2] == prefix for i in range(0, len(path) - 1, 2))
        if inside and step.kind in SEND_KINDS:
            return False
    return True


def scenario_report(scenario: Any, period: Period) -> ScenarioReport:
    """What a scenario did over ``period``: who entered, converted, exited, per step (in
    the tree's order) and per branch, its splits' verdicts, its mail, and the funnel from
    the trigger to the goal. ``NotFound`` for an id that names no scenario."""
    from ..models import Enrollment, MailDay, StepDay

    scenario_id, title = _scenario(scenario)
    plan = current_plan(scenario_id)
    runs: dict[tuple[int, int, str], tuple[int, Decimal]] = {}
    for row in (
        StepDay.objects.filter(scenario_id=scenario_id, day__range=(period.start, period.end))
        .values("step_id", "branch_id", "outcome")
        .annotate(n=Sum("count"), money=Sum("revenue"))
        .order_by()
    ):
        key = (row["step_id"], row["branch_id"], row["outcome"])
        runs[key] = (int(row["n"] or 0), cents(row["money"]))
    mail_by_step = {
        row["step_id"]: MailFigures.from_row(row)
        for row in _mail_rows(
            MailDay.objects.filter(scenario_id=scenario_id, day__range=(period.start, period.end)),
            "step_id",
        )
    }
    here = dict(
        Enrollment.objects.filter(scenario_id=scenario_id, status="active")
        .values_list("step_id")
        .annotate(n=Count("id"))
        .values_list("step_id", "n")
        .order_by()
    )
    branch_ids = {b.id for s in (plan.steps.values() if plan else ()) for b in s.branches}
    names = _titles(branch_ids)

    def total(step_id: int, outcomes: tuple[str, ...], branch_id: int | None = None) -> int:
        return sum(
            n
            for (s, b, o), (n, _money) in runs.items()
            if s == step_id and o in outcomes and (branch_id is None or b == branch_id)
        )

    def money(step_id: int, outcome: str, branch_id: int | None = None) -> Decimal:
        return sum(
            (
                m
                for (s, b, o), (_n, m) in runs.items()
                if s == step_id and o == outcome and (branch_id is None or b == branch_id)
            ),
            Decimal("0"),
        )

    steps: list[StepFigures] = []
    splits: list[SplitFigures] = []
    seen: set[int] = set()
    for step_id in _tree_order(plan):
        step = plan.steps[step_id]
        seen.add(step_id)
        branches = [
            BranchFigures(
                branch_id=b.id,
                label=names.get(b.id) or b.label,
                percent=int(b.config.get("percent") or 0),
                entered=total(step_id, PASSED, b.id),
                converted=total(step_id, ("converted",), b.id),
                revenue=money(step_id, "converted", b.id),
            )
            for b in step.branches
        ]
        figures = _step_figures(step_id, step.summary, step.kind, total, here)
        figures.depth = len(step.path) // 2
        figures.branches = branches
        if step.kind in SEND_KINDS:
            figures.mail = mail_by_step.get(step_id, MailFigures.zero())
        steps.append(figures)
        if step.kind == "split":
            arms = [
                Arm(
                    b.branch_id,
                    b.label,
                    b.entered,
                    b.converted,
                    _holdout(plan, step_id, b.branch_id),
                )
                for b in branches
            ]
            min_sample = conf.get("SPLIT_MIN_SAMPLE")
            splits.append(
                SplitFigures(step_id, step.summary, branches, verdict(arms, min_sample=min_sample))
            )
    # steps removed from the tree since keep their history, after the live ones
    # (one more query for their titles: pages unpublished since still have one)
    gone = sorted(({s for s, _b, _o in runs} | set(mail_by_step)) - seen - {0})
    gone_titles = _titles(set(gone)) if gone else {}
    for step_id in gone:
        label = gone_titles.get(step_id) or _("Removed step %(id)s") % {"id": step_id}
        figures = _step_figures(step_id, label, "", total, here)
        if step_id in mail_by_step:
            figures.mail = mail_by_step[step_id]
        steps.append(figures)

    entered = total(0, ("entered",))
    converted = total(0, ("converted",))
    funnel = [FunnelStage(_("Entered"), entered, None)]
    funnel += [
        FunnelStage(s.title, s.entered, s.step_id)
        for s in steps
        if s.depth == 0 and s.kind and s.kind != "exit"
    ]
    funnel.append(FunnelStage(_("Converted"), converted, None))
    mail = sum(mail_by_step.values(), MailFigures.zero())
    return ScenarioReport(
        scenario_id=scenario_id,
        title=title,
        period=period,
        entered=entered,
        waiting=sum(here.values()),
        converted=converted,
        exited=sum(n for (_s, _b, o), (n, _m) in runs.items() if o == "exited"),
        completed=sum(n for (_s, _b, o), (n, _m) in runs.items() if o == "completed"),
        revenue=money(0, "converted"),
        mail=mail,
        steps=steps,
        splits=splits,
        funnel=funnel,
    )


def _tree_order(plan: Plan | None) -> list[int]:
    """Step ids as the tree reads top to bottom: each step, then its branches' steps."""
    if plan is None:
        return []
    chains: dict[tuple, list[int]] = defaultdict(list)
    for step_id in plan.order:
        chains[plan.steps[step_id].path].append(step_id)
    out: list[int] = []

    def walk(path: tuple) -> None:
        for step_id in chains.get(path, ()):
            out.append(step_id)
            for branch in plan.steps[step_id].branches:
                walk((*path, step_id, branch.id))

    walk(())
    return out


def _step_figures(step_id: int, title: str, kind: str, total, here: dict) -> StepFigures:
    waiting = here.get(step_id, 0)
    return StepFigures(
        step_id=step_id,
        title=title,
        kind=kind,
        entered=total(step_id, FINISHED_HERE) + waiting,
        waiting=waiting,
        passed=total(step_id, PASSED),
        skipped=total(step_id, ("skipped",)),
        exited=total(step_id, ENDED),
    )


# -- email ---------------------------------------------------------------------------------


def variant_labels(variants: set[str]) -> dict[str, str]:
    """``"3,7"`` → ``"Readers + Buyers"`` (segment names; one query), ``""`` → the
    default content's label."""
    from ..models import Segment

    ids = {int(part) for v in variants for part in v.split(",") if part.strip().isdigit()}
    names = dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    labels = {}
    for variant in variants:
        parts = [p for p in variant.split(",") if p.strip().isdigit()]
        if not parts:
            labels[variant] = _("In none of the email's segments")
            continue
        labels[variant] = " + ".join(
            names.get(int(p)) or _("Deleted segment %(id)s") % {"id": p} for p in parts
        )
    return labels


def email_report(email: Any, period: Period) -> EmailReport:
    """An email's figures over ``period`` across every scenario that sends it (and its
    one-off sends), per scenario, per segment variant and per link. ``NotFound`` for an
    id that names no email."""
    from ..models import EmailPage, LinkDay, MailDay

    if isinstance(email, EmailPage):
        email_id, title = email.pk, email.title
    else:
        row = EmailPage.objects.filter(pk=email).values_list("pk", "title").first()
        if row is None:
            raise NotFound(_("No email %(id)s.") % {"id": email})
        email_id, title = row
    days = (period.start, period.end)
    rows = _mail_rows(
        MailDay.objects.filter(email_page_id=email_id, day__range=days), "scenario_id", "variant"
    )
    by_scenario: dict[int, MailFigures] = defaultdict(MailFigures.zero)
    by_variant: dict[str, MailFigures] = defaultdict(MailFigures.zero)
    for row in rows:
        figures = MailFigures.from_row(row)
        by_scenario[row["scenario_id"]] += figures
        by_variant[row["variant"]] += figures
    mail = sum(by_scenario.values(), MailFigures.zero())
    scenario_titles = _titles(set(by_scenario))
    labels = variant_labels(set(by_variant))

    links: dict[int, dict[str, Any]] = {}
    for row in (
        LinkDay.objects.filter(email_page_id=email_id, day__range=days)
        .values("link", "url")
        .annotate(
            clicks=Sum("clicks"),
            clicked=Sum("clicked"),
            machine=Sum("machine_clicks"),
            last=Max("day"),
        )
        .order_by()
    ):
        link = links.setdefault(
            row["link"], {"url": row["url"], "last": row["last"], "c": 0, "u": 0, "m": 0}
        )
        if (row["last"], row["url"]) > (link["last"], link["url"]):
            link["url"], link["last"] = row["url"], row["last"]
        link["c"] += int(row["clicks"] or 0)
        link["u"] += int(row["clicked"] or 0)
        link["m"] += int(row["machine"] or 0)
    all_clicks = sum(link["c"] for link in links.values())
    return EmailReport(
        email_id=email_id,
        title=title,
        period=period,
        mail=mail,
        by_scenario=[
            Breakdown(
                str(sid),
                scenario_titles.get(sid)
                or (_("Sent outside scenarios") if not sid else _("Scenario %(id)s") % {"id": sid}),
                figures,
            )
            for sid, figures in sorted(by_scenario.items(), key=lambda kv: -kv[1].sent)
        ],
        by_variant=[
            Breakdown(variant, labels[variant], figures)
            for variant, figures in sorted(by_variant.items(), key=lambda kv: (-kv[1].sent, kv[0]))
        ],
        links=[
            LinkFigures(
                link=index,
                url=link["url"],
                clicks=link["c"],
                machine_clicks=link["m"],
                share=ratio(link["c"], all_clicks),
                clicked=link["u"],
            )
            for index, link in sorted(links.items())
        ],
    )


# -- overview ------------------------------------------------------------------------------


def overview(period: Period) -> Overview:
    """Every day of ``period`` (zeros included), the totals, and the scenarios whose
    bounce or complaint rate is past ``ATTENTION_BOUNCE_RATE`` /
    ``ATTENTION_COMPLAINT_RATE`` once they sent ``ATTENTION_MIN_SENT`` messages."""
    from ..models import MailDay

    rows = MailDay.objects.filter(day__range=(period.start, period.end))
    per_day = {row["day"]: MailFigures.from_row(row) for row in _mail_rows(rows, "day")}
    days = []
    for day in period.each_day():
        figures = per_day.get(day)
        if figures is None:
            days.append(DayFigures(day))
        else:
            days.append(
                DayFigures(
                    day,
                    figures.sent,
                    figures.opened,
                    figures.clicked,
                    figures.converted,
                    figures.revenue,
                )
            )
    totals = sum(per_day.values(), MailFigures.zero())

    bounce_limit = conf.get("ATTENTION_BOUNCE_RATE")
    complaint_limit = conf.get("ATTENTION_COMPLAINT_RATE")
    flagged = []
    for row in (
        rows.exclude(scenario_id=0)
        .values("scenario_id")
        .annotate(sent=Sum("sent"), bounced=Sum("bounced"), complained=Sum("complained"))
        .filter(sent__gte=conf.get("ATTENTION_MIN_SENT"))
        .order_by()
    ):
        sent = int(row["sent"])
        bounce_rate = int(row["bounced"] or 0) / sent
        complaint_rate = int(row["complained"] or 0) / sent
        reasons = []
        if bounce_rate > bounce_limit:
            reasons.append(
                _("%(rate)s of its emails bounced (more than %(limit)s)")
                % {"rate": _pct(bounce_rate), "limit": _pct(bounce_limit)}
            )
        if complaint_rate > complaint_limit:
            reasons.append(
                _("%(rate)s of its emails were marked as spam (more than %(limit)s)")
                % {"rate": _pct(complaint_rate), "limit": _pct(complaint_limit)}
            )
        if reasons:
            flagged.append((row["scenario_id"], sent, bounce_rate, complaint_rate, reasons))
    titles = _titles({f[0] for f in flagged})
    attention = [
        Attention(
            scenario_id=sid,
            title=titles.get(sid) or _("Scenario %(id)s") % {"id": sid},
            sent=sent,
            bounce_rate=bounce_rate,
            complaint_rate=complaint_rate,
            why=_sentence("; ".join(reasons)),
        )
        for sid, sent, bounce_rate, complaint_rate, reasons in sorted(
            flagged, key=lambda f: (-(f[2] + f[3]), f[0])
        )
    ]
    return Overview(period=period, days=days, totals=totals, attention=attention)


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."


def _pct(rate: float) -> str:
    """``0.0523`` → ``"5.2 %"``; small rates keep two decimals (``0.0012`` → ``"0.12 %"``)."""
    value = rate * 100
    return f"{value:.2f} %" if value < 1 else f"{value:.1f} %"
