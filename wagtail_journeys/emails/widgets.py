"""The merge-tag picker of the email editor: the subject's widget carries the list of
merge tags, and ``merge-tag-picker.js`` offers it in every text field of the email
(subject, preheader, text and rich-text blocks), inserting at the cursor."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext as _

from .. import conf
from . import mergetags


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
