"""A scenario as its editors left it: the latest revision of the scenario and of every page
under it, live or not, compiled by the same compiler as a publish (``compile_plan``).

A draft Plan is never stored and never live: the rehearsal runs it
(``engine.rehearsal``), nothing else does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .compiler import KINDS, Node, compile_plan
from .loading import scenario_settings, step_config
from .plan import Plan


def _latest(pages: list[Any]) -> dict[int, Any]:
    """Each page as its latest revision has it (one query for the revisions)."""
    from wagtail.models import Revision

    ids = [p.latest_revision_id for p in pages if p.latest_revision_id]
    revisions = {r.pk: r for r in Revision.objects.filter(pk__in=ids)}
    out = {}
    for page in pages:
        revision = revisions.get(page.latest_revision_id)
        out[page.pk] = revision.as_object() if revision is not None else page
    return out


def load_draft_tree(scenario: Any) -> tuple[Any, Node]:
    """``(the scenario as drafted, its Node tree)``: every descendant (live or not) read
    from its latest revision, in explorer order."""
    from wagtail.models import Page

    pages = list(Page.objects.descendant_of(scenario).specific().order_by("path"))
    drafts = _latest([scenario, *pages])
    draft = drafts[scenario.pk]
    root = Node(id=scenario.pk, kind="scenario", summary=draft.title)
    by_path = {scenario.path: root}
    for page in pages:
        parent = by_path.get(page.path[: -Page.steplen])
        kind = KINDS.get(type(page).__name__)
        if parent is None or kind is None:
            continue
        drafted = drafts[page.pk]
        node = Node(
            id=page.pk,
            kind=kind,
            summary=drafted.get_admin_display_title(),
            config=step_config(drafted),
        )
        parent.children.append(node)
        by_path[page.path] = node
    return draft, root


def build_draft_plan(scenario: Any, *, live_since: dt.datetime) -> Plan:
    """The Plan the scenario would run once switched on at ``live_since`` (its trigger
    ignores events older than that, as a live scenario's does)."""
    draft, root = load_draft_tree(scenario)
    trigger, entry, goal = scenario_settings(draft)
    trigger["live_since"] = live_since.isoformat()
    return compile_plan(
        root, trigger=trigger, entry=entry, goal=goal, revision_id=draft.latest_revision_id
    )
