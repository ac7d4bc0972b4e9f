"""Input and output shapes of the API (pydantic, unknown fields refused)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

EventName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Short = Annotated[str, StringConstraints(max_length=150)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    name: EventName = Field(description="Event name, e.g. `purchase` or `cart.updated`.")
    properties: dict[str, Any] = Field(default_factory=dict)
    occurred_at: dt.datetime | None = Field(
        None, description="When it happened (ISO 8601 with offset); defaults to now."
    )
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=150)] | None = Field(
        None, description="A retried request with the same key stores nothing new."
    )
    visitor: str | None = Field(
        None, description="Signed visitor id; browsers may send it instead of the cookie."
    )
    email: str | None = Field(
        None, description="Server tokens only: the contact, created if unknown."
    )


class EventOut(Schema):
    id: int
    created: bool


class IdentifyIn(Strict):
    email: str
    visitor: str | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    civility: Literal["", "mr", "mrs", "ms", "mx", "dr"] | None = None
    birth_date: dt.date | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    locale: Annotated[str, StringConstraints(max_length=16)] | None = None
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    email_status: (
        Literal["subscribed", "pending", "unsubscribed", "bounced", "complained"] | None
    ) = None
    sms_opt_in: bool | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )


class IdentifyOut(Schema):
    contact_id: int
    created: bool
    visitor: str | None = Field(None, description="The visitor id, now tied to the contact.")
    moved_events: int = 0


class VisitorOut(Schema):
    visitor: str
