"""The enrolment's values: what a scenario's sends are filled with besides the contact.

An enrolment's ``context`` (JSON) holds, next to the engine's own keys (``event_id``,
``unless_opened``…):

- ``event``: the properties of the event that started it, copied bounded (``event_values``);
- ``values``: its named values — the start API's ``context``, then what earlier steps set
  (``promo_code``, issued by an Update-contact step; a later value replaces an earlier one).

``send_context`` turns that into the context of a send: ``{**values, "event": {…}}``, which
merge tags read as ``{{ promo_code }}`` and ``{{ event.<property> }}``
(``docs/reference/merge-tags.md``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from ..exceptions import JourneysError
from ..inputs import number_problem

#: Bounds of the copy of a trigger event kept on each enrolment (≈ 50 × 600 bytes at most).
MAX_EVENT_KEYS = 50
MAX_TEXT = 500
#: Lists of a trigger event (a cart's items) kept for ``{% for %}``: bounded the same way.
MAX_LIST_ITEMS = 50
MAX_ITEM_KEYS = 10
KEY = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")  # what ``{{ event.<property> }}`` can name
CODE_ATTEMPTS = 5


class PromoCodeUnavailable(JourneysError):
    """No free code could be drawn for a prefix (never expected: 40 random bits a draw)."""


def _clean(text: str) -> str:
    text = text[:MAX_TEXT].replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _scalar(value: Any) -> str | int | float | bool | None:
    """A value a merge tag can show, bounded; ``None`` for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value if number_problem(value) is None else None
    if isinstance(value, str):
        return _clean(value)
    return None


def _items(value: list) -> list:
    """A list a loop can go through: its first ``MAX_LIST_ITEMS`` values or flat objects
    (each with at most ``MAX_ITEM_KEYS`` keys of text, numbers or true/false)."""
    items: list = []
    for item in value[:MAX_LIST_ITEMS]:
        if isinstance(item, Mapping):
            flat = {}
            for key, field in item.items():
                if len(flat) >= MAX_ITEM_KEYS:
                    break
                if isinstance(key, str) and KEY.match(key) and _scalar(field) is not None:
                    flat[key] = _scalar(field)
            items.append(flat)
        elif _scalar(item) is not None:
            items.append(_scalar(item))
    return items


def event_values(properties: Any) -> dict[str, Any]:
    """The trigger event's properties a merge tag can name, to keep on the enrolment: at
    most ``MAX_EVENT_KEYS`` top-level keys shaped like a merge-tag name, each with text
    (cut at ``MAX_TEXT`` characters, without NUL or lone surrogates), a finite number,
    true/false, or a list for ``{% for %}`` (``_items``: a cart's items). Deeper objects
    and the rest stay in the event log only."""
    out: dict[str, Any] = {}
    if not isinstance(properties, Mapping):
        return out
    for key, value in properties.items():
        if len(out) >= MAX_EVENT_KEYS:
            break
        if isinstance(key, str) and KEY.match(key):
            kept = _items(value) if isinstance(value, list) else _scalar(value)
            if kept is not None:
                out[key] = kept
    return out


def send_context(context: Any) -> dict[str, Any]:
    """The context of a send for an enrolment's ``context``: its named values (text,
    numbers, true/false only) and ``event``, the trigger event's properties. Pure."""
    if not isinstance(context, Mapping):
        return {}
    scope: dict[str, Any] = {}
    # "api": where enrolments started through the API before ``values`` kept their context.
    for source in (context.get("api"), context.get("values")):
        if isinstance(source, Mapping):
            for key, value in source.items():
                if isinstance(key, str) and key != "event" and _scalar(value) is not None:
                    scope[key] = _scalar(value)
    event = context.get("event")
    if isinstance(event, Mapping) and event:
        scope["event"] = event_values(event)
    return scope


def set_value(enrollment: Any, name: str, value: Any) -> None:
    """Give the enrolment a named value (later sends see ``{{ name }}``); the caller saves
    ``enrollment.context``."""
    context = dict(enrollment.context or {})
    context["values"] = {**(context.get("values") or {}), name: value}
    enrollment.context = context


def _draw(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5).upper()}"


def issue_promo_code(
    prefix: str,
    *,
    key: str,
    contact_id: int | None,
    enrollment_id: int | None = None,
    step_id: int | None = None,
) -> str:
    """A code ``<prefix>-<10 hex digits>`` no one else has (the database's unique
    constraint decides; a draw already taken is drawn again), issued once per ``key``:
    the same key gives back its first code. Runs in a savepoint, so it can be called
    inside the batch's transaction; raises ``PromoCodeUnavailable`` after
    ``CODE_ATTEMPTS`` taken draws."""
    from ..models import PromoCode

    for _ in range(CODE_ATTEMPTS):
        code = _draw(prefix)
        try:
            with transaction.atomic():
                PromoCode.objects.create(
                    prefix=prefix,
                    code=code,
                    contact_id=contact_id,
                    enrollment_id=enrollment_id,
                    step_id=step_id,
                    key=key,
                )
        except IntegrityError:
            issued = PromoCode.objects.filter(key=key).values_list("code", flat=True).first()
            if issued:
                return issued
            continue
        return code
    raise PromoCodeUnavailable(f"No free promo code with prefix {prefix!r}.")
