"""Compile an email once: blocks → MJML → HTML (mjml-python) → inlined CSS (premailer) →
a template of literal strings and holes, plus the plain-text alternative.

Merge tags are swapped for inert placeholders before MJML runs and become holes after;
every ``http(s)`` link becomes a link hole (its target, merge tags included, is kept so the
click redirect can find it again). Filling holes per contact is ``personalise.fill``.
Nothing here touches the network: premailer never fetches stylesheets and MJML's default
web fonts are turned off.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

import cssutils
import mjml
from django.conf import settings
from django.template.loader import render_to_string
from premailer import Premailer

from ..exceptions import EmailNotReady
from . import mergetags, text
from .languages import TEXTS
from .mergetags import MergeTag, MergeTagError

PLACEHOLDER = re.compile(r"jmtph(\d+)z")
LINK = re.compile(r"jmtlk(\d+)z")
OPEN_PIXEL = "jmtopenz"
HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")', re.I)
HOLE = re.compile(r"jmtph(\d+)z|jmtlk(\d+)z|jmtopenz|jmttx(\d+)z")
VERSION = 2

# cssutils validates every declaration against its CSS profiles, compiling hundreds of
# regular expressions on first use (≈ 0.9 s per process) to log warnings nobody reads.
# Email CSS is MJML's own; without profiles premailer inlines the same declarations.
cssutils.profile.removeProfile(all=True)

# A part of a compiled template: a literal string, or an int indexing the fill list
# [html-escaped tag values…, raw tag values…, link URLs…, open pixel URL,
#  html-escaped TEXTS…, raw TEXTS…].
Part = str | int


@dataclass
class CompiledEmail:
    """The personalisable template of one (revision, variant): cheap to fill, picklable."""

    subject: tuple[Part, ...]
    preheader: tuple[Part, ...]
    html: tuple[Part, ...]
    text: tuple[Part, ...]
    tags: tuple[MergeTag, ...]
    links: tuple[tuple[Part, ...], ...]
    variant: tuple[int, ...] = ()
    warnings: list[str] = field(default_factory=list)


class _Placeholders:
    """Swaps merge tags for placeholders and remembers them (one index per distinct tag)."""

    def __init__(self):
        self.tags: list[MergeTag] = []
        self.index: dict[MergeTag, int] = {}

    def swap(self, source: str) -> str:
        def replace(match: re.Match) -> str:
            try:
                parsed = mergetags.parse(html.unescape(match[0]))
            except MergeTagError as exc:
                raise EmailNotReady(str(exc)) from exc
            tag = parsed[0]
            if tag not in self.index:
                self.index[tag] = len(self.tags)
                self.tags.append(tag)
            return f"jmtph{self.index[tag]}z"

        return mergetags.TAG.sub(replace, source)


def _split(source: str, *, raw: bool, n_tags: int, n_links: int = 0) -> tuple[Part, ...]:
    """Template parts of ``source``: tags index html-escaped (or raw) values, links URLs."""
    parts: list[Part] = []
    position = 0
    for match in HOLE.finditer(source):
        if match.start() > position:
            parts.append(source[position : match.start()])
        if match[1] is not None:
            parts.append(int(match[1]) + (n_tags if raw else 0))
        elif match[2] is not None:
            parts.append(2 * n_tags + int(match[2]))
        elif match[3] is not None:
            parts.append(2 * n_tags + n_links + 1 + int(match[3]) + (len(TEXTS) if raw else 0))
        else:
            parts.append(2 * n_tags + n_links)
        position = match.end()
    if position < len(source):
        parts.append(source[position:])
    merged: list[Part] = []
    for part in parts:
        if merged and isinstance(part, str) and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return tuple(merged)


def to_html(source: str) -> str:
    """MJML to email HTML with inlined CSS; ``EmailNotReady`` carries MJML's error."""
    try:
        document = mjml.mjml2html(source, fonts={}, disable_comments=True)
    except ValueError as exc:
        raise EmailNotReady(f"MJML error: {exc}") from exc
    inlined = Premailer(
        document,
        allow_network=False,
        allow_loading_external_files=False,
        disable_validation=True,
        keep_style_tags=True,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)
    return inlined if inlined.lstrip()[:9].lower() == "<!doctype" else "<!doctype html>\n" + inlined


def compile_source(subject: str, preheader: str, mjml_source: str, variant=()) -> CompiledEmail:
    """Compile already-rendered MJML (merge tags still in it) with its subject/preheader."""
    holders = _Placeholders()
    subject_ph = holders.swap(subject)
    preheader_ph = holders.swap(preheader)
    document = to_html(holders.swap(mjml_source))
    links: list[str] = []

    def track(match: re.Match) -> str:
        target = html.unescape(match[2]).strip()
        if PLACEHOLDER.fullmatch(target) and holders.tags[
            int(PLACEHOLDER.fullmatch(target)[1])
        ].name in ("unsubscribe_url", "preferences_url"):
            return match[0]
        if not (target.startswith(("http://", "https://")) or PLACEHOLDER.match(target)):
            return match[0]
        links.append(target)
        return f"{match[1]}jmtlk{len(links) - 1}z{match[3]}"

    document = HREF.sub(track, document)
    n_tags = len(holders.tags)
    plain = text.from_html(document)
    return CompiledEmail(
        subject=_split(subject_ph, raw=True, n_tags=n_tags),
        preheader=_split(preheader_ph, raw=True, n_tags=n_tags),
        html=_split(document, raw=False, n_tags=n_tags, n_links=len(links)),
        text=_split(plain, raw=True, n_tags=n_tags, n_links=len(links)),
        tags=tuple(holders.tags),
        links=tuple(_split(link, raw=True, n_tags=n_tags) for link in links),
        variant=tuple(sorted(variant)),
    )


def render_mjml(page, variant=(), *, brand=None, site=None) -> str:
    """The MJML document of ``page`` for contacts in the segments of ``variant``."""
    from .links import base_url
    from .render import brand_for

    site = site or page.get_site()
    brand = brand or brand_for(site)
    context = {
        "page": page,
        "body": page.body,
        "subject": page.subject,
        "preheader": page.preheader,
        "brand": brand,
        "variant": set(variant),
        "site_name": (site.site_name if site else "") or settings.WAGTAIL_SITE_NAME,
        "site_url": (site.root_url if site else base_url()) + "/",
        "merge": {
            "unsubscribe_url": "{{ unsubscribe_url }}",
            "preferences_url": "{{ preferences_url }}",
        },
        "texts": {"unsubscribe": "jmttx0z", "preferences": "jmttx1z"},
        "open_pixel": OPEN_PIXEL,
    }
    return render_to_string("wagtail_journeys/emails/email.mjml", context)


def compile_email(page, variant=()) -> CompiledEmail:
    """Run the whole pipeline for one page (as given: live or a revision) and variant."""
    source = render_mjml(page, variant)
    return compile_source(page.subject, page.preheader, source, variant)
