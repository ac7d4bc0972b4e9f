"""``Message``: one row per email sent (or refused) to one contact."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DEFERRED = "deferred", _("Deferred (to be tried again)")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed")
    UNCERTAIN = "uncertain", _("Uncertain (the worker stopped while sending it)")
    HELD = "held", _("Held (a required merge tag was empty)")
    # What the ESP tells afterwards (django-anymail's tracking webhooks)
    DELIVERED = "delivered", _("Delivered")
    BOUNCED = "bounced", _("Bounced")
    REJECTED = "rejected", _("Rejected by the ESP")
    COMPLAINED = "complained", _("Complained (marked as spam)")

    @classmethod
    def handed(cls) -> set[str]:
        """States of a message the backend accepted: ``sent`` and what the ESP told of
        it since (each one was sent)."""
        return {cls.SENT, cls.DELIVERED, cls.BOUNCED, cls.REJECTED, cls.COMPLAINED}

    @classmethod
    def final(cls) -> set[str]:
        """States a send with the same key never leaves: it is not sent again."""
        return {cls.SUPPRESSED, cls.UNCERTAIN, cls.HELD, cls.FAILED} | cls.handed()


class BounceType(models.TextChoices):
    HARD = "hard", _("Hard (permanent)")
    SOFT = "soft", _("Soft (temporary)")


class Message(models.Model):
    """One email to one contact.

    Its life: ``queued`` (row written) → ``sending`` (its chunk is being handed to the
    backend) → ``sent`` or ``failed``; ``suppressed`` when the contact may not receive it.
    A temporary failure (the mail server refused the connection, lost it, or answered
    4xx) makes it ``deferred`` until ``next_attempt_at`` (``SEND_RETRY_DELAYS``); after
    ``SEND_MAX_ATTEMPTS`` it is ``failed``, as is at once a message the server refused
    for good (5xx, a refused recipient). ``attempts`` counts the tries.
    A ``sending`` row whose worker died becomes ``uncertain``: it may or may not have
    left, and it is never sent again. ``held``: a merge tag the editor marked required
    was empty for this contact (``error`` names it); nothing was sent, and never will be.

    Once sent, the ESP may tell more (``delivery.feedback``, from django-anymail's
    tracking signal): ``delivered``, then perhaps ``bounced`` or ``complained``; or
    ``rejected`` (the ESP refused it). A later, weaker news never overrides a stronger
    one (``complained`` > ``bounced`` > ``rejected`` > ``delivered`` > ``sent``).

    ``key`` is unique when set: a send with a key that exists returns this row and sends
    nothing (unless it was never handed to the backend: ``deferred`` and due, or stale
    ``queued``).
    ``uuid`` names the message in tracking tokens and its Message-ID; ``revision``,
    ``variant`` and ``context`` are what the tracking views need to find a link's target
    again, and what the admin re-renders the message from (its HTML is not stored).

    Engagement: ``opened_at`` / ``clicked_at`` are the first *human* open and click
    (``tracking.machines``), ``open_count`` / ``click_count`` count human ones,
    ``machine_open_count`` / ``machine_click_count`` the others (Apple Mail Privacy
    Protection, link scanners). Counters move by one UPDATE per hit, never read first.
    """

    key = models.CharField(_("key"), max_length=200, null=True, blank=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of their own: ``journeys_msg_contact`` and ``journeys_msg_email`` lead
    # with them (each index is written twice per message sent: queued, then sent).
    contact = models.ForeignKey(
        "wagtail_journeys.Contact",
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    email_page = models.ForeignKey(
        "wagtail_journeys.EmailPage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    variant = models.JSONField(default=list, blank=True)
    context = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    #: Times it was handed to the backend (or its connection tried), and when a
    #: ``deferred`` one is tried again.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    transactional = models.BooleanField(default=False)
    enrollment_id = models.BigIntegerField(null=True, blank=True)
    scenario_id = models.BigIntegerField(null=True, blank=True)
    step_id = models.BigIntegerField(null=True, blank=True)
    #: The address it was sent to (the contact's address may change later).
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    #: The ESP's own id of the message (django-anymail's ``anymail_status.message_id``).
    esp_message_id = models.CharField(_("ESP message id"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked"), null=True, blank=True)
    open_count = models.PositiveIntegerField(_("opens"), default=0)
    click_count = models.PositiveIntegerField(_("clicks"), default=0)
    machine_open_count = models.PositiveIntegerField(_("machine opens"), default=0)
    machine_click_count = models.PositiveIntegerField(_("machine clicks"), default=0)
    #: The latest click, human or not (a scanner follows all links within a second).
    last_click_at = models.DateTimeField(null=True, blank=True, editable=False)
    bounced_at = models.DateTimeField(_("bounced"), null=True, blank=True)
    bounce_type = models.CharField(
        _("bounce"), max_length=4, choices=BounceType.choices, blank=True, default=""
    )
    complained_at = models.DateTimeField(_("complained"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    #: Its first attributed conversion (``analytics.conversions``), and the revenue of
    #: every one (amounts from servers only).
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    revenue = models.DecimalField(_("revenue"), max_digits=18, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(key__isnull=False), name="journeys_message_key"
            )
        ]
        indexes = [
            models.Index(fields=["contact", "created_at"], name="journeys_msg_contact"),
            # the Messages listing: newest first, by status, email or scenario
            models.Index(fields=["status", "created_at"], name="journeys_msg_status"),
            models.Index(fields=["email_page", "created_at"], name="journeys_msg_email"),
            models.Index(fields=["scenario_id", "created_at"], name="journeys_msg_scenario"),
            # its rare outcomes, small partial indexes (opens and clicks are common:
            # the newest-first walk finds them at once)
            models.Index(
                fields=["created_at"],
                condition=Q(bounced_at__isnull=False),
                name="journeys_msg_bounced",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(complained_at__isnull=False),
                name="journeys_msg_complained",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(unsubscribed_at__isnull=False),
                name="journeys_msg_unsubscribed",
            ),
            # finding the message an ESP webhook names
            models.Index(fields=["message_id"], name="journeys_msg_message_id"),
            models.Index(
                fields=["esp_message_id"],
                condition=~Q(esp_message_id=""),
                name="journeys_msg_esp_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.contact_id}"

    def get_error_display(self) -> str:
        """``error`` (stored in English) in the user's language, for the inspect view."""
        from ..reasons import display

        return display(self.error)

    def event_properties(self, **extra: Any) -> dict[str, Any]:
        """The properties every event about this message carries (the email, the
        Message-ID header, the message, its scenario, step and segment variant), plus
        ``extra``."""
        return {
            "email_page_id": self.email_page_id,
            "message_id": self.message_id,
            "message": self.pk,
            "scenario_id": self.scenario_id,
            "step_id": self.step_id,
            "variant": list(self.variant or ()),
            **extra,
        }
