"""Cells a spreadsheet would run: what exports write and imports read back."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from wagtail_journeys.spreadsheets import (
    FORMULA_STARTS,
    csv_text,
    looks_like_formula,
    unquoted,
    xlsx_text,
)

TEXT = st.text(alphabet=st.sampled_from("=+-@\t\r'\uff1d1.,e aZ\x00\x07\ufffe"), max_size=8)


@settings(max_examples=300, derandomize=True)
@given(st.one_of(TEXT, st.text(max_size=8)))
@example("=cmd|' /C calc'!A0")
@example("''=1")
def test_csv_cells_never_start_a_formula_and_read_back_exactly(text):
    cell = csv_text(text)
    assert not looks_like_formula(cell)
    assert unquoted(cell) == text
    if not text.lstrip("'").startswith(FORMULA_STARTS):
        assert cell == text  # ordinary text is written as it is


def test_plain_numbers_and_inner_signs_are_kept():
    for text in ["-12.5", "+33612345678", "-1e5", "Jean-Pierre", "a=b", "O'Brien", "'quoted"]:
        assert csv_text(text) == text


@settings(max_examples=100, derandomize=True)
@given(st.text(max_size=10))
def test_xlsx_text_holds_only_characters_a_worksheet_can(text):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = xlsx_text(text)
    assert not ILLEGAL_CHARACTERS_RE.search(cell)
    assert len(cell) == len(text)
