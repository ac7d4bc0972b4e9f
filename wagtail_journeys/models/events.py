"""The append-only event log that feeds segments and scenarios."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..inputs import number_problem

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class EventSource(models.TextChoices):
    PAGE = "page", _("Page view (server)")
    BEACON = "beacon", _("Browser beacon")
    API = "api", _("API")
    FORM = "form", _("Form submission")
    EMAIL = "email", _("Email")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("System")


class Trust(models.TextChoices):
    """Who vouches for an event: what rules and triggers may require (see ``TRUST``)."""

    BROWSER = "browser", _("a browser (page views, beacon, form posts)")
    SERVER = "server", _("a server (API token, import)")
    ENGINE = "engine", _("the app itself (emails sent, opened, clicked)")


#: Event source -> who vouches for it. Browsers can be scripted by anyone, so money and
#: commerce must come from servers; the engine's own events are neither.
TRUST: dict[str, str] = {
    EventSource.PAGE: Trust.BROWSER,
    EventSource.BEACON: Trust.BROWSER,
    EventSource.FORM: Trust.BROWSER,
    EventSource.API: Trust.SERVER,
    EventSource.IMPORT: Trust.SERVER,
    EventSource.EMAIL: Trust.ENGINE,
    EventSource.SYSTEM: Trust.ENGINE,
}


def sources_of(trust: str) -> list[str]:
    """The event sources a given trust level covers (for ``source__in`` filters)."""
    return [source for source, level in TRUST.items() if level == trust]


#: Events that record what the app did to a contact (whoever records them): never the
#: contact's activity.
APP_RECORDS = ("email_sent",)
#: Recorded (source ``system``) when identifying a visitor moved to its contact events
#: that the scenario triggers had already read while the visitor was anonymous; its
#: ``visitor``, ``first`` and ``last`` name them, so the triggers read them once more, as
#: the contact's (``contacts.identify``, ``engine.triggers``).
IDENTIFIED = "visitor_identified"
#: Events the app records that are the contact's own doing: replies to its emails.
CONTACT_REPLIES = ("email_opened", "email_clicked", "unsubscribed")
#: Replies a machine can make in the contact's stead (Apple Mail Privacy Protection, link
#: scanners): recorded with ``"machine": true`` (``tracking.machines``), and then not the
#: contact's doing.
MACHINE_REPLIES = ("email_opened", "email_clicked")


def revenue_of(properties: Mapping[str, Any] | None, source: str) -> Decimal:
    """The money an event brings: its ``amount`` property (a number, or a numeric string)
    rounded to cents, when a server vouches for it (``Trust.SERVER``: anyone can script a
    browser). Zero for any other source, and for an amount that is missing, negative, not
    finite or too large to store (``inputs.number_problem``). Pure."""
    if TRUST.get(source) != Trust.SERVER or not properties:
        return ZERO
    value = properties.get("amount")
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return ZERO
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return ZERO
    if number_problem(amount) is not None or amount <= 0:
        return ZERO
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def is_machine(name: str, properties: Mapping[str, Any] | None) -> bool:
    """Was this open or click made by a machine (``"machine": true``)? Such events are
    recorded and counted apart, never engagement: not activity, no trigger, no goal."""
    return name in MACHINE_REPLIES and bool(properties) and properties.get("machine") is True


def machine_q() -> Q:
    """The events :func:`is_machine` names, for querysets (an event without the
    property is not one)."""
    return Q(name__in=MACHINE_REPLIES, properties__has_key="machine", properties__machine=True)


def is_activity(name: str, source: str, properties: Mapping[str, Any] | None = None) -> bool:
    """Is an event something the contact did (their *activity*)?

    Everything a browser or a server reports counts, except the app's own records
    (``APP_RECORDS``); of the events the app itself records (``Trust.ENGINE``), only the
    contact's replies count (``CONTACT_REPLIES``: opens, clicks, unsubscribes), and of
    those not what a machine did in their stead (:func:`is_machine`: pass the event's
    properties). The one definition behind ``Contact.last_activity_at`` and the
    *Inactive* segment rule; :func:`activity_q` is its SQL twin.
    """
    if name in APP_RECORDS or is_machine(name, properties):
        return False
    return TRUST.get(source) != Trust.ENGINE or name in CONTACT_REPLIES


def activity_q() -> Q:
    """The condition over ``Event`` that :func:`is_activity` states, for querysets."""
    return (
        ~Q(name__in=APP_RECORDS)
        & (~Q(source__in=sources_of(Trust.ENGINE)) | Q(name__in=CONTACT_REPLIES))
        & ~machine_q()
    )


class Event(models.Model):
    """Something a contact or visitor did, recorded once.

    Append-only: rows are never edited, except that an identified visitor's events are
    re-attached to its contact. ``idempotency_key`` is unique when set, so a retried
    delivery stores nothing new.
    """

    name = models.CharField(_("name"), max_length=100)
    # No database constraint: a page view is one INSERT that must never fail, even when a
    # browser's cookie still names a contact deleted since; the activity batch clears such
    # ids (``contacts.apply_activity``). Deleting a contact still deletes its events.
    contact = models.ForeignKey(
        "wagtail_journeys.Contact",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        db_constraint=False,
        db_index=False,  # journeys_event_cnt leads with it
    )
    visitor_id = models.UUIDField(_("visitor"), null=True, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=16, choices=EventSource.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="journeys_event_idempotency_key",
            )
        ]
        indexes = [
            # "events of this contact by name and time" (segments, timelines)
            models.Index(fields=["contact", "name", "occurred_at"], name="journeys_event_cnt"),
            # segment rules over all contacts: "events named N in the last D days",
            # grouped by contact (issue 3, segments)
            models.Index(fields=["name", "occurred_at"], name="journeys_event_name_time"),
            # an anonymous visitor's events, moved on identify
            models.Index(
                fields=["visitor_id"],
                condition=Q(visitor_id__isnull=False),
                name="journeys_event_visitor",
            ),
            # "events after id N" is the primary key's own index
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Events are append-only; record a new event instead.")
        super().save(*args, **kwargs)


class EventCursor(models.Model):
    """How far a batch consumer of the event log has read (``events after id N``)."""

    name = models.CharField(max_length=64, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"
