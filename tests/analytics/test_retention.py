"""Retention of step runs never changes a report (a run the rollup has not read is
kept until it has), and ``journeys_rollup`` brings the tables up to date or rebuilds
them from the raw rows still kept, warning about what retention took."""

from __future__ import annotations

import datetime as dt
import io

from django.core.management import call_command
from django.utils import timezone

from tests.analytics import counts
from tests.engine.test_engine import T0
from wagtail_journeys.analytics.rollup import rollup_pass
from wagtail_journeys.engine.retention import purge_step_runs
from wagtail_journeys.models import StepDay, StepRun

LATER = T0 + dt.timedelta(days=400)


def rollup(*args: str, progress: bool = False) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    quiet = () if progress else ("--no-progress",)
    call_command("journeys_rollup", *args, *quiet, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_purging_step_runs_leaves_the_reports_as_they_were(journey, settings):
    settings.WAGTAIL_JOURNEYS = {**settings.WAGTAIL_JOURNEYS, "STEP_RUN_RETENTION_DAYS": 30}
    scenario, *_ = journey
    rollup_pass(settle=dt.timedelta(0))
    before = counts.tables()
    steps = counts.rolled_steps()
    run = StepRun.objects.filter(outcome="done").first()
    unread = StepRun.objects.create(  # written just now: the rollup has not read it
        enrollment_id=run.enrollment_id,
        contact_id=run.contact_id,
        scenario_id=scenario.pk,
        step_id=run.step_id,
        kind=run.kind,
        branch_id=run.branch_id,
        outcome="done",
        ran_at=T0,
    )
    kept = StepRun.objects.count()
    assert purge_step_runs(now=LATER) == kept - 1
    assert list(StepRun.objects.values_list("pk", flat=True)) == [unread.pk]
    assert counts.tables() == before  # the reports did not change
    StepRun.objects.filter(pk=unread.pk).update(recorded_at=timezone.now() - dt.timedelta(hours=1))
    assert rollup_pass() == {"events": 0, "runs": 1}
    key = (scenario.pk, run.step_id, run.branch_id, "done")
    assert counts.rolled_steps()[key][0] == steps[key][0] + 1
    assert purge_step_runs(now=LATER) == 1  # read now: it may go


def test_the_command_rolls_up_and_a_rebuild_gives_the_same_tables(journey):
    counts.settle_everything()
    out, err = rollup(progress=True)
    assert "rolled up" in out and " rows " in err  # its progress bar, on stderr
    before = counts.tables()
    out, err = rollup("--rebuild")
    assert "cannot come back" in err
    assert counts.tables() == before
    assert counts.rolled_mail() == counts.expected_mail()
    assert rollup()[0] == "events 0, step runs 0 rolled up\n"


def test_a_rebuild_after_retention_loses_the_purged_days_and_says_so(journey, settings):
    settings.WAGTAIL_JOURNEYS = {**settings.WAGTAIL_JOURNEYS, "STEP_RUN_RETENTION_DAYS": 30}
    scenario, *_ = journey
    counts.settle_everything()
    rollup()
    mail = counts.rolled_mail()
    purge_step_runs(now=LATER)
    assert StepDay.objects.exists() and not StepRun.objects.exists()
    _, err = rollup("--rebuild")
    assert "STEP_RUN_RETENTION_DAYS" in err
    # the step counts are gone with their raw rows, as warned; the scenario's entered
    # comes back from the enrolments, which retention keeps
    entered = StepDay.objects.values_list("step_id", "outcome").distinct()
    assert list(entered) == [(0, "entered")]
    assert counts.rolled_steps()[(scenario.pk, 0, 0, "entered")][0] == 12
    assert counts.rolled_mail() == mail  # events are kept: the mail reports are whole
