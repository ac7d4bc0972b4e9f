"""Reading contact rows from CSV: header and cells in, ``ContactRow`` or a reason out.

Pure: no database access, so every rule about a cell is tested without one. The rules
are the model's (lengths, choices, IANA timezones), ``normalize_email``'s and those of
``inputs`` (what can be stored at all: no NUL, no lone surrogate, bounded numbers).

Memory stays bounded whatever the file holds: a physical line is read in pieces of at
most ``MAX_ROW_CHARS`` characters, and a row longer than that is refused without being
held whole.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import json
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

from .contacts import CONTACT_FIELDS, normalize_email
from .exceptions import InvalidInput
from .inputs import MAX_KEY_LENGTH, MAX_NUMBER, json_problem, number_problem, text_problem
from .models import Contact
from .models.contacts import Civility, EmailStatus
from .spreadsheets import unquoted

#: The contact fields a row may set: the same ones an upsert may.
FIELD_COLUMNS = CONTACT_FIELDS
COLUMNS = ("email", *FIELD_COLUMNS, "tags", "attributes")
ATTRIBUTE_PREFIX = "attr:"
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
TAG_MAX_LENGTH = 100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_TAG_SEPARATORS = re.compile(r"[;,]")
_CIVILITIES = frozenset(Civility.values)
_STATUSES = frozenset(EmailStatus.values)
#: The longest cell accepted (an ``attributes`` JSON object included).
MAX_CELL_CHARS = 10_000
#: The longest row, all its lines together; a longer one is refused unread.
MAX_ROW_CHARS = 1_000_000
MAX_COLUMNS = 1_000
_SHOWN_NAMES = 10


class InvalidFile(InvalidInput):
    """The file cannot be imported at all (not UTF-8, unusable header): nothing in it is."""


class InvalidHeader(InvalidFile):
    """The header row cannot be imported: nothing in the file is."""


class _RowTooLong(Exception):
    """A row passed ``MAX_ROW_CHARS``; the rest of its last line was skipped."""


@dataclass
class ContactRow:
    """One validated row: only the cells that were filled in."""

    line: int
    email: str
    fields: dict[str, Any]
    attributes: dict[str, Any]
    tags: list[str]


@dataclass(frozen=True)
class Rejection:
    """A row that was not imported: where, why, and its cells as read (``header`` names them)."""

    line: int
    reason: str
    cells: list[str]
    header: list[str]


def parse_header(cells: list[str]) -> list[str]:
    """Return the canonical column names of a header row, or raise ``InvalidHeader``.

    Names are case-insensitive; ``attr:<key>`` keeps its key as written. Unknown or
    repeated columns are refused, so a misspelt column never silently drops data.
    """
    if len(cells) > MAX_COLUMNS:
        raise InvalidHeader(
            _("The header has %(n)s columns; at most %(max)s are imported.")
            % {"n": f"{len(cells):,}", "max": f"{MAX_COLUMNS:,}"}
        )
    names = []
    for cell in cells:
        name = cell.strip().lstrip("\ufeff").strip()
        problem = text_problem(name)
        if problem:
            raise InvalidHeader(
                _("Column %(name)s %(problem)s.") % {"name": _quoted(name), "problem": problem}
            )
        if name.lower().startswith(ATTRIBUTE_PREFIX):
            key = name[len(ATTRIBUTE_PREFIX) :].strip()
            if not key:
                raise InvalidHeader(_("Column 'attr:' needs a key, such as 'attr:member_since'."))
            if len(key) > MAX_KEY_LENGTH:
                raise InvalidHeader(
                    _("Column %(name)s: its key is longer than %(max)s characters.")
                    % {"name": _quoted(name), "max": MAX_KEY_LENGTH}
                )
            names.append(ATTRIBUTE_PREFIX + key)
        else:
            names.append(name.lower())
    unknown = [name for name in names if name not in COLUMNS and not name.startswith("attr:")]
    if unknown:
        raise InvalidHeader(
            _(
                "Unknown column(s): %(unknown)s. Known columns: %(known)s, "
                "and attr:<key> for attributes."
            )
            % {"unknown": _listed(unknown), "known": ", ".join(COLUMNS)}
        )
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise InvalidHeader(_("Repeated column(s): %(names)s.") % {"names": _listed(repeated)})
    if "email" not in names:
        raise InvalidHeader(_("The header has no 'email' column."))
    return names


def _quoted(value: str, limit: int = 40) -> str:
    """``repr`` of a value for a message, cut short: a reason never repeats a whole cell."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}…"


def _listed(names: list[str]) -> str:
    shown = ", ".join(map(_quoted, names[:_SHOWN_NAMES]))
    more = len(names) - _SHOWN_NAMES
    return _("%(shown)s and %(n)s more") % {"shown": shown, "n": f"{more:,}"} if more > 0 else shown


@functools.lru_cache(maxsize=1024)
def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _max_length(name: str) -> int:
    return Contact._meta.get_field(name).max_length


_LIMITS = {
    name: _max_length(name) for name in ("first_name", "last_name", "phone", "locale", "timezone")
}


def _field_value(name: str, value: str) -> Any:
    if name in _LIMITS and len(value) > _LIMITS[name]:
        too_long = _("%(name)s is longer than %(max)s characters.")
        raise InvalidInput(too_long % {"name": name, "max": _LIMITS[name]}, field=name)
    if name == "civility":
        civility = value.lower().rstrip(".")
        if civility not in _CIVILITIES:
            raise InvalidInput(
                _("civility %(value)s is not one of %(choices)s.")
                % {"value": _quoted(value), "choices": ", ".join(Civility.values)},
                field=name,
            )
        return civility
    if name == "email_status":
        status = value.lower()
        if status not in _STATUSES:
            raise InvalidInput(
                _("email_status %(value)s is not one of %(choices)s.")
                % {"value": _quoted(value), "choices": ", ".join(EmailStatus.values)},
                field=name,
            )
        return status
    if name == "birth_date":
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            date = dt.date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                _("birth_date %(value)s is not a date (YYYY-MM-DD).") % {"value": _quoted(value)},
                field=name,
            ) from None
        if date > dt.date.today():
            raise InvalidInput(
                _("birth_date %(value)s is in the future.") % {"value": value}, field=name
            )
        return date
    if name == "timezone" and not _is_timezone(value):
        raise InvalidInput(
            _("timezone %(value)s is not an IANA timezone (such as Europe/Paris).")
            % {"value": _quoted(value)},
            field=name,
        )
    if name == "locale" and not _LOCALE.fullmatch(value):
        raise InvalidInput(
            _("locale %(value)s is not a locale such as en or fr-FR.") % {"value": _quoted(value)},
            field=name,
        )
    if name == "sms_opt_in":
        try:
            return BOOLEANS[value.lower()]
        except KeyError:
            raise InvalidInput(
                _("sms_opt_in %(value)s is not one of true/false/1/0/yes/no.")
                % {"value": _quoted(value)},
                field=name,
            ) from None
    return value


def _check_storable(names: list[str], cells: list[str]) -> None:
    """Refuse a row with a cell that no column may store: too long, a NUL, a lone surrogate.

    One check of the whole row in the common case; the cell is looked for only on failure.
    """
    if max(map(len, cells), default=0) > MAX_CELL_CHARS:
        name = next(n for n, c in zip(names, cells, strict=True) if len(c) > MAX_CELL_CHARS)
        too_long = _("%(name)s is longer than %(max)s characters.")
        raise InvalidInput(too_long % {"name": name, "max": f"{MAX_CELL_CHARS:,}"}, field=name)
    if text_problem("".join(cells)):
        for name, cell in zip(names, cells, strict=True):
            problem = text_problem(cell)
            if problem:
                raise InvalidInput(f"{name} {problem}.", field=name)


def _json_int(text: str) -> int:
    # ``int`` refuses to parse more than 4,300 digits; far fewer are already out of bounds.
    if len(text) > 100:
        raise InvalidInput(f"attributes {number_problem(MAX_NUMBER)}.", field="attributes")
    return int(text)


def _attributes(text: str) -> dict[str, Any]:
    try:
        attributes = json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise InvalidInput(_("attributes is nested too deeply."), field="attributes") from None
    except ValueError:
        raise InvalidInput(_("attributes is not valid JSON."), field="attributes") from None
    if not isinstance(attributes, dict):
        raise InvalidInput(_("attributes must be a JSON object."), field="attributes")
    problem = json_problem(attributes)
    if problem:
        raise InvalidInput(f"attributes {problem}.", field="attributes")
    return attributes


def validate_row(names: list[str], cells: list[str], line: int) -> ContactRow:
    """Turn one CSV record into a ``ContactRow``, or raise ``InvalidInput`` with the reason."""
    if len(cells) != len(names):
        raise InvalidInput(
            _("%(cells)s cells, but the header has %(columns)s columns.")
            % {"cells": f"{len(cells):,}", "columns": len(names)}
        )
    _check_storable(names, cells)
    # A cell the contacts export protected from spreadsheets ('=…) is read as it was.
    values = {name: unquoted(cell.strip()) for name, cell in zip(names, cells, strict=True)}
    if not values["email"]:
        raise InvalidInput(_("email is empty."), field="email")
    email = normalize_email(values["email"])
    fields = {
        name: _field_value(name, values[name])
        for name in FIELD_COLUMNS
        if values.get(name)  # an empty cell changes nothing
    }
    attributes: dict[str, Any] = {}
    if values.get("attributes"):
        attributes = _attributes(values["attributes"])
    for name, value in values.items():
        if name.startswith(ATTRIBUTE_PREFIX) and value:
            attributes[name[len(ATTRIBUTE_PREFIX) :]] = value
    tags = []
    for tag in _TAG_SEPARATORS.split(values.get("tags", "")):
        tag = tag.strip()
        if len(tag) > TAG_MAX_LENGTH:
            too_long = _("tag %(tag)s… is longer than 100 characters.") % {"tag": repr(tag[:20])}
            raise InvalidInput(too_long, field="tags")
        if tag and tag not in tags:
            tags.append(tag)
    return ContactRow(line, email, fields, attributes, tags)


class _Lines:
    """The physical lines of a CSV source, for ``csv.reader``: counted, and bounded.

    A source with ``readline`` (a text file) is read at most ``MAX_ROW_CHARS`` characters
    at a time: a row that grows past it raises ``_RowTooLong`` after the rest of its
    line is skipped, and reading goes on at the next line (``csv.reader`` starts a new
    row on its next call).
    """

    def __init__(self, lines: Iterable[str] | IO[str]):
        self._readline = getattr(lines, "readline", None)
        self._lines = None if self._readline else iter(lines)
        self.read = 0  # physical lines read
        self.row_chars = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        room = MAX_ROW_CHARS - self.row_chars
        if self._readline:
            line = self._readline(room + 1)
            if not line:
                raise StopIteration
        else:
            line = next(self._lines)
        self.read += 1
        if len(line) > room:
            if self._readline:
                while line and not line.endswith(("\n", "\r")):
                    line = self._readline(65_536)
            raise _RowTooLong
        self.row_chars += len(line)
        return line


def _too_long() -> str:
    return _("the row is longer than %(max)s characters (is a quote left open?).") % {
        "max": f"{MAX_ROW_CHARS:,}"
    }


def _unreadable(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return _("a cell is longer than %(max)s characters.") % {
            "max": f"{csv.field_size_limit():,}"
        }
    return _("unreadable CSV: %(error)s.") % {"error": exc}


def read_records(
    lines: Iterable[str] | IO[str],
) -> tuple[list[str], Iterator[tuple[int, list[str] | str]]]:
    """Split off the header row; then yield ``(line, cells)``, or ``(line, message)`` for a
    record that cannot be read (the csv module's errors, a row over ``MAX_ROW_CHARS``).
    Blank lines are skipped; ``line`` is the physical line the record starts on (the
    header is line 1). Raises ``InvalidHeader`` when the header row cannot be read.
    """
    source = _Lines(lines)
    try:
        first = next(source, "")
    except _RowTooLong:
        raise InvalidHeader(
            _("The header row is longer than %(max)s characters.") % {"max": f"{MAX_ROW_CHARS:,}"}
        ) from None
    if not first.strip():
        raise InvalidHeader(_("The file is empty: it needs a header row with an 'email' column."))
    delimiter = ";" if first.count(";") > first.count(",") else ","
    source.read, source.row_chars = 0, 0
    reader = csv.reader(_Pushback(first, source), delimiter=delimiter)
    try:
        header = next(reader)
    except _RowTooLong:
        raise InvalidHeader(
            _("The header row is longer than %(max)s characters.") % {"max": f"{MAX_ROW_CHARS:,}"}
        ) from None
    except csv.Error as exc:
        raise InvalidHeader(
            _("The header row cannot be read: %(problem)s") % {"problem": _unreadable(exc)}
        ) from None

    def records() -> Iterator[tuple[int, list[str] | str]]:
        while True:
            line = source.read + 1
            source.row_chars = 0
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _RowTooLong:
                yield line, _too_long()
                continue
            except csv.Error as exc:
                yield line, _unreadable(exc)
                continue
            if cells and any(cell.strip() for cell in cells):
                yield line, cells

    return header, records()


class _Pushback:
    """``source`` with ``first`` (already read from it) put back in front."""

    def __init__(self, first: str, source: _Lines):
        self._first: str | None = first
        self._source = source

    def __iter__(self) -> _Pushback:
        return self

    def __next__(self) -> str:
        if self._first is not None:
            line, self._first = self._first, None
            self._source.read += 1
            self._source.row_chars += len(line)
            return line
        return next(self._source)


def check_utf8(raw: IO[bytes], *, chunk_size: int = 1 << 20) -> None:
    """Read a binary file to its end; raise ``InvalidFile`` naming the line of its first
    byte that is not UTF-8. Lines are counted as the importer counts them (``\\n``,
    ``\\r\\n`` or ``\\r`` ends one); memory stays at one chunk."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, ended_with_cr = 1, False
    while True:
        chunk = raw.read(chunk_size)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            before = exc.object[: exc.start]
            lines += _line_breaks(before, ended_with_cr)
            raise InvalidFile(
                _(
                    "Line %(line)s is not UTF-8 text (byte 0x%(byte)s): save the file as CSV "
                    "UTF-8 and import it again. Nothing was imported."
                )
                % {"line": f"{lines:,}", "byte": f"{exc.object[exc.start]:02X}"}
            ) from None
        if not chunk:
            return
        lines += _line_breaks(chunk, ended_with_cr)
        ended_with_cr = chunk.endswith(b"\r")


def _line_breaks(data: bytes, after_cr: bool) -> int:
    # UTF-8 never uses these bytes inside a character, so counting bytes is exact.
    count = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return count - 1 if after_cr and data.startswith(b"\n") else count
