"""All models of the app, one module per feature, under the one ``wagtail_journeys`` label."""

from .contacts import Contact, ContactTag, EmailStatus, Visitor
from .events import Event, EventCursor, EventSource
from .segments import Segment

__all__ = [
    "Contact",
    "ContactTag",
    "EmailStatus",
    "Event",
    "EventCursor",
    "EventSource",
    "Segment",
    "Visitor",
]
