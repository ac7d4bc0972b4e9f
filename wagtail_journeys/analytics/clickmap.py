"""The click map: an email's own preview with, over each link, a badge of its clicks.

The email is filled for the made-up sample contact (never a real one: a report shows no
contact data) with tracked links, so each link carries its index in the compiled email,
the index the click events and ``LinkDay`` rows are keyed by. Each tracked link then
gets a ``data-link`` attribute, an inert ``href`` and, as its first child, a badge placed
above it; the open pixel and unsubscribe links are made inert. No script: the preview is
shown in a sandboxed frame.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from html import escape
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..emails import links
from ..emails.preview import made_up_contact, sample_context
from ..emails.render import compiled_for, fill

#: Where the preview's tracked URLs point: never fetched, only parsed back.
ROOT = "https://click-map.invalid/"
BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
BADGE = (
    "position:absolute;left:0;bottom:100%;margin-bottom:2px;z-index:10;white-space:nowrap;"
    "background:#b91c1c;color:#fff;font:bold 11px/1.4 sans-serif;padding:1px 6px;"
    "border-radius:9px;text-decoration:none;box-shadow:0 1px 2px rgba(0,0,0,.3)"
)
#: A point at the top left of the link's text that the badge hangs above.
ANCHOR = "position:relative;display:inline-block;width:0;height:0;vertical-align:text-top"
_ANCHOR = re.compile(r'<a\b([^>]*?)href="' + re.escape(ROOT) + r'c/([A-Za-z0-9_-]+)"([^>]*)>')


def badge_text(figures: Any | None) -> str:
    """What a link's badge says: its human clicks and their share of the email's."""
    if figures is None or not figures.clicks:
        return _("0 clicks")
    share = "" if figures.share is None else f" · {figures.share:.0%}"
    count = number_format(figures.clicks, force_grouping=True)
    return ngettext("%(n)s click", "%(n)s clicks", figures.clicks) % {"n": count} + share


def click_map(email_page: Any, link_figures: Sequence[Any], variant: tuple[int, ...] = ()) -> str:
    """The HTML of ``email_page``'s live version for ``variant``, each link badged with
    its ``LinkFigures`` (by ``link`` index; a link nobody clicked shows 0)."""
    by_index = {f.link: f for f in link_figures}
    compiled = compiled_for(email_page, variant)
    rendered = fill(
        compiled,
        made_up_contact(),
        context=sample_context(email_page),
        message_uuid=uuid.UUID(int=0),
        root=ROOT,
    )

    def badge(match: re.Match) -> str:
        found = links.unsign(match[2])
        if found is None:
            return f'<a{match[1]}href="#"{match[3]}>'
        index = found[1]
        figures = by_index.get(index)
        url = figures.url if figures is not None else ""
        text = badge_text(figures)
        return (
            f'<a{match[1]}href="#" data-link="{index}" title="{escape(url)}"{match[3]}>'
            f'<span style="{ANCHOR}">'
            f'<span data-link-badge="{index}" style="{BADGE}">{escape(text)}</span></span>'
        )

    html = _ANCHOR.sub(badge, rendered.html)
    html = re.sub(re.escape(ROOT) + r"o/[A-Za-z0-9_-]+\.gif", BLANK_GIF, html)
    return re.sub(re.escape(ROOT) + r"u/[A-Za-z0-9_-]+", "#", html)
