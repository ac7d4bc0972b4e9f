"""Reports as tables: the rows the CSV and XLSX exports write (first row: headings).

Pure: a ``ScenarioReport`` or ``EmailReport`` in, lists of cells out. Counts stay numbers,
rates are fractions (0.25, or empty when there is no base) and revenue a ``Decimal``, so
a spreadsheet can compute with them; texts are made safe by ``spreadsheets`` on writing.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

#: The mail columns of every export: (attribute of ``MailFigures``, heading).
MAIL_COLUMNS = (
    ("sent", gettext_noop("Sent")),
    ("delivered", gettext_noop("Delivered")),
    ("bounced", gettext_noop("Bounced")),
    ("opened", gettext_noop("Opened")),
    ("machine_opens", gettext_noop("Machine opens")),
    ("clicked", gettext_noop("Clicked")),
    ("machine_clicks", gettext_noop("Machine clicks")),
    ("converted", gettext_noop("Converted")),
    ("revenue", gettext_noop("Revenue")),
    ("unsubscribed", gettext_noop("Unsubscribed")),
    ("complained", gettext_noop("Complained")),
    ("open_rate", gettext_noop("Open rate")),
    ("click_rate", gettext_noop("Click rate")),
    ("conversion_rate", gettext_noop("Conversion rate")),
)
STEP_COLUMNS = (
    ("entered", gettext_noop("Entered")),
    ("waiting", gettext_noop("Waiting now")),
    ("passed", gettext_noop("Passed")),
    ("skipped", gettext_noop("Skipped")),
    ("exited", gettext_noop("Exited")),
)


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _mail(mail: Any) -> list[Any]:
    if mail is None:
        return [""] * len(MAIL_COLUMNS)
    return [_cell(getattr(mail, key)) for key, _label in MAIL_COLUMNS]


def scenario_rows(report: Any) -> list[list[Any]]:
    """Its steps in tree order (with their branches), the scenario's totals, its goal
    and the verdict of each split."""
    head = [_("Row"), _("Step"), _("Kind")]
    rows: list[list[Any]] = [
        head + [_(label) for _key, label in STEP_COLUMNS + MAIL_COLUMNS],
    ]
    for step in report.steps:
        rows.append(
            [_("Step"), step.title, step.kind]
            + [getattr(step, key) for key, _label in STEP_COLUMNS]
            + _mail(step.mail)
        )
        for branch in step.branches:
            rows.append(
                [
                    _("Branch"),
                    f"{step.title} → {branch.label}",
                    f"{branch.percent} %" if branch.percent else "",
                ]
                + [branch.entered, "", "", "", ""]
                + [""] * 7
                + [branch.converted, branch.revenue]
                + [""] * 4
                + [_cell(branch.conversion_rate)]
            )
    rows.append(
        [_("Scenario"), report.title, ""]
        + [report.entered, report.waiting, "", "", report.exited]
        + _mail(report.mail)
    )
    rows.append([])
    rows += [
        [_("Scenario"), _("Converted (goal reached)"), report.converted],
        [_("Scenario"), _("Completed"), report.completed],
        [_("Scenario"), _("Revenue"), report.revenue],
    ]
    rows += [[_("Verdict"), split.title, split.verdict.text] for split in report.splits]
    return rows


def email_rows(report: Any) -> list[list[Any]]:
    """The email's totals, then per scenario, per segment variant and per link."""
    rows: list[list[Any]] = [
        [_("Row"), _("Name")] + [_(label) for _key, label in MAIL_COLUMNS],
        [_("Email"), report.title] + _mail(report.mail),
    ]
    rows += [[_("Scenario"), b.label] + _mail(b.mail) for b in report.by_scenario]
    rows += [[_("Variant"), b.label] + _mail(b.mail) for b in report.by_variant]
    rows.append([])
    rows.append([_("Link"), _("URL"), _("Clicks"), _("Machine clicks"), _("Share of clicks")])
    rows += [
        [link.link, link.url, link.clicks, link.machine_clicks, _cell(link.share)]
        for link in report.links
    ]
    return rows
