"""Hypothesis strategies for hostile input: the values an outside caller may send in API
bodies and headers, form posts, CSV cells, merge tags and editor rules, shared by the
tests of every boundary so that each meets the same hostile values.

What makes a value hostile, and why it is here:

- **NUL** (``"\\x00"``): PostgreSQL refuses it in ``text`` and ``jsonb``; SQLite stores it,
  so a row would fail later, elsewhere.
- **Lone surrogates** (``"\\ud800"`` to ``"\\udfff"``): they cannot be encoded as UTF-8 at
  all. A JSON body spells them as ``\\ud800`` escapes, a form post or a file as their
  (invalid) UTF-8 bytes. ``st.text()`` never draws them: the strategies here add them.
- **Line breaks** (CR, LF, CRLF): they split a mail or HTTP header, and a CSV row (so the
  line numbers of the rows after it move).
- **Other control and invisible characters** (tab, escape, U+2028, a byte order mark, a
  combining accent): read differently by different readers.
- **Markup and template syntax** (``<script>``, ``&``, quotes, ``{{``, ``%s``): contact
  data must be escaped wherever it is shown or mailed, never interpreted.
- **Numbers**: beyond a double (``10**400``, ``1e400`` spelled out), not finite (NaN,
  ±Infinity) or beyond a bigint (``2**63``), a number breaks the casts and aggregates that
  read it; the bounds of ``inputs.MAX_NUMBER`` (``MAX_NUMBER - 1`` is stored, ``MAX_NUMBER``
  is not) test the limit itself.
- **Deep nesting**, around and far beyond ``inputs.MAX_DEPTH``: recursion, and the
  depth a JSON column accepts.
- **CSV cells and form fields** are strings: numbers, dates and JSON spelled as text,
  delimiters, quotes, formula starts (``=+-@``) and a cell longer than the importer takes.

The strategies draw ordinary values too, so a hostile value also meets valid ones (what
is accepted must be stored exactly as sent). A strategy that belongs to one test (merge-tag
syntax, a form's field names) stays in that test's module, built from these pieces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from wagtail_journeys.inputs import MAX_NUMBER

#: Text PostgreSQL cannot store (and ``inputs.text_problem`` refuses on every database).
UNSTORABLE_PIECES = ("\x00", "\ud800", "\udfff", "\udc80")
LINE_BREAKS = ("\r\n", "\r", "\n")
#: Control, invisible and combining characters, markup and template syntax, and ordinary
#: non-ASCII text (an accent, a character outside the Basic Multilingual Plane).
TEXT_PIECES = (
    *UNSTORABLE_PIECES,
    *LINE_BREAKS,
    *("\t", "\x1b", "\u2028", "\ufeff", "\u0301"),
    *("<script>", "<", "&", "'", '"', "\\", "{{ x }}", "{{", "}}", "%s"),
    *("é", "📚", " "),
)

#: The last number stored and the first ones refused (``inputs.number_problem``).
MAX_NUMBER_BOUNDS = (MAX_NUMBER - 1, MAX_NUMBER, -MAX_NUMBER)
#: Integers beyond a bigint (``2**63``) and beyond a double (``10**400``).
HUGE_INTEGERS = (2**63, 2**64, -(2**63) - 1, 10**400)
#: Floats refused: beyond ``MAX_NUMBER`` but finite, and not finite.
UNSTORABLE_FLOATS = (1e300, -1e16, math.inf, -math.inf, math.nan)

#: Characters that matter in a CSV cell or a form field: delimiters, quotes, line breaks,
#: formula starts, NUL and lone surrogates.
CELL_CHARACTERS = 'a,;"\r\n\x00\ud800\udfff\t =+-@.é'
#: JSON documents as a cell spells them: numbers and text that cannot be stored, nesting
#: far beyond ``inputs.MAX_DEPTH`` (one level beyond it, and deep enough to hit parsers'
#: recursion limits).
JSON_CELLS = (
    '{"n": 1e400}',
    '{"n": NaN}',
    '{"n": 1e20}',
    f'{{"n": {MAX_NUMBER - 1}}}',
    f'{{"n": {MAX_NUMBER}}}',
    '{"n": ' + "9" * 5000 + "}",
    '{"k": "\\u0000"}',
    '{"k": "\\udc80"}',
    "[" * 2000 + "]" * 2000,
    '{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}',
)
#: Cells spelling what a column may not hold, or holds only at its limit.
TEXT_CELLS = (
    "",
    "\x00",
    "\ud800",
    "a\r\nb",
    "1e400",
    "-1e999",
    "NaN",
    "-Infinity",
    "9" * 30,  # integers beyond a bigint
    "9" * 40,
    "9" * 400,  # and beyond a double
    "x" * 10_001,  # longer than a cell may be
    "2000-02-29",
)


def any_text(*, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Any text, lone surrogates included (which ``st.text()`` never draws)."""
    return st.text(st.characters(codec=None), max_size=max_size)


def hostile_text(
    pieces: Sequence[str] = TEXT_PIECES, *, max_pieces: int = 6
) -> st.SearchStrategy[str]:
    """Text joined from up to ``max_pieces`` pieces, each one of ``pieces`` or a few of any
    characters; it may well be storable."""
    piece = st.one_of(st.sampled_from(pieces), any_text(max_size=4))
    return st.lists(piece, max_size=max_pieces).map("".join)


def unstorable_text() -> st.SearchStrategy[str]:
    """Text that always holds a NUL or a lone surrogate, among ordinary characters."""
    return st.builds(
        lambda before, bad, after: before + bad + after,
        hostile_text(max_pieces=2),
        st.sampled_from(UNSTORABLE_PIECES),
        hostile_text(max_pieces=2),
    )


def hostile_numbers() -> st.SearchStrategy[int | float]:
    """Integers around ``MAX_NUMBER``, at its bounds, huge, or of any size; the floats that
    are refused, or any float (NaN and ±Infinity included)."""
    return st.one_of(
        st.integers(min_value=-10 * MAX_NUMBER, max_value=10 * MAX_NUMBER),
        st.sampled_from(MAX_NUMBER_BOUNDS),
        st.sampled_from(HUGE_INTEGERS),
        st.integers(),
        st.sampled_from(UNSTORABLE_FLOATS),
        st.floats(allow_nan=True, allow_infinity=True),
    )


def unstorable_numbers() -> st.SearchStrategy[int | float]:
    """Numbers that ``inputs.number_problem`` refuses: integers from ``MAX_NUMBER`` up to
    ``10**400`` in magnitude, and floats beyond it or not finite."""
    return st.one_of(
        st.integers(min_value=MAX_NUMBER, max_value=10**400),
        st.integers(min_value=-(10**400), max_value=-MAX_NUMBER),
        st.sampled_from((MAX_NUMBER, -MAX_NUMBER, *UNSTORABLE_FLOATS)),
    )


def _nested(depth: int) -> Any:
    """``1`` inside ``depth`` levels of objects and arrays, alternately."""
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def deep_json() -> st.SearchStrategy[Any]:
    """A value nested 1 to 40 levels deep: around and far beyond ``MAX_DEPTH``."""
    return st.integers(min_value=1, max_value=40).map(_nested)


def hostile_json(*, max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value (as Python decodes it), with hostile text in its keys and strings
    and hostile numbers."""
    scalars = st.none() | st.booleans() | hostile_numbers() | hostile_text()
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(hostile_text(), children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def hostile_objects() -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object: hostile keys and values, or one key holding a deeply nested value."""
    return st.one_of(
        st.dictionaries(hostile_text(), hostile_json(), max_size=4),
        deep_json().map(lambda value: {"deep": value}),
    )


def hostile_cells(*, max_size: int = 12) -> st.SearchStrategy[str]:
    """A string as a CSV cell or a form field holds it: any text, text made of the
    characters that matter in a cell, or one of ``TEXT_CELLS`` and ``JSON_CELLS``."""
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet=st.sampled_from(CELL_CHARACTERS), max_size=max_size),
        st.sampled_from(TEXT_CELLS),
        st.sampled_from(JSON_CELLS),
    )
