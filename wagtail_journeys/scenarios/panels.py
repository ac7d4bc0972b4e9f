"""Read-only panels of the scenario editor: ``StatusPanel`` (draft, on, paused, and what
that means for contacts) and ``ProblemsPanel`` (the checker's errors and warnings)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from wagtail.admin.panels import Panel


class ProblemsPanel(Panel):
    """Lists what ``journeys_check`` would say about this scenario (read only)."""

    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            from .report import scenario_problems

            if not getattr(self.instance, "pk", None):
                return format_html("<p>{}</p>", _("Save the scenario to check it."))
            problems = scenario_problems(self.instance)
            if not problems:
                return format_html("<p>{}</p>", _("No problems found."))
            return format_html(
                '<ul class="journeys-problems">{}</ul>',
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
