"""Form fields that speak marketing: property filters as rows (property, operator, value),
weekdays as checkboxes, event names with suggestions. Each round-trips to exactly the value
the model stores and the engine reads, so validation on the server is the model's own.

Property filters are the JSON object the engine matches (``engine.triggers.filters_match``):
a value means "equals", a list means "is one of". A row's value is read as JSON when it is
JSON (``12``, ``true``, ``"12"``), else as the text typed (``Stephen King``); a row
shows its value the same way, quoted only where the text alone would read otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..inputs import MAX_KEY_LENGTH, json_problem, text_problem

IS = "is"
ONE_OF = "one_of"
OPERATORS = [(IS, _("is")), (ONE_OF, _("is one of"))]
#: Rows read from one post at most (a hostile post may send thousands).
MAX_ROWS = 50
WEEKDAYS = [
    ("0", _("Monday")),
    ("1", _("Tuesday")),
    ("2", _("Wednesday")),
    ("3", _("Thursday")),
    ("4", _("Friday")),
    ("5", _("Saturday")),
    ("6", _("Sunday")),
]

Row = tuple[str, str, str]


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are text here, never numbers


def _json(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def parse_value(text: str) -> Any:
    """``"12"`` -> 12, ``'"12"'`` -> "12", ``"Stephen King"`` -> "Stephen King"."""
    text = text.strip()
    try:
        return _json(text)
    except ValueError:
        return text


def _reads_as_is(text: str) -> bool:
    """Would ``text``, typed as a value, read back as this very string?"""
    return bool(text) and text == text.strip() and parse_value(text) == text


def show_value(value: Any) -> str:
    """The text a row shows for one value (the inverse of :func:`parse_value`)."""
    if isinstance(value, str) and _reads_as_is(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def show_values(values: Iterable[Any]) -> str:
    """``[1, "a"]`` -> ``"1, a"``; as JSON items when a text has a comma or needs quotes."""
    values = list(values)
    plain = all(
        not isinstance(v, str) or ("," not in v and '"' not in v and _reads_as_is(v))
        for v in values
    )
    if plain and all(not isinstance(v, list | dict) for v in values):
        return ", ".join(show_value(v) for v in values)
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in values)


def parse_values(text: str) -> list[Any]:
    """The inverse of :func:`show_values`: JSON items, or plain values split at commas."""
    try:
        return _json(f"[{text}]")
    except ValueError:
        return [parse_value(part) for part in text.split(",") if part.strip()]


def filter_rows(filters: Any) -> list[Row]:
    """The rows that show a stored filter object (anything else shows no row)."""
    if not isinstance(filters, Mapping):
        return []
    return [
        (key, ONE_OF, show_values(value))
        if isinstance(value, list | tuple)
        else (key, IS, show_value(value))
        for key, value in filters.items()
    ]


def filters_from_rows(rows: Iterable[Row]) -> dict[str, Any]:
    """The filter object the rows mean. Blank rows are left out; a row that cannot be
    stored or matched raises ``ValidationError`` naming it."""
    rows = list(rows)
    if len(rows) > MAX_ROWS:
        raise ValidationError(_("At most %(n)d filters.") % {"n": MAX_ROWS}, code="filters")
    filters: dict[str, Any] = {}
    errors = []
    for n, (key, operator, text) in enumerate(rows, start=1):
        key, text = key.strip(), text or ""
        if not key and not text.strip():
            continue
        problem = None
        if not key:
            problem = _("name the property")
        elif len(key) > MAX_KEY_LENGTH:
            problem = _("the property name is longer than %(n)d characters") % {"n": MAX_KEY_LENGTH}
        elif text_problem(key) or text_problem(text):
            problem = _("it contains characters that cannot be stored")
        elif key in filters:
            problem = _("%(key)s is filtered twice: one row per property") % {"key": key}
        elif operator not in (IS, ONE_OF):
            problem = _("choose an operator")
        elif operator == ONE_OF:
            value = parse_values(text)
            if not value:
                problem = _("list at least one value, separated by commas")
        else:
            value = parse_value(text)
            if isinstance(value, list):
                problem = _("for a list of values, choose “is one of”")
        if problem is None:
            problem = json_problem(value)
        if problem:
            errors.append(_("Row %(n)d: %(problem)s.") % {"n": n, "problem": problem})
        else:
            filters[key] = value
    if errors:
        raise ValidationError(errors, code="filters")
    return filters


class PropertyFiltersWidget(forms.Widget):
    """Rows of (property, operator, value); a Stimulus controller adds and removes rows.

    ``event_field`` names the form field holding the event whose property names are
    suggested (they are fetched from ``journeys_suggest:properties``)."""

    template_name = "wagtail_journeys/widgets/property_filters.html"

    def __init__(self, attrs=None, event_field: str = "", fixed_event: str = ""):
        super().__init__(attrs)
        self.event_field = event_field
        self.fixed_event = fixed_event

    class Media:
        js = ["wagtail_journeys/js/scenario-forms.js"]
        css = {"all": ["wagtail_journeys/css/scenario-forms.css"]}

    def format_value(self, value: Any) -> list[Row]:
        if isinstance(value, list):  # rows posted back (the form had errors)
            return value
        if isinstance(value, str):  # the JSON text a JSONField bound value can be
            try:
                value = json.loads(value)
            except ValueError:
                return []
        return filter_rows(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            rows=context["widget"]["value"] or [],
            operators=OPERATORS,
            event_field=self.event_field,
            fixed_event=self.fixed_event,
            keys_url=reverse("journeys_suggest:properties"),
        )
        return context

    def value_from_datadict(self, data, files, name) -> list[Row]:
        def values(part: str) -> list[str]:
            got = data.getlist(f"{name}-{part}") if hasattr(data, "getlist") else None
            if got is None:
                got = data.get(f"{name}-{part}", [])
                got = [got] if isinstance(got, str) else list(got)
            return [str(v) for v in got[: MAX_ROWS + 1]]  # one more: too many is an error

        keys, operators, texts = values("key"), values("operator"), values("value")
        count = max(len(keys), len(operators), len(texts))
        keys, operators, texts = ((p + [""] * count)[:count] for p in (keys, operators, texts))
        return list(zip(keys, operators, texts, strict=True))

    def value_omitted_from_data(self, data, files, name) -> bool:
        # Every rendering posts ``-present``: a form whose rows were all removed posts no
        # row, which means "no filter", not "unchanged".
        return f"{name}-present" not in data and f"{name}-key" not in data


class PropertyFiltersField(forms.Field):
    """The filter object of a trigger, goal or event wait, edited as rows."""

    widget = PropertyFiltersWidget

    def __init__(self, *, encoder=None, decoder=None, **kwargs):  # JSONField.formfield's
        kwargs.pop("max_length", None)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dict[str, Any]:
        if value in self.empty_values:
            return {}
        if isinstance(value, Mapping):
            return dict(value)
        return filters_from_rows(value)

    def prepare_value(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


class WeekdaysField(forms.TypedMultipleChoiceField):
    """Weekdays as checkboxes, stored as the model's text ``"0,1,2,3,4"`` (Monday = 0)."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, *, max_length=None, empty_value="", **kwargs):  # CharField's
        kwargs.pop("choices", None)
        super().__init__(choices=WEEKDAYS, **kwargs)

    def prepare_value(self, value: Any) -> list[str]:
        if isinstance(value, str):
            from .summaries import parse_weekdays

            return [str(day) for day in parse_weekdays(value)]
        return value

    def clean(self, value: Any) -> str:
        days = super().clean(value)
        return ",".join(sorted(set(days)))

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.prepare_value(initial or "") != sorted(set(data or []))


class SuggestInput(forms.TextInput):
    """A text input offering suggestions fetched on focus by a Stimulus ``controller``
    from the URL named ``url_name`` (which checks the editor's permissions)."""

    template_name = "wagtail_journeys/widgets/event_name.html"
    controller = ""
    url_name = ""

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", **(attrs or {})})

    class Media:
        js = ["wagtail_journeys/js/scenario-forms.js"]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-suggestions"
        context["widget"]["attrs"].update(
            {
                "list": list_id,
                "data-controller": self.controller,
                "data-action": f"focus->{self.controller}#load",
                f"data-{self.controller}-url-value": reverse(self.url_name),
            }
        )
        context["widget"]["list_id"] = list_id
        return context


class EventNameInput(SuggestInput):
    """Offers the event names seen in the event log (``journeys_suggest:events``)."""

    controller = "journeys-suggest"
    url_name = "journeys_suggest:events"


class PropertyKeyInput(SuggestInput):
    """Offers the property names of the events named in the nearest "event" field of the
    same rule (``journeys_suggest:properties``). Used in the segment rule editor, where
    fields are named by the stream editor."""

    controller = "journeys-keys"
    url_name = "journeys_suggest:properties"


class PageTagInput(forms.TextInput):
    """One page tag, typed with the site's tags offered (at most ``MAX_TAGS``)."""

    template_name = "wagtail_journeys/widgets/page_tag.html"
    MAX_TAGS = 500

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}-tags"
        context["widget"]["attrs"].update({"list": list_id, "autocomplete": "off"})
        context["widget"]["list_id"] = list_id
        context["widget"]["tags"] = page_tags(self.MAX_TAGS)
        return context


def page_tags(limit: int) -> list[str]:
    """The names of the tags given to pages (not to contacts), sorted, at most ``limit``."""
    from taggit.models import Tag
    from wagtail.models import Page

    names: set[str] = set()
    for relation in Tag._meta.related_objects:
        through = relation.related_model
        try:
            target = through._meta.get_field("content_object").related_model
        except FieldDoesNotExist:  # taggit's generic TaggedItem
            continue
        if isinstance(target, type) and issubclass(target, Page):
            tagged = through.objects.order_by("tag__name").values_list("tag__name", flat=True)
            names.update(tagged.distinct()[:limit])
    return sorted(names)[:limit]


def page_type_choices(current: str = "") -> list[tuple[str, str]]:
    """``("shop.bookpage", "Book page")`` for each page type of the site, and the current
    value if it is not (any more) one of them."""
    from wagtail.models import get_page_models

    choices = [("", _("any page type"))]
    known = set()
    for model in sorted(get_page_models(), key=lambda m: str(m._meta.verbose_name)):
        if model._meta.app_label == "wagtail_journeys" or model._meta.abstract:
            continue
        value = model._meta.label_lower
        known.add(value)
        choices.append((value, f"{str(model._meta.verbose_name).capitalize()} ({value})"))
    if current and current.lower() not in known:
        choices.append((current, current))
    return choices
