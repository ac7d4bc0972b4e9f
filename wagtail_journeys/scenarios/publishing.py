"""What happens when a scenario's live tree, or something it depends on, changes: check,
then compile and store the new Plan with the checker's errors.

The receivers below (connected in ``apps.py``) hear every publish, unpublish, move,
copy and delete of a page; for the scenario it belongs to, and for the scenarios that
depend on it (those sending an email, starting a scenario, watching a segment), they
call ``guard.changed``, which checks and stores at once or at the end of the change in
progress (see ``scenarios.guard``). A Plan stored with errors is held by the engine.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from .checker import ERROR, Problem, check_loops, check_plan
from .guard import changed
from .loading import build_plan, current_plan, email_links, publish_plan, scenario_of
from .plan import Plan, _freeze, _thaw
from .world import load_world


def check_scenario(scenario: Any, *, extra: Plan | None = None) -> list[Problem]:
    """Problems of one scenario's Plan (``extra``, by default its live tree), plus the
    loops it closes with the live scenarios."""
    from ..models import ScenarioPage

    plan = extra or build_plan(scenario)
    others = [
        p
        for p in (
            current_plan(s)
            for s in ScenarioPage.objects.live()
            .exclude(pk=scenario.pk)
            .values_list("pk", flat=True)
        )
        if p
    ]
    plans = [plan, *others]
    loops = [
        p
        for p in check_loops(plans, load_world(plans))
        if plan.scenario_id in p.cycle or p.scenario_id == plan.scenario_id
    ]
    return check_plan(plan) + loops


def store_plan(scenario: Any) -> Plan | None:
    """Compile, check and store the Plan of a live scenario (a page or its id), with the
    checker's errors; ``None`` if the scenario is gone or not live."""
    from ..models import ScenarioPage

    if not isinstance(scenario, ScenarioPage):
        scenario = ScenarioPage.objects.filter(pk=scenario).first()
    if scenario is None or not scenario.live:
        return None

    def errors(plan: Plan) -> tuple[str, ...]:
        return tuple(p.message for p in check_scenario(scenario, extra=plan) if p.level == ERROR)

    return publish_plan(scenario, check=errors)


def refresh_plan(scenario: Any) -> Plan | None:
    """Store a live scenario's running Plan again with what it depends on read afresh
    (whether the emails it sends are live, and their links; whether the scenarios it
    starts are) and the checker's verdict. Its own tree is not re-read: moves and deletes
    made as drafts (``guard.editing_draft``) wait for its changes to be published."""
    from wagtail.models import Page

    from ..models import ScenarioPage, ScenarioPlan

    if not isinstance(scenario, ScenarioPage):
        scenario = ScenarioPage.objects.filter(pk=scenario).first()
    if scenario is None or not scenario.live:
        return None
    running = current_plan(scenario.pk)
    if running is None:
        return store_plan(scenario)
    wanted = {s.config["email_id"] for s in running.steps.values() if s.kind == "send_email"}
    emails = {p.pk: p for p in Page.objects.filter(pk__in=wanted - {None}).specific()}
    starts = {s.config["scenario_id"] for s in running.steps.values() if s.kind == "start_scenario"}
    live = set(
        ScenarioPage.objects.live().filter(pk__in=starts - {None}).values_list("pk", flat=True)
    )
    steps = {}
    for step_id, step in running.steps.items():
        config = _thaw(step.config)
        if step.kind == "send_email":
            email = emails.get(config["email_id"])
            config.update(
                email_live=bool(email and email.live),
                email_title=email.title if email else "",
                links=email_links(email) if email else [],
            )
        elif step.kind == "start_scenario":
            config["scenario_live"] = config["scenario_id"] in live
        steps[step_id] = dataclasses.replace(step, config=_freeze(config))
    plan = dataclasses.replace(running, steps=MappingProxyType(steps), errors=())
    errors = tuple(p.message for p in check_scenario(scenario, extra=plan) if p.level == ERROR)
    plan = dataclasses.replace(plan, errors=errors)
    ScenarioPlan.objects.create(
        scenario_id=scenario.pk, revision_id=running.revision_id, data=plan.to_json()
    )
    return plan


def _dependents(page: Any) -> list[int]:
    """Live scenarios whose Plan depends on ``page`` besides their own tree: those that
    send it (an email) or start it (a scenario)."""
    from ..models import EmailPage, ScenarioPage, SendEmailStep, StartScenarioStep

    specific = page.specific
    if isinstance(specific, EmailPage):
        steps = SendEmailStep.objects.live().filter(email_id=page.pk)
    elif isinstance(specific, ScenarioPage):
        steps = StartScenarioStep.objects.live().filter(scenario_id=page.pk)
    else:
        return []
    found = {scenario_of(step) for step in steps}
    return sorted(s.pk for s in found if s is not None and s.live and s.pk != page.pk)


def compile_on_publish(sender, instance, **kwargs) -> None:
    """``page_published``: a page of a scenario's tree went live (or the scenario did), or
    an email or scenario others depend on."""
    scenario_id = _live_scenario_id(instance)
    if scenario_id is not None:
        changed(scenario_id)
    for scenario_id in _dependents(instance):
        changed(scenario_id, checked=False)


def _live_scenario_id(page: Any) -> int | None:
    """The id of the live scenario ``page`` is (or belongs to), or None: one narrow query
    on the page table (publishing a tree of 200 steps asks it 200 times)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Page

    from ..models import ScenarioPage

    steplen = Page.steplen
    paths = [page.path[:end] for end in range(steplen, len(page.path) + 1, steplen)]
    return (
        Page.objects.filter(
            path__in=paths, live=True, content_type=ContentType.objects.get_for_model(ScenarioPage)
        )
        .order_by("-depth")
        .values_list("pk", flat=True)
        .first()
    )


def pause_on_unpublish(sender, instance, **kwargs) -> None:
    """``page_unpublished`` (also sent before a live page is deleted): a step leaving the
    live tree recompiles its scenario; an unpublished scenario pauses by itself (the
    engine only advances live scenarios) and forgets when it went live, so that its next
    publish starts the trigger's time afresh; those that send or start it are held."""
    from ..models import ScenarioPage

    deleting = instance.live  # Wagtail sends it before deleting a live page
    scenario = scenario_of(instance)
    if scenario is not None and scenario.pk == instance.pk:
        ScenarioPage.objects.filter(pk=scenario.pk).update(live_since=None)
    if scenario is not None and scenario.pk != instance.pk and scenario.live:
        changed(scenario.pk, without=instance if deleting else None)
    for scenario_id in _dependents(instance):
        changed(scenario_id, checked=False, without=instance if deleting else None)


def recompile_on_move(sender, instance, parent_page_before=None, **kwargs) -> None:
    """``post_page_move``: the scenarios a page left and joined both changed."""
    scenarios = {scenario_of(instance)}
    if parent_page_before is not None:
        scenarios.add(scenario_of(parent_page_before))
    for scenario in scenarios:
        if scenario is not None and scenario.live:
            changed(scenario.pk)


def recheck_on_segment_change(sender, instance, **kwargs) -> None:
    """``post_save`` of a segment: loops through segment-entered triggers may have
    appeared or gone (segments nest, so every watching scenario is looked at again)."""
    from ..models import ScenarioPage

    watching = ScenarioPage.objects.live().filter(trigger_kind="segment_entered")
    for scenario_id in watching.values_list("pk", flat=True):
        changed(scenario_id, checked=False)
