"""Read-only panels of the scenario editor: ``StatusPanel`` (draft, on, paused, and what
that means for contacts) and ``ProblemsPanel`` (the checker's errors and warnings)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from wagtail.admin.panels import Panel


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


class StatusPanel(Panel):
    """Whether the scenario is a draft, on, or paused, in plain words (``switching.status``)."""

    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            from .switching import status

            if not getattr(self.instance, "pk", None):
                return format_html("<p>{}</p>", _("A new scenario is a draft until switched on."))
            return format_html('<p class="journeys-status">{}</p>', status(self.instance))
