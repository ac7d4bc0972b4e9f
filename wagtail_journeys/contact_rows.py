"""Reading contact rows from CSV: header and cells in, ``ContactRow`` or a reason out.

Pure: no database access, so every rule about a cell is tested without one. The rules
are the model's (lengths, choices, IANA timezones) and ``normalize_email``'s.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from .contacts import CONTACT_FIELDS, normalize_email
from .exceptions import InvalidInput
from .models import Contact
from .models.contacts import Civility, EmailStatus

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


class InvalidHeader(InvalidInput):
    """The header row cannot be imported: nothing in the file is."""


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
    names = []
    for cell in cells:
        name = cell.strip().lstrip("\ufeff").strip()
        if name.lower().startswith(ATTRIBUTE_PREFIX):
            key = name[len(ATTRIBUTE_PREFIX) :].strip()
            if not key:
                raise InvalidHeader("Column 'attr:' needs a key, such as 'attr:member_since'.")
            names.append(ATTRIBUTE_PREFIX + key)
        else:
            names.append(name.lower())
    unknown = [name for name in names if name not in COLUMNS and not name.startswith("attr:")]
    if unknown:
        raise InvalidHeader(
            f"Unknown column(s): {', '.join(map(repr, unknown))}. Known columns: "
            f"{', '.join(COLUMNS)}, and attr:<key> for attributes."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidHeader(f"Repeated column(s): {', '.join(map(repr, repeated))}.")
    if "email" not in names:
        raise InvalidHeader("The header has no 'email' column.")
    return names


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
        raise InvalidInput(f"{name} is longer than {_LIMITS[name]} characters.", field=name)
    if name == "civility":
        civility = value.lower().rstrip(".")
        if civility not in _CIVILITIES:
            raise InvalidInput(
                f"civility {value!r} is not one of {', '.join(Civility.values)}.", field=name
            )
        return civility
    if name == "email_status":
        status = value.lower()
        if status not in _STATUSES:
            raise InvalidInput(
                f"email_status {value!r} is not one of {', '.join(EmailStatus.values)}.",
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
                f"birth_date {value!r} is not a date (YYYY-MM-DD).", field=name
            ) from None
        if date > dt.date.today():
            raise InvalidInput(f"birth_date {value} is in the future.", field=name)
        return date
    if name == "timezone" and not _is_timezone(value):
        raise InvalidInput(
            f"timezone {value!r} is not an IANA timezone (such as Europe/Paris).", field=name
        )
    if name == "locale" and not _LOCALE.fullmatch(value):
        raise InvalidInput(f"locale {value!r} is not a locale such as en or fr-FR.", field=name)
    if name == "sms_opt_in":
        try:
            return BOOLEANS[value.lower()]
        except KeyError:
            raise InvalidInput(
                f"sms_opt_in {value!r} is not one of true/false/1/0/yes/no.", field=name
            ) from None
    return value


def validate_row(names: list[str], cells: list[str], line: int) -> ContactRow:
    """Turn one CSV record into a ``ContactRow``, or raise ``InvalidInput`` with the reason."""
    if len(cells) != len(names):
        raise InvalidInput(f"{len(cells)} cells, but the header has {len(names)} columns.")
    values = {name: cell.strip() for name, cell in zip(names, cells, strict=True)}
    if not values["email"]:
        raise InvalidInput("email is empty.", field="email")
    email = normalize_email(values["email"])
    fields = {
        name: _field_value(name, values[name])
        for name in FIELD_COLUMNS
        if values.get(name)  # an empty cell changes nothing
    }
    attributes: dict[str, Any] = {}
    if values.get("attributes"):
        try:
            attributes = json.loads(values["attributes"])
        except ValueError:
            raise InvalidInput("attributes is not valid JSON.", field="attributes") from None
        if not isinstance(attributes, dict):
            raise InvalidInput("attributes must be a JSON object.", field="attributes")
    for name, value in values.items():
        if name.startswith(ATTRIBUTE_PREFIX) and value:
            attributes[name[len(ATTRIBUTE_PREFIX) :]] = value
    tags = []
    for tag in _TAG_SEPARATORS.split(values.get("tags", "")):
        tag = tag.strip()
        if len(tag) > TAG_MAX_LENGTH:
            raise InvalidInput(f"tag {tag[:20]!r}… is longer than 100 characters.", field="tags")
        if tag and tag not in tags:
            tags.append(tag)
    return ContactRow(line, email, fields, attributes, tags)


def read_records(lines: Iterable[str]) -> tuple[list[str], Iterator[tuple[int, list[str] | str]]]:
    """Split off the header row; then yield ``(line, cells)``, or ``(line, message)`` for a
    record the csv module cannot parse. Blank lines are skipped; ``line`` is the physical
    line the record starts on (the header is line 1).
    """
    lines = iter(lines)
    first = next(lines, "")
    if not first.strip():
        raise InvalidHeader("The file is empty: it needs a header row with an 'email' column.")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(chain([first], lines), delimiter=delimiter)
    header = next(reader)

    def records() -> Iterator[tuple[int, list[str] | str]]:
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, f"unreadable CSV: {exc}."
                continue
            if cells and any(cell.strip() for cell in cells):
                yield line, cells

    return header, records()
