"""Merge tags: the small, sandboxed language editors personalise emails with.

``{{ contact.first_name|default("there") }}`` — a documented name, then filters. There is
no attribute walking, no template tag and no code: a name is looked up in a fixed table
of getters, never with ``getattr``, so ``{{ contact.__class__ }}`` or ``{% include %}`` is
a validation error, reported to the editor on save (``validate``), never rendered.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.utils import dateformat

from .. import conf

TAG = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*\Z")
FILTER = re.compile(r"""\s*([a-z_]+)\s*(?:\(\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\))?\s*\Z""")

CONTACT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "contact.first_name": lambda c: c.first_name,
    "contact.last_name": lambda c: c.last_name,
    "contact.full_name": lambda c: c.full_name,
    "contact.email": lambda c: c.email,
    "contact.civility": lambda c: c.get_civility_display() if c.civility else "",
    "contact.birth_date": lambda c: c.birth_date,
    "contact.locale": lambda c: c.locale,
}
BUILTINS = ("today", "unsubscribe_url", "preferences_url", "site_name")
ATTRIBUTE_PREFIX = "contact.attributes."


def _date(value: Any, arg: str | None) -> str:
    if not isinstance(value, dt.date):
        return "" if value in (None, "") else str(value)
    return dateformat.format(value, arg or "j F Y")


FILTERS: dict[str, tuple[bool, Callable[[Any, str | None], Any]]] = {
    # name: (takes an argument, function)
    "default": (True, lambda v, arg: v if v not in (None, "") else arg),
    "upper": (False, lambda v, arg: str(v).upper()),
    "lower": (False, lambda v, arg: str(v).lower()),
    "title": (False, lambda v, arg: str(v).title()),
    "capfirst": (False, lambda v, arg: str(v)[:1].upper() + str(v)[1:]),
    "date": (True, _date),
    "urlencode": (False, lambda v, arg: quote(str(v), safe="")),
}


class MergeTagError(ValueError):
    """A merge tag that is not in the documented set (with a hint for the editor)."""


@dataclass(frozen=True)
class MergeTag:
    """One parsed ``{{ … }}``: a documented name and its filters, in order."""

    name: str
    filters: tuple[tuple[str, str | None], ...] = ()

    def evaluate(self, scope: Scope) -> str:
        value = scope.lookup(self.name)
        for name, arg in self.filters:
            value = FILTERS[name][1](value, arg)
        if isinstance(value, dt.date):
            value = _date(value, None)
        return "" if value is None else str(value)


def known_names() -> list[str]:
    """Every name an editor may use (attributes are ``contact.attributes.<key>``)."""
    return [*CONTACT_FIELDS, *BUILTINS, *conf.get("EMAIL_CONTEXT_VARIABLES")]


def parse_tag(source: str) -> MergeTag:
    """Parse the inside of ``{{ … }}``; raise ``MergeTagError`` with an editor's message."""
    expression, *filters = source.split("|")
    name = expression.strip()
    if not NAME.match(name):
        raise MergeTagError(f"“{{{{ {source.strip()} }}}}” is not a merge tag.")
    if name not in known_names() and not (
        name.startswith(ATTRIBUTE_PREFIX) and name.count(".") == 2
    ):
        close = difflib.get_close_matches(name, known_names(), n=1)
        hint = f" Did you mean “{close[0]}”?" if close else ""
        raise MergeTagError(f"Unknown merge tag “{name}”.{hint}")
    parsed = []
    for text in filters:
        match = FILTER.match(text)
        if not match or match[1] not in FILTERS:
            known = ", ".join(FILTERS)
            raise MergeTagError(f"Unknown filter “{text.strip()}” (known filters: {known}).")
        arg = match[2] if match[2] is not None else match[3]
        takes_arg = FILTERS[match[1]][0]
        if match[1] == "default" and arg is None:
            raise MergeTagError('The default filter needs a value, as in default("there").')
        if arg is not None and not takes_arg:
            raise MergeTagError(f"The {match[1]} filter takes no value.")
        parsed.append((match[1], arg))
    return MergeTag(name, tuple(parsed))


def parse(text: str) -> list[str | MergeTag]:
    """Split text into literal strings and merge tags; raise ``MergeTagError`` on the first
    tag that is not allowed (``{% … %}`` template tags never are)."""
    parts: list[str | MergeTag] = []
    position = 0
    for match in TAG.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        if match[1] is None:
            raise MergeTagError(
                f"“{match[0][:40]}”: template tags and comments are not allowed in emails; "
                "only merge tags such as {{ contact.first_name }}."
            )
        parts.append(parse_tag(match[1]))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return parts


def validate(text: str) -> list[str]:
    """Every problem with the merge tags of ``text`` (an empty list when all is well)."""
    problems = []
    for match in TAG.finditer(text or ""):
        try:
            parse(match[0])
        except MergeTagError as exc:
            problems.append(str(exc))
    if "{{" in TAG.sub("", text or "") or "{%" in TAG.sub("", text or ""):
        problems.append("A merge tag is not closed (“{{” without “}}”).")
    return problems


class Scope:
    """What merge tags can see for one contact: fixed getters and the caller's context."""

    __slots__ = ("contact", "context", "urls", "today")

    def __init__(self, contact, context: dict[str, Any] | None, urls: dict[str, str]):
        self.contact = contact
        self.context = context or {}
        self.urls = urls
        self.today = None

    def lookup(self, name: str) -> Any:
        getter = CONTACT_FIELDS.get(name)
        if getter is not None:
            return getter(self.contact) if self.contact is not None else ""
        if name.startswith(ATTRIBUTE_PREFIX):
            attributes = getattr(self.contact, "attributes", None) or {}
            value = attributes.get(name[len(ATTRIBUTE_PREFIX) :], "")
            return value if isinstance(value, str | int | float) else ""
        if name in self.urls:
            return self.urls[name]
        if name == "today":
            if self.today is None:
                from django.utils import timezone

                self.today = timezone.localdate()
            return self.today
        value = self.context.get(name, "")
        return value if isinstance(value, str | int | float | dt.date) else ""
