"""Where each contact is in each scenario (``Enrollment``) and what happened (``StepRun``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    CONVERTED = "converted", _("Converted (goal reached)")
    EXITED = "exited", _("Exited")


class Enrollment(models.Model):
    """One contact's run through one scenario.

    An active enrolment is advanced when ``due_at`` has passed (and its scenario is live).
    ``step_id`` is the step page it is on; ``waiting`` says it already entered that step
    and parks there until ``due_at`` (or until ``wait_event`` happens). ``iteration``
    counts the steps taken, so ``(enrollment, step, iteration)`` names each send once.

    The row is also the scenario's *entered* record: ``started_at`` is the engine's time
    it entered (a test may move it), ``recorded_at`` the real time the row was written,
    which the rollup's settle rule needs (``analytics.rollup``, cursor ``rollup:entries``).
    """

    # indexed by journeys_enr_cnt and journeys_enr_step (each index of this table is
    # written as every contact enters, and again at most steps)
    contact = models.ForeignKey(
        "wagtail_journeys.Contact",
        on_delete=models.CASCADE,
        related_name="enrollments",
        db_index=False,
    )
    scenario = models.ForeignKey(
        "wagtail_journeys.ScenarioPage",
        on_delete=models.CASCADE,
        related_name="enrollments",
        db_index=False,
    )
    status = models.CharField(
        max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE
    )
    step_id = models.IntegerField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    waiting = models.BooleanField(default=False)
    priority = models.BooleanField(default=False)
    wait_event = models.CharField(max_length=100, blank=True, db_index=True)
    outcome = models.CharField(max_length=10, blank=True)
    iteration = models.PositiveIntegerField(default=0)
    depth = models.PositiveSmallIntegerField(default=0)
    context = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        indexes = [
            # In the order the engine claims due rows (``advance._claim``): a claim reads
            # its batch off the index, where (due_at) alone sorted every due row each time
            # (a broadcast's rows are all due at once).
            models.Index(
                fields=["due_at", "id"], condition=Q(status="active"), name="journeys_enr_due_id"
            ),
            models.Index(
                fields=["due_at", "id"],
                condition=Q(status="active", priority=True),
                name="journeys_enr_prio_id",
            ),
            models.Index(fields=["contact", "scenario", "started_at"], name="journeys_enr_cnt"),
            models.Index(fields=["scenario", "status", "step_id"], name="journeys_enr_step"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.scenario_id} ({self.status})"


class StepRun(models.Model):
    """What a step did for one enrolment: done, skipped, deferred or ended, and why.

    A send is logged ``queued`` with its unique key in the batch's transaction, then
    ``sent`` (or ``skipped``) once delivery has run after the commit. The scenario itself
    (``step_id`` ``None``) logs ``converted`` when an enrolment reaches its goal (also
    once per split arm it took: ``step_id`` the split) and ``exited`` when it leaves; its
    start is the ``Enrollment`` row itself (rows written before migration 0022 also have
    an ``entered`` run, which the rollup still counts).

    An enrolment that reaches the end of its scenario in the same move as a step ran
    (a broadcast's send, say) records it on that step's run: ``ends`` is ``completed``,
    one row where there were two (a ``completed`` run of the scenario, ``step_id``
    ``None``, which an end reached without a step run still gets, as did every end before
    migration 0025). Readers count such a run as its step's outcome and as the
    scenario's ``completed``.

    ``ran_at`` is the engine's time (a test may move it); ``recorded_at`` is the real time
    the row was written, which the rollup's settle rule needs. ``branch_id`` is the
    Branch page a condition, split or wait took (0 for none); ``revenue`` the goal
    event's amount on ``converted`` rows (from a server only)."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="runs")
    contact_id = models.BigIntegerField(db_index=True)
    scenario_id = models.IntegerField()
    step_id = models.IntegerField(null=True)
    kind = models.CharField(max_length=20)
    iteration = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=12)
    reason = models.CharField(max_length=200, blank=True)
    marketing_send = models.BooleanField(default=False)
    key = models.CharField(max_length=100, blank=True)
    ran_at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    branch_id = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    # db_default: a worker still on the code before migration 0025 inserts without it
    ends = models.CharField(max_length=10, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("step run")
        indexes = [
            models.Index(fields=["scenario_id", "step_id"], name="journeys_run_step"),
            models.Index(
                fields=["ran_at"], condition=Q(outcome="queued"), name="journeys_run_queued"
            ),
            models.Index(
                fields=["contact_id", "ran_at"],
                condition=Q(marketing_send=True),
                name="journeys_run_sends",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome} #{self.enrollment_id}"


class ScenarioPlan(models.Model):
    """A compiled Plan of a scenario's live tree, stored once per publish (immutable).

    ``key`` names the row for the engine's plan cache: unlike the id, which SQLite gives
    again after a rollback, it never repeats."""

    scenario = models.ForeignKey(
        "wagtail_journeys.ScenarioPage", on_delete=models.CASCADE, related_name="plans"
    )
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    revision_id = models.IntegerField(null=True)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"plan {self.pk} of scenario {self.scenario_id}"


class SegmentTriggerMember(models.Model):
    """Who was in a segment-entered scenario's segment at its last check: the next check
    enrols only contacts missing here (they entered) and forgets those who left."""

    scenario = models.ForeignKey(  # indexed by journeys_segment_trigger_member
        "wagtail_journeys.ScenarioPage", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        "wagtail_journeys.Contact", on_delete=models.CASCADE, related_name="+"
    )
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("segment trigger member")
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "contact"], name="journeys_segment_trigger_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in the segment of {self.scenario_id}"
