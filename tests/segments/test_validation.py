"""Bad rules are refused when a segment is saved, on the field, with a clear message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from wagtail_journeys.exceptions import InvalidRule

from .factories import ContactFactory, SegmentFactory, rule

pytestmark = pytest.mark.django_db


def rules_error(rules) -> str:
    segment = SegmentFactory.build(rules=rules)
    with pytest.raises(ValidationError) as caught:
        segment.full_clean()
    assert "rules" in caught.value.message_dict
    return " ".join(caught.value.message_dict["rules"])


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([rule("field", field="shoe_size", operator="equals", value="9")], "shoe_size"),
        ([rule("attribute", key="points", operator="greater", value="lots")], "Enter a number"),
        (
            [rule("event", event="page_view", at_least=1, days=-5, filters=[])],
            "at least 1",
        ),
        ([rule("birthday", days=0, timezone="Mars/Olympus")], "Mars/Olympus"),
        ([rule("field", field="timezone", operator="equals", value="Nowhere")], "Nowhere"),
        (
            [
                rule(
                    "event_total",
                    function="sum",
                    property="amount",
                    event="purchase",
                    at_least="a lot",
                    days=365,
                    filters=[],
                )
            ],
            "number",
        ),
        ([rule("sample", percent=80, start=50, seed=0)], "0–100"),
        ([rule("field", field="first_name", operator="greater", value="B")], "greater"),
    ],
)
def test_bad_values_are_validation_errors_on_the_rules_field(rules, message):
    assert message in rules_error(rules)


def test_valid_rules_pass():
    segment = SegmentFactory.build(
        rules=[rule("attribute", key="points", operator="greater", value="12.5")]
    )
    segment.full_clean()


def test_a_cycle_between_segments_is_refused_with_the_path():
    a = SegmentFactory(name="Alpha")
    b = SegmentFactory(name="Beta", rules=[rule("in_segment", segment=a.pk)])
    a.rules = [rule("in_segment", segment=b.pk)]
    with pytest.raises(ValidationError) as caught:
        a.full_clean()
    assert "Alpha → Beta → Alpha" in caught.value.message_dict["rules"][0]


def test_a_segment_including_itself_is_refused():
    a = SegmentFactory(name="Alpha")
    a.rules = [rule("in_segment", segment=a.pk)]
    with pytest.raises(ValidationError):
        a.full_clean()


def test_a_cycle_saved_around_validation_is_an_error_not_a_crash():
    ContactFactory()
    a = SegmentFactory(name="Alpha")
    b = SegmentFactory(name="Beta", rules=[rule("in_segment", segment=a.pk)])
    a.rules = [rule("in_segment", segment=b.pk)]
    a.save()  # no full_clean: as a data migration or a script might
    with pytest.raises(InvalidRule, match="includes itself"):
        a.count()
    with pytest.raises(InvalidRule):
        b.count()


def test_a_deleted_nested_segment_is_reported():
    inner = SegmentFactory()
    rules = [rule("in_segment", segment=inner.pk)]
    inner.delete()
    assert "deleted" in rules_error(rules)
