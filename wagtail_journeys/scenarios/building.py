"""Building scenario trees from code, top-down as in the admin: each page published, or left
a draft for an editor to finish. Used by the template library (drafts) and by the demo
(``example_site/shop/demo_scenarios.py``, published inside ``publishing_together``)."""

from __future__ import annotations

from typing import Any

from wagtail.models import Page

#: ``(model, slug, fields, children)``: a page to add and the pages to add under it. An
#: empty slug is made from the title; a step without a title is named by its summary.
StepSpec = tuple[type, str, dict[str, Any], list]


def add_page(
    parent: Page, model: type, slug: str, fields: dict[str, Any], *, publish: bool, user=None
) -> Page:
    """The child of ``parent`` with this slug if there is one, else a new one: published
    when ``publish``, else a draft (not live, one revision by ``user``)."""
    if slug:
        existing = model.objects.child_of(parent).filter(slug=slug).first()
        if existing:
            return existing
    page = model(slug=slug, owner=user, **fields)
    if not page.title and hasattr(page, "summary"):
        page.title = page.summary()[:255]
    if publish:
        parent.add_child(instance=page)
        page.save_revision(user=user).publish(user=user)
        return page
    # A draft may wait for what only the editor can give (the email a resend watches):
    # saved with Wagtail's checks for drafts (``minimal_clean``); the model's own checks
    # run when the editor saves it or it is published.
    page.live, page.has_unpublished_changes = False, True
    page.full_clean = lambda *args, **kwargs: page.minimal_clean()
    try:
        parent.add_child(instance=page)
        page.save_revision(user=user)
    finally:
        del page.full_clean
    return page


def add_steps(parent: Page, steps: list[StepSpec], *, publish: bool, user=None) -> None:
    """Add ``steps`` (and their children) under ``parent``, top-down, in this order."""
    for model, slug, fields, children in steps:
        page = add_page(parent, model, slug, fields, publish=publish, user=user)
        if children:
            add_steps(page, children, publish=publish, user=user)


def event_rule(event: str, negate: bool = False, **filters) -> dict:
    """A segment rule (as a condition's branch holds it): did ``event`` with these
    property values at least once."""
    return {
        "type": "event",
        "value": {
            "negate": negate,
            "event": event,
            "filters": [{"key": k, "operator": "equals", "value": v} for k, v in filters.items()],
            "at_least": 1,
            "days": None,
        },
    }
