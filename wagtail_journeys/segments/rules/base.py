"""The base of every rule block: NOT, validation, and the two evaluations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.list_block import ListValue
from wagtail.blocks.struct_block import StructBlockValidationError

from ...exceptions import InvalidRule
from ...inputs import MAX_NUMBER, number_problem, text_problem
from ...models.events import TRUST, Trust, sources_of
from ..context import RuleContext
from ..facts import ContactFacts, EventFact

EVENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}\Z")
#: The longest window: a hundred years (an empty window means "at any time").
MAX_WINDOW_DAYS = 36_525


class EventNameBlock(blocks.CharBlock):
    """An event name, typed with the names seen in the event log offered
    (``scenarios.suggestions``, the same list the scenario triggers offer)."""

    def __init__(self, *args, **kwargs):
        from ...scenarios.fields import EventNameInput

        super().__init__(*args, **kwargs)
        self.field.widget = EventNameInput(self.field.widget.attrs)


class PropertyKeyBlock(blocks.CharBlock):
    """A property name of an event, typed with the names that the latest events named in
    the same rule carry offered."""

    def __init__(self, *args, **kwargs):
        from ...scenarios.fields import PropertyKeyInput

        super().__init__(*args, **kwargs)
        self.field.widget = PropertyKeyInput(self.field.widget.attrs)


class RuleBlock(blocks.StructBlock):
    """A rule. Subclasses implement ``problems``, ``to_q`` and ``holds``.

    Guarantees: ``to_q`` never returns a condition that is SQL ``NULL`` for some contact
    (so NOT is an exact complement), and ``holds`` gives the same answer in Python.
    ``to_q`` raises :class:`~wagtail_journeys.exceptions.InvalidRule` on a value that
    ``all_problems`` reports (text or numbers no database can take, then the rule's own
    ``problems``), instead of letting the database fail.
    """

    negate = blocks.BooleanBlock(
        required=False, label=_("NOT"), help_text=_("Match the contacts this rule excludes.")
    )

    def problems(self, value: Any) -> dict[str, str]:
        """``{child block name: message}`` for values the rule cannot run with."""
        return {}

    def storable_problems(self, value: Any) -> dict[str, str]:
        """The check every rule shares: no child value may hold text or a number that
        cannot be stored (``inputs``: NUL, unpaired surrogates, numbers that are not finite
        or too large), whatever reached the rule (form, JSON, code)."""
        for name in self.child_blocks:
            problem = unstorable(value.get(name))
            if problem:
                return {name: problem}
        return {}

    def all_problems(self, value: Any) -> dict[str, str]:
        """``storable_problems``, then the rule's own ``problems``."""
        return self.storable_problems(value) or self.problems(value)

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        raise NotImplementedError

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        raise NotImplementedError

    def describe(self, value: Any) -> str:
        return str(self.label)

    def ensure_valid(self, value: Any) -> None:
        """Raise ``InvalidRule`` if ``all_problems`` reports anything."""
        for name, message in self.all_problems(value).items():
            raise InvalidRule(f"{self.label}: {message}", field=name)

    def clean(self, value):
        # Unstorable values first: some form fields crash on them (a float field on a
        # 400-digit integer).
        problems = self.storable_problems(value)
        if not problems:
            value = super().clean(value)
            problems = self.problems(value)
        if problems:
            raise StructBlockValidationError(
                block_errors={name: ValidationError(msg) for name, msg in problems.items()}
            )
        return value

    class Meta:
        icon = "filter"


def unstorable(value: Any) -> str | None:
    """Why a rule's child value (text, number, or a list or mapping of them) holds something
    that cannot be stored or sent to a database; ``None`` when it has nothing such."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if text_problem(item):
                return str(_("Remove the NUL character or the invalid (unpaired) Unicode."))
        elif isinstance(item, int | float | Decimal) and not isinstance(item, bool):
            if number_problem(item):
                return str(
                    _("Enter a finite number smaller than %(max)s in magnitude.")
                    % {"max": f"{MAX_NUMBER:,}"}
                )
        elif isinstance(item, Mapping):
            todo.extend(item.values())
        elif isinstance(item, list | tuple | ListValue):
            todo.extend(item)
    return None


def positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def window_problems(value: Any, *, required: bool = False) -> dict[str, str]:
    days = value.get("days")
    if days is None and not required:
        return {}
    if not positive(days) or days > MAX_WINDOW_DAYS:
        return {
            "days": str(
                _("The window must be a whole number of days, at least 1 and at most %(max)s.")
                % {"max": MAX_WINDOW_DAYS}
            )
        }
    return {}


def event_name_problems(value: Any, key: str = "event") -> dict[str, str]:
    if not EVENT_NAME_PATTERN.match(str(value.get(key) or "")):
        return {key: str(_("Give an event name (letters, digits, _ . : -)."))}
    return {}


def window(days: int | None, ctx: RuleContext) -> tuple[dt.datetime | None, dt.datetime]:
    """The window ``[now - days, now]``, both ends included (an event exactly ``days`` old
    is in it); no start when ``days`` is empty (all time)."""
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


TRUST_CHOICES = [
    ("", _("any source")),
    (Trust.SERVER.value, Trust.SERVER.label),
    (Trust.BROWSER.value, Trust.BROWSER.label),
]


def trust_block() -> blocks.ChoiceBlock:
    """The "recorded by" choice of event rules: which sources the counted events need."""
    return blocks.ChoiceBlock(
        choices=TRUST_CHOICES,
        required=False,
        default="",
        label=_("recorded by"),
        help_text=_("Count only events a server recorded (e.g. purchases), or a browser."),
    )


def trust_problems(value: Any) -> dict[str, str]:
    if value.get("trust") not in (None, *(choice for choice, _label in TRUST_CHOICES)):
        return {"trust": str(_("Choose any source, a server or a browser."))}
    return {}


def trust_q(value: Any) -> Q:
    """The condition over ``Event`` on its source that the rule's ``trust`` requires."""
    trust = value.get("trust")
    return Q(source__in=sources_of(trust)) if trust else Q()


def trust_holds(value: Any, event: EventFact) -> bool:
    """The Python twin of :func:`trust_q` on one event."""
    trust = value.get("trust")
    return not trust or TRUST.get(event.source) == trust
