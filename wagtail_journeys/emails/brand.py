"""Brand settings as CSS values: font stacks and colours written into the email's styles.

The email template writes them into an MJML attribute and into a ``<style>`` block, where
HTML escaping is wrong (``'Times New Roman'`` became ``&#x27;Times New Roman&#x27;``, and
every heading fell back to the body font) and not enough (CSS has its own syntax). So
each value is checked again here, whatever the database holds, and written as CSS.
"""

from __future__ import annotations

import re

from django.utils.safestring import SafeString, mark_safe

#: CSS's generic families: never quoted.
GENERIC_FAMILIES = frozenset(
    {
        "serif",
        "sans-serif",
        "monospace",
        "cursive",
        "fantasy",
        "system-ui",
        "ui-serif",
        "ui-sans-serif",
        "ui-monospace",
        "ui-rounded",
        "emoji",
        "math",
        "fangsong",
    }
)
FAMILY = re.compile(r"[A-Za-z0-9][A-Za-z0-9 \-]*")
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def css_font_stack(value: str, default: str = "sans-serif") -> SafeString:
    """``Georgia, "Times New Roman", serif`` as CSS: each family that is only letters,
    digits, spaces and hyphens is kept (its quotes dropped), names with a space or a digit
    are quoted with ``'`` (safe inside a double-quoted attribute), others are left out."""
    families = []
    for part in str(value or "").split(","):
        name = " ".join(part.strip().strip("'\"").split())
        if not FAMILY.fullmatch(name):
            continue
        if name.lower() in GENERIC_FAMILIES:
            families.append(name.lower())
        elif " " in name or re.search(r"\d", name):
            families.append(f"'{name}'")
        else:
            families.append(name)
    return mark_safe(", ".join(families) or default)  # noqa: S308 (only [A-Za-z0-9 -'])


def css_colour(value: str, default: str = "#000000") -> SafeString:
    """A ``#rrggbb`` colour as CSS; anything else (a hand-edited row) is ``default``."""
    value = str(value or "").strip()
    return mark_safe(value if HEX_COLOUR.fullmatch(value) else default)  # noqa: S308
