"""Merge tags: the small, sandboxed language editors personalise emails with.

``{{ contact.first_name|default("there") }}`` — a documented name, then filters. There is
no attribute walking, no template tag and no code: a name is looked up in a fixed table
of getters, never with ``getattr``, so ``{{ contact.__class__ }}`` or ``{% include %}`` is
a validation error, reported to the editor on save (``validate``), never rendered.

The merge scope of a send (``docs/reference/merge-tags.md``) has one rule: ``contact.…``
is the contact, ``event.<property>`` the event that started the enrolment, a bare name
(``promo_code``, the ``EMAIL_CONTEXT_VARIABLES``) one of the enrolment's values, plus the
built-ins. Filling never raises: hostile text or data gives text, never an exception.
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

# Tempered tokens: a tag never spans another opening, so scanning is linear even for text
# made of thousands of unclosed "{{" (a lazy ``.*?`` would rescan to the end from each).
TAG = re.compile(
    r"\{\{((?:(?!\}\}|\{\{).)*)\}\}|\{%(?:(?!%\}|\{%).)*%\}|\{#(?:(?!#\}|\{#).)*#\}", re.S
)
MAX_TAG = 1000  # characters inside one {{ … }}
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
#: Enrolment values every email may name: the code an Update-contact step issued (given by
#: the sender otherwise). ``voucher_code`` is its older name: either name finds the value
#: given under the other, so existing emails and callers keep working.
VALUES = ("promo_code",)
ALIASES = {"voucher_code": "promo_code", "promo_code": "voucher_code"}
ATTRIBUTE_PREFIX = "contact.attributes."
EVENT_PREFIX = "event."
#: Names a site may not give its own values (``EMAIL_CONTEXT_VARIABLES``).
RESERVED = frozenset({"contact", "event", *BUILTINS, *VALUES, *ALIASES})


def _date(value: Any, arg: str | None) -> str:
    if not isinstance(value, dt.date):
        return "" if value is None else str(value)
    try:
        return dateformat.format(value, arg or "j F Y")
    except (TypeError, ValueError, AttributeError):  # a time format on a date (refused on save)
        return dateformat.format(value, "j F Y")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    """``value`` as text that can be mailed: no NUL, lone surrogates replaced."""
    text = value if value.__class__ is str else "" if value is None else str(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "") if "\x00" in text else text


FILTERS: dict[str, tuple[bool, Callable[[Any, str | None], Any]]] = {
    # name: (takes an argument, function)
    "default": (True, lambda v, arg: v if not _empty(v) else arg),
    "upper": (False, lambda v, arg: _text(v).upper()),
    "lower": (False, lambda v, arg: _text(v).lower()),
    "title": (False, lambda v, arg: _text(v).title()),
    "capfirst": (False, lambda v, arg: _text(v)[:1].upper() + _text(v)[1:]),
    "date": (True, _date),
    "urlencode": (False, lambda v, arg: quote(_text(v), safe="")),
    # Checked by ``MergeTag.resolve``: an empty value holds the contact's send.
    "required": (False, lambda v, arg: v),
}


class MergeTagError(ValueError):
    """A merge tag that is not in the documented set (with a hint for the editor)."""


@dataclass(frozen=True)
class MergeTag:
    """One parsed ``{{ … }}``: a documented name and its filters, in order."""

    name: str
    filters: tuple[tuple[str, str | None], ...] = ()

    def resolve(self, scope: Scope) -> tuple[str, bool]:
        """The tag's text for this scope, and whether it may be sent: ``False`` when a
        ``required`` filter met an empty value. Never raises."""
        value = scope.lookup(self.name)
        complete = True
        for name, arg in self.filters:
            if name == "required" and _empty(value):
                complete = False
            value = FILTERS[name][1](value, arg)
        if isinstance(value, dt.date):
            value = _date(value, None)
        return _text(value), complete

    def evaluate(self, scope: Scope) -> str:
        """The tag's text for this scope (never raises)."""
        return self.resolve(scope)[0]

    @property
    def required(self) -> bool:
        return any(name == "required" for name, _ in self.filters)


def known_names() -> list[str]:
    """Every name an editor may use (plus ``contact.attributes.<key>`` and
    ``event.<property>``)."""
    extra = [n for n in conf.get("EMAIL_CONTEXT_VARIABLES") if n not in RESERVED]
    return list(dict.fromkeys([*CONTACT_FIELDS, *BUILTINS, *VALUES, *ALIASES, *extra]))


def _keyed(name: str) -> bool:
    """``contact.attributes.<key>`` or ``event.<property>``: one key, looked up in a dict."""
    if name.startswith(ATTRIBUTE_PREFIX):
        return name.count(".") == 2
    return name.startswith(EVENT_PREFIX) and name.count(".") == 1


def parse_tag(source: str) -> MergeTag:
    """Parse the inside of ``{{ … }}``; raise ``MergeTagError`` with an editor's message."""
    if len(source) > MAX_TAG:
        raise MergeTagError(f"A merge tag is too long ({MAX_TAG} characters at most).")
    expression, *filters = source.split("|")
    name = expression.strip()
    if not NAME.match(name):
        raise MergeTagError(f"“{{{{ {source.strip()[:80]} }}}}” is not a merge tag.")
    if name not in known_names() and not _keyed(name):
        close = difflib.get_close_matches(name, known_names(), n=1)
        hint = f" Did you mean “{close[0]}”?" if close else ""
        raise MergeTagError(f"Unknown merge tag “{name}”.{hint}")
    parsed = []
    for text in filters:
        match = FILTER.match(text)
        if not match or match[1] not in FILTERS:
            known = ", ".join(FILTERS)
            raise MergeTagError(f"Unknown filter “{text.strip()[:40]}” (known filters: {known}).")
        arg = match[2] if match[2] is not None else match[3]
        takes_arg = FILTERS[match[1]][0]
        if match[1] == "default" and arg is None:
            raise MergeTagError('The default filter needs a value, as in default("there").')
        if arg is not None and not takes_arg:
            raise MergeTagError(f"The {match[1]} filter takes no value.")
        if match[1] == "date" and arg is not None:
            try:
                dateformat.format(dt.date(2000, 1, 1), arg)
            except (TypeError, ValueError, AttributeError) as exc:
                raise MergeTagError(
                    f"The date filter's format “{arg[:40]}” is not a date format ({exc})."
                ) from None
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
    """What merge tags can see for one contact: fixed getters, and the send's context —
    the enrolment's values by name, and the trigger event's properties under ``event``
    (``engine.values.send_context`` builds it)."""

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
        if name.startswith(EVENT_PREFIX):
            event = self.context.get("event")
            value = event.get(name[len(EVENT_PREFIX) :], "") if isinstance(event, dict) else ""
            return value if isinstance(value, str | int | float) else ""
        value = self.context.get(name, "")
        if _empty(value) and name in ALIASES:
            value = self.context.get(ALIASES[name], "")
        return value if isinstance(value, str | int | float | dt.date) else ""
