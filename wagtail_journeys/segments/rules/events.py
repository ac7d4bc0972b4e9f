"""Rules on what a contact *did*: events over a time window, aggregates, inactivity,
referral and email engagement. Each compiles to one subquery over ``Event``
(``contact_id IN (SELECT … GROUP BY contact_id HAVING …)``), served by the
``(name, occurred_at)`` and ``(contact, name, occurred_at)`` indexes. Event rules can
require the events' source (``trust``: recorded by a server, or by a browser)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from ...models.events import activity_q, is_activity, is_machine, machine_q
from ..context import RuleContext
from ..decimals import (
    AtLeast,
    DecimalMax,
    DecimalSum,
    at_least,
    json_decimal,
    threshold_decimal,
    total,
)
from ..facts import ContactFacts, EventFact
from ..jsonpaths import KEY_PATTERN, JSONDecimal, json_condition, json_condition_holds
from .base import (
    EventNameBlock,
    PropertyKeyBlock,
    RuleBlock,
    event_name_problems,
    in_window,
    trust_block,
    trust_holds,
    trust_problems,
    trust_q,
    window,
    window_problems,
    window_q,
)
from .profile import OPERATOR_CHOICES, attribute_problems


class PropertyFilterBlock(blocks.StructBlock):
    key = PropertyKeyBlock(max_length=64, label=_("property"))
    operator = blocks.ChoiceBlock(choices=OPERATOR_CHOICES, label=_("operator"))
    value = blocks.CharBlock(required=False, max_length=500, label=_("value"))

    class Meta:
        label = _("Property filter")


def _days_block():
    return blocks.IntegerBlock(
        required=False, label=_("in the last N days"), help_text=_("Empty: at any time.")
    )


def filters_problems(value: Any) -> dict[str, str]:
    for item in value.get("filters") or []:
        problem = attribute_problems(item)
        if problem:
            return {"filters": next(iter(problem.values()))}
    return {}


def events_q(name: str, days: int | None, filters, ctx: RuleContext, value: Any = None):
    """The contacts' events named ``name`` in the window, matching every filter (and the
    source that ``value["trust"]`` requires)."""
    from ...models import Event

    q = Q(name=name, contact__isnull=False) & window_q(days, ctx) & trust_q(value or {})
    for item in filters or []:
        q &= json_condition("properties", item["key"], item["operator"], item["value"] or "")
    return Event.objects.filter(q).order_by()


def matching_events(
    facts: ContactFacts,
    name: str | None,
    days: int | None,
    filters,
    ctx: RuleContext,
    value: Any = None,
) -> list[EventFact]:
    """The Python twin of :func:`events_q` (``name=None``: any name)."""
    return [
        event
        for event in facts.events
        if (name is None or event.name == name)
        and in_window(event.occurred_at, days, ctx)
        and trust_holds(value or {}, event)
        and all(
            json_condition_holds(event.properties, f["key"], f["operator"], f["value"] or "")
            for f in filters or []
        )
    ]


class EventCountRuleBlock(RuleBlock):
    """Did EVENT (with property filters) at least N times in the last D days."""

    event = EventNameBlock(max_length=100, label=_("event"), help_text=_("e.g. page_view"))
    filters = blocks.ListBlock(PropertyFilterBlock(), default=[], label=_("where"))
    at_least = blocks.IntegerBlock(required=False, label=_("at least N times"), default=1)
    days = _days_block()
    trust = trust_block()

    class Meta:
        label = _("Did an event")
        icon = "history"

    def describe(self, value: Any) -> str:
        if not value.get("event"):
            return str(self.label)
        text = _("did %(event)s") % {"event": value["event"]}
        if (value.get("at_least") or 1) > 1:
            text += " " + _("%(n)s times") % {"n": value["at_least"]}
        if value.get("days"):
            text += " " + _("in the last %(days)s days") % {"days": value["days"]}
        return str(text)

    def problems(self, value: Any) -> dict[str, str]:
        at_least = value.get("at_least") or 1
        if not isinstance(at_least, int) or at_least < 1:
            return {"at_least": str(_("Enter a count of at least 1."))}
        return {
            **event_name_problems(value),
            **window_problems(value),
            **filters_problems(value),
            **trust_problems(value),
        }

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        events = events_q(value["event"], value.get("days"), value.get("filters"), ctx, value)
        at_least = value.get("at_least") or 1
        if at_least == 1:
            return Q(pk__in=events.values("contact_id"))
        counted = events.values("contact_id").annotate(n=Count("id")).filter(n__gte=at_least)
        return Q(pk__in=counted.values("contact_id"))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        found = matching_events(
            facts, value["event"], value.get("days"), value["filters"], ctx, value
        )
        return len(found) >= (value.get("at_least") or 1)


AGGREGATES = {"sum": DecimalSum, "count": Count, "max": DecimalMax}


class EventAggregateRuleBlock(RuleBlock):
    """SUM / COUNT / MAX of a numeric PROPERTY of EVENT in the last D days ≥ X.

    Only JSON numbers count (a text "12" does not), read and added as exact decimals
    (``0.01 + 130.14 + 69.85`` is 200); a number no input may store today (not finite,
    or too large) is skipped. Contacts without a matching event never match (use NOT for
    "below X, or nothing at all")."""

    function = blocks.ChoiceBlock(
        choices=[("sum", _("sum")), ("count", _("count")), ("max", _("maximum"))],
        label=_("function"),
    )
    property = PropertyKeyBlock(max_length=64, label=_("of property"), help_text=_("e.g. amount"))
    event = EventNameBlock(max_length=100, label=_("of event"), help_text=_("e.g. purchase"))
    filters = blocks.ListBlock(PropertyFilterBlock(), default=[], label=_("where"))
    at_least = blocks.FloatBlock(label=_("is at least"))
    days = _days_block()
    trust = trust_block()

    class Meta:
        label = _("Event total")
        icon = "order"

    def problems(self, value: Any) -> dict[str, str]:
        if value.get("function") not in AGGREGATES:
            return {"function": str(_("Choose sum, count or maximum."))}
        if not KEY_PATTERN.match(value.get("property") or ""):
            return {"property": str(_("Use a property of letters, digits, _ and -."))}
        if threshold_decimal(value.get("at_least")) is None:
            return {"at_least": str(_("Enter a number such as 200 or 12.5."))}
        return {
            **event_name_problems(value),
            **window_problems(value),
            **filters_problems(value),
            **trust_problems(value),
        }

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        events = events_q(value["event"], value.get("days"), value.get("filters"), ctx, value)
        total_of = AGGREGATES[value["function"]](JSONDecimal("properties", value["property"]))
        having = events.values("contact_id").annotate(total=total_of)
        threshold = threshold_decimal(value["at_least"])
        return Q(pk__in=having.filter(AtLeast(F("total"), threshold)).values("contact_id"))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        found = matching_events(
            facts, value["event"], value.get("days"), value["filters"], ctx, value
        )
        if not found:
            return False
        numbers = [
            number
            for event in found
            if isinstance(event.properties, dict)
            and (number := json_decimal(event.properties.get(value["property"]))) is not None
        ]
        function, threshold = value["function"], threshold_decimal(value["at_least"])
        if function == "count":
            return at_least(len(numbers), threshold)
        if not numbers:
            return False
        return at_least(total(numbers) if function == "sum" else max(numbers), threshold)


class InactivityRuleBlock(RuleBlock):
    """Inactive: no activity (or no event named EVENT) for the last D days, and a contact
    for at least that long. Joining counts as activity: someone imported or signed up
    yesterday is not "inactive for 90 days". Activity is what the contact did
    (``models.events.is_activity``, the same events as ``Contact.last_activity_at``): not
    ``email_sent``, which records what we did to them."""

    days = blocks.IntegerBlock(label=_("for N days"))
    event = EventNameBlock(
        required=False, max_length=100, label=_("event"), help_text=_("Empty: any activity.")
    )
    trust = trust_block()

    class Meta:
        label = _("Inactive")
        icon = "time"

    def problems(self, value: Any) -> dict[str, str]:
        problems = window_problems(value, required=True)
        if value.get("event"):
            problems.update(event_name_problems(value))
        return {**problems, **trust_problems(value)}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        from ...models import Event

        self.ensure_valid(value)
        start, _end = window(value["days"], ctx)
        q = Q(contact__isnull=False) & window_q(value["days"], ctx) & trust_q(value)
        q &= Q(name=value["event"]) & ~machine_q() if value.get("event") else activity_q()
        active = Event.objects.filter(q).order_by().values("contact_id")
        return Q(created_at__lt=start) & ~Q(pk__in=active)

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        start, _end = window(value["days"], ctx)
        if facts.created_at is not None and facts.created_at >= start:
            return False
        found = matching_events(facts, value.get("event") or None, value["days"], [], ctx, value)
        if value.get("event"):
            found = [event for event in found if not is_machine(event.name, event.properties)]
        else:
            found = [e for e in found if is_activity(e.name, e.source, e.properties)]
        return not found


class ReferralRuleBlock(RuleBlock):
    """Referred: the ``referred_by`` attribute is set (or equals the value), or a page view
    came from a referrer containing the value."""

    source = blocks.ChoiceBlock(
        choices=[
            ("referred_by", _("referred_by attribute")),
            ("referrer", _("page view referrer")),
        ],
        label=_("referral from"),
    )
    value = blocks.CharBlock(
        required=False,
        max_length=200,
        label=_("value"),
        help_text=_("referred_by: empty means any; referrer: text the URL contains."),
    )
    days = _days_block()

    class Meta:
        label = _("Referral")
        icon = "link"

    def problems(self, value: Any) -> dict[str, str]:
        if value.get("source") not in ("referred_by", "referrer"):
            return {"source": str(_("Choose where the referral is recorded."))}
        if value["source"] == "referrer" and not (value.get("value") or "").strip():
            return {"value": str(_("Enter the referrer, e.g. newsletter.example.com."))}
        return window_problems(value)

    def _condition(self, value: Any) -> tuple[str, str, str]:
        if value["source"] == "referrer":
            return "referrer", "contains", value["value"]
        if value.get("value"):
            return "referred_by", "equals", value["value"]
        return "referred_by", "is_empty", ""

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        key, operator, text = self._condition(value)
        if value["source"] == "referred_by":
            q = json_condition("attributes", key, operator, text)
            return ~q if operator == "is_empty" else q
        filters = [{"key": key, "operator": operator, "value": text}]
        events = events_q("page_view", value.get("days"), filters, ctx)
        return Q(pk__in=events.values("contact_id"))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        key, operator, text = self._condition(value)
        if value["source"] == "referred_by":
            held = json_condition_holds(facts.attributes, key, operator, text)
            return not held if operator == "is_empty" else held
        filters = [{"key": key, "operator": operator, "value": text}]
        return bool(matching_events(facts, "page_view", value.get("days"), filters, ctx))


ENGAGEMENT_EVENTS = {"sent": "email_sent", "opened": "email_opened", "clicked": "email_clicked"}


class EmailEngagementRuleBlock(RuleBlock):
    """Was sent / opened / clicked a given email (or any) within D days. Opens and clicks
    a machine made (``models.events.is_machine``) do not count."""

    action = blocks.ChoiceBlock(
        choices=[("sent", _("was sent")), ("opened", _("opened")), ("clicked", _("clicked"))],
        label=_("contact"),
    )
    email = blocks.PageChooserBlock(required=False, label=_("email"), help_text=_("Empty: any."))
    days = _days_block()

    class Meta:
        label = _("Email engagement")
        icon = "mail"

    def problems(self, value: Any) -> dict[str, str]:
        if value.get("action") not in ENGAGEMENT_EVENTS:
            return {"action": str(_("Choose sent, opened or clicked."))}
        return window_problems(value)

    def _filters(self, value: Any) -> list[dict[str, str]]:
        page = value.get("email")
        if page is None:
            return []
        return [{"key": "email_page_id", "operator": "equals", "value": str(page.pk)}]

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        name = ENGAGEMENT_EVENTS[value["action"]]
        events = events_q(name, value.get("days"), self._filters(value), ctx)
        return Q(pk__in=events.exclude(machine_q()).values("contact_id"))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        name = ENGAGEMENT_EVENTS[value["action"]]
        found = matching_events(facts, name, value.get("days"), self._filters(value), ctx)
        return any(not is_machine(event.name, event.properties) for event in found)
