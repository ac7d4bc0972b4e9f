"""The base of every rule block: NOT, validation, and the two evaluations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError

from ...exceptions import InvalidRule
from ..context import RuleContext
from ..facts import ContactFacts

EVENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")


class RuleBlock(blocks.StructBlock):
    """A rule. Subclasses implement ``problems``, ``to_q`` and ``holds``.

    Guarantees: ``to_q`` never returns a condition that is SQL ``NULL`` for some contact
    (so NOT is an exact complement), and ``holds`` gives the same answer in Python.
    ``to_q`` raises :class:`~wagtail_journeys.exceptions.InvalidRule` on a value that
    ``problems`` reports, instead of letting the database fail.
    """

    negate = blocks.BooleanBlock(
        required=False, label=_("NOT"), help_text=_("Match the contacts this rule excludes.")
    )

    def problems(self, value: Any) -> dict[str, str]:
        """``{child block name: message}`` for values the rule cannot run with."""
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        raise NotImplementedError

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        raise NotImplementedError

    def describe(self, value: Any) -> str:
        return str(self.label)

    def ensure_valid(self, value: Any) -> None:
        """Raise ``InvalidRule`` if ``problems`` reports anything."""
        for name, message in self.problems(value).items():
            raise InvalidRule(f"{self.label}: {message}", field=name)

    def clean(self, value):
        value = super().clean(value)
        problems = self.problems(value)
        if problems:
            raise StructBlockValidationError(
                block_errors={name: ValidationError(msg) for name, msg in problems.items()}
            )
        return value

    class Meta:
        icon = "filter"


def positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def window_problems(value: Any, *, required: bool = False) -> dict[str, str]:
    days = value.get("days")
    if days is None and not required:
        return {}
    if not positive(days):
        return {"days": str(_("The window must be a whole number of days, at least 1."))}
    return {}


def event_name_problems(value: Any, key: str = "event") -> dict[str, str]:
    if not EVENT_NAME_PATTERN.match(str(value.get(key) or "")):
        return {key: str(_("Give an event name (letters, digits, _ . : -)."))}
    return {}


def window(days: int | None, ctx: RuleContext) -> tuple[dt.datetime | None, dt.datetime]:
    """The window ``(now - days, now]``; no start when ``days`` is empty (all time)."""
    return (ctx.now - dt.timedelta(days=days) if days else None), ctx.now


def in_window(moment: dt.datetime, days: int | None, ctx: RuleContext) -> bool:
    start, end = window(days, ctx)
    return moment <= end and (start is None or moment >= start)


def window_q(days: int | None, ctx: RuleContext) -> Q:
    start, end = window(days, ctx)
    q = Q(occurred_at__lte=end)
    if start is not None:
        q &= Q(occurred_at__gte=start)
    return q
