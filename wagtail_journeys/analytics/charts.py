"""Charts drawn on the server as SVG: no script, no CDN, readable by screen readers.

Pure: figures in, markup out. Every text (titles, labels, URLs) is escaped, each chart
carries an SVG ``<title>`` and ``<desc>`` that say in words what it draws, and every drawn
number also appears as text (a ``<title>`` tooltip on each point and bar), so the chart
adds a picture to the figures rather than replacing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 64, 16, 44
GRID = "#e5e7eb"
INK = "#374151"


@dataclass(frozen=True)
class Series:
    """One line of a day chart: the attribute it reads from each day, its label, colour."""

    key: str
    label: Any
    colour: str


#: The day chart's lines (counts, on the left axis); revenue is drawn as bars (right axis).
DAY_SERIES = (
    Series("sent", gettext_lazy("Sent"), "#1d4ed8"),
    Series("opened", gettext_lazy("Opened"), "#047857"),
    Series("clicked", gettext_lazy("Clicked"), "#b45309"),
    Series("converted", gettext_lazy("Converted"), "#7c3aed"),
)


TICKS = 4  # grid lines above the axis


def _scale(value: float, *, whole: bool) -> float:
    """The axis's top: ``TICKS`` steps of a round size (1, 2 or 5 × 10ⁿ) reaching
    ``value``; with ``whole`` (counts) a step is at least 1, so every label is exact."""
    step = 1.0 if whole else 0.01
    while step * TICKS < value:
        for factor in (2, 2.5, 2):  # 1 → 2 → 5 → 10
            step *= factor
            if step * TICKS >= value:
                break
    return step * TICKS


def _num(value: Any) -> str:
    return escape(number_format(value, force_grouping=True))


def _open(title: str, desc: str, height: int, testid: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px" font-family="sans-serif" font-size="12" '
        f'role="img" aria-labelledby="{testid}-title {testid}-desc" data-chart="{testid}">',
        f'<title id="{testid}-title">{escape(title)}</title>',
        f'<desc id="{testid}-desc">{escape(desc)}</desc>',
    ]


def day_chart(
    days: Sequence[Any],
    *,
    title: str,
    series: Sequence[Series] = DAY_SERIES,
    revenue: bool = True,
    chart_id: str = "days",
) -> str:
    """A chart of ``days`` (objects with ``day`` and the ``series`` keys, such as
    ``figures.DayFigures``): one line per series against the left axis, and, with
    ``revenue``, each day's revenue as a bar against the right axis."""
    count_top = _scale(
        max((getattr(d, s.key) for d in days for s in series), default=0), whole=True
    )
    most = float(max((d.revenue for d in days), default=0))
    revenue = revenue and most > 0  # no revenue: no bars, no right axis
    money_top = _scale(most, whole=False) if revenue else 1
    money_places = 0 if money_top >= TICKS * 10 else 2
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(days), 1)

    def x(index: int) -> float:
        return LEFT + step * (index + 0.5)

    def y(value: float, top: float) -> float:
        return TOP + plot_h - plot_h * float(value) / top

    totals = ", ".join(
        f"{str(s.label).lower()} {number_format(sum(getattr(d, s.key) for d in days))}"
        for s in series
    )
    if days:
        desc = _("From %(start)s to %(end)s: %(totals)s") % {
            "start": date_format(days[0].day),
            "end": date_format(days[-1].day),
            "totals": totals,
        }
        if revenue:
            money = sum((d.revenue for d in days), Decimal(0))
            desc += _("; revenue %(revenue)s") % {"revenue": number_format(money, 2)}
    else:
        desc = _("No days to show.")
    parts = _open(title, desc, HEIGHT, chart_id)
    for tick in range(TICKS + 1):  # grid and both axes' labels
        share = tick / TICKS
        ty = TOP + plot_h - plot_h * share
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{_num(round(count_top * share))}</text>"
        )
        if revenue:
            money = number_format(money_top * share, money_places, force_grouping=True)
            parts.append(
                f'<text x="{WIDTH - RIGHT + 6}" y="{ty + 4:.1f}" fill="#9d174d">'
                f"{escape(money)}</text>"
            )
    label_every = max(1, len(days) // 8)
    for index, day in enumerate(days):
        when = escape(date_format(day.day, "SHORT_DATE_FORMAT"))
        if revenue and day.revenue:
            top = y(day.revenue, money_top)
            parts.append(
                f'<rect x="{x(index) - step * 0.35:.1f}" y="{top:.1f}" width="{step * 0.7:.1f}" '
                f'height="{TOP + plot_h - top:.1f}" fill="#fbcfe8" data-revenue="{day.day}">'
                f"<title>{when}: {_('revenue')} {_num(day.revenue)}</title></rect>"
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x(index):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'fill="{INK}">{escape(date_format(day.day, "M j"))}</text>'
            )
    for s in series:
        points = " ".join(
            f"{x(i):.1f},{y(getattr(d, s.key), count_top):.1f}" for i, d in enumerate(days)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{s.colour}" stroke-width="2" '
            f'data-series="{escape(s.key)}"/>'
        )
        for index, day in enumerate(days):
            value = getattr(day, s.key)
            parts.append(
                f'<circle cx="{x(index):.1f}" cy="{y(value, count_top):.1f}" r="2.5" '
                f'fill="{s.colour}"><title>{escape(date_format(day.day))}: '
                f"{escape(str(s.label))} {_num(value)}</title></circle>"
            )
    legend = [(str(s.label), s.colour) for s in series]
    legend += [(_("Revenue"), "#f472b6")] if revenue else []
    lx = LEFT
    for label, colour in legend:
        parts.append(
            f'<rect x="{lx}" y="{HEIGHT - 16}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{HEIGHT - 7}" fill="{INK}">{escape(label)}</text>'
        )
        lx += 24 + 7 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(
    stages: Sequence[Any],
    *,
    title: str,
    href: Callable[[Any], str | None] | None = None,
    chart_id: str = "funnel",
) -> str:
    """Horizontal bars, one per stage (objects with ``label`` and ``count``, such as
    ``figures.FunnelStage``), each with its count and its share of the first stage;
    ``href(stage)`` makes the count a link (to the contacts behind it)."""
    row = 34
    height = TOP + row * len(stages) + 8
    first = stages[0].count if stages else 0
    widest = max((s.count for s in stages), default=0) or 1
    label_w, bar_w = 220, WIDTH - 220 - 150
    desc = "; ".join(f"{s.label}: {number_format(s.count, force_grouping=True)}" for s in stages)
    parts = _open(title, desc or _("No stages to show."), height, chart_id)
    for index, stage in enumerate(stages):
        top = TOP + index * row
        width = bar_w * stage.count / widest
        share = f" ({stage.count / first:.0%})" if first and index else ""
        count = f"{_num(stage.count)}{escape(share)}"
        url = href(stage) if href else None
        if url:
            count = f'<a href="{escape(url)}" data-stage="{index}">{count}</a>'
        parts.append(
            f'<text x="{label_w - 8}" y="{top + 17}" text-anchor="end" fill="{INK}">'
            f"{escape(stage.label[:36])}</text>"
            f'<rect x="{label_w}" y="{top + 3}" width="{max(width, 1):.1f}" height="20" rx="3" '
            f'fill="#1d4ed8" opacity="{1 - 0.5 * index / max(len(stages), 1):.2f}"/>'
            f'<text x="{label_w + width + 8:.1f}" y="{top + 17}" fill="#111827">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
