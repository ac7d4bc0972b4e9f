"""Draw a Plan as an SVG tree: trigger, steps, branches with their rules, waits with their
durations, how many contacts are on each step now and, on send steps, how many of them
wait because their send was deferred (quiet hours, frequency cap); or, for a rehearsal,
the figures it gives each step and branch. Pure: Plan and counts in, SVG out; every label
is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from django.utils.translation import gettext as _

from .plan import Plan

ROW, INDENT, WIDTH = 34, 26, 560
FIGURES_WIDTH = 300  # room on the right for a rehearsal's figures
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


def _rows(plan: Plan) -> list[tuple[int, str, str, int | None]]:
    """``(depth, kind, label, page id)`` in reading order (a branch row has its branch's)."""
    out: list[tuple[int, str, str, int | None]] = []
    chains: dict[tuple, list[int]] = {}
    for step_id in plan.order:
        chains.setdefault(plan.steps[step_id].path, []).append(step_id)

    def walk(path: tuple, depth: int) -> None:
        for step_id in chains.get(path, []):
            step = plan.steps[step_id]
            out.append((depth, step.kind, step.summary, step_id))
            for branch in step.branches:
                out.append((depth + 1, "branch", branch.label, branch.id))
                walk((*path, step_id, branch.id), depth + 2)

    walk((), 1)
    return out


def draw_plan(
    plan: Plan,
    trigger: str,
    counts: Mapping[int, int],
    deferred: Mapping[int, Mapping[str, int]] | None = None,
    figures: Mapping[int, tuple[str, str]] | None = None,
) -> str:
    """The SVG markup of the scenario (``counts``: active contacts per step id;
    ``deferred``: per send step, contacts whose send is deferred, by reason). With
    ``figures`` (step or branch id -> ``(short text, details)``, a rehearsal's), those are
    drawn on the right of each step and branch instead of the counts."""
    deferred = {} if figures is not None else deferred or {}
    rows = [(0, "trigger", f"Trigger: {trigger}", None), *_rows(plan)]
    height = ROW * len(rows) + 16
    width = WIDTH + (FIGURES_WIDTH if figures is not None else 0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13" '
        f'role="img" aria-label="{escape(plan.title)}">'
    ]
    for index, (depth, kind, label, step_id) in enumerate(rows):
        x, y = 8 + depth * INDENT, 8 + index * ROW
        colour = COLOURS.get(kind, "#374151")
        if depth:
            parts.append(
                f'<path d="M{x - INDENT + 10} {y - ROW + 26} V{y + 13} H{x}" '
                f'stroke="#d1d5db" fill="none"/>'
            )
        dashed = ' stroke-dasharray="4 3"' if kind == "branch" else ""
        waiting = deferred.get(step_id) if step_id is not None else None
        parts.append(
            f'<rect x="{x}" y="{y}" width="{WIDTH - x - 70}" height="26" rx="5" '
            f'fill="#fff" stroke="{colour}"{dashed}/>'
            f'<text x="{x + 8}" y="{y + 17}" fill="{colour}">'
            f"{escape(label[: 45 if waiting else 70])}</text>"
        )
        if waiting:
            why = "; ".join(f"{reason or _('deferred')}: {n}" for reason, n in waiting.items())
            parts.append(
                f'<text x="{WIDTH - 78}" y="{y + 17}" text-anchor="end" fill="#b45309" '
                f'data-deferred="{step_id}"><title>{escape(why)}</title>'
                f"{escape(_('%(n)s deferred') % {'n': sum(waiting.values())})}</text>"
            )
        if figures is not None:
            short, details = figures.get(step_id, ("", "")) if step_id else ("", "")
            parts.append(
                f'<text x="{width - 8}" y="{y + 17}" text-anchor="end" fill="#111827" '
                f'data-figures="{step_id}"><title>{escape(details)}</title>'
                f"{escape(short)}</text>"
            )
        elif step_id is not None and kind != "branch":
            here = counts.get(step_id, 0)
            parts.append(
                f'<text x="{WIDTH - 8}" y="{y + 17}" text-anchor="end" fill="#111827" '
                f'data-step="{step_id}">{here} here</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
