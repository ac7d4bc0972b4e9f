"""What outside input may be stored: the shared rules of ``wagtail_journeys.inputs``."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import strategies
from wagtail_journeys.exceptions import InvalidInput
from wagtail_journeys.inputs import MAX_NUMBER, clean_json, clean_object, clean_text


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Ada\x00", "NUL"),
        ("\ud800", "surrogate"),
        ("a\udfffb", "surrogate"),
    ],
)
def test_text_that_cannot_be_stored_is_refused_with_the_field(value, problem):
    with pytest.raises(InvalidInput, match=problem) as error:
        clean_text(value, field="first_name")
    assert error.value.field == "first_name"


def test_ordinary_text_passes_unchanged():
    text = "Zoë \U0001f4da\r\n\ttab"
    assert clean_text(text, field="x") is text


@pytest.mark.parametrize(
    "value",
    [
        {"amount": 10**400},
        {"amount": -(10**15)},
        {"amount": math.inf},
        {"amount": math.nan},
        {"k\x00": 1},
        {"\ud800": 1},
        {"items": [{"name": "x\x00"}]},
        {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}},
        {"x" * 101: 1},
        {"when": object()},
    ],
)
def test_json_that_cannot_be_stored_is_refused(value):
    with pytest.raises(InvalidInput):
        clean_object(value, field="properties")


def test_bounded_json_passes():
    value = {"amount": MAX_NUMBER - 1, "price": 12.5, "ok": True, "none": None, "l": [1, "a"]}
    assert clean_object(value, field="properties") is value


def test_an_object_is_required_where_an_object_is_expected():
    with pytest.raises(InvalidInput, match="JSON object"):
        clean_object([1], field="attributes")


@settings(max_examples=200, derandomize=True)
@given(st.one_of(strategies.any_text(), strategies.hostile_text()))
def test_text_is_refused_exactly_when_postgresql_could_not_store_it(text):
    storable = "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    try:
        clean_text(text, field="f")
    except InvalidInput:
        assert not storable
    else:
        assert storable
        text.encode("utf-8")


@settings(max_examples=200, derandomize=True)
@given(st.one_of(strategies.hostile_json(max_leaves=12), strategies.deep_json()))
def test_clean_json_either_refuses_with_invalid_input_or_accepts(value):
    try:
        clean_json(value, field="f")
    except InvalidInput as error:
        assert error.field == "f"


def test_a_huge_decimal_is_too_large_not_infinite():
    from decimal import Decimal

    from wagtail_journeys.inputs import number_problem

    assert "too large" in number_problem(Decimal("1e400"))
    assert "not finite" in number_problem(Decimal("NaN"))
    assert number_problem(Decimal("12.50")) is None
