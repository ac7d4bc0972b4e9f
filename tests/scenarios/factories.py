"""Factories of scenarios: real pages under a ``ScenarioIndexPage``, published with real
revisions (publishing compiles the Plan, as in the admin)."""

from __future__ import annotations

import datetime as dt
import itertools

from wagtail.models import Page

from wagtail_journeys.models import Branch, ScenarioIndexPage, ScenarioPage, SplitStep
from wagtail_journeys.scenarios.guard import publishing_together

#: Pages that cannot be live while empty (the checker refuses an empty branch, a split whose
#: shares do not add up): ``add`` leaves them drafts until a step is added under them.
CONTAINERS = (Branch, SplitStep)

_serial = itertools.count(1)
#: When the scenarios of the tests went live: before the fixed times their events happen
#: at (``tests.engine.test_engine.T0``), since triggers ignore older events.
LIVE_SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def site_root() -> Page:
    """The page scenarios and emails go under (locale and root are re-created after the
    flush of a transactional test)."""
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Locale

    if not Locale.objects.exists():
        Locale.objects.create(
            language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
        )
    root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
    return Page.objects.filter(depth=2).first() or root


def scenario_index() -> ScenarioIndexPage:
    index = ScenarioIndexPage.objects.first()
    if index is None:
        parent = site_root()
        index = ScenarioIndexPage(title="Scenarios", slug="scenarios")
        parent.add_child(instance=index)
        index.save_revision().publish()
    return index


def add(parent: Page, cls: type[Page], *, publish: bool = True, **fields) -> Page:
    """Add a child page of type ``cls`` (title/slug generated) and publish it, together
    with the draft branches and splits it goes under (one change, checked at its end). A
    branch or split itself stays a draft until then (see ``CONTAINERS``)."""
    n = next(_serial)
    fields.setdefault("title", f"{cls.__name__} {n}")
    fields.setdefault("slug", f"{cls.__name__.lower()}-{n}")
    publish = publish and not issubclass(cls, CONTAINERS)
    if not publish:
        fields.setdefault("live", False)
    page = cls(**fields)
    parent.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        with publishing_together():
            revision.publish()
            for ancestor in page.get_ancestors().not_live().specific():
                if isinstance(ancestor, CONTAINERS):
                    ancestor.get_latest_revision().publish()
        page.refresh_from_db()
    return page


def make_scenario(**fields) -> ScenarioPage:
    """A published scenario (event trigger ``purchase`` unless told otherwise), live since
    ``LIVE_SINCE``; ``live_since=None`` lets publishing record the real time, as the admin
    does."""
    fields.setdefault("trigger_event", "purchase")
    fields.setdefault("live_since", LIVE_SINCE)
    return add(scenario_index(), ScenarioPage, **fields)
