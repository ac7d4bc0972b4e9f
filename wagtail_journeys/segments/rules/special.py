"""Rules on the calendar and on other segments: birthday, random sample, in segment."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.db.models import BigIntegerField, ExpressionWrapper, F, IntegerField, Q, Value
from django.db.models.functions import ExtractDay, ExtractMonth
from django.db.models.lookups import GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from ..birthdays import (
    IN_DAYS,
    MONTH,
    NEXT_DAYS,
    PERIODS,
    TODAY,
    WEEK,
    birthdays_on,
    dates_by_timezone,
    has_birthday_in,
    month_day_runs,
    period_dates,
    resolve_timezone,
    target_date,
)
from ..context import RuleContext
from ..facts import ContactFacts
from .base import RuleBlock

MAX_BIRTHDAY_DAYS = 366
PERIOD_CHOICES = [
    (TODAY, _("today")),
    (IN_DAYS, _("in exactly N days")),
    (WEEK, _("this week (Monday to Sunday)")),
    (MONTH, _("this month")),
    (NEXT_DAYS, _("in the next N days (today included)")),
]


def birth_month_day() -> ExpressionWrapper:
    """``month * 100 + day`` of the birth date, in SQL (a date: no timezone applies)."""
    md = ExtractMonth("birth_date") * Value(100) + ExtractDay("birth_date")
    return ExpressionWrapper(md, output_field=IntegerField())


class BirthdayRuleBlock(RuleBlock):
    """The contact's birthday is today, in exactly N days, this week (Monday to Sunday),
    this month or in the next N days (today included), in the contact's own timezone
    (empty: the site's ``DEFAULT_TIMEZONE``) unless a timezone is given here. Someone born
    on 29 February has their birthday on 28 February in common years.

    Rules saved before the period existed hold only ``days``: they read as "in exactly N
    days" (0 being today), as they always did."""

    period = blocks.ChoiceBlock(
        choices=PERIOD_CHOICES, default=TODAY, label=_("birthday"), widget=forms.RadioSelect
    )
    days = blocks.IntegerBlock(
        required=False,
        min_value=0,
        max_value=MAX_BIRTHDAY_DAYS,
        label=_("N days"),
        help_text=_("For “in exactly N days” (0: today) and “in the next N days”."),
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

    def to_python(self, value):
        return super().to_python(with_period(value))

    def bulk_to_python(self, values):
        return super().bulk_to_python([with_period(value) for value in values])

    def problems(self, value: Any) -> dict[str, str]:
        period = value.get("period") or IN_DAYS
        if period not in PERIODS:
            return {"period": str(_("Choose when the birthday falls."))}
        days = value.get("days") or 0
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
            return {"days": str(_("Enter a number of days between 0 and 366."))}
        if period == NEXT_DAYS and days < 1:
            return {"days": str(_("Enter a number of days between 1 and 366."))}
        name = value.get("timezone") or ""
        if name:
            try:
                zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                return {"timezone": str(_("%(v)s is not an IANA timezone.") % {"v": name})}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        period, days = value.get("period") or IN_DAYS, value.get("days") or 0
        if value.get("timezone"):
            groups = {target_date(ctx.now, zoneinfo.ZoneInfo(value["timezone"]), 0): None}
        else:
            groups = dates_by_timezone(ctx.now, 0, ctx.contact_timezones(), ctx.default_timezone)
        q = Q(pk__in=[])
        for today, names in groups.items():
            born = Q(pk__in=[])
            pairs = birthdays_on(period_dates(period, today, days))
            for start, end in month_day_runs(pairs):
                md = birth_month_day()
                born |= Q(GreaterThanOrEqual(md, start)) & Q(LessThanOrEqual(md, end))
            where = Q() if names is None else Q(timezone__in=names)
            q |= where & born & Q(birth_date__isnull=False)
        return q

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        name = value.get("timezone") or facts.fields.get("timezone") or ""
        tz = resolve_timezone(name, ctx.default_timezone)
        period, days = value.get("period") or IN_DAYS, value.get("days") or 0
        dates = period_dates(period, target_date(ctx.now, tz, 0), days)
        return has_birthday_in(facts.fields.get("birth_date"), dates)


def with_period(value: Any) -> Any:
    """A stored birthday rule with its period: "in exactly N days" if it predates periods."""
    if isinstance(value, dict) and "period" not in value:
        return {**value, "period": IN_DAYS}
    return value


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
