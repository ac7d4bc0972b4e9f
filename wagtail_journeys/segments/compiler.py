"""One compiler: rules → ``Q`` over ``Contact``; and its Python twin for the tests.

``compile_rules`` is the only way rules reach the database: a segment's list, count and
membership test, an email's per-segment block and a scenario branch all filter with the
``Q`` it returns, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from wagtail.blocks import StreamValue

from .. import conf
from ..exceptions import InvalidRule
from .context import RuleContext
from .facts import ContactFacts
from .rules.stream import RulesBlock

MATCH_CHOICES = ("all", "any")

_rules_block = RulesBlock()


def as_stream(rules: Any) -> StreamValue:
    """``rules`` as a StreamValue of :class:`RulesBlock` (accepts a StreamValue, or the raw
    JSON list ``[{"type": ..., "value": {...}}]``)."""
    if isinstance(rules, StreamValue):
        return rules
    if rules is None:
        return _rules_block.to_python([])
    if not isinstance(rules, list):
        raise InvalidRule("Rules must be a list of blocks.", field="rules")
    known = _rules_block.child_blocks
    for item in rules:
        if not isinstance(item, dict) or item.get("type") not in known:
            raise InvalidRule(f"Unknown rule type in {item!r}.", field="rules")
    return _rules_block.to_python(rules)


def make_context(now: dt.datetime | None = None, ctx: RuleContext | None = None) -> RuleContext:
    if ctx is not None:
        return ctx
    return RuleContext(
        now=now or timezone.now(), default_timezone=conf.get("DEFAULT_TIMEZONE") or "UTC"
    )


def _check_match(match: str) -> None:
    if match not in MATCH_CHOICES:
        raise InvalidRule(f"Match must be 'all' or 'any', not {match!r}.", field="match")


def compile_rules(
    rules: Any,
    match: str = "all",
    *,
    now: dt.datetime | None = None,
    ctx: RuleContext | None = None,
) -> Q:
    """The ``Q`` over ``Contact`` that selects the contacts matching ``rules``.

    ``match`` is ``"all"`` or ``"any"``; an empty rule list matches every contact.
    ``now`` is the clock for windows and birthdays (default: ``timezone.now()``).
    Raises :class:`~wagtail_journeys.exceptions.InvalidRule` on rules that cannot run.
    The result is never SQL ``NULL`` for a contact, so ``~compile_rules(...)`` is exact.
    """
    _check_match(match)
    ctx = make_context(now, ctx)
    conditions = []
    for child in as_stream(rules):
        q = child.block.to_q(child.value, ctx)
        conditions.append(~q if child.value.get("negate") else q)
    if not conditions:
        return Q()
    combined = conditions[0]
    for q in conditions[1:]:
        combined = combined & q if match == "all" else combined | q
    return combined


def contacts_matching(
    rules: Any, match: str = "all", *, now: dt.datetime | None = None
) -> QuerySet:
    """The contacts matching ``rules`` (a ``Contact`` queryset, unevaluated)."""
    from ..models import Contact

    return Contact.objects.filter(compile_rules(rules, match, now=now))


def matches(contact, rules: Any, match: str = "all", *, now: dt.datetime | None = None) -> bool:
    """Does ``contact`` match ``rules``? One indexed query, the same ``Q`` as the list."""
    from ..models import Contact

    q = compile_rules(rules, match, now=now)
    return Contact.objects.filter(Q(pk=contact.pk) & q).exists()


def evaluate_rules(
    rules: Any,
    match: str,
    facts: ContactFacts,
    *,
    now: dt.datetime | None = None,
    ctx: RuleContext | None = None,
) -> bool:
    """The plain-Python reference: does the snapshot ``facts`` match ``rules``?

    Independent of SQL (it reads only ``facts``), it states what every rule means; the
    property-based tests check that :func:`compile_rules` agrees with it.
    """
    _check_match(match)
    ctx = make_context(now, ctx)
    results = []
    for child in as_stream(rules):
        held = child.block.holds(child.value, facts, ctx)
        results.append(not held if child.value.get("negate") else held)
    if not results:
        return True
    return all(results) if match == "all" else any(results)


def reference_matching(
    rules: Any,
    match: str,
    snapshots: Iterable[ContactFacts],
    *,
    now: dt.datetime | None = None,
) -> set[int]:
    """Ids of the snapshots matching ``rules``, evaluated in Python (tests, benchmarks)."""
    ctx = make_context(now)
    ctx.timezones = frozenset()
    return {facts.id for facts in snapshots if evaluate_rules(rules, match, facts, ctx=ctx)}


def referenced_segment_ids(rules: Any) -> set[int]:
    """Ids of the segments that ``rules`` name directly (raw JSON or StreamValue)."""
    raw = rules.get_prep_value() if isinstance(rules, StreamValue) else rules or []
    ids = set()
    for item in raw:
        if isinstance(item, dict) and item.get("type") == "in_segment":
            value = item.get("value") or {}
            if isinstance(value.get("segment"), int):
                ids.add(value["segment"])
    return ids


def rules_problems(rules: Any) -> list[str]:
    """Human-readable problems of ``rules`` (empty when they can be compiled)."""
    try:
        stream = as_stream(rules)
    except InvalidRule as exc:
        return [str(exc)]
    problems = []
    for index, child in enumerate(stream, start=1):
        for name, message in child.block.all_problems(child.value).items():
            problems.append(f"Rule {index} ({child.block.label}), {name}: {message}")
    return problems
