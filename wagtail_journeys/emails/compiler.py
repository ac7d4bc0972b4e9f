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
from .mergetags import MergeTagError

PLACEHOLDER = re.compile(r"jmtph(\d+)z")
LINK = re.compile(r"jmtlk(\d+)z")
OPEN_PIXEL = "jmtopenz"
HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")', re.I)
HOLE = re.compile(r"jmtph(\d+)z|jmtlk(\d+)z|jmtopenz|jmttx(\d+)z")
VERSION = 3
UNTRACKED = ("unsubscribe_url", "preferences_url", "confirm_url")

# cssutils validates every declaration against its CSS profiles, compiling hundreds of
# regular expressions on first use (≈ 0.9 s per process) to log warnings nobody reads.
# Email CSS is MJML's own; without profiles premailer inlines the same declarations.
cssutils.profile.removeProfile(all=True)

# A part of a link's address: a literal string, or an int indexing its merge-tag values.
Part = str | int


@dataclass
class CompiledEmail:
    """The personalisable templates of one (revision, variant): Jinja sources in the
    merge-tag language (``mergetags.template`` compiles each once per process), cheap to
    fill, picklable. ``links`` are the addresses of the tracked links, in order (a link
    inside a loop is one entry, filled once per item)."""

    subject: str
    preheader: str
    html: str
    html_tracked: str  # the same, its links without their addresses (clicks look them up)
    text: str
    links: tuple[tuple[Part, ...], ...]
    variant: tuple[int, ...] = ()
    warnings: list[str] = field(default_factory=list)
    uses_today: bool = True  # else a fill need not ask the clock
    uses_confirm: bool = False  # else a fill need not sign a confirmation link (≈ 75 µs)


def _literal(text: str) -> str:
    """Text that Jinja keeps as it is (CSS and unclosed braces included)."""
    if "{" in text:
        return "{% raw %}" + text + "{% endraw %}"
    return text


class _Placeholders:
    """Swaps merge tags for placeholders before MJML runs, and turns the compiled HTML
    with placeholders into the template sources afterwards."""

    def __init__(self):
        self.sources: list[str] = []
        self.index: dict[str, int] = {}
        self.targets: list[str] = []

    def swap(self, source: str) -> str:
        def replace(match: re.Match) -> str:
            tag = html.unescape(match[0])
            problems = mergetags.scan(tag)
            if problems:
                raise EmailNotReady(problems[0])
            if tag not in self.index:
                self.index[tag] = len(self.sources)
                self.sources.append(tag)
            return f"jmtph{self.index[tag]}z"

        return mergetags.TAG.sub(replace, source)

    def expression(self, index: int) -> str | None:
        """The inside of ``{{ … }}`` for a placeholder, ``None`` for a statement."""
        tag = self.sources[index]
        return tag[2:-2].strip() if tag.startswith("{{") else None

    def untracked(self, target: str) -> bool:
        match = PLACEHOLDER.fullmatch(target)
        if match is None or self.expression(int(match[1])) is None:
            return False
        return self.expression(int(match[1])) in UNTRACKED

    def link(self, target: str) -> tuple[tuple[Part, ...], list[str]]:
        """A link address as parts, and the expressions its int parts stand for."""
        parts: list[Part] = []
        expressions: list[str] = []
        position = 0
        for match in PLACEHOLDER.finditer(target):
            if match.start() > position:
                parts.append(target[position : match.start()])
            expression = self.expression(int(match[1]))
            if expression is None:
                raise EmailNotReady(
                    "A link's address can hold merge tags such as {{ cart_url }}, not {% … %} tags."
                )
            parts.append(len(expressions))
            expressions.append(expression)
            position = match.end()
        if position < len(target):
            parts.append(target[position:])
        return tuple(parts), expressions

    def jinja(self, source: str, links: list[list[str]] | None = None, *, html: bool) -> str:
        """The template source of ``source`` (placeholders back to the editor's tags).
        With ``links``, link holes call the fill's ``_link`` (HTML) or ``_text_link``
        (text); without, they are the editor's own address (to check the language)."""
        out: list[str] = []
        position = 0
        for match in HOLE.finditer(source):
            if match.start() > position:
                out.append(_literal(source[position : match.start()]))
            if match[1] is not None:
                out.append(self.sources[int(match[1])])
            elif match[2] is not None:
                number = int(match[2])
                if links is None:
                    _, found = self.link(self.targets[number])
                    out.append("".join(f"{{{{ ({e}) }}}}" for e in found))
                elif html:
                    args = ", ".join(f"({e})" for e in links[number])
                    out.append(f"{{{{ {number}|_link({args}) }}}}")
                else:
                    out.append(f"{{{{ {number}|_text_link }}}}")
            elif match[3] is not None:  # the email's own words, in the contact's language
                out.append(f"{{{{ _tx{int(match[3])} }}}}" if links is not None else "")
            else:
                out.append("{{ _open }}" if links is not None else "")
            position = match.end()
        if position < len(source):
            out.append(_literal(source[position:]))
        return "".join(out)


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
    """Compile already-rendered MJML (merge tags still in it) with its subject/preheader;
    ``EmailNotReady`` says what is wrong with a merge tag, MJML or the template."""
    holders = _Placeholders()
    subject_ph = holders.swap(subject)
    preheader_ph = holders.swap(preheader)
    document = to_html(holders.swap(mjml_source))
    targets = holders.targets

    def track(match: re.Match) -> str:
        target = html.unescape(match[2]).strip()
        if holders.untracked(target):
            return match[0]
        if not (target.startswith(("http://", "https://")) or PLACEHOLDER.match(target)):
            return match[0]
        targets.append(target)
        return f"{match[1]}jmtlk{len(targets) - 1}z{match[3]}"

    document = HREF.sub(track, document)
    plain = text.from_html(document)
    links = [holders.link(target) for target in targets]
    expressions = [found for _, found in links]
    sources = {
        "subject": (holders.jinja(subject_ph, html=False), False),
        "preheader": (holders.jinja(preheader_ph, html=False), False),
        "html": (holders.jinja(document, expressions, html=True), True),
        "html_tracked": (holders.jinja(document, [[] for _ in expressions], html=True), True),
        "text": (holders.jinja(plain, expressions, html=False), False),
    }
    try:
        # The editor's tags, as a whole (an {% if %} may open in one block and close in
        # another): checked once here; the compiled sources add only our own calls.
        mergetags.check(holders.jinja(document, html=True), scanned=True)
        for name in ("subject", "preheader"):
            mergetags.check(sources[name][0], scanned=True)
        for source, is_html in sources.values():
            mergetags.template(source, html=is_html, checked=False)
    except MergeTagError as exc:
        raise EmailNotReady(str(exc)) from exc
    return CompiledEmail(
        subject=sources["subject"][0],
        preheader=sources["preheader"][0],
        html=sources["html"][0],
        html_tracked=sources["html_tracked"][0],
        text=sources["text"][0],
        links=tuple(parts for parts, _ in links),
        variant=tuple(sorted(variant)),
        uses_today=any("today" in source for source, _ in sources.values()),
        uses_confirm=any("confirm_url" in source for source, _ in sources.values()),
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
