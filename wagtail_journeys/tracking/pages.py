"""Recording server-rendered Wagtail page views (``before_serve_page``, ``on_serve_page``)."""

from __future__ import annotations

import logging
import re
from functools import cache

from django.db import transaction
from django.http import HttpRequest

from .. import conf
from ..events import record_event
from ..models import EventSource
from . import consent
from . import visitor as visitors

logger = logging.getLogger(__name__)


@cache
def _ignored_agents(pattern: str) -> re.Pattern[str] | None:
    return re.compile(pattern, re.IGNORECASE) if pattern else None


def is_trackable(request: HttpRequest) -> bool:
    """Only real GET page loads count: no HEAD/POST, previews or known robots."""
    if request.method != "GET" or not conf.get("TRACK_PAGE_VIEWS"):
        return False
    agents = _ignored_agents(conf.get("IGNORE_USER_AGENTS"))
    return not (agents and agents.search(request.headers.get("User-Agent", "")))


#: (page id, last published at) -> sorted tag names. A page's live tags change only when it
#: is published, so the key is never stale; bounded so it cannot grow without limit.
_TAGS: dict[tuple[int, object], list[str]] = {}
_TAGS_MAX = 5000


def page_tags(page) -> list[str] | None:
    """The live page's tag names, read once per published version of the page."""
    tags = getattr(page, "tags", None)
    if tags is None or not hasattr(tags, "names"):
        return None
    key = (page.pk, page.last_published_at)
    names = _TAGS.get(key)
    if names is None:
        if len(_TAGS) >= _TAGS_MAX:
            _TAGS.clear()
        names = _TAGS[key] = sorted(tags.names())
    return list(names)


def page_view_properties(page, request: HttpRequest) -> dict:
    """What a page view records: page id and type, its tags, the path and the referrer."""
    properties = {
        "page_id": page.pk,
        "page_type": type(page)._meta.label_lower,
        "path": request.path[:500],
    }
    tags = page_tags(page)
    if tags is not None:
        properties["tags"] = tags
    referrer = request.headers.get("Referer", "")
    if referrer:
        properties["referrer"] = referrer[:500]
    return properties


def record_page_view(page, request: HttpRequest, serve_args, serve_kwargs) -> None:
    """``before_serve_page``: one INSERT for the view, only for a visitor who consented
    when the site requires it (``consent.allowed``); never breaks the page."""
    try:
        if not is_trackable(request) or not consent.allowed(request):
            return
        visitor = visitors.ensure(request)
        with transaction.atomic():
            record_event(
                "page_view",
                contact=visitor.contact_id,
                visitor_id=visitor.uuid,
                properties=page_view_properties(page, request),
                source=EventSource.PAGE,
            )
    except Exception:
        logger.exception("wagtail-journeys could not record a page view of %s", request.path)


def send_visitor_cookie(next_serve):
    """``on_serve_page``: set the visitor cookie on the page's response when it was issued."""

    def serve(page, request, args, kwargs):
        response = next_serve(page, request, args, kwargs)
        try:
            visitors.set_cookie(request, response)
        except Exception:
            logger.exception("wagtail-journeys could not set the visitor cookie")
        return response

    return serve
