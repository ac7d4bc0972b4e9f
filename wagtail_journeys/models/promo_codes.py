"""``PromoCode``: every code an Update-contact step issued, unique per prefix."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PromoCode(models.Model):
    """One issued code. The database keeps codes unique per prefix (a code once mailed is
    never given to anyone else, whatever the random draw) and issues at most one code per
    ``key`` — the step's ``(enrolment, step, iteration)`` — so a step run again gets its
    first code back. Contact and enrolment may be erased; the code stays taken."""

    prefix = models.CharField(_("prefix"), max_length=20)
    code = models.CharField(_("code"), max_length=40)
    contact = models.ForeignKey(
        "wagtail_journeys.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="promo_codes",
    )
    enrollment = models.ForeignKey(
        "wagtail_journeys.Enrollment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    step_id = models.IntegerField(null=True, blank=True)
    key = models.CharField(max_length=100, null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        verbose_name = _("promo code")
        verbose_name_plural = _("promo codes")
        constraints = [
            models.UniqueConstraint(fields=["prefix", "code"], name="journeys_promo_code"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(key__isnull=False), name="journeys_promo_code_key"
            ),
        ]

    def __str__(self) -> str:
        return self.code
