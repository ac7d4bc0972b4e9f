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
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

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


class EventFields(BaseModel):
    """An event's fields as a plain pydantic model: what the batch endpoint validates each
    item with (ninja's ``Schema`` adds a validator for Django objects that costs more
    than the rest of the item's checks)."""

    model_config = ConfigDict(extra="forbid")

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


class EventIn(Strict, EventFields):
    pass


class EventOut(Schema):
    id: int
    created: bool


class ContactIn(Strict):
    email: Email
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
    attributes: dict[str, Any] = Field(
        default_factory=dict, description=f"Merged key by key. {JSON_OBJECT}"
    )
    tags: list[text(100, min_length=1)] = Field(default_factory=list, max_length=100)


class IdentifyIn(ContactIn):
    visitor: VisitorToken | None = None
    double_opt_in: bool = Field(
        False,
        description="The address comes from an unverified signup (a headless site's form): "
        "a new contact is created `pending` and mailed a confirmation link; an existing one "
        "is left as it is (a pending one is mailed the link again, at most once per "
        "`CONFIRMATION_RESEND_MINUTES`). No visitor is tied: only the browser that follows "
        "the link is. `email_status` may not be given with it.",
    )
    consent_wording: text(5000) | None = Field(
        None,
        description="What the person agreed to (the checkbox or notice they were shown, as "
        "your form put it), kept as the proof of consent: in the consent record of a "
        "`double_opt_in` signup, of a new contact, or of a change of `email_status` or "
        "`sms_opt_in` (identify only).",
    )


class IdentifyOut(Schema):
    contact_id: int
    created: bool
    visitor: str | None = Field(None, description="The visitor id, now tied to the contact.")
    moved_events: int = 0
    email_status: str = Field(description="The contact's email status after the call.")
    confirmation_sent: bool = Field(
        False, description="`double_opt_in`: a confirmation mail is on its way."
    )


class VisitorOut(Schema):
    visitor: str


class ConsentIn(Strict):
    granted: StrictBool = Field(
        description="`true`: the visitor accepts tracking; `false`: refuses or withdraws it."
    )
    wording: text(5000) | None = Field(
        None,
        description="What the banner said, kept as the proof of an identified visitor's choice.",
    )


class ConsentOut(Schema):
    required: bool = Field(
        description="Does the site wait for consent before tracking (`TRACKING_CONSENT_REQUIRED`)?"
    )
    status: Literal["granted", "denied", "unknown"] = Field(
        description="This browser's choice; `unknown` before it chose or once it expired."
    )
    visitor: str | None = Field(
        None, description="After a grant, the browser's signed visitor id (also set as cookie)."
    )


class StartIn(Strict):
    email: Email
    context: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Values for the scenario's emails and steps. {JSON_OBJECT}",
    )


class StartOut(Schema):
    enrollment_id: int | None
    started: bool


#: Items per batch request (``ingest.BATCH_MAX_ITEMS``), and their documented shape: each
#: item is validated on its own, so one bad item is reported without rejecting the others.
def _batch_of(item: type[Schema], what: str) -> Any:
    from ..ingest import BATCH_MAX_ITEMS

    schema = item.model_json_schema()
    schema.pop("title", None)
    return Annotated[
        list[Any],
        Field(min_length=1, max_length=BATCH_MAX_ITEMS),
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": BATCH_MAX_ITEMS,
                "items": schema,
                "description": f"Up to {BATCH_MAX_ITEMS} {what}, each checked on its own.",
            }
        ),
    ]


class EventBatchIn(Strict):
    events: _batch_of(EventIn, "events")


class ContactBatchIn(Strict):
    contacts: _batch_of(ContactIn, "contacts")


class BatchItemOut(BaseModel):
    """One item's result in a batch's answer; a plain pydantic model, as ``EventFields``
    is, since ninja's ``Schema`` validator would run 500 times per answer."""

    index: int = Field(description="The item's position in the request, from 0.")
    status: Literal["stored", "duplicate", "created", "updated", "unchanged", "rejected"]
    id: int | None = Field(
        None, description="The event's or contact's id (a duplicate: the stored event's)."
    )
    error: str | None = Field(None, description="Why the item was rejected.")
    field: str | None = Field(None, description="The rejected item's field at fault.")


class EventBatchOut(Schema):
    stored: int
    duplicates: int
    rejected: int
    results: list[BatchItemOut]


class ContactBatchOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: int
    results: list[BatchItemOut]
