"""The immutable ``Plan`` a scenario's live page tree compiles to.

A Plan is plain data (it round-trips through JSON for storage): steps keyed by page id,
each knowing the step that follows it, so the engine never walks pages at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, MappingProxyType | dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Branch:
    """A way out of a condition, split or event wait; ``first`` is where it leads."""

    id: int
    label: str
    first: int | None
    config: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    empty: bool = False


@dataclass(frozen=True)
class Step:
    """One step: its kind, settings, and the step after it (``None``: the scenario ends)."""

    id: int
    kind: str
    summary: str
    next: int | None
    config: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    branches: tuple[Branch, ...] = ()
    path: tuple[int, ...] = ()


def _shallow(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _step_json(step: Step) -> dict[str, Any]:
    data = _shallow(step)
    data["branches"] = [_shallow(b) for b in step.branches]
    return _thaw(data)


@dataclass(frozen=True)
class Plan:
    """A compiled scenario: trigger, entry rules, goal and the steps from ``first`` on."""

    scenario_id: int
    title: str
    revision_id: int | None
    first: int | None
    steps: MappingProxyType
    order: tuple[int, ...]
    trigger: MappingProxyType
    entry: MappingProxyType
    goal: MappingProxyType
    #: The checker's errors when the Plan was stored: the engine does not run such a Plan.
    errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = _thaw(
            {k: getattr(self, k) for k in ("scenario_id", "title", "revision_id", "first")}
        )
        data.update(
            trigger=_thaw(self.trigger),
            entry=_thaw(self.entry),
            goal=_thaw(self.goal),
            order=list(self.order),
            steps=[_step_json(self.steps[i]) for i in self.order],
            errors=list(self.errors),
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        steps = {}
        for raw in data["steps"]:
            branches = tuple(
                Branch(
                    id=b["id"],
                    label=b["label"],
                    first=b["first"],
                    config=_freeze(b["config"]),
                    empty=b.get("empty", False),
                )
                for b in raw["branches"]
            )
            steps[raw["id"]] = Step(
                id=raw["id"],
                kind=raw["kind"],
                summary=raw["summary"],
                next=raw["next"],
                config=_freeze(raw["config"]),
                branches=branches,
                path=tuple(raw["path"]),
            )
        return cls(
            scenario_id=data["scenario_id"],
            title=data["title"],
            revision_id=data["revision_id"],
            first=data["first"],
            steps=MappingProxyType(steps),
            order=tuple(data["order"]),
            trigger=_freeze(data["trigger"]),
            entry=_freeze(data["entry"]),
            goal=_freeze(data["goal"]),
            errors=tuple(data.get("errors", ())),
        )
