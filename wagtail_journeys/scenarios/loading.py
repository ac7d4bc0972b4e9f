"""Read a scenario's live pages into a ``Node`` tree, store Plans on publish, and serve the
current Plan to the engine (cached per process by the stored plan's key)."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable
from typing import Any

from .compiler import KINDS, Node, compile_plan
from .plan import Plan
from .summaries import parse_weekdays

_PAGE_LINK = re.compile(r'linktype=\\?"page\\?"\s+id=\\?"(\d+)')
_cache: dict[int, tuple[Any, Plan]] = {}
_lock = threading.Lock()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _hhmm(value: Any) -> str | None:
    return value.strftime("%H:%M") if value else None


def _tags(text: str) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def email_links(email_page: Any) -> list[int]:
    """Ids of the pages an email links to (page choosers and rich-text links in its body)."""
    import json

    found: set[int] = set()

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, int) and key in ("page", "link_page", "page_id", "cta_page"):
            found.add(node)
        elif isinstance(node, str):
            found.update(int(m) for m in _PAGE_LINK.findall(node))

    for field in email_page._meta.get_fields():
        if type(field).__name__ == "StreamField":
            raw = getattr(email_page, field.name).raw_data
            walk(json.loads(json.dumps(list(raw), default=str)))
    return sorted(found)


def step_config(page: Any) -> dict[str, Any]:
    """The settings of one step or branch page, as plain JSON-able data."""
    name = type(page).__name__
    if name == "SendEmailStep":
        email = page.email.specific if page.email_id and page.email else None
        return {
            "email_id": page.email_id,
            "email_live": bool(email and email.live),
            "email_title": email.title if email else "",
            "transactional": page.transactional,
            "on_cap": page.on_cap,
            "links": email_links(email) if email else [],
        }
    if name == "SendSMSStep":
        return {"text": page.text}
    if name == "NotifyStep":
        return {
            "email": page.notify_email,
            "url": page.webhook_url,
            "message": page.message,
            "posts_back": _tags(page.posts_back),
        }
    if name == "WaitStep":
        return {
            "mode": page.mode,
            "amount": page.amount,
            "unit": page.unit,
            "until": _iso(page.until),
            "weekdays": parse_weekdays(page.weekdays),
            "start": _hhmm(page.window_start),
            "end": _hhmm(page.window_end),
            "event": page.event_name,
            "filters": page.event_filters or {},
        }
    if name == "Branch":
        return {
            "rules": list(page.rules.raw_data),
            "match": page.match,
            "else": page.is_else,
            "percent": page.percent,
            "outcome": page.outcome,
        }
    if name == "UpdateContactStep":
        return {
            "add_tags": _tags(page.add_tags),
            "remove_tags": _tags(page.remove_tags),
            "attributes": page.attributes or {},
            "email_status": page.email_status,
            "promo_code_prefix": page.promo_code_prefix,
        }
    if name == "StartScenarioStep":
        target = page.scenario if page.scenario_id else None
        return {"scenario_id": page.scenario_id, "scenario_live": bool(target and target.live)}
    return {}


def trigger_event_name(scenario: Any) -> str:
    """The event name that fires this scenario's trigger ('' for non-event triggers)."""
    kind = scenario.trigger_kind
    if kind == "event":
        return scenario.trigger_event
    if kind == "page_view":
        return "page_view"
    if kind == "email_engagement":
        return {"opened": "email_opened", "clicked": "email_clicked"}.get(
            scenario.engagement_kind, "email_sent"
        )
    return ""


def scenario_settings(scenario: Any) -> tuple[dict, dict, dict]:
    """``(trigger, entry, goal)`` of a scenario page as plain data (the trigger carries
    ``live_since``, so the engine needs no query to apply the time rule)."""
    trigger = {
        "kind": scenario.trigger_kind,
        "event": trigger_event_name(scenario),
        "filters": scenario.trigger_filters or {},
        "source": scenario.trigger_source,
        "live_since": _iso(scenario.live_since),
        "page_id": scenario.trigger_page_id,
        "page_type": scenario.trigger_page_type.lower(),
        "page_tag": scenario.trigger_page_tag,
        "min_views": scenario.trigger_min_views,
        "view_days": scenario.trigger_view_days,
        "segment_id": scenario.trigger_segment_id,
        "segment_existing": scenario.trigger_segment_existing,
        "time": _hhmm(scenario.trigger_time),
        "broadcast_at": _iso(scenario.broadcast_at),
        "every": scenario.broadcast_every,
        "email_id": scenario.engagement_email_id,
        "engagement": scenario.engagement_kind,
        "days": scenario.engagement_days,
    }
    entry = {
        "audience_id": scenario.audience_id,
        "exclusion_id": scenario.exclusion_id,
        "reentry": scenario.reentry,
        "reentry_days": scenario.reentry_days,
    }
    goal = {
        "events": scenario.goal_events(),
        "any_activity": scenario.goal_any_activity,
        "filters": scenario.goal_filters or {},
        "step_id": scenario.goal_step_id,
        "exit_on_audience_loss": scenario.exit_on_audience_loss,
        "end_at": _iso(scenario.end_at),
    }
    return trigger, entry, goal


def load_tree(scenario: Any, *, replace: Any = None, without: Any = None) -> Node:
    """The scenario and its live descendants as a ``Node`` tree, in explorer order.

    ``replace``: a page of the tree (saved, maybe not live) to read as live with the content
    it has in memory, as it would be once published; ``without``: a page whose subtree to
    leave out, as once unpublished."""
    from wagtail.models import Page

    pages = Page.objects.descendant_of(scenario).live()
    if replace is not None:
        pages = pages | Page.objects.filter(pk=replace.pk)
    if without is not None:
        pages = pages.exclude(path__startswith=without.path)
    from .drafts import prefetch_targets

    root = Node(id=scenario.pk, kind="scenario", summary=scenario.title)
    by_path = {scenario.path: root}
    pages = list(pages.specific().order_by("path"))
    prefetch_targets(pages)
    for page in pages:
        if replace is not None and page.pk == replace.pk:
            page = replace.specific
        parent = by_path.get(page.path[: -Page.steplen])
        kind = KINDS.get(type(page).__name__)
        if parent is None or kind is None:
            continue
        summary = page.get_admin_display_title()
        node = Node(id=page.pk, kind=kind, summary=summary, config=step_config(page))
        parent.children.append(node)
        by_path[page.path] = node
    return root


def build_plan(scenario: Any, *, replace: Any = None, without: Any = None) -> Plan:
    """Compile the scenario (its fields as given, its live children) into a Plan
    (``replace`` and ``without`` as for ``load_tree``)."""
    trigger, entry, goal = scenario_settings(scenario)
    return compile_plan(
        load_tree(scenario, replace=replace, without=without),
        trigger=trigger,
        entry=entry,
        goal=goal,
        revision_id=scenario.live_revision_id,
    )


def publish_plan(scenario: Any, *, check: Callable[[Plan], tuple[str, ...]] | None = None) -> Plan:
    """Compile and store the live Plan of a published scenario (called on every publish
    in its tree); the engine picks it up on its next batch. ``check`` gives the checker's
    errors, stored with the Plan (``scenarios.publishing.store_plan`` passes it).

    A scenario going live (never published, or unpublished since) records the moment in
    ``live_since``, which its trigger carries: events older than that never fire it. A
    scenario already live keeps its time."""
    from django.conf import settings
    from django.utils import timezone, translation

    from ..models import ScenarioPage, ScenarioPlan

    if scenario.live_since is None:
        scenario.live_since = timezone.now()
        ScenarioPage.objects.filter(pk=scenario.pk).update(live_since=scenario.live_since)
    # A stored Plan's words (step summaries, checker errors) are in the site's language,
    # whoever published it.
    with translation.override(settings.LANGUAGE_CODE):
        plan = build_plan(scenario)
        if check is not None:
            plan = dataclasses.replace(plan, errors=check(plan))
    ScenarioPlan.objects.create(
        scenario_id=scenario.pk, revision_id=scenario.live_revision_id, data=plan.to_json()
    )
    return plan


def current_plan(scenario_id: int) -> Plan | None:
    """The latest stored Plan of a scenario (``None`` if never published).

    Cached per process under the stored row's ``key``, which never repeats (a row id
    does: SQLite gives a rolled-back id again). A Plan stored before Plans carried the
    checker's errors is checked here (within itself), so the engine holds it if need be."""
    from ..models import ScenarioPlan

    latest = (
        ScenarioPlan.objects.filter(scenario_id=scenario_id)
        .order_by("-id")
        .values_list("key", flat=True)
        .first()
    )
    if latest is None:
        return None
    with _lock:
        cached = _cache.get(scenario_id)
        if cached and cached[0] == latest:
            return cached[1]
    data = ScenarioPlan.objects.get(key=latest).data
    plan = Plan.from_json(data)
    if "errors" not in data:  # stored before plans carried the checker's verdict
        from .checker import ERROR, check_plan

        errors = tuple(p.message for p in check_plan(plan) if p.level == ERROR)
        plan = dataclasses.replace(plan, errors=errors)
    with _lock:
        _cache[scenario_id] = (latest, plan)
    return plan


def scenario_of(page: Any) -> Any:
    """The ScenarioPage a page belongs to (itself, or its nearest ancestor), or None."""
    from ..models import ScenarioPage

    if isinstance(page.specific, ScenarioPage):
        return page.specific
    return ScenarioPage.objects.ancestor_of(page).first()
