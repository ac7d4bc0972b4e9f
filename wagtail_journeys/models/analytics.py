"""Rollup tables: the day-by-day counts reports read (``analytics.rollup`` keeps them).

Ids are plain integers with ``0`` for "none", never NULL (PostgreSQL's unique constraints
treat NULLs as distinct, and the rollup's upsert needs one row per key), and no foreign
keys: a deleted email or scenario keeps its history. ``day`` is the local date
(``settings.TIME_ZONE``) of the event's ``occurred_at`` (of a step run's ``ran_at``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


def _count(label: str) -> models.PositiveBigIntegerField:
    return models.PositiveBigIntegerField(label, default=0)


def _money() -> models.DecimalField:
    return models.DecimalField(_("revenue"), max_digits=18, decimal_places=2, default=0)


class MailDay(models.Model):
    """What happened to the messages of one email, scenario, step and segment variant on
    one day: one row per ``(day, email_page_id, scenario_id, step_id, variant)``."""

    day = models.DateField(_("day"))
    email_page_id = models.IntegerField(default=0)
    scenario_id = models.IntegerField(default=0)
    step_id = models.IntegerField(default=0)
    #: ``",".join(sorted ids)`` of ``Message.variant``; ``""`` is the default content.
    variant = models.CharField(_("variant"), max_length=200, blank=True, default="")
    sent = _count(_("sent"))
    delivered = _count(_("delivered"))
    bounced = _count(_("bounced"))
    hard_bounced = _count(_("hard bounced"))
    rejected = _count(_("rejected"))
    complained = _count(_("complained"))
    unsubscribed = _count(_("unsubscribed"))
    #: unique human opens (``email_opened`` with ``first``)
    opened = _count(_("opened"))
    #: every human open
    opens = _count(_("opens"))
    machine_opens = _count(_("machine opens"))
    #: unique human clickers (``email_clicked`` with ``first``)
    clicked = _count(_("clicked"))
    #: every human click
    clicks = _count(_("clicks"))
    machine_clicks = _count(_("machine clicks"))
    #: messages converted (their first attributed conversion)
    converted = _count(_("converted"))
    #: every attributed conversion event
    conversions = _count(_("conversions"))
    revenue = _money()

    class Meta:
        verbose_name = _("mail day")
        verbose_name_plural = _("mail days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "email_page_id", "scenario_id", "step_id", "variant"],
                name="journeys_mailday_key",
            )
        ]
        indexes = [
            models.Index(fields=["email_page_id", "day"], name="journeys_mailday_email"),
            models.Index(fields=["scenario_id", "day"], name="journeys_mailday_scenario"),
        ]
        permissions = [("view_reports", _("Can view reports"))]

    def __str__(self) -> str:
        return f"email {self.email_page_id} on {self.day}"


class LinkDay(models.Model):
    """Clicks on one link of an email (its index in the compiled email) on one day."""

    day = models.DateField(_("day"))
    email_page_id = models.IntegerField(default=0)
    scenario_id = models.IntegerField(default=0)
    step_id = models.IntegerField(default=0)
    link = models.IntegerField(_("link"))
    #: the link's target (the latest seen)
    url = models.CharField(_("URL"), max_length=2000, blank=True, default="")
    clicks = _count(_("clicks"))
    #: first human clicks of a message (``first``) landing on this link
    clicked = _count(_("clicked"))
    machine_clicks = _count(_("machine clicks"))

    class Meta:
        verbose_name = _("link day")
        verbose_name_plural = _("link days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "email_page_id", "scenario_id", "step_id", "link"],
                name="journeys_linkday_key",
            )
        ]
        indexes = [models.Index(fields=["email_page_id", "day"], name="journeys_linkday_email")]

    def __str__(self) -> str:
        return f"link {self.link} of email {self.email_page_id} on {self.day}"


class StepDay(models.Model):
    """What the steps of a scenario did on one day, from ``StepRun``: one row per
    ``(day, scenario_id, step_id, branch_id, outcome)``. ``step_id`` 0 is the scenario
    itself (``entered``, ``converted``, ``exited``, ``completed``)."""

    day = models.DateField(_("day"))
    scenario_id = models.IntegerField(default=0)
    step_id = models.IntegerField(default=0)
    #: the Branch page taken (conditions, splits, waits); 0 for none
    branch_id = models.IntegerField(default=0)
    #: a StepRun outcome (``queued`` counts as ``sent``)
    outcome = models.CharField(_("outcome"), max_length=12)
    count = _count(_("count"))
    #: goal events' amounts (``converted`` rows)
    revenue = _money()

    class Meta:
        verbose_name = _("step day")
        verbose_name_plural = _("step days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "scenario_id", "step_id", "branch_id", "outcome"],
                name="journeys_stepday_key",
            )
        ]
        indexes = [models.Index(fields=["scenario_id", "day"], name="journeys_stepday_scenario")]

    def __str__(self) -> str:
        return f"{self.outcome} at {self.scenario_id}/{self.step_id} on {self.day}"
