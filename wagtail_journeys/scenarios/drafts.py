"""A scenario's tree as it is being built: every page under it, live or draft, read as its
latest revision, in tree order (the order the steps run in), and the Plan that tree would
compile to once all of it is published. What the canvas draws and checks.

A handful of queries whatever the size of the tree: the pages (one per page type), their
latest revisions, and the emails and scenarios the steps name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .compiler import KINDS, Node, compile_plan
from .loading import scenario_settings, step_config
from .plan import Plan


@dataclass
class DraftPage:
    """One page of the tree as the editor last saved it: its page (latest revision's
    content), kind, one-line summary and the pages under it."""

    page: Any
    kind: str
    summary: str
    children: list[DraftPage] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.page.pk

    @property
    def draft(self) -> bool:
        """Not live, or live with changes not yet published."""
        return not self.page.live or self.page.has_unpublished_changes


#: What a revision never changes: ``Page.with_content_json`` keeps the row's.
_KEPT = (
    *("id", "content_type_id", "path", "depth", "numchild", "url_path", "draft_title"),
    *("live", "has_unpublished_changes", "owner_id", "locked", "locked_by_id", "locked_at"),
    *("latest_revision_id", "latest_revision_created_at", "translation_key", "locale_id"),
    "alias_of_id",
)


def _as_saved(changed: list[tuple[Any, dict]]) -> dict[int, Any]:
    """Each page as its revision's content reads, as ``Page.with_content_json`` gives it
    (the fields in ``_KEPT`` from the row; a foreign key to a row deleted since, empty),
    in one query per related model rather than a few per page (modelcluster checks each
    foreign key of each page on its own). Comments, which the canvas never shows, are
    not read."""
    from django.db import models

    out: dict[int, Any] = {}
    links: dict[tuple[Any, str], list[tuple[Any, Any]]] = {}
    for page, content in changed:
        obj = page.specific_class.from_serializable_data(content, check_fks=False)
        for name in _KEPT:
            setattr(obj, name, getattr(page, name))
        obj.pk = page.pk
        if obj.first_published_at is None:
            obj.first_published_at = page.first_published_at
        out[page.pk] = obj
        for fk in obj._meta.concrete_fields:
            if fk.many_to_one and fk.attname not in _KEPT and getattr(obj, fk.attname) is not None:
                key = (fk.related_model, fk.remote_field.field_name)
                links.setdefault(key, []).append((obj, fk))
    for (model, to), uses in links.items():
        wanted = {getattr(obj, fk.attname) for obj, fk in uses}
        there = set(
            model._default_manager.filter(**{f"{to}__in": wanted}).values_list(to, flat=True)
        )
        for obj, fk in uses:
            gone = getattr(obj, fk.attname) not in there
            if gone and fk.remote_field.on_delete is not models.DO_NOTHING:
                setattr(obj, fk.attname, None)
    return out


def _latest(pages: list[Any]) -> list[Any]:
    """Each page with its latest revision's content when it has unpublished changes. A
    page that is not live needs none: Wagtail's editor saves it into its row as well as
    into the revision (``form.save(commit=not page.live)``)."""
    from wagtail.models import Revision

    wanted = [p.latest_revision_id for p in pages if p.live and p.has_unpublished_changes]
    revisions = dict(
        Revision.page_revisions.filter(pk__in=[r for r in wanted if r]).values_list("pk", "content")
    )
    saved = _as_saved(
        [
            (page, revisions[page.latest_revision_id])
            for page in pages
            if page.live and revisions.get(page.latest_revision_id)
        ]
    )
    return [saved.get(page.pk, page) for page in pages]


def prefetch_targets(pages: list[Any]) -> None:
    """Load the emails and scenarios the steps name in two queries, instead of two per
    step (``step_config`` and the steps' summaries read them)."""
    from wagtail.models import Page

    from ..models import ScenarioPage

    email_ids = {getattr(p, "email_id", None) for p in pages} - {None}
    emails = {e.pk: e for e in Page.objects.filter(pk__in=email_ids).specific()}
    scenario_ids = {getattr(p, "scenario_id", None) for p in pages} - {None}
    scenarios = {s.pk: s for s in ScenarioPage.objects.filter(pk__in=scenario_ids)}
    for page in pages:
        if getattr(page, "email_id", None):
            page._state.fields_cache["email"] = emails.get(page.email_id)
        if type(page).__name__ == "StartScenarioStep" and page.scenario_id:
            page._state.fields_cache["scenario"] = scenarios.get(page.scenario_id)


def draft_tree(scenario: Any) -> DraftPage:
    """The scenario and every page under it, drafts included, as the editor last saved
    them; children in tree order. Pages of other types (none are allowed there) are left
    out with their subtrees."""
    from wagtail.models import Page

    pages = _latest(list(Page.objects.descendant_of(scenario).specific().order_by("path")))
    prefetch_targets(pages)
    root = DraftPage(scenario, "scenario", scenario.title)
    by_path = {scenario.path: root}
    for page in pages:
        parent = by_path.get(page.path[: -Page.steplen])
        kind = KINDS.get(type(page).__name__)
        if parent is None or kind is None:
            continue
        node = DraftPage(page, kind, page.get_admin_display_title())
        parent.children.append(node)
        by_path[page.path] = node
    return root


def _nodes(draft: DraftPage) -> Node:
    node = Node(id=draft.id, kind=draft.kind, summary=draft.summary)
    if draft.kind != "scenario":
        node.config = step_config(draft.page)
    node.children = [_nodes(child) for child in draft.children]
    return node


def draft_plan(
    scenario: Any, tree: DraftPage | None = None, *, live_since: dt.datetime | None = None
) -> Plan:
    """The Plan the whole tree (drafts included, as last saved) would compile to once
    published: what the canvas checks and the rehearsal runs (``engine.rehearsal``; never
    stored, never live). ``scenario`` is read as its latest revision too. ``live_since``:
    as if switched on then (its trigger ignores older events, as a live scenario's does)."""
    tree = tree or draft_tree(scenario)
    latest = scenario.get_latest_revision_as_object() if scenario.has_unpublished_changes else None
    trigger, entry, goal = scenario_settings(latest or scenario)
    if live_since is not None:
        trigger["live_since"] = live_since.isoformat()
    root = _nodes(tree)
    root.summary = (latest or scenario).title
    return compile_plan(
        root,
        trigger=trigger,
        entry=entry,
        goal=goal,
        revision_id=(latest or scenario).latest_revision_id,
    )
