"""All models of the app, one module per feature, under the one ``wagtail_journeys`` label."""

from .contacts import Contact, ContactTag, EmailStatus, Visitor
from .emails import BrandSettings, EmailIndexPage, EmailPage
from .events import Event, EventCursor, EventSource
from .messages import Message, MessageStatus

__all__ = [
    "BrandSettings",
    "Contact",
    "ContactTag",
    "EmailIndexPage",
    "EmailPage",
    "EmailStatus",
    "Event",
    "EventCursor",
    "EventSource",
    "Message",
    "MessageStatus",
    "Visitor",
]
