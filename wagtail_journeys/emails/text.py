"""The plain-text alternative, made from the compiled HTML so both say the same thing."""

from __future__ import annotations

import re

from lxml import html as lxml_html

BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "ul", "ol", "li"}
SKIP = {"head", "style", "script", "title"}
HIDDEN = re.compile(r"display\s*:\s*none|max-height\s*:\s*0", re.I)


def from_html(document: str) -> str:
    """Readable text: one paragraph per block, links as ``text (url)``, no hidden preheader,
    no pixel. Placeholders (merge tags, links) pass through unchanged."""
    root = lxml_html.document_fromstring(document)
    out: list[str] = []

    def walk(node) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if not tag or tag in SKIP or HIDDEN.search(node.get("style", "")):
            if node.tail:  # after a comment too: a {% if %} of a "Show if…" block sits there
                out.append(node.tail)
            return
        if tag in BLOCK:
            out.append("\n\n")
        if tag == "br":
            out.append("\n")
        if tag == "li":
            out.append("- ")
        if tag == "a":
            label = " ".join(node.text_content().split())
            href = node.get("href", "")
            if label and href and href != label:
                out.append(f"{label} ({href})")
            else:
                out.append(label or href)
        elif tag == "img":
            pass
        else:
            if node.text:
                out.append(node.text)
            for child in node:
                walk(child)
        if tag in BLOCK:
            out.append("\n\n")
        if node.tail:
            out.append(node.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    lines = [" ".join(line.split()) for line in "".join(out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
