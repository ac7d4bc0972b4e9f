"""Who we talk to: ``Contact`` (a known person) and ``Visitor`` (an anonymous browser)."""

from __future__ import annotations

import uuid
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase


class EmailStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", _("Subscribed")
    PENDING = "pending", _("Pending double opt-in")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")


class Civility(models.TextChoices):
    MR = "mr", _("Mr")
    MRS = "mrs", _("Mrs")
    MS = "ms", _("Ms")
    MX = "mx", _("Mx")
    DR = "dr", _("Dr")


def validate_timezone(value: str) -> None:
    if not value:
        return
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("%(value)s is not an IANA timezone (such as Europe/Paris)."),
            params={"value": value},
            code="invalid_timezone",
        ) from exc


class ContactTag(TaggedItemBase):
    """Interest tags of a contact (``thriller``, ``stephen-king``…)."""

    content_object = models.ForeignKey(
        "wagtail_journeys.Contact", on_delete=models.CASCADE, related_name="tagged_items"
    )


class Contact(models.Model):
    """A person identified by a normalised email address.

    Consent lives in ``email_status``; nothing in the app changes it except an explicit
    choice (unsubscribe link, import column, API field) or the ESP's word (a hard bounce,
    ``SOFT_BOUNCE_LIMIT`` soft ones, a complaint: ``tracking.esp``), never an upsert.
    """

    email = models.EmailField(_("email"), max_length=254, unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    civility = models.CharField(_("civility"), max_length=8, choices=Civility.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    locale = models.CharField(_("locale"), max_length=16, blank=True)
    timezone = models.CharField(
        _("timezone"),
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text=_("IANA name such as Europe/Paris; empty means the site default."),
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    tags = TaggableManager(through=ContactTag, blank=True, verbose_name=_("interests"))
    email_status = models.CharField(
        _("email status"),
        max_length=16,
        choices=EmailStatus.choices,
        default=EmailStatus.SUBSCRIBED,
        db_index=True,
    )
    sms_opt_in = models.BooleanField(_("SMS opt-in"), default=False)
    #: Double opt-in: when the last confirmation mail went out, and when a confirmation
    #: link was followed (``email_status`` leaves ``pending`` then).
    confirmation_sent_at = models.DateTimeField(
        _("confirmation sent"), null=True, blank=True, editable=False
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=django_timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_activity_at = models.DateTimeField(
        _("last activity"), null=True, blank=True, db_index=True
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(Lower("last_name"), name="journeys_contact_lname")]
        permissions = [
            ("track_contacts", "Can record events and identify contacts through the API"),
            ("import_contacts", "Can import contacts"),
            ("export_contacts", "Can export contacts"),
            ("send_test_as_contact", "Can send tests personalised with real contact data"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def can_receive_marketing(self) -> bool:
        return self.email_status == EmailStatus.SUBSCRIBED

    def get_timezone(self) -> zoneinfo.ZoneInfo:
        """The contact's own timezone, or the site default when unset or unknown."""
        from .. import conf

        for name in (self.timezone, conf.get("DEFAULT_TIMEZONE")):
            if name:
                try:
                    return zoneinfo.ZoneInfo(name)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    continue
        return zoneinfo.ZoneInfo("UTC")

    def clean(self) -> None:
        from ..contacts import normalize_email

        if self.email:
            self.email = normalize_email(self.email)
        if not isinstance(self.attributes, dict):
            raise ValidationError({"attributes": _("Attributes must be a JSON object.")})


class Visitor(models.Model):
    """An anonymous browser, known by the id in its signed first-party cookie.

    Created when first identified (page views of an unknown visitor carry only its id, so
    tracking stays one INSERT); ``contact`` is set on identify and the visitor's earlier
    events move to that contact.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="visitors"
    )
    created_at = models.DateTimeField(default=django_timezone.now)
    identified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")

    def __str__(self) -> str:
        return str(self.id)
