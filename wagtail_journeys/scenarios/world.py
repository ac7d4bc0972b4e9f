"""Read the facts the loop checker needs from the database (``edges.World``): the pages
scenario emails link to, and what can bring a contact into each watched segment."""

from __future__ import annotations

from collections.abc import Iterable

from .edges import Inputs, PageFacts, World, segment_inputs
from .plan import Plan


def load_world(plans: Iterable[Plan]) -> World:
    """The ``World`` of these Plans: one query for the linked pages (plus their types and
    tags), one per watched segment and per segment nested in it."""
    from wagtail.models import Page

    from ..models import Segment
    from ..tracking.pages import page_tags

    plans = list(plans)
    links = {
        page_id
        for plan in plans
        for step in plan.steps.values()
        if step.kind == "send_email"
        for page_id in step.config.get("links", ())
    }
    pages = {
        page.pk: PageFacts(
            type=type(page)._meta.label_lower,
            tags=tuple(page_tags(page) or ()),
            slug=page.slug,
            title=page.title,
            form=hasattr(page, "get_form_fields"),
        )
        for page in Page.objects.filter(pk__in=links).specific()
    }
    rules: dict[int, list[dict] | None] = {}

    def lookup(segment_id: int) -> list[dict] | None:
        if segment_id not in rules:
            segment = Segment.objects.filter(pk=segment_id).first()
            rules[segment_id] = list(segment.rules.raw_data) if segment else None
        return rules[segment_id]

    segments: dict[int, Inputs] = {}
    for plan in plans:
        segment_id = plan.trigger.get("segment_id")
        if plan.trigger["kind"] != "segment_entered" or not segment_id:
            continue
        found = lookup(segment_id)
        if found is not None:
            segments[segment_id] = segment_inputs(found, lookup, frozenset({segment_id}))[0]
    return World(pages=pages, segments=segments)
