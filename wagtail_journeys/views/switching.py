"""Admin views and action-menu items of ``scenarios.switching``: "Switch on", "Publish
changes" (with what changes for the contacts inside), "Pause" and "Resume". Each shows
what it will do on GET and does it on POST; the canvas links to the same URLs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.action_menu import ActionMenuItem

from ..exceptions import InvalidInput, ScenarioInvalid
from ..models import Paused, ScenarioPage
from ..scenarios import switching
from ..scenarios.checker import ERROR
from ..scenarios.drafts import draft_plan
from ..scenarios.loading import scenario_of

MAX_ID = 2**31 - 1


def _scenario(request, page_id: int) -> ScenarioPage:
    """The scenario named in the URL, if the user may switch it (404 / 403 otherwise)."""
    scenario = ScenarioPage.objects.filter(pk=page_id).first() if page_id <= MAX_ID else None
    if scenario is None:
        raise Http404(_("No such scenario."))
    if not switching.may_switch(scenario, request.user):
        raise PermissionDenied
    return scenario


def safe_next(request) -> str:
    """``next`` if it is a URL of this site (the canvas passes its own), else ""."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _back(request, scenario: ScenarioPage):
    """Where to go afterwards: a safe ``next``, else the scenario's editor."""
    return redirect(safe_next(request) or reverse("wagtailadmin_pages:edit", args=[scenario.pk]))


def _problems(scenario: ScenarioPage, plan) -> list[dict]:
    return [
        {"node": switching.node_name(plan, p), "message": p.message, "error": p.level == ERROR}
        for p in switching.draft_problems(scenario, plan)
    ]


def _render(request, scenario, template: str, context: dict, status: int = 200):
    context = {
        "scenario": scenario,
        "next": safe_next(request),
        **context,
    }
    return TemplateResponse(
        request, f"wagtail_journeys/switching/{template}", context, status=status
    )


def _publish_view(request, scenario, publish, done: str, template: str, extra) -> Any:
    """Switching on and publishing changes alike: on POST ``publish`` the whole draft
    (``done`` says so), else, or when the checker refuses (409), show the draft's
    problems and ``extra(plan)``."""
    if request.method == "POST":
        try:
            plan = publish(scenario, request.user)
        except ScenarioInvalid:
            pass  # shown below, as the checker says it
        else:
            messages.success(request, done % {"title": plan.title, "steps": len(plan.steps)})
            return _back(request, scenario)
    plan = draft_plan(scenario)
    problems = _problems(scenario, plan)
    refused = request.method == "POST"
    context = {
        "problems": problems,
        "blocked": any(p["error"] for p in problems),
        "refused": refused,
        "pages": switching.pages_to_publish(scenario),
        "emails": switching.draft_emails(scenario, plan),
        **extra(plan),
    }
    return _render(request, scenario, template, context, status=409 if refused else 200)


def switch_on_view(request, page_id: int):
    """Check the whole draft; on POST publish all of it together."""
    scenario = _scenario(request, page_id)
    if scenario.live:
        return redirect("wagtail_journeys_publish_changes", scenario.pk)
    return _publish_view(
        request,
        scenario,
        switching.switch_on,
        _("'%(title)s' is on: %(steps)s steps are live."),
        "switch_on.html",
        lambda plan: {"steps": len(plan.steps)},
    )


def publish_changes_view(request, page_id: int):
    """What changes for the contacts inside; on POST publish every change at once."""
    scenario = _scenario(request, page_id)
    if not scenario.live:
        return redirect("wagtail_journeys_switch_on", scenario.pk)
    return _publish_view(
        request,
        scenario,
        switching.publish_changes,
        _("The changes to '%(title)s' are live (%(steps)s steps)."),
        "publish_changes.html",
        lambda plan: {
            "groups": switching.impact(scenario, plan),
            "changed": switching.has_changes(scenario),
        },
    )


class PauseForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("The contacts already inside"),
        choices=[
            (
                Paused.HOLD,
                gettext_lazy(
                    "Hold them: they stay on the step they are on, nothing is sent to them, "
                    "until you resume the scenario"
                ),
            ),
            (
                Paused.FINISH,
                gettext_lazy(
                    "Let them finish: they go on to the end as planned; only new contacts "
                    "are kept out"
                ),
            ),
        ],
        widget=forms.RadioSelect,
    )


def pause_view(request, page_id: int):
    """Stop new enrolments; the editor chooses whether the contacts inside wait."""
    scenario = _scenario(request, page_id)
    form = PauseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            switching.pause(scenario, request.user, form.cleaned_data["mode"])
        except InvalidInput as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("'%(title)s' is paused.") % {"title": scenario.title})
        return _back(request, scenario)
    return _render(
        request,
        scenario,
        "pause.html",
        {"form": form, "inside": switching.inside(scenario)},
        status=400 if request.method == "POST" else 200,
    )


def resume_view(request, page_id: int):
    """Let contacts enter again and those held move on."""
    scenario = _scenario(request, page_id)
    if request.method == "POST":
        try:
            switching.resume(scenario, request.user)
        except InvalidInput as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("'%(title)s' runs again.") % {"title": scenario.title})
        return _back(request, scenario)
    return _render(request, scenario, "resume.html", {"inside": switching.inside(scenario)})


class SwitchMenuItem(ActionMenuItem):
    """An item of the editor's action menu of a scenario or of one of its steps, leading
    to one of the views above for the scenario."""

    url_name = ""

    def _scenario(self, context):
        page = context.get("page")
        if context["view"] != "edit" or page is None or context.get("locked_for_user"):
            return None
        scenario = scenario_of(page)
        if scenario is None or not switching.may_switch(scenario, context["request"].user):
            return None
        return scenario

    def is_shown(self, context):
        scenario = self._scenario(context)
        return scenario is not None and self.shown_for(scenario)

    def shown_for(self, scenario) -> bool:
        raise NotImplementedError

    def get_url(self, context):
        return reverse(self.url_name, args=[scenario_of(context["page"]).pk])


class SwitchOnMenuItem(SwitchMenuItem):
    label = gettext_lazy("Switch on")
    name = "action-switch-on"
    icon_name = "upload"
    order = 25
    url_name = "wagtail_journeys_switch_on"

    def shown_for(self, scenario) -> bool:
        return not scenario.live


class PublishChangesMenuItem(SwitchMenuItem):
    label = gettext_lazy("Publish changes")
    name = "action-publish-changes"
    icon_name = "upload"
    order = 25
    url_name = "wagtail_journeys_publish_changes"

    def shown_for(self, scenario) -> bool:
        return scenario.live


class PauseMenuItem(SwitchMenuItem):
    label = gettext_lazy("Pause")
    name = "action-pause"
    icon_name = "pick"
    order = 26
    url_name = "wagtail_journeys_pause"

    def shown_for(self, scenario) -> bool:
        return scenario.live and not scenario.paused


class ResumeMenuItem(SwitchMenuItem):
    label = gettext_lazy("Resume")
    name = "action-resume"
    icon_name = "resubmit"
    order = 26
    url_name = "wagtail_journeys_resume"

    def shown_for(self, scenario) -> bool:
        return bool(scenario.live and scenario.paused)
