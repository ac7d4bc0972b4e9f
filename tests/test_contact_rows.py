"""Reading contact rows from CSV, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from wagtail_journeys.contact_rows import (
    InvalidHeader,
    parse_header,
    read_records,
    validate_row,
)
from wagtail_journeys.exceptions import InvalidInput


def test_parse_header_is_case_insensitive_and_keeps_attribute_keys_as_written():
    assert parse_header([" Email ", "TAGS", "ATTR:MemberSince"]) == [
        "email",
        "tags",
        "attr:MemberSince",
    ]


def test_parse_header_names_the_unknown_columns():
    with pytest.raises(InvalidHeader, match="'fist_name', 'zip'"):
        parse_header(["email", "fist_name", "zip"])


def test_validate_row_keeps_only_filled_cells_typed():
    names = ["email", "birth_date", "sms_opt_in", "email_status", "tags", "attr:a", "first_name"]
    row = validate_row(
        names, [" A@B.example ", "2000-02-29", "No", "BOUNCED", "x, y;x", "1", ""], line=9
    )
    assert row.line == 9
    assert row.email == "a@b.example"
    assert row.fields == {
        "birth_date": dt.date(2000, 2, 29),
        "sms_opt_in": False,
        "email_status": "bounced",
    }
    assert row.tags == ["x", "y"]
    assert row.attributes == {"a": "1"}


def test_attr_columns_override_the_attributes_json():
    row = validate_row(
        ["email", "attributes", "attr:plan"], ["a@b.example", '{"plan": "free", "n": 2}', "gold"], 2
    )
    assert row.attributes == {"plan": "gold", "n": 2}


def test_validate_row_refuses_a_leap_day_that_does_not_exist():
    with pytest.raises(InvalidInput, match="birth_date '2001-02-29' is not a date"):
        validate_row(["email", "birth_date"], ["a@b.example", "2001-02-29"], 2)


def test_read_records_detects_semicolons_and_reports_lines():
    header, records = read_records(["email;tags\n", "\n", "a@b.example;x,y\n"])
    assert header == ["email", "tags"]
    assert list(records) == [(3, ["a@b.example", "x,y"])]


def test_read_records_turns_csv_errors_into_rejections():
    _, records = read_records(["email\n", "a\x00b\n", "ok@b.example\n"])
    assert [line for line, _ in records] == [2, 3]


def test_parse_header_ignores_a_byte_order_mark():
    assert parse_header(["\ufeffemail"]) == ["email"]
