"""Switching a scenario on, publishing its changes, pausing and resuming it.

A scenario and its steps are drafts while they are built: in the admin, "Publish" on one
of their pages saves a draft (``editor.keep_scenario_drafts``). ``switch_on`` checks the
whole tree as the editors last saved it (``drafts.draft_plan``) and publishes every page
of it together, in one transaction, so the engine gets one Plan; ``publish_changes`` does
the same for a live scenario, whose contacts keep running the Plan stored before until
then (``impact`` says where each group of them goes on from). ``pause`` stops new
enrolments and, with "hold", the contacts inside too; ``resume`` undoes it. Each is
recorded in Wagtail's log (``wagtail_hooks.register_log_actions``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import InvalidInput, ScenarioInvalid
from .checker import ERROR, Problem
from .drafts import draft_plan, prefetch_targets
from .guard import changed, publishing_together
from .loading import current_plan
from .plan import Plan
from .publishing import check_scenario


def may_switch(scenario: Any, user: Any) -> bool:
    """Whether ``user`` may switch the scenario on, publish its changes or pause it: they
    may publish it (Wagtail's page permissions, which its steps inherit)."""
    return bool(user and scenario.permissions_for_user(user).can_publish())


def _require(scenario: Any, user: Any) -> None:
    if not may_switch(scenario, user):
        raise PermissionDenied(_("You may not publish this scenario."))


def draft_problems(scenario: Any, plan: Plan | None = None) -> list[Problem]:
    """The checker on the whole tree as last saved (every page's latest revision), with
    the loops it would close with the live scenarios; a send step's email that is a
    draft is no problem: it goes live with the scenario (``draft_emails``)."""
    plan = plan or draft_plan(scenario)
    going_live = {email.pk for email in draft_emails(scenario, plan)}
    return [
        p
        for p in check_scenario(scenario, extra=plan)
        if not (
            p.code == "email-not-live"
            and p.step_id in plan.steps
            and plan.steps[p.step_id].config.get("email_id") in going_live
        )
    ]


def draft_emails(scenario: Any, plan: Plan | None = None) -> list[Any]:
    """The emails the draft's send steps use that are not live yet but have a draft to
    publish (a template's emails, say): "Switch on" and "Publish changes" publish them
    together with the scenario. In the order the steps run, each once."""
    from ..models import EmailPage

    plan = plan or draft_plan(scenario)
    ids: list[int] = []
    for step_id in plan.order:
        step = plan.steps[step_id]
        email_id = step.config.get("email_id") if step.kind == "send_email" else None
        if email_id and not step.config.get("email_live") and email_id not in ids:
            ids.append(email_id)
    found = {
        e.pk: e
        for e in EmailPage.objects.filter(pk__in=ids, live=False).exclude(latest_revision=None)
    }
    return [found[i] for i in ids if i in found]


def node_name(plan: Plan, problem: Problem) -> str:
    """The node a problem is about: its step's summary, or the scenario's title."""
    step = plan.steps.get(problem.step_id) if problem.step_id else None
    return step.summary if step is not None else plan.title


def _refusal(plan: Plan, problems: list[Problem]) -> ScenarioInvalid | None:
    errors = [(node_name(plan, p), p.message) for p in problems if p.level == ERROR]
    return ScenarioInvalid(errors) if errors else None


def _unpublished(scenario: Any) -> list[Any]:
    """The scenario and the pages under it that are drafts or have unpublished changes,
    top-down (a parent is published before its children)."""
    from wagtail.models import Page

    pages = Page.objects.descendant_of(scenario, inclusive=True).order_by("path")
    return list(pages.filter(Q(live=False) | Q(has_unpublished_changes=True)))


def _go_live(pages: list[Any], user: Any) -> None:
    """Publish pages that are not live, in bulk: what Wagtail's publish does to each (the
    live flag and revision, first and last published, the "Publish" entry of its history,
    the ``page_published`` signal) in a few queries for all of them. Their rows already
    hold their latest revision: Wagtail's editor saves a page that is not live into its
    row as well as into a new revision (``form.save(commit=not page.live)``), so nothing
    needs reading from the revisions; a page with changes and no revision is not given.
    """
    from wagtail.models import Page, PageLogEntry, Revision
    from wagtail.signals import page_published

    if not pages:
        return
    now = timezone.now()
    ids = [p.pk for p in pages]
    Page.objects.filter(pk__in=ids, first_published_at=None).update(first_published_at=now)
    Page.objects.filter(pk__in=ids).update(
        live=True,
        has_unpublished_changes=False,
        expired=False,
        live_revision=F("latest_revision"),
        last_published_at=now,
        draft_title=F("title"),
    )
    revisions = Revision.page_revisions.filter(pk__in=[p.latest_revision_id for p in pages])
    revisions.exclude(approved_go_live_at=None).update(approved_go_live_at=None)
    by_id = {r.pk: r for r in revisions.defer("content")}
    published = list(Page.objects.filter(pk__in=ids).specific().order_by("path"))
    prefetch_targets(published)  # their labels name them
    PageLogEntry.objects.bulk_create(
        PageLogEntry(
            content_type_id=page.content_type_id,
            label=page.get_admin_display_title(),
            action="wagtail.publish",
            timestamp=now,
            user=user,
            page_id=page.pk,
            revision=by_id[page.latest_revision_id],
            content_changed=True,
        )
        for page in published
    )
    for page in published:
        page_published.send(
            sender=type(page), instance=page, revision=by_id[page.latest_revision_id]
        )


def _publish_tree(scenario: Any, user: Any, action: str) -> Plan:
    """Check the draft tree, then publish all of it in one transaction (one Plan)."""
    from wagtail.log_actions import log

    plan = draft_plan(scenario)
    refused = _refusal(plan, draft_problems(scenario, plan))
    if refused is not None:
        raise refused
    emails = draft_emails(scenario, plan)
    barred = [e for e in emails if not e.permissions_for_user(user).can_publish()]
    if barred:
        raise ScenarioInvalid(
            [(e.title, _("This email is a draft and you may not publish it.")) for e in barred]
        )
    with transaction.atomic():
        for email in emails:  # before the steps that send them
            email.get_latest_revision().publish(user=user)
        pages = _unpublished(scenario)
        with publishing_together():
            _go_live([p for p in pages if not p.live and p.latest_revision_id], user)
            for page in pages:
                if page.live or not page.latest_revision_id:  # changes to a live page
                    revision = page.get_latest_revision() or page.specific.save_revision()
                    revision.publish(user=user)
            changed(scenario.pk)  # also when only moves and deletes were pending
        stored = current_plan(scenario.pk)
        _due_if_removed(scenario, stored)
        log(
            instance=type(scenario).objects.get(pk=scenario.pk),
            action=action,
            user=user,
            data={"pages": len(pages), "steps": len(stored.steps) if stored else 0},
        )
    return stored


def _due_if_removed(scenario: Any, plan: Plan | None) -> int:
    """Contacts on a step the new Plan no longer has are due now: the engine's next pass
    ends their enrolment ("step N was removed") instead of when their wait would have
    ended. Returns how many."""
    from ..models import Enrollment

    if plan is None:
        return 0
    return (
        Enrollment.objects.filter(scenario_id=scenario.pk, status="active")
        .exclude(step_id__in=list(plan.steps))
        .exclude(step_id=None)
        .update(due_at=timezone.now())
    )


def switch_on(scenario: Any, user: Any) -> Plan:
    """Check the scenario's whole draft tree and, if it passes, publish every page of it
    together: the scenario goes live with one Plan. Raises ``PermissionDenied`` if
    ``user`` may not publish it, ``ScenarioInvalid`` (``(node, message)`` pairs, nothing
    changed) if the checker finds errors, ``InvalidInput`` if it is live already (see
    ``publish_changes``)."""
    _require(scenario, user)
    if type(scenario).objects.filter(pk=scenario.pk, live=True).exists():
        raise InvalidInput(_("This scenario is already on: publish its changes instead."))
    return _publish_tree(scenario, user, "wagtail_journeys.switch_on")


def publish_changes(scenario: Any, user: Any) -> Plan:
    """Apply every draft change of a live scenario at once, checked like ``switch_on``.
    Until then its contacts run the Plan stored before; afterwards each goes on as
    ``impact`` said."""
    _require(scenario, user)
    if not type(scenario).objects.filter(pk=scenario.pk, live=True).exists():
        raise InvalidInput(_("This scenario is not on yet: switch it on instead."))
    return _publish_tree(scenario, user, "wagtail_journeys.publish_changes")


def has_changes(scenario: Any, plan: Plan | None = None) -> bool:
    """Whether the scenario has draft changes to publish, or a Plan to catch up with (a
    step moved or deleted since its last publish). ``plan``: its ``draft_plan`` if the
    caller has it."""
    if _unpublished(scenario):
        return True
    running = current_plan(scenario.pk)
    if running is None:
        return True
    draft = (plan or draft_plan(scenario)).to_json()
    stored = running.to_json()
    return any(draft[key] != stored[key] for key in ("first", "order", "steps"))


def pause(scenario: Any, user: Any, mode: str) -> None:
    """Stop new enrolments; ``mode`` says what the contacts inside do: ``"hold"`` (they
    stay where they are until resumed) or ``"finish"`` (they go on to the end)."""
    from ..models import Paused

    _require(scenario, user)
    if mode not in (Paused.HOLD, Paused.FINISH):
        raise InvalidInput(_("Choose whether the contacts inside wait or finish."), field="mode")
    if not scenario.live:
        raise InvalidInput(_("Only a scenario that is on can be paused."))
    _set_paused(scenario, user, mode, "wagtail_journeys.pause")


def resume(scenario: Any, user: Any) -> None:
    """Let contacts enter again, and those held move on (those whose wait ended during
    the pause move on at once)."""
    _require(scenario, user)
    if not scenario.paused:
        raise InvalidInput(_("This scenario is not paused."))
    _set_paused(scenario, user, "", "wagtail_journeys.resume")


def _set_paused(scenario: Any, user: Any, mode: str, action: str) -> None:
    from wagtail.log_actions import log

    was = scenario.paused
    scenario.paused, scenario.paused_at = mode, timezone.now() if mode else None
    with transaction.atomic():
        type(scenario).objects.filter(pk=scenario.pk).update(
            paused=scenario.paused, paused_at=scenario.paused_at
        )
        log(instance=scenario, action=action, user=user, data={"mode": mode or was})


@dataclass(frozen=True)
class Group:
    """Contacts inside on one step, and where they go on from once changes are published.

    ``fate``: ``"same"`` (nothing changed there), ``"changed"`` (the step's settings did),
    ``"moved"`` (what follows it did), ``"removed"`` (the step is gone: the engine ends
    their enrolment, "step N was removed"), ``"end"`` (they were finishing)."""

    step_id: int | None
    count: int
    waiting: int
    now: str
    fate: str
    then: str


def impact(scenario: Any, draft: Plan | None = None) -> list[Group]:
    """For the contacts inside a live scenario, grouped by the step they are on: where
    each group goes on from once the draft is published (what ``engine.steps.run`` does
    with the new Plan). Steps in the running Plan's order; one grouped query."""
    from django.db.models import Count

    from ..models import Enrollment

    draft = draft or draft_plan(scenario)
    running = current_plan(scenario.pk)
    rows = (
        Enrollment.objects.filter(scenario_id=scenario.pk, status="active")
        .values_list("step_id")
        .annotate(n=Count("id"), waiting=Count("id", filter=Q(waiting=True)))
        .values_list("step_id", "n", "waiting")
        .order_by()
    )
    order = {step_id: i for i, step_id in enumerate(running.order if running else ())}
    groups = [_group(step_id, n, waiting, running, draft) for step_id, n, waiting in rows]
    return sorted(groups, key=lambda g: (g.step_id is None, order.get(g.step_id, 1 << 30)))


def _summary(plan: Plan | None, step_id: int | None) -> str:
    step = plan.steps.get(step_id) if plan and step_id else None
    return step.summary if step else _("step %(id)s") % {"id": step_id}


def _group(step_id, n, waiting, running: Plan | None, draft: Plan) -> Group:
    now = _summary(running, step_id)
    if step_id is None:
        return Group(None, n, waiting, _("Finishing"), "end", _("They complete the scenario."))
    new = draft.steps.get(step_id)
    if new is None:
        then = _(
            "'%(step)s' is not in the new version: they leave the scenario at the engine's "
            "next pass (ended as exited, “step %(id)s was removed”)."
        ) % {"step": now, "id": step_id}
        return Group(step_id, n, waiting, now, "removed", then)
    old = running.steps.get(step_id) if running else None
    after = _summary(draft, new.next) if new.next else _("the end of the scenario")
    if old is None or old.next != new.next or old.path != new.path:
        then = _("They go on from '%(step)s', now followed by %(after)s.") % {
            "step": new.summary,
            "after": f"'{after}'" if new.next else after,
        }
        return Group(step_id, n, waiting, now, "moved", then)
    if old.config != new.config or old.branches != new.branches:
        then = _("They go on from '%(step)s' with its new settings.") % {"step": new.summary}
        if waiting and new.kind == "wait":
            then += " " + _("Those already waiting keep the time they were given.")
        return Group(step_id, n, waiting, now, "changed", then)
    then = _("They go on from '%(step)s' as before.") % {"step": new.summary}
    return Group(step_id, n, waiting, now, "same", then)


def pages_to_publish(scenario: Any) -> Counter:
    """How many pages of each kind a switch-on or publish would publish (for the page
    that asks to confirm it)."""
    return Counter(
        "scenario" if page.pk == scenario.pk else "step" for page in _unpublished(scenario)
    )


def inside(scenario: Any) -> int:
    """How many contacts are inside the scenario now (active enrolments)."""
    from ..models import Enrollment

    return Enrollment.objects.filter(scenario_id=scenario.pk, status="active").count()


def status(scenario: Any) -> str:
    """The scenario's state in plain words, for its editor: a draft, on (with changes not
    live yet?), or paused, and what that means for the contacts inside."""
    from ..models import Paused, ScenarioPage

    live, paused = ScenarioPage.objects.filter(pk=scenario.pk).values_list(
        "live", "paused"
    ).first() or (False, "")
    if not live:
        return _("Draft: nobody enters until you switch it on (“Switch on”).")
    counts = {"n": inside(scenario)}
    if paused == Paused.HOLD:
        return (
            _(
                "Paused: nobody enters, and the %(n)s contacts inside are held where they are "
                "until you resume it (“Resume”)."
            )
            % counts
        )
    if paused == Paused.FINISH:
        return (
            _(
                "Paused: nobody enters; the %(n)s contacts inside go on to the end (“Resume” "
                "lets contacts in again)."
            )
            % counts
        )
    text = _("On: contacts enter when its trigger fires; %(n)s are inside now.") % counts
    if _unpublished(scenario):
        text += " " + _("Some changes are drafts, not live yet (“Publish changes”).")
    return text
