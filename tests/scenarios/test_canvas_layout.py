"""The canvas's layout (pure): for any tree, boxes never overlap, each box sits below the one
before it in its chain, branches sit side by side under their step, and there is a "+"
at the start of every chain and after every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from hypothesis import given, settings
from hypothesis import strategies as st

from wagtail_journeys.scenarios.canvas import COL, lay_out, width

_ids = count(1)


@dataclass
class N:
    kind: str
    children: list = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))


def chains(depth: int):
    step = st.sampled_from(["wait", "send_email", "exit", "update_contact"]).map(N)
    if depth == 0:
        return st.lists(step, max_size=3)
    branch = chains(depth - 1).map(lambda steps: N("branch", steps))
    fork = st.tuples(st.sampled_from(["condition", "split", "wait"]), st.lists(branch, max_size=3))
    return st.lists(st.one_of(step, fork.map(lambda kb: N(kb[0], kb[1]))), max_size=4)


def all_nodes(node):
    yield node
    for child in node.children:
        yield from all_nodes(child)


@settings(max_examples=150, deadline=None)
@given(chains(3))
def test_boxes_never_overlap_and_branches_sit_side_by_side(steps):
    root = N("scenario", steps)
    layout = lay_out(root)
    boxes = {box.node.id: box for box in layout.boxes}
    assert set(boxes) == {n.id for n in all_nodes(root)}
    drawn = list(boxes.values())
    for i, a in enumerate(drawn):
        assert a.x >= 0 and a.x + a.w <= layout.width and a.y + a.h <= layout.height
        for b in drawn[i + 1 :]:
            apart = a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
            assert apart, (a, b)
    for node in all_nodes(root):
        runnable = [c for c in node.children if c.kind != "branch"]
        for before, after in zip(runnable, runnable[1:], strict=False):
            assert boxes[before.id].y + boxes[before.id].h < boxes[after.id].y
        branches = [c for c in node.children if c.kind == "branch"]
        for left, right in zip(branches, branches[1:], strict=False):
            assert boxes[left.id].y == boxes[right.id].y
            assert boxes[left.id].x + COL <= boxes[right.id].x
        for branch in branches:
            assert boxes[branch.id].y > boxes[node.id].y + boxes[node.id].h
    chains_ = 1 + sum(1 for n in all_nodes(root) if n.kind == "branch")
    steps_ = sum(1 for n in all_nodes(root) if n.kind not in ("scenario", "branch"))
    assert len(layout.slots) == chains_ + steps_
    assert layout.width >= width(steps) * COL


def test_a_wide_branch_widens_its_whole_column():
    inner = N("condition", [N("branch", [N("exit")]) for _ in range(3)])
    root = N("scenario", [N("condition", [N("branch", [inner]), N("branch", [N("exit")])])])
    assert width(root.children) == 4
    layout = lay_out(root)
    xs = sorted({box.x for box in layout.boxes if box.node.kind == "exit"})
    assert len(xs) == 4 and all(b - a == COL for a, b in zip(xs, xs[1:], strict=False))
