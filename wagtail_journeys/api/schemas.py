"""Input and output shapes of the API (pydantic, unknown fields refused).

Every string is checked against ``inputs`` (no NUL character, no lone surrogate) where it
comes in, so a bad value is a 422 naming its field, on every database alike; objects
(properties, attributes, context) are checked by the domain functions the views call.
The constraints pydantic can express (lengths, the event-name pattern) are part of the
OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from ..events import EVENT_NAME
from ..inputs import MAX_DEPTH, MAX_NUMBER, text_problem


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)  # pydantic reports it as a 422 at this field
    return value


def text(max_length: int, *, min_length: int = 0) -> Any:
    """A string of at most ``max_length`` characters that can be stored as it is."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_storable),
    ]


EventName = Annotated[
    str,
    StringConstraints(pattern=f"^{EVENT_NAME.pattern}$", min_length=1, max_length=100),
]
Email = Annotated[
    text(254), WithJsonSchema({"type": "string", "format": "email", "maxLength": 254})
]
VisitorToken = text(200)
JSON_OBJECT = (
    f"A JSON object: nested at most {MAX_DEPTH} levels, keys up to 100 characters, numbers"
    f" finite and below {MAX_NUMBER:.0e} in magnitude, no NUL character or lone surrogate."
)


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    name: EventName = Field(
        description="Event name, e.g. `purchase` or `cart.updated`. Browsers may post only "
        "the names the `BROWSER_EVENTS` setting allows (page and UI interactions)."
    )
    properties: dict[str, Any] = Field(default_factory=dict, description=JSON_OBJECT)
    occurred_at: dt.datetime | None = Field(
        None, description="When it happened (ISO 8601 with offset); defaults to now."
    )
    idempotency_key: text(150, min_length=1) | None = Field(
        None,
        description="A retried request with the same key stores nothing new (or send the "
        "`Idempotency-Key` header).",
    )
    visitor: VisitorToken | None = Field(
        None, description="Signed visitor id; browsers may send it instead of the cookie."
    )
    email: Email | None = Field(
        None, description="Server tokens only: the contact, created if unknown."
    )


class EventOut(Schema):
    id: int
    created: bool


class IdentifyIn(Strict):
    email: Email
    visitor: VisitorToken | None = None
    first_name: text(150) | None = None
    last_name: text(150) | None = None
    civility: Literal["", "mr", "mrs", "ms", "mx", "dr"] | None = None
    birth_date: dt.date | None = None
    phone: text(32) | None = None
    locale: text(16) | None = None
    timezone: text(64) | None = Field(None, description="An IANA timezone, e.g. Europe/Paris.")
    email_status: (
        Literal["subscribed", "pending", "unsubscribed", "bounced", "complained"] | None
    ) = None
    sms_opt_in: bool | None = None
    consent_wording: text(5000) | None = Field(
        None,
        description="What the person agreed to (the checkbox or notice they were shown), "
        "kept in the consent record of a new contact or of a change of `email_status` "
        "or `sms_opt_in`.",
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict, description=f"Merged key by key. {JSON_OBJECT}"
    )
    tags: list[text(100, min_length=1)] = Field(default_factory=list, max_length=100)


class IdentifyOut(Schema):
    contact_id: int
    created: bool
    visitor: str | None = Field(None, description="The visitor id, now tied to the contact.")
    moved_events: int = 0


class VisitorOut(Schema):
    visitor: str


class StartIn(Strict):
    email: Email
    context: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Values for the scenario's emails and steps. {JSON_OBJECT}",
    )


class StartOut(Schema):
    enrollment_id: int | None
    started: bool
