"""Template tags of the email block templates (MJML), used only at compile time."""

from __future__ import annotations

import re

from django import template
from django.utils.safestring import SafeString, mark_safe
from wagtail.rich_text import expand_db_html

from ..emails import brand
from ..emails.links import base_url

register = template.Library()

RELATIVE_HREF = re.compile(r'(href|src)="(/[^/"][^"]*)"')


def _absolute(html: str) -> str:
    return RELATIVE_HREF.sub(lambda m: f'{m[1]}="{base_url()}{m[2]}"', html)


@register.simple_tag(takes_context=True)
def email_blocks(context, stream, level: str = "section") -> SafeString:
    """Render a stream's blocks as MJML; at section level, column content is wrapped in a
    section (consecutive content blocks share one)."""
    out, run = [], []
    flat = context.flatten()
    for child in stream or ():
        html = child.block.render(child.value, context=flat)
        if level == "section" and not getattr(child.block, "section_level", False):
            run.append(html)
            continue
        if run:
            out.append(f"<mj-section><mj-column>{''.join(run)}</mj-column></mj-section>")
            run = []
        out.append(html)
    if run:
        out.append(f"<mj-section><mj-column>{''.join(run)}</mj-column></mj-section>")
    return mark_safe("\n".join(out))  # noqa: S308 (block templates escape their values)


@register.filter
def richtext_absolute(value) -> SafeString:
    """Rich text with internal links expanded to absolute URLs (an email has no host)."""
    source = value.source if hasattr(value, "source") else str(value or "")
    return mark_safe(_absolute(expand_db_html(source)))  # noqa: S308 (editor's rich text)


@register.filter
def absolute_image_url(rendition) -> str:
    url = rendition.url
    return base_url() + url if url.startswith("/") else url


@register.filter
def css_font(value) -> SafeString:
    """A brand font stack as CSS (quoted, checked), not HTML-escaped."""
    return brand.css_font_stack(value)


@register.filter
def css_colour(value) -> SafeString:
    """A brand colour as CSS (``#rrggbb`` or black)."""
    return brand.css_colour(value)


@register.filter
def half(value) -> int:
    return int(value) // 2


@register.simple_tag
def email_card(page) -> dict:
    """Title, summary, absolute URL and image URL of a page shown as a card.

    A page model can decide by defining ``get_email_card()`` returning the same keys.
    """
    page = page.specific
    if hasattr(page, "get_email_card"):
        return page.get_email_card()
    image = next(
        (
            getattr(page, n)
            for n in ("email_image", "image", "feed_image")
            if getattr(page, n, None)
        ),
        None,
    )
    image_url = absolute_image_url(image.get_rendition("fill-400x400")) if image else ""
    summary = getattr(page, "summary", "") or page.search_description
    return {"title": page.title, "summary": summary, "url": page.full_url, "image": image_url}
