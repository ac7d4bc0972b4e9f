"""Compile a scenario's tree into a ``Plan``: ``compile_plan`` is pure; ``load_tree`` reads
the live pages into the plain ``Node`` tree it takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .plan import Branch, Plan, Step, _freeze

#: model class name -> step kind in the Plan
KINDS = {
    "SendEmailStep": "send_email",
    "SendSMSStep": "send_sms",
    "NotifyStep": "notify",
    "WaitStep": "wait",
    "ConditionStep": "condition",
    "SplitStep": "split",
    "UpdateContactStep": "update_contact",
    "StartScenarioStep": "start_scenario",
    "ExitStep": "exit",
    "Branch": "branch",
}
BRANCHING = {"condition", "split", "wait"}


@dataclass
class Node:
    """A page of the tree as plain data: id, kind, summary, settings, live children."""

    id: int
    kind: str
    summary: str
    config: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)


def compile_plan(
    root: Node, *, trigger: dict, entry: dict, goal: dict, revision_id: int | None = None
) -> Plan:
    """Turn a tree into a Plan: children run in order; after a branch's last step the flow
    continues after the condition/split/wait that owns it; after the scenario's last step
    it ends. Deterministic: the same tree always gives an equal Plan."""
    steps: dict[int, Step] = {}
    order: list[int] = []

    def chain(children: list[Node], after: int | None, path: tuple[int, ...]) -> int | None:
        runnable = [c for c in children if c.kind != "branch"]
        for index, node in enumerate(runnable):
            following = runnable[index + 1].id if index + 1 < len(runnable) else after
            order.append(node.id)
            branches: list[Branch] = []
            if node.kind in BRANCHING:
                for child in node.children:
                    if child.kind != "branch":
                        continue
                    first = chain(child.children, following, (*path, node.id, child.id))
                    branches.append(
                        Branch(
                            id=child.id,
                            label=child.summary,
                            first=first,
                            config=_freeze(child.config),
                            empty=not any(c.kind != "branch" for c in child.children),
                        )
                    )
            steps[node.id] = Step(
                id=node.id,
                kind=node.kind,
                summary=node.summary,
                next=following,
                config=_freeze(node.config),
                branches=tuple(branches),
                path=path,
            )
        return runnable[0].id if runnable else after

    first = chain(root.children, None, ())
    from types import MappingProxyType

    return Plan(
        scenario_id=root.id,
        title=root.summary,
        revision_id=revision_id,
        first=first,
        steps=MappingProxyType(dict(sorted(steps.items(), key=lambda kv: order.index(kv[0])))),
        order=tuple(order),
        trigger=_freeze(trigger),
        entry=_freeze(entry),
        goal=_freeze(goal),
    )
