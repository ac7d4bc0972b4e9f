"""Rules on the calendar and on other segments: birthday, random sample, in segment."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.db.models import BigIntegerField, ExpressionWrapper, F, Q, Value
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from ..birthdays import (
    birthday_days,
    dates_by_timezone,
    has_birthday_on,
    resolve_timezone,
    target_date,
)
from ..context import RuleContext
from ..facts import ContactFacts
from .base import RuleBlock

MAX_BIRTHDAY_DAYS = 366


class BirthdayRuleBlock(RuleBlock):
    """The contact's birthday is today, or in exactly N days, in the contact's own timezone
    (empty: the site's ``DEFAULT_TIMEZONE``) unless a timezone is given here. Someone born on
    29 February has their birthday on 28 February in common years."""

    days = blocks.IntegerBlock(
        required=False, min_value=0, max_value=MAX_BIRTHDAY_DAYS, label=_("in N days (0: today)")
    )
    timezone = blocks.CharBlock(
        required=False,
        max_length=64,
        label=_("timezone"),
        help_text=_("Leave empty to use each contact's own timezone."),
    )

    class Meta:
        label = _("Birthday")
        icon = "date"

    def problems(self, value: Any) -> dict[str, str]:
        days = value.get("days") or 0
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
            return {"days": str(_("Enter a number of days between 0 and 366."))}
        name = value.get("timezone") or ""
        if name:
            try:
                zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                return {"timezone": str(_("%(v)s is not an IANA timezone.") % {"v": name})}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        days = value.get("days") or 0
        if value.get("timezone"):
            groups = {target_date(ctx.now, zoneinfo.ZoneInfo(value["timezone"]), days): None}
        else:
            groups = dates_by_timezone(ctx.now, days, ctx.contact_timezones(), ctx.default_timezone)
        q = Q(pk__in=[])
        for day, names in groups.items():
            born = Q(pk__in=[])
            for month, day_of_month in birthday_days(day):
                born |= Q(birth_date__month=month, birth_date__day=day_of_month)
            where = Q() if names is None else Q(timezone__in=names)
            q |= where & born & Q(birth_date__isnull=False)
        return q

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        name = value.get("timezone") or facts.fields.get("timezone") or ""
        tz = resolve_timezone(name, ctx.default_timezone)
        day = target_date(ctx.now, tz, value.get("days") or 0)
        return has_birthday_on(facts.fields.get("birth_date"), day)


# Knuth's multiplicative hash on 32 bits, in integer arithmetic that SQLite and
# PostgreSQL compute identically (every intermediate stays below 2**63).
_ID_MODULUS = 2**31
_MULTIPLIER = 2654435761
_SPACE = 2**32


def sample_bucket(contact_id: int, seed: int) -> int:
    """The contact's stable bucket in 0..99 for ``seed``."""
    mixed = ((contact_id % _ID_MODULUS) * _MULTIPLIER + seed) % _SPACE
    return mixed * 100 // _SPACE


def sample_bucket_sql(seed: int) -> ExpressionWrapper:
    mixed = (F("id") % Value(_ID_MODULUS) * Value(_MULTIPLIER) + Value(seed)) % Value(_SPACE)
    return ExpressionWrapper(mixed * Value(100) / Value(_SPACE), output_field=BigIntegerField())


class SampleRuleBlock(RuleBlock):
    """A stable share of contacts: those whose bucket (a hash of their id and the seed, in
    0–99) lies in ``[start, start + percent)``. Same contacts on every query and database;
    rules with the same seed and disjoint ranges split contacts into disjoint groups."""

    percent = blocks.IntegerBlock(min_value=1, max_value=100, label=_("percent"))
    start = blocks.IntegerBlock(
        required=False, min_value=0, max_value=99, label=_("from bucket (0–99)")
    )
    seed = blocks.IntegerBlock(required=False, min_value=0, max_value=2**31, label=_("seed"))

    class Meta:
        label = _("Random sample")
        icon = "pick"

    def problems(self, value: Any) -> dict[str, str]:
        percent, start, seed = value.get("percent"), value.get("start") or 0, value.get("seed") or 0
        if not isinstance(percent, int) or not 1 <= percent <= 100:
            return {"percent": str(_("Enter a percentage between 1 and 100."))}
        if not isinstance(start, int) or not 0 <= start <= 100 - percent:
            return {"start": str(_("The range must stay within 0–100."))}
        if not isinstance(seed, int) or not 0 <= seed <= 2**31:
            return {"seed": str(_("Enter a seed between 0 and 2147483648."))}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        start = value.get("start") or 0
        bucket = sample_bucket_sql(value.get("seed") or 0)
        return Q(GreaterThanOrEqual(bucket, start)) & Q(LessThan(bucket, start + value["percent"]))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        start = value.get("start") or 0
        return start <= sample_bucket(facts.id, value.get("seed") or 0) < start + value["percent"]


class InSegmentRuleBlock(RuleBlock):
    """The contact is in another segment (its rules are inlined; cycles are refused)."""

    segment = SnippetChooserBlock("wagtail_journeys.Segment", label=_("segment"))

    class Meta:
        label = _("In segment")
        icon = "group"

    def problems(self, value: Any) -> dict[str, str]:
        if value.get("segment") is None:
            return {"segment": str(_("Choose a segment (it may have been deleted)."))}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        segment = value["segment"]
        return segment.compile(ctx=ctx.within(segment.pk, segment.name))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        from ..compiler import evaluate_rules

        self.ensure_valid(value)
        segment = value["segment"]
        inner = ctx.within(segment.pk, segment.name)
        return evaluate_rules(segment.rules, segment.match, facts, ctx=inner)
