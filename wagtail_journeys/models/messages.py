"""``Message``: one row per email sent (or refused) to one contact."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed")
    UNCERTAIN = "uncertain", _("Uncertain (the worker stopped while sending it)")
    HELD = "held", _("Held (a required merge tag was empty)")

    @classmethod
    def final(cls) -> set[str]:
        """States a send with the same key never leaves: it is not sent again."""
        return {cls.SENT, cls.SUPPRESSED, cls.UNCERTAIN, cls.HELD}


class Message(models.Model):
    """One email to one contact.

    Its life: ``queued`` (row written) → ``sending`` (its chunk is being handed to the
    backend) → ``sent`` or ``failed``; ``suppressed`` when the contact may not receive it.
    A ``sending`` row whose worker died becomes ``uncertain``: it may or may not have
    left, and it is never sent again. ``held``: a merge tag the editor marked required
    was empty for this contact (``error`` names it); nothing was sent, and never will be.

    ``key`` is unique when set: a send with a key that exists returns this row and sends
    nothing (unless it was never handed to the backend: ``failed`` or stale ``queued``).
    ``uuid`` names the message in tracking tokens and its Message-ID; ``variant`` and
    ``context`` are what the tracking views need to find a link's target again.
    """

    key = models.CharField(_("key"), max_length=200, null=True, blank=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(
        "wagtail_journeys.Contact", on_delete=models.CASCADE, related_name="messages"
    )
    email_page = models.ForeignKey(
        "wagtail_journeys.EmailPage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
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
    transactional = models.BooleanField(default=False)
    enrollment_id = models.BigIntegerField(null=True, blank=True)
    step_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(key__isnull=False), name="journeys_message_key"
            )
        ]
        indexes = [models.Index(fields=["contact", "created_at"], name="journeys_msg_contact")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.contact_id}"
