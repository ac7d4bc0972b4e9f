"""Lay a scenario's tree out as a top-down flow chart: the trigger on top, each chain of
steps in a column, the branches of a condition, split or wait side by side under it and
joining again before the step that follows. Pure: a tree in (anything with ``id``,
``kind`` and ``children``), pixel positions out; the canvas template draws them.

Each column is as wide as the widest subtree under it (``width``), so branches never
overlap; an "insert here" slot sits between every two steps, at the top of every chain
and at every chain's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

NODE_W, NODE_H = 248, 104  # a step
BRANCH_H = 76  # a branch's label
COL = NODE_W + 40  # a column, with its gutter
SLOT_H = 40  # the gap between two steps, with its "+"
FAN = 28  # the room a fan-out and a join take
MARGIN = 24
BRANCHING = {"condition", "split", "wait"}


class TreeNode(Protocol):
    id: int
    kind: str
    children: list[Any]


@dataclass
class Box:
    """A drawn page: the trigger (``kind == "scenario"``), a step or a branch."""

    node: Any
    x: int
    y: int
    w: int
    h: int
    #: Reading order on the canvas (the trigger is 0).
    index: int = 0


@dataclass
class Slot:
    """A place a step can be inserted: first under ``parent_id`` (``after_id`` None) or
    right after the step ``after_id``; ``x``, ``y`` the centre of its "+"."""

    parent_id: int
    after_id: int | None
    x: int
    y: int
    last: bool = False


@dataclass
class Layout:
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    #: SVG path data of the connectors.
    edges: list[str] = field(default_factory=list)


def _branches(node: Any) -> list[Any]:
    return [c for c in node.children if c.kind == "branch"] if node.kind in BRANCHING else []


def _steps(children: list[Any]) -> list[Any]:
    return [c for c in children if c.kind != "branch"]


def width(steps: list[Any]) -> int:
    """Columns a chain of steps needs: its widest step, where a step with branches needs
    the sum of its branches' chains."""
    widest = 1
    for step in steps:
        branches = _branches(step)
        if branches:
            widest = max(widest, sum(width(_steps(b.children)) for b in branches))
    return widest


def lay_out(root: TreeNode) -> Layout:
    """Positions of every box, slot and connector of the tree under ``root`` (the
    scenario: its trigger box on top)."""
    cols = width(_steps(root.children))
    layout = Layout(width=cols * COL + 2 * MARGIN, height=0)
    counter = iter(range(1_000_000))

    def box(node: Any, cx: int, y: int, h: int) -> Box:
        drawn = Box(node, cx - NODE_W // 2, y, NODE_W, h, next(counter))
        layout.boxes.append(drawn)
        return drawn

    def slot(parent: Any, after: Any, cx: int, y: int, last: bool) -> int:
        layout.edges.append(f"M{cx} {y}V{y + SLOT_H}")
        layout.slots.append(
            Slot(parent.id, after.id if after is not None else None, cx, y + SLOT_H // 2, last)
        )
        return y + SLOT_H

    def chain(parent: Any, steps: list[Any], left: int, span: int, y: int) -> tuple[int, bool]:
        """Lay out ``steps`` under ``parent`` in columns ``left``… (``span`` of them) from
        ``y``; return where the chain ends and whether the flow goes on from there."""
        cx = left + span * COL // 2
        y = slot(parent, None, cx, y, not steps)
        goes_on = True
        for index, step in enumerate(steps):
            top = box(step, cx, y, NODE_H)
            y = top.y + NODE_H
            branches = _branches(step)
            if branches:
                y = fan_out(step, branches, left, span, cx, y)
            goes_on = step.kind != "exit"
            y = slot(parent, step, cx, y, index == len(steps) - 1)
        return y, goes_on

    def fan_out(step: Any, branches: list[Any], left: int, span: int, cx: int, y: int) -> int:
        widths = [width(_steps(b.children)) for b in branches]
        bx = left + (span - sum(widths)) * COL // 2
        fork, top = y + FAN // 2, y + FAN
        ends: list[tuple[int, int]] = []
        lowest = top + BRANCH_H + SLOT_H
        for branch, w in zip(branches, widths, strict=True):
            bcx = bx + w * COL // 2
            layout.edges.append(f"M{cx} {y}V{fork}H{bcx}V{top}")
            box(branch, bcx, top, BRANCH_H)
            end, goes_on = chain(branch, _steps(branch.children), bx, w, top + BRANCH_H)
            lowest = max(lowest, end)
            if goes_on:
                ends.append((bcx, end))
            bx += w * COL
        bottom = lowest + FAN
        for bcx, end in ends:
            layout.edges.append(f"M{bcx} {end}V{bottom - FAN // 2}H{cx}V{bottom}")
        return bottom

    cx = MARGIN + cols * COL // 2
    box(root, cx, MARGIN, NODE_H)
    end, _goes_on = chain(root, _steps(root.children), MARGIN, cols, MARGIN + NODE_H)
    layout.height = end + MARGIN
    return layout
