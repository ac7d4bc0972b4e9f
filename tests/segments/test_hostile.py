"""Hostile values in segment rules (NUL characters, unpaired surrogates, huge or non-finite
numbers, absurd windows) are validation errors in the editor and ``InvalidRule`` in the
compiler, never a database error or a 500, on the database the run uses."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests import strategies
from wagtail_journeys.exceptions import InvalidRule
from wagtail_journeys.models import Segment
from wagtail_journeys.segments import compile_rules, evaluate_rules, rules_problems
from wagtail_journeys.segments.facts import ContactFacts

from .factories import NOW, ContactFactory, SegmentFactory, rule

pytestmark = pytest.mark.django_db

FILTER = {"key": "amount", "operator": "greater", "value": "3"}
#: A valid value of every rule type whose children hold text or numbers.
VALID = {
    "field": {"field": "first_name", "operator": "equals", "value": "Ann"},
    "attribute": {"key": "points", "operator": "greater", "value": "3"},
    "civility": {"civility": ["mr"]},
    "locale": {"locales": "fr"},
    "tags": {"tags": "horror", "require_all": False},
    "birthday": {"days": 0, "timezone": ""},
    "event": {"event": "purchase", "at_least": 1, "days": 30, "filters": [FILTER], "trust": ""},
    "event_total": {
        "function": "sum",
        "property": "amount",
        "event": "purchase",
        "filters": [FILTER],
        "at_least": 200.0,
        "days": 365,
        "trust": "server",
    },
    "inactive": {"days": 90, "event": "page_view", "trust": ""},
    "referral": {"source": "referrer", "value": "blog", "days": 30},
    "consent": {"email_status": ["subscribed"], "sms": ""},
    "sample": {"percent": 10, "start": 0, "seed": 1},
}

hostile = st.one_of(strategies.unstorable_text(), strategies.unstorable_numbers())


@st.composite
def hostile_rules(draw):
    """A valid rule with one child (or one property filter's item) made hostile."""
    kind = draw(st.sampled_from(sorted(VALID)))
    value = {**VALID[kind]}
    name = draw(st.sampled_from(sorted(value)))
    bad = draw(hostile)
    if name == "filters":
        item = draw(st.sampled_from(sorted(FILTER)))
        value[name] = [{**FILTER, item: bad}]
    elif isinstance(value[name], list):
        value[name] = [*value[name], bad]
    else:
        value[name] = bad
    return [rule(kind, draw(st.booleans()), **value)]


def test_the_valid_values_are_valid():
    ContactFactory()
    for kind, value in VALID.items():
        rules = [rule(kind, **value)]
        assert rules_problems(rules) == [], kind
        compile_rules(rules, now=NOW)


def assert_refused(rules) -> None:
    assert rules_problems(rules)
    with pytest.raises(InvalidRule):
        compile_rules(rules, now=NOW)
    with pytest.raises(InvalidRule):
        evaluate_rules(rules, "all", ContactFacts(id=1, fields={}), now=NOW)
    with pytest.raises(ValidationError) as caught:
        SegmentFactory.build(rules=rules).full_clean()
    assert "rules" in caught.value.message_dict


EXTREMES = ["\x00", "a\ud800", 10**400, -(10**15), float("nan"), float("-inf"), 1e300]


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_field_of_every_rule_refuses_each_extreme(kind):
    for name in VALID[kind]:
        for bad in EXTREMES:
            value = {**VALID[kind], name: bad}
            if name == "filters":
                value[name] = [{**FILTER, "value": bad}]
            assert_refused([rule(kind, **value)])


@settings(
    max_examples=120,  # ≈ 3 s per database
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rules=hostile_rules())
def test_hostile_values_are_invalid_rules_never_database_errors(rules):
    assert_refused(rules)


@pytest.fixture
def admin(client):
    user = get_user_model().objects.create_superuser("boss", "boss@x.com", "pw")
    client.force_login(user)
    return client


def form(rules) -> dict:
    data = {"name": "Hostile", "slug": "hostile", "description": "", "match": "all"}
    data["rules"] = streamfield(rules)
    return nested_form_data(data)


EDITOR_INPUT = [
    ("inactive", {"negate": "", "days": "99999999999", "event": "", "trust": ""}, "days"),
    (
        "event",
        {
            "negate": "",
            "event": "purchase",
            "at_least": str(10**20),
            "days": "",
            "filters": {"count": "0"},
            "trust": "",
        },
        "at_least",
    ),
    (
        "event_total",
        {
            "negate": "",
            "function": "sum",
            "property": "amount",
            "event": "purchase",
            "at_least": "1e300",
            "days": "",
            "filters": {"count": "0"},
            "trust": "",
        },
        "at_least",
    ),
    (
        "field",
        {"negate": "", "field": "first_name", "operator": "equals", "value": "A\x00"},
        "value",
    ),
    ("tags", {"negate": "", "tags": "horror,\x00", "require_all": ""}, "tags"),
]


@pytest.mark.parametrize(("kind", "value", "field"), EDITOR_INPUT)
def test_the_editor_shows_hostile_values_as_errors(admin, kind, value, field):
    ContactFactory()
    add = admin.post(reverse("wagtailsnippets_wagtail_journeys_segment:add"), form([(kind, value)]))
    assert add.status_code == 200
    assert not Segment.objects.exists()
    assert re.search(r"error", add.content.decode())
    preview = admin.post(
        reverse("wagtailsnippets_wagtail_journeys_segment:preview"), form([(kind, value)])
    )
    assert preview.status_code == 200
    errors = preview.json()["errors"]
    assert errors and any(f", {field}:" in error for error in errors), errors
