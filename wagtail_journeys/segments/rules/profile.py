"""Rules on what a contact *is*: fields, attributes, civility, locale, tags, consent,
subscription topics."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from django import forms
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from ...models.contacts import Civility, EmailStatus
from ..context import RuleContext
from ..facts import ContactFacts
from ..jsonpaths import KEY_PATTERN, json_condition, json_condition_holds, parse_list, parse_number
from .base import RuleBlock

OPERATOR_CHOICES = [
    ("equals", _("equals")),
    ("contains", _("contains")),
    ("greater", _("is greater than")),
    ("less", _("is less than")),
    ("is_empty", _("is empty")),
    ("in_list", _("is one of (comma-separated)")),
]
TEXT_FIELDS = {
    "email": _("email"),
    "first_name": _("first name"),
    "last_name": _("last name"),
    "phone": _("phone"),
    "locale": _("locale"),
    "timezone": _("timezone"),
    "civility": _("civility"),
    "email_status": _("email status"),
}
DATE_FIELDS = {"birth_date": _("birth date")}
FIELD_CHOICES = [*TEXT_FIELDS.items(), *DATE_FIELDS.items()]
LOCALE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        return None


def _valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


class FieldRuleBlock(RuleBlock):
    """Compare a contact field: text fields (equals, contains, is empty, is one of) and the
    birth date (equals, before, after, is empty; ISO dates). Text matching is exact and
    case-sensitive on every database."""

    field = blocks.ChoiceBlock(choices=FIELD_CHOICES, label=_("field"))
    operator = blocks.ChoiceBlock(choices=OPERATOR_CHOICES, label=_("operator"))
    value = blocks.CharBlock(required=False, max_length=500, label=_("value"))

    class Meta:
        label = _("Contact field")
        icon = "user"

    def problems(self, value: Any) -> dict[str, str]:
        field, operator, text = value.get("field"), value.get("operator"), value.get("value") or ""
        if field not in TEXT_FIELDS and field not in DATE_FIELDS:
            return {"field": str(_("Unknown contact field %(f)r.") % {"f": field})}
        if operator not in dict(OPERATOR_CHOICES):
            return {"operator": str(_("Unknown operator."))}
        if operator == "is_empty":
            return {}
        if field in DATE_FIELDS:
            if operator in ("contains", "in_list"):
                return {"operator": str(_("Dates can be compared with equals, greater or less."))}
            if _parse_date(text) is None:
                return {"value": str(_("Enter a date as YYYY-MM-DD."))}
            return {}
        if operator in ("greater", "less"):
            return {"operator": str(_("Text fields cannot be greater or less; use equals."))}
        if not text.strip():
            return {"value": str(_("Enter a value."))}
        if field == "timezone" and operator in ("equals", "in_list"):
            bad = [name for name in parse_list(text) if not _valid_timezone(name)]
            if bad:
                return {"value": str(_("%(v)s is not an IANA timezone.") % {"v": bad[0]})}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        field, operator, text = value["field"], value["operator"], value.get("value") or ""
        if field in DATE_FIELDS:
            if operator == "is_empty":
                return Q(**{f"{field}__isnull": True})
            lookup = {"equals": "exact", "greater": "gt", "less": "lt"}[operator]
            return Q(**{f"{field}__{lookup}": _parse_date(text), f"{field}__isnull": False})
        if operator == "equals":
            return Q(**{field: text})
        if operator == "in_list":
            return Q(**{f"{field}__in": parse_list(text)})
        if operator == "is_empty":
            return Q(**{field: ""})
        return Q(GreaterThan(StrIndex(F(field), Value(text)), 0))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        field, operator, text = value["field"], value["operator"], value.get("value") or ""
        actual = facts.fields.get(field)
        if field in DATE_FIELDS:
            if operator == "is_empty":
                return actual is None
            if actual is None:
                return False
            date = _parse_date(text)
            return {"equals": actual == date, "greater": actual > date, "less": actual < date}[
                operator
            ]
        actual = actual or ""
        return {
            "equals": lambda: actual == text,
            "in_list": lambda: actual in parse_list(text),
            "is_empty": lambda: actual == "",
            "contains": lambda: text in actual,
        }[operator]()


class AttributeRuleBlock(RuleBlock):
    """Compare a key of the contact's JSON attributes (see the reference for the meaning
    of each operator on numbers, text, lists and booleans)."""

    key = blocks.CharBlock(max_length=64, label=_("attribute"))
    operator = blocks.ChoiceBlock(choices=OPERATOR_CHOICES, label=_("operator"))
    value = blocks.CharBlock(required=False, max_length=500, label=_("value"))

    class Meta:
        label = _("Attribute")
        icon = "tag"

    def problems(self, value: Any) -> dict[str, str]:
        return attribute_problems(value)

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        return json_condition("attributes", value["key"], value["operator"], value["value"] or "")

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        return json_condition_holds(
            facts.attributes, value["key"], value["operator"], value["value"] or ""
        )


def attribute_problems(value: Any) -> dict[str, str]:
    """Problems of a (key, operator, value) condition on a JSON object."""
    key, operator, text = value.get("key") or "", value.get("operator"), value.get("value") or ""
    if not KEY_PATTERN.match(key):
        return {"key": str(_("Use a key of letters, digits, _ and - (at most 64)."))}
    if operator not in dict(OPERATOR_CHOICES):
        return {"operator": str(_("Unknown operator."))}
    if operator in ("greater", "less") and parse_number(text) is None:
        return {"value": str(_("Enter a number such as 200 or 12.5."))}
    if operator in ("equals", "contains", "in_list") and not text.strip():
        return {"value": str(_("Enter a value."))}
    return {}


class CivilityRuleBlock(RuleBlock):
    civility = blocks.MultipleChoiceBlock(
        choices=Civility.choices,
        label=_("civility is one of"),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        label = _("Civility")
        icon = "user"

    def problems(self, value: Any) -> dict[str, str]:
        chosen = list(value.get("civility") or [])
        if not chosen or any(c not in Civility.values for c in chosen):
            return {"civility": str(_("Choose one or more civilities."))}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        return Q(civility__in=list(value["civility"]))

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        return facts.fields.get("civility") in list(value["civility"])


class LocaleRuleBlock(RuleBlock):
    """The contact's locale is one of the listed ones; ``fr`` also matches ``fr-CA``."""

    locales = blocks.CharBlock(max_length=200, label=_("locales"), help_text=_("e.g. fr, en-GB"))

    class Meta:
        label = _("Locale")
        icon = "globe"

    def problems(self, value: Any) -> dict[str, str]:
        locales = parse_list(value.get("locales") or "")
        if not locales or not all(LOCALE_PATTERN.match(item) for item in locales):
            return {"locales": str(_("List locales such as fr, en-GB."))}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        q = Q(pk__in=[])
        for locale in parse_list(value["locales"]):
            q |= Q(locale__iexact=locale) | Q(locale__istartswith=locale + "-")
        return q

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        actual = (facts.fields.get("locale") or "").lower()
        return any(
            actual == loc.lower() or actual.startswith(loc.lower() + "-")
            for loc in parse_list(value["locales"])
        )


class TagsRuleBlock(RuleBlock):
    """The contact has any (or all) of the listed interest tags (exact names)."""

    tags = blocks.CharBlock(max_length=500, label=_("tags"), help_text=_("comma-separated"))
    require_all = blocks.BooleanBlock(required=False, label=_("must have all of them"))

    class Meta:
        label = _("Tags")
        icon = "tag"

    def problems(self, value: Any) -> dict[str, str]:
        if not parse_list(value.get("tags") or ""):
            return {"tags": str(_("List one or more tags."))}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        from ...models import ContactTag

        self.ensure_valid(value)
        names = parse_list(value["tags"])

        def having(names: list[str]) -> Q:
            tagged = ContactTag.objects.filter(content_object=OuterRef("pk"), tag__name__in=names)
            return Q(Exists(tagged))

        if value.get("require_all"):
            q = Q()
            for name in names:
                q &= having([name])
            return q
        return having(names)

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        names = set(parse_list(value["tags"]))
        return names <= facts.tags if value.get("require_all") else bool(names & facts.tags)


SMS_CHOICES = [("", _("either")), ("yes", _("opted in")), ("no", _("not opted in"))]


class ConsentRuleBlock(RuleBlock):
    """Email status is one of the chosen ones and/or SMS opt-in is set or not."""

    email_status = blocks.MultipleChoiceBlock(
        choices=EmailStatus.choices, required=False, label=_("email status is one of")
    )
    sms = blocks.ChoiceBlock(choices=SMS_CHOICES, required=False, label=_("SMS"))

    class Meta:
        label = _("Consent")
        icon = "mail"

    def problems(self, value: Any) -> dict[str, str]:
        statuses = list(value.get("email_status") or [])
        if any(s not in EmailStatus.values for s in statuses):
            return {"email_status": str(_("Unknown email status."))}
        if value.get("sms") not in ("", None, "yes", "no"):
            return {"sms": str(_("Unknown SMS choice."))}
        if not statuses and not value.get("sms"):
            return {"email_status": str(_("Choose email statuses or an SMS choice."))}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        self.ensure_valid(value)
        q = Q()
        if value.get("email_status"):
            q &= Q(email_status__in=list(value["email_status"]))
        if value.get("sms"):
            q &= Q(sms_opt_in=value["sms"] == "yes")
        return q

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        statuses = list(value.get("email_status") or [])
        if statuses and facts.fields.get("email_status") not in statuses:
            return False
        sms = value.get("sms")
        return not sms or bool(facts.fields.get("sms_opt_in")) == (sms == "yes")


class TopicRuleBlock(RuleBlock):
    """The contact may get the topic's marketing mail: subscribed to email, and to the
    topic (by its own choice, or by the topic's default when it made none). The same
    test as sends (``topics``)."""

    topic = SnippetChooserBlock("wagtail_journeys.Topic", label=_("topic"))

    class Meta:
        label = _("Subscribed to topic")
        icon = "tag"

    def problems(self, value: Any) -> dict[str, str]:
        if value.get("topic") is None:
            return {"topic": str(_("Choose a topic (it may have been deleted)."))}
        return {}

    def to_q(self, value: Any, ctx: RuleContext) -> Q:
        from ...topics import subscribed_q

        self.ensure_valid(value)
        return subscribed_q(value["topic"])

    def holds(self, value: Any, facts: ContactFacts, ctx: RuleContext) -> bool:
        self.ensure_valid(value)
        topic = value["topic"]
        if facts.fields.get("email_status") != EmailStatus.SUBSCRIBED:
            return False
        return facts.topics.get(topic.pk, topic.subscribed_by_default)
