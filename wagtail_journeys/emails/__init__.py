"""Emails: blocks, merge tags, the compile-once pipeline and per-contact rendering.

``from wagtail_journeys.emails import render_for, RenderedEmail`` (loaded lazily: this
package is imported by the models, and rendering needs the models).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RenderedEmail", "render_for"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import render

        return getattr(render, name)
    raise AttributeError(name)
