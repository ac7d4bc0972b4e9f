"""The brand settings' colour field: the ``#rrggbb`` text and a colour picker, side by side.

Both stay in step through Wagtail's own ``w-sync`` Stimulus controller (no script of our
own): picking a colour writes its hex into the text, typing a hex moves the picker. The
text is what the form posts, so the model's validator still checks it.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext as _

HEX = re.compile(r"#[0-9a-fA-F]{6}")


class ColourInput(forms.TextInput):
    template_name = "wagtail_journeys/widgets/colour_input.html"

    def __init__(self, attrs=None):
        super().__init__(
            {
                "maxlength": "7",
                "pattern": "#[0-9a-fA-F]{6}",
                "style": "max-inline-size: 10rem",
                **(attrs or {}),
            }
        )

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        text_id = widget["attrs"].get("id") or f"id_{name}"
        picker_id = f"{text_id}-picker"
        widget["attrs"].update(
            {
                "id": text_id,
                "data-controller": "w-sync",
                "data-action": "change->w-sync#apply keyup->w-sync#apply",
                "data-w-sync-target-value": f"#{picker_id}",
                "data-w-sync-quiet-value": "true",
            }
        )
        current = str(widget.get("value") or "")
        widget["picker"] = {
            "id": picker_id,
            "value": current.lower() if HEX.fullmatch(current) else "#000000",
            "label": _("Pick a colour"),
            "target": f"#{text_id}",
        }
        return context
