"""``ProblemsPanel``: the checker's errors and warnings, shown in the scenario editor."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from wagtail.admin.panels import Panel


class ProblemsPanel(Panel):
    """Lists what ``journeys_check`` would say about this scenario (read only)."""

    class BoundPanel(Panel.BoundPanel):
        def render_html(self, parent_context=None):
            from .publishing import check_scenario

            if not getattr(self.instance, "pk", None):
                return format_html("<p>{}</p>", "Save the scenario to check it.")
            problems = check_scenario(self.instance)
            if not problems:
                return format_html("<p>{}</p>", "No problems found.")
            return format_html(
                '<ul class="journeys-problems">{}</ul>',
                format_html_join(
                    "",
                    '<li class="journeys-problem--{}"><strong>{}</strong>: {}</li>',
                    ((p.level, p.level, p.message) for p in problems),
                ),
            )
