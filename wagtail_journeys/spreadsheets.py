"""Cells a spreadsheet would run: the rule exports and imports share.

A spreadsheet program treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one, or their full-width forms) as a formula, and a formula
can run commands (``=cmd|' /C calc'!A0``) or send data away (``=HYPERLINK(…)``). Contact
names come from strangers, so an export writes such text so that it stays text (the
OWASP rule: a leading apostrophe in CSV; a quoted text cell in XLSX), and an import reads
the apostrophe back off, so an export imports as it was.

A text that is a plain number (``-12.5``, ``+33612345678``) runs nothing and is kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
QUOTE = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
#: Characters XML 1.0, and so XLSX, cannot hold (openpyxl refuses them).
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def looks_like_formula(text: str) -> bool:
    """Would a spreadsheet read this text as a formula?"""
    return text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text)


def csv_text(text: str) -> str:
    """The CSV cell of a text: as it is, or with a leading apostrophe if it looks like a
    formula (or already starts with apostrophes before one, so ``unquoted`` gives every
    text back exactly). Nothing else changes: CSV holds control characters as they are."""
    return QUOTE + text if looks_like_formula(text.lstrip(QUOTE)) else text


def xlsx_text(text: str) -> str:
    """The XLSX cell of a text: characters a worksheet cannot hold become U+FFFD."""
    return _NOT_IN_XLSX.sub("\ufffd", text)


def unquoted(cell: str) -> str:
    """Read a cell that ``csv_text`` protected back as it was."""
    if cell.startswith(QUOTE) and looks_like_formula(cell.lstrip(QUOTE)):
        return cell[1:]
    return cell


def csv_file(rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document of ``rows``; each text cell protected with ``csv_text``."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_text(c) if isinstance(c, str) else c for c in row])
    return out.getvalue()


def xlsx_file(rows: Iterable[Sequence[Any]], title: str = "Report") -> bytes:
    """An XLSX workbook of ``rows`` (one sheet, the first row bold): a text that looks like
    a formula stays text (a quoted text cell), numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=xlsx_text(title)[:31] or "Report")
    for number, row in enumerate(rows):
        cells = []
        for value in row:
            if isinstance(value, str):
                value = xlsx_text(value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and looks_like_formula(value):
                cell.data_type = "s"  # never read as a formula
                cell.quotePrefix = True
            if number == 0:
                cell.font = Font(bold=True)
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
