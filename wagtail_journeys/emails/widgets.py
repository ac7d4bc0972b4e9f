"""Widgets of the email editor.

- ``ColourInput``, the brand settings' colour field: the ``#rrggbb`` text and a colour
  picker, side by side. Both stay in step through Wagtail's own ``w-sync`` Stimulus
  controller (no script of our own): picking a colour writes its hex into the text,
  typing a hex moves the picker. The text is what the form posts, so the model's
  validator still checks it.
- ``MergeTagPickerInput``, the merge-tag picker: the subject's widget carries the list of
  merge tags, and ``merge-tag-picker.js`` offers it in every text field of the email
  (subject, preheader, text and rich-text blocks), inserting at the cursor.
"""

from __future__ import annotations

import json
import re

from django import forms
from django.utils.translation import gettext as _

from .. import conf
from . import mergetags

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


def picker_groups() -> list[dict]:
    """The picker's entries, grouped: the contact's fields, the scenario's values, the
    built-ins. Each inserts ``{{ name }}`` or ``{{ name|default("…") }}``."""
    extra = [n for n in conf.get("EMAIL_CONTEXT_VARIABLES") if n not in mergetags.RESERVED]
    return [
        {"label": _("Contact"), "names": list(mergetags.CONTACT_FIELDS)},
        {
            "label": _("Scenario values"),
            "names": [*mergetags.VALUES, *extra, "event.title", "event.total"],
        },
        {"label": _("Other"), "names": ["today", "site_name"]},
    ]


class MergeTagPickerInput(forms.TextInput):
    """A text input that also turns on the merge-tag picker for the whole email form."""

    class Media:
        js = ["wagtail_journeys/js/merge-tag-picker.js"]
        css = {"all": ["wagtail_journeys/css/merge-tag-picker.css"]}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["data-journeys-merge-tags"] = json.dumps(
            {
                "groups": picker_groups(),
                "button": _("Insert a merge tag"),
                "fallback": _("Fallback when empty"),
                "fallbackDefault": _("there"),
            }
        )
        return context


class TopicSelect(forms.Select):
    """The email editor's topic: a plain select (there are a handful of topics) whose
    empty choice says what no topic means."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        if value in ("", None):
            label = _("No topic: transactional, or mail every subscribed contact may get")
        return super().create_option(name, value, label, selected, index, subindex, attrs)
