"""Draw a Plan as an SVG tree: trigger, steps, branches with their rules, waits with their
durations, how many contacts are on each step now and, on send steps, how many of them
wait because their send was deferred (quiet hours, frequency cap); in a report, what each
step did over a period, every number a link to the contacts behind it. Pure: Plan and
counts in, SVG out; every label is escaped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..reasons import display
from .plan import Plan

ROW, INDENT, WIDTH, WIDE = 34, 26, 560, 760
COLOURS = {
    "trigger": "#1d4ed8",
    "branch": "#6b7280",
    "send_email": "#047857",
    "send_sms": "#047857",
    "wait": "#b45309",
    "condition": "#7c3aed",
    "split": "#7c3aed",
    "exit": "#b91c1c",
}


def _rows(plan: Plan) -> list[tuple[int, str, str, int | None, int | None]]:
    """``(depth, kind, label, step_id, branch_id)`` in reading order."""
    out: list[tuple[int, str, str, int | None, int | None]] = []
    chains: dict[tuple, list[int]] = {}
    for step_id in plan.order:
        chains.setdefault(plan.steps[step_id].path, []).append(step_id)

    def walk(path: tuple, depth: int) -> None:
        for step_id in chains.get(path, []):
            step = plan.steps[step_id]
            out.append((depth, step.kind, step.summary, step_id, None))
            for branch in step.branches:
                out.append((depth + 1, "branch", branch.label, None, branch.id))
                walk((*path, step_id, branch.id), depth + 2)

    walk((), 1)
    return out


#: The figures a report draws under a step (its ``StepFigures`` attributes), and under a
#: send step its mail's (``MailFigures``); each is also the ``contacts_behind`` metric its
#: number links to (revenue links to the converted contacts).
STEP_FIGURES = (
    ("entered", gettext_noop("entered")),
    ("waiting", gettext_noop("waiting now")),
    ("passed", gettext_noop("passed")),
    ("exited", gettext_noop("exited")),
)
MAIL_FIGURES = (
    ("sent", gettext_noop("sent")),
    ("delivered", gettext_noop("delivered")),
    ("opened", gettext_noop("opened")),
    ("clicked", gettext_noop("clicked")),
    ("converted", gettext_noop("converted")),
    ("revenue", gettext_noop("revenue")),
    ("unsubscribed", gettext_noop("unsubscribed")),
    ("complained", gettext_noop("complained")),
)
FIGURE_LINE = 18

#: ``link(metric, step_id, branch_id)``: the URL of the contacts behind a number, or None.
Link = Callable[[str, int, int | None], str | None]


def _figure_line(
    x: int,
    y: int,
    items: list[tuple[str, str, str, str | None]],
    step_id: int,
    branch_id: int | None = None,
) -> str:
    """One line of ``label number`` pairs; a number with a URL is a link. ``items``:
    ``(metric, label, number, url)``."""
    out = [f'<text x="{x}" y="{y}" fill="#374151" font-size="12">']
    branch = f' data-branch="{branch_id}"' if branch_id else ""
    for index, (metric, label, number, url) in enumerate(items):
        sep = " · " if index else ""
        value = (
            f'<tspan font-weight="bold" data-metric="{metric}" data-step="{step_id}"{branch}>'
            f"{escape(number)}</tspan>"
        )
        if url:
            value = f'<a href="{escape(url)}" fill="#1d4ed8">{value}</a>'
        out.append(f"{sep}{escape(label)} {value}")
    out.append("</text>")
    return "".join(out)


def _step_lines(figures: Any, link: Link | None) -> list[list[tuple[str, str, str, str | None]]]:
    """The lines of figures under a step: its own, then its mail's (send steps)."""
    sid = figures.step_id
    labels = getattr(figures, "labels", None) or {}  # a rehearsal's "waiting at the end"

    def url(metric: str) -> str | None:
        return link(metric, sid, None) if link else None

    lines = [
        [
            (m, labels.get(m) or _(label), number_format(getattr(figures, m)), url(m))
            for m, label in STEP_FIGURES
        ]
    ]
    mail = getattr(figures, "mail", None)
    if mail is not None:
        items = []
        for metric, label in MAIL_FIGURES:
            if metric == "revenue":
                items.append((metric, _(label), number_format(mail.revenue, 2), url("converted")))
            else:
                items.append((metric, _(label), number_format(getattr(mail, metric)), url(metric)))
        lines += [items[:4], items[4:]]
    more = getattr(figures, "more_lines", None)  # a rehearsal's sends and holds
    if more is not None:
        lines += [[(m, label, number_format(n), None) for m, label, n in line] for line in more()]
    return lines


def _branch_line(branch: Any, step_id: int, link: Link | None) -> list:
    def url(metric: str) -> str | None:
        return link(metric, step_id, branch.branch_id) if link else None

    rate = branch.conversion_rate
    return [
        ("passed", _("took it"), number_format(branch.entered), url("passed")),
        ("converted", _("converted"), number_format(branch.converted), url("converted")),
        ("rate", _("rate"), "-" if rate is None else f"{rate:.1%}", None),
    ]


def draw_plan(
    plan: Plan,
    trigger: str,
    counts: Mapping[int, int],
    deferred: Mapping[int, Mapping[str, int]] | None = None,
    *,
    figures: Mapping[int, Any] | None = None,
    link: Link | None = None,
) -> str:
    """The SVG markup of the scenario (``counts``: active contacts per step id;
    ``deferred``: per send step, contacts whose send is deferred, by reason).

    With ``figures`` (``StepFigures`` per step id, from a report; or a rehearsal's
    ``NodeFigures``) each step also shows what it did over the period, each branch of a
    condition or split who took it and converted, and ``link`` makes every such number a
    link to its contacts. Empty ``counts`` with figures: no "here" (a rehearsal's)."""
    deferred = deferred or {}
    figures = figures or {}
    width = WIDE if figures else WIDTH
    rows = [(0, "trigger", f"Trigger: {trigger}", None, None), *_rows(plan)]
    heights = []
    extra: list[list] = []  # per row: its figure lines, the step and branch they are of
    for _depth, kind, _label, step_id, branch_id in rows:
        lines: list = []
        if step_id is not None and step_id in figures:
            lines = [(line, step_id, None) for line in _step_lines(figures[step_id], link)]
        elif kind == "branch" and branch_id is not None:
            owner = figures.get(_branch_owner(plan, branch_id))
            found = [b for b in getattr(owner, "branches", []) if b.branch_id == branch_id]
            if found:
                line = _branch_line(found[0], owner.step_id, link)
                lines = [(line, owner.step_id, branch_id)]
        extra.append(lines)
        heights.append(ROW + FIGURE_LINE * len(lines))
    height = sum(heights) + 16
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13" '
        f'role="img" aria-label="{escape(plan.title)}">'
    ]
    y, previous = 8, 8
    for index, (depth, kind, label, step_id, _branch) in enumerate(rows):
        x = 8 + depth * INDENT
        colour = COLOURS.get(kind, "#374151")
        box = 26 + FIGURE_LINE * len(extra[index])
        if depth:
            parts.append(
                f'<path d="M{x - INDENT + 10} {previous + 26} V{y + 13} H{x}" '
                f'stroke="#d1d5db" fill="none"/>'
            )
        dashed = ' stroke-dasharray="4 3"' if kind == "branch" else ""
        waiting = deferred.get(step_id) if step_id is not None else None
        parts.append(
            f'<rect x="{x}" y="{y}" width="{width - x - 70}" height="{box}" rx="5" '
            f'fill="#fff" stroke="{colour}"{dashed}/>'
            f'<text x="{x + 8}" y="{y + 17}" fill="{colour}">'
            f"{escape(label[: 45 if waiting else 70])}</text>"
        )
        for line, (items, owner, branch_id) in enumerate(extra[index]):
            line_y = y + 17 + FIGURE_LINE * (line + 1)
            parts.append(_figure_line(x + 8, line_y, items, owner, branch_id))
        if waiting:
            why = "; ".join(
                f"{display(reason) or _('deferred')}: {n}" for reason, n in waiting.items()
            )
            parts.append(
                f'<text x="{width - 78}" y="{y + 17}" text-anchor="end" fill="#b45309" '
                f'data-deferred="{step_id}"><title>{escape(why)}</title>'
                f"{escape(_('%(n)s deferred') % {'n': sum(waiting.values())})}</text>"
            )
        if step_id is not None and (counts or not figures):
            here = counts.get(step_id, 0)
            parts.append(
                f'<text x="{width - 8}" y="{y + 17}" text-anchor="end" fill="#111827" '
                f'data-step="{step_id}">{here} here</text>'
            )
        previous = y
        y += heights[index]
    parts.append("</svg>")
    return "".join(parts)


def _branch_owner(plan: Plan, branch_id: int) -> int | None:
    """The condition, split or wait a branch belongs to."""
    for step_id, step in plan.steps.items():
        if any(b.id == branch_id for b in step.branches):
            return step_id
    return None
