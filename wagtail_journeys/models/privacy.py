"""Consent and privacy: subscription topics, consent records, erasure suppressions.

- ``Topic``: what a marketing email is about (newsletter, offers, events…); editors define
  them, each ``EmailPage`` belongs to one or to none (mail every subscribed contact may get).
- ``TopicSubscription``: a contact's own choice for one topic; no row means the topic's
  default (``subscribed_by_default``).
- ``ConsentRecord``: the proof, append-only: every consent and withdrawal with its time,
  channel, topic, source and the wording the person was shown.
- ``Suppression``: the hash of an erased address, so an import cannot add the person back.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Topic(models.Model):
    """A subscription topic contacts choose in the preference centre."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.CharField(
        _("description"),
        max_length=255,
        blank=True,
        help_text=_("Shown to contacts under the topic's name in the preference centre."),
    )
    subscribed_by_default = models.BooleanField(
        _("subscribed by default"),
        default=True,
        help_text=_(
            "Subscribed contacts get this topic's mail until they opt out. Untick for a "
            "topic people must opt in to."
        ),
    )
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("subscription topic")
        verbose_name_plural = _("subscription topics")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class TopicSubscription(models.Model):
    """One contact's choice for one topic (absent: the topic's default)."""

    # indexed by journeys_topic_choice_once and journeys_topic_choice_idx
    contact = models.ForeignKey(
        "wagtail_journeys.Contact",
        on_delete=models.CASCADE,
        related_name="topic_choices",
        db_index=False,
    )
    topic = models.ForeignKey(
        Topic, on_delete=models.CASCADE, related_name="choices", db_index=False
    )
    subscribed = models.BooleanField(_("subscribed"))
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("topic subscription")
        verbose_name_plural = _("topic subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["contact", "topic"], name="journeys_topic_choice_once")
        ]
        indexes = [models.Index(fields=["topic", "subscribed"], name="journeys_topic_choice_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.topic_id} {self.subscribed}"


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    TRACKING = "tracking", _("Tracking")


class ConsentAction(models.TextChoices):
    GRANTED = "granted", _("Consent given")
    WITHDRAWN = "withdrawn", _("Consent withdrawn")
    REQUESTED = "requested", _("Confirmation requested")


class ConsentSource(models.TextChoices):
    FORM = "form", _("Form")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    ADMIN = "admin", _("Admin")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
    PREFERENCES = "preferences", _("Preference centre")
    CONFIRMATION = "confirmation", _("Confirmation link")
    BANNER = "banner", _("Consent banner")
    ESP = "esp", _("Email provider")


class ConsentRecord(models.Model):
    """Proof of one consent or withdrawal. Append-only: a change is a new record."""

    contact = models.ForeignKey(  # indexed by journeys_consent_contact
        "wagtail_journeys.Contact",
        on_delete=models.CASCADE,
        related_name="consents",
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    action = models.CharField(_("action"), max_length=16, choices=ConsentAction.choices)
    topic = models.ForeignKey(
        Topic,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("topic"),
        help_text=_("Empty: every marketing mail of the channel."),
    )
    #: The topic's name when recorded: the proof stays readable if the topic is deleted.
    topic_name = models.CharField(_("topic name"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=ConsentSource.choices)
    wording = models.TextField(_("wording shown"), blank=True)
    #: Where it happened: page id, form submission id, message uuid, import id, user id…
    details = models.JSONField(_("details"), default=dict, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-recorded_at"], name="journeys_consent_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.channel} {self.action} {self.recorded_at:%Y-%m-%d}"


class Suppression(models.Model):
    """An erased address, kept only as a keyed hash (``privacy.suppression_hash``): an
    import or API upsert of that address is refused while the site enables it."""

    hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=32, default="erasure")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")

    def __str__(self) -> str:
        return self.hash[:12]
