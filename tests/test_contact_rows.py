"""Reading contact rows from CSV, without a database."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import strategies
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


# Hostile cells: whatever a cell holds, the reader gives it back exactly (with the line its
# row starts on) and the row either validates into storable values or is refused with a
# reason; nothing else (no crash, no value the database cannot store).

HOSTILE = strategies.hostile_cells(max_size=12)
NAMES = ["email", "first_name", "birth_date", "sms_opt_in", "tags", "attributes", "attr:note"]


def storable(value) -> bool:
    from wagtail_journeys.inputs import json_problem

    return json_problem(value, max_depth=64) is None


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a@b.example", "x\x00@b.example", "no"]), *[HOSTILE] * 6),
        min_size=1,
        max_size=4,
    )
)
def test_hostile_cells_round_trip_and_validate_or_are_refused(rows):
    import csv
    import io

    text = io.StringIO(newline="")
    csv.writer(text).writerows([NAMES, *rows])
    text.seek(0)
    header, records = read_records(text)
    assert header == NAMES
    read = list(records)
    expected, line = [], 2
    for row in rows:
        if any(cell.strip() for cell in row):
            expected.append((line, list(row)))
        line += 1 + sum(cell.count("\n") + cell.count("\r") - cell.count("\r\n") for cell in row)
    assert read == expected
    for line, cells in read:
        try:
            row = validate_row(NAMES, cells, line)
        except InvalidInput as error:
            assert str(error)
        else:
            values = [row.email, *row.fields.values(), row.attributes, row.tags]
            assert all(storable(v) for v in values if not isinstance(v, dt.date | bool))


def test_a_cell_that_cannot_be_stored_names_its_column():
    names = ["email", "attr:note", "tags"]
    with pytest.raises(InvalidInput, match=r"^tags contains a NUL character\.$"):
        validate_row(names, ["a@b.example", "ok", "t\x00"], 2)
    with pytest.raises(InvalidInput, match=r"^attr:note is longer than 10,000 characters\.$"):
        validate_row(names, ["a@b.example", "n" * 10_001, ""], 2)


def test_reasons_quote_at_most_a_short_part_of_a_long_value():
    with pytest.raises(InvalidInput) as error:
        validate_row(["email", "civility"], ["a@b.example", "k" * 9000], 2)
    assert len(str(error.value)) < 200


def test_read_records_reads_lines_of_any_length_in_bounded_pieces():
    class Lines(io.StringIO):
        longest = 0

        def readline(self, size=-1):
            assert 0 < size <= 1_000_001  # never "the whole line, however long"
            line = super().readline(size)
            Lines.longest = max(Lines.longest, len(line))
            return line

    source = Lines("email\n" + "x" * 3_000_000 + "\nok@b.example\n", newline="")
    _, records = read_records(source)
    assert [(line, cells if isinstance(cells, list) else "refused") for line, cells in records] == [
        (2, "refused"),
        (3, ["ok@b.example"]),
    ]
    assert Lines.longest <= 1_000_001
