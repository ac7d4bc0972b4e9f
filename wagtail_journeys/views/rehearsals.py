"""The "Rehearse" screen of a scenario: its draft run over a past period of the event log
(``engine.rehearsal``), drawn on the scenario's diagram. Nothing is written.

The rehearsal runs inside the request, behind a size guard: the events the draft listens
to in the period are counted first (one indexed query), and a period holding more than
``MAX_EVENTS`` of them is refused with the way to run it from the command line
(``journeys_rehearse``). Why not a django-q2 task with a status page: a rehearsal writes
nothing and keeps nothing, so a task would need a results store of its own for a page a
person reads once. Measured (``benchmarks/bench_rehearsal.py``, PostgreSQL, a two-core
machine under a load of 8): 650,000 events read in 66 s, 65,000 in 58 s; the time goes
mostly to the passes that evaluate a condition (one query each), not to the events, so a
month of a quiet site costs about what a month of a busy one does. Past the guard, or where
a proxy cuts requests at 30 s, the command is the way.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.action_menu import ActionMenuItem

from ..engine.rehearsal import RehearsalTooLarge, rehearse
from ..exceptions import InvalidInput
from ..models import ScenarioPage
from .switching import safe_next

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_EVENTS = 500_000


class RehearsalForm(forms.Form):
    """The period to rehearse: whole days in ``TIME_ZONE``, the last 30 by default."""

    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        today = timezone.localdate()
        if end > today:
            self.add_error("end", _("The period cannot end after today."))
        elif start > end:
            self.add_error("start", _("The period must start before it ends."))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", _("Rehearse at most %(days)s days.") % {"days": MAX_DAYS})
        return data

    def period(self) -> tuple[dt.datetime, dt.datetime]:
        """From the start of the first day to the end of the last (now, for today)."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.cleaned_data["start"], dt.time(), zone)
        end = dt.datetime.combine(self.cleaned_data["end"] + dt.timedelta(days=1), dt.time(), zone)
        now = timezone.now().replace(second=0, microsecond=0)
        return start.astimezone(dt.UTC), min(end.astimezone(dt.UTC), now)


def rehearse_view(request, page_id: int):
    """The period form; with a valid period, the rehearsal's figures on the diagram."""
    page = get_object_or_404(ScenarioPage, pk=page_id)
    if not page.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    today = timezone.localdate()
    initial = {"start": today - dt.timedelta(days=DEFAULT_DAYS), "end": today}
    form = RehearsalForm(request.GET if "start" in request.GET else None, initial=initial)
    context = {
        "page": page,
        "form": form,
        "result": None,
        "next": safe_next(request),
        "canvas": reverse("journeys_scenarios:canvas", args=[page.pk]),
    }
    if form.is_bound and form.is_valid():
        start, end = form.period()
        try:
            result = rehearse(page, start=start, end=end, max_events=MAX_EVENTS)
        except RehearsalTooLarge as exc:
            form.add_error(
                None,
                _(
                    "%(n)s events to read in this period: too many to rehearse here. Choose "
                    "a shorter period, or run: manage.py journeys_rehearse %(id)s --from "
                    "%(start)s --to %(end)s"
                )
                % {
                    "n": f"{exc.events:,}",
                    "id": page.pk,
                    "start": form.cleaned_data["start"].isoformat(),
                    "end": form.cleaned_data["end"].isoformat(),
                },
            )
        except InvalidInput as exc:
            form.add_error(None, str(exc))
        else:
            context.update(
                result=result,
                svg=_diagram(page, result),
                on_canvas=context["canvas"]
                + "?"
                + urlencode(
                    {
                        "rehearse": 1,
                        "from": form.cleaned_data["start"].isoformat(),
                        "to": form.cleaned_data["end"].isoformat(),
                    }
                ),
            )
    return TemplateResponse(request, "wagtail_journeys/scenarios/rehearsal.html", context)


def _diagram(page: ScenarioPage, result) -> str:
    """The draft's diagram with the rehearsal's figures on its steps and branches."""
    from ..scenarios.diagram import draw_plan
    from ..scenarios.summaries import summarize_trigger

    draft = page.get_latest_revision_as_object()
    return draw_plan(result.plan, summarize_trigger(draft), {}, figures=result.nodes)


class RehearseMenuItem(ActionMenuItem):
    """ "Rehearse" in the editor's action menu of a scenario."""

    label = gettext_lazy("Rehearse")
    name = "action-rehearse"
    icon_name = "history"
    order = 55

    def is_shown(self, context):
        page = context.get("page")
        return context["view"] == "edit" and isinstance(
            getattr(page, "specific", None), ScenarioPage
        )

    def get_url(self, context):
        return reverse("wagtail_journeys_rehearse", args=[context["page"].pk])
