"""Panels of the scenario editor: ``StatusPanel`` (draft, on, paused, and what that means
for contacts), ``ProblemsPanel`` (the checker's errors and warnings), and the panels shown
only for the trigger kind or wait mode chosen (``ShownWhen``)."""

from __future__ import annotations

import json

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    PageChooserPanel,
    Panel,
)


class ProblemsPanel(Panel):
    """Lists what ``journeys_check`` would say about this scenario (read only), under a
    link to its canvas."""

    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            from .report import scenario_problems

            if not getattr(self.instance, "pk", None):
                return format_html("<p>{}</p>", _("Save the scenario to check it."))
            canvas = format_html(
                '<p><a class="button button-small button-secondary" href="{}" '
                'data-testid="open-canvas">{}</a></p>',
                reverse("journeys_scenarios:canvas", args=[self.instance.pk]),
                _("Open the canvas: build and watch the steps"),
            )
            problems = scenario_problems(self.instance)
            if not problems:
                return format_html("{}<p>{}</p>", canvas, _("No problems found."))
            return format_html(
                '{}<ul class="journeys-problems">{}</ul>',
                canvas,
                format_html_join(
                    "",
                    '<li class="journeys-problem--{}"><strong>{}</strong>: {}</li>',
                    ((p.level, p.level, p.message) for p in problems),
                ),
            )


def _shown(bound, when: dict[str, list[str]]) -> bool:
    """Does the form (as posted, or as loaded) choose one of ``when``'s values, or does
    one of the panel's own fields have an error to show?"""
    form = bound.form
    own = bound.panel.get_form_options().get("fields", [])
    if any(name in form.errors for name in own):
        return True
    for name, values in when.items():
        if name in form.fields and str(form[name].value() or "") in values:
            return True
    return False


class ShownWhen:
    """A panel shown only while a choice field has one of the given values (Wagtail's
    ``w-rules`` controller, on the enclosing ``RulesPanel``, shows and hides it as the
    editor changes the choice; the page is rendered with the right ones already hidden).
    Hidden fields are still posted: validation on the server is unchanged.

    ``when={"trigger_kind": ["event", "page_view"]}``."""

    def __init__(self, *args, when: dict[str, list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.when = {name: [str(v) for v in values] for name, values in when.items()}
        self.attrs = {
            **self.attrs,
            "data-w-rules-target": "show",
            "data-w-rules": json.dumps(self.when),
        }

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "when": self.when}


class ShownFieldPanel(ShownWhen, FieldPanel):
    class BoundPanel(FieldPanel.BoundPanel):
        @property
        def attrs(self):
            return {**self.panel.attrs, "hidden": not _shown(self, self.panel.when)}


class ShownPageChooserPanel(ShownWhen, PageChooserPanel):
    class BoundPanel(PageChooserPanel.BoundPanel):
        @property
        def attrs(self):
            return {**self.panel.attrs, "hidden": not _shown(self, self.panel.when)}


class ShownRowPanel(ShownWhen, FieldRowPanel):
    class BoundPanel(FieldRowPanel.BoundPanel):
        @property
        def attrs(self):
            return {**self.panel.attrs, "hidden": not _shown(self, self.panel.when)}


class RulesPanel(MultiFieldPanel):
    """A group whose ``ShownWhen`` children follow the choices made in the form."""

    BASE_ATTRS = {"data-controller": "w-rules", "data-action": "change->w-rules#resolve"}


class StatusPanel(Panel):
    """Whether the scenario is a draft, on, or paused, in plain words (``switching.status``)."""

    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            from .switching import status

            if not getattr(self.instance, "pk", None):
                return format_html("<p>{}</p>", _("A new scenario is a draft until switched on."))
            return format_html('<p class="journeys-status">{}</p>', status(self.instance))
