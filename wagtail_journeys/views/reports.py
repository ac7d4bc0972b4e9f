"""Reports in the Wagtail admin: a scenario on its diagram, an email with its click map,
the contacts behind any number, exports, and the dashboard panel.

Views are thin: they parse the query string (``from``/``to`` and the drill-down's ids
through ``Period.parse`` and ``parse_behind``, so hostile values get a 400 page, never a
500), call the report functions of ``analytics.reports`` (which read rollup tables only)
and shape what they return. Seeing a report needs ``view_reports``; a report shows no
contact, and its numbers link to the contacts behind them only for users who may see
contacts (``permissions.can_see_contacts``), which the drill-down itself requires too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.reports import ReportView
from wagtail.admin.widgets import Button
from wagtail.models import Page

from ..analytics.behind import METRICS, contacts_behind
from ..analytics.charts import day_chart, funnel_chart
from ..analytics.clickmap import click_map
from ..analytics.figures import Period
from ..analytics.reports import email_report, overview, scenario_report
from ..analytics.tables import email_rows, scenario_rows
from ..exceptions import InvalidInput, JourneysError
from ..models import Contact, EmailPage, ScenarioPage
from ..permissions import can_see_contacts
from ..scenarios.diagram import draw_plan
from ..scenarios.loading import build_plan, current_plan
from ..scenarios.summaries import summarize_trigger
from ..spreadsheets import csv_file, xlsx_file

VIEW_REPORTS = "wagtail_journeys.view_reports"
#: The largest id a query string may name (PostgreSQL's bigint); larger is a 400.
MAX_ID = 2**63 - 1
MAX_VARIANT = 200


def can_view_reports(user: Any) -> bool:
    """May ``user`` read reports (figures, charts, exports; no contact data)?"""
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(VIEW_REPORTS)


class PeriodForm(forms.Form):
    """The report's date range: ``from`` and ``to`` (inclusive local dates, YYYY-MM-DD)."""

    def __init__(self, data, default_days: int = 30):
        super().__init__(data)
        self.default_days = default_days
        # The browser's own date picker: it submits YYYY-MM-DD, and needs no script.
        for name, label in (("from", gettext_lazy("From")), ("to", gettext_lazy("To"))):
            self.fields[name] = forms.CharField(
                label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
            )

    def clean(self):
        data = super().clean()
        try:
            self.period = Period.parse(data.get("from"), data.get("to"), self.default_days)
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


def bad_request(request, message: str, *, title: str = "") -> TemplateResponse:
    """The admin's page for a query string that cannot be read (status 400)."""
    return TemplateResponse(
        request,
        "wagtail_journeys/reports/bad_request.html",
        {
            "page_title": title or _("Reports"),
            "header_title": title or _("Reports"),
            "message": message,
        },
        status=400,
    )


def _page_id(value: int) -> int:
    """A page id from the URL; one no database column can hold names no page (404)."""
    if value > MAX_ID:
        raise Http404
    return value


def contacts_url(**params: Any) -> str:
    """The drill-down's URL for these parameters (empty ones left out)."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('journeys_reports:contacts')}?{urlencode(query)}"


class ReportMixin(WagtailAdminTemplateMixin):
    """Permission (``view_reports``), the period form and its 400, breadcrumbs."""

    header_icon = "table"

    def dispatch(self, request, *args, **kwargs):
        if not can_view_reports(request.user):
            raise PermissionDenied
        self.form = PeriodForm(request.GET)
        self.links = can_see_contacts(request.user)
        if not self.form.is_valid():
            return bad_request(request, " ".join(self.form.non_field_errors()), title=_("Reports"))
        self.period = self.form.period
        # Shown filled in: the dates the report covers, defaults included.
        self.form = PeriodForm(self.period_query())
        return super().dispatch(request, *args, **kwargs)

    def period_query(self) -> dict[str, str]:
        return {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("journeys_reports:index"), "label": _("Journeys reports")},
            {"url": "", "label": self.get_page_title()},
        ]

    def export_urls(self, report: str, object_id: int) -> dict[str, str]:
        base = {"report": report, "id": object_id, **self.period_query()}
        url = reverse("journeys_reports:export")
        return {fmt: f"{url}?{urlencode({**base, 'format': fmt})}" for fmt in ("csv", "xlsx")}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(form=self.form, media=self.form.media, period=self.period, links=self.links)
        return context


class IndexView(ReportMixin, TemplateView):
    """Every scenario and email with a link to its report, over the overview chart."""

    template_name = "wagtail_journeys/reports/index.html"
    page_title = gettext_lazy("Journeys reports")

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs):

        context = super().get_context_data(**kwargs)
        figures = overview(self.period)
        context.update(
            overview=figures,
            chart=day_chart(figures.days, title=_("Sends and engagement by day")),
            scenarios=ScenarioPage.objects.order_by("title").only("id", "title"),
            emails=EmailPage.objects.order_by("title").only("id", "title"),
            query=urlencode(self.period_query()),
        )
        return context


class ScenarioReportView(ReportMixin, TemplateView):
    """A scenario over a period: its diagram with what each step did, the funnel from
    trigger to goal, the splits with their verdicts, the totals."""

    template_name = "wagtail_journeys/reports/scenario.html"

    def get_page_title(self):
        return _("Report: %(title)s") % {"title": self.scenario.title}

    def dispatch(self, request, *args, **kwargs):
        self.scenario = get_object_or_404(ScenarioPage, pk=_page_id(kwargs["scenario_id"]))
        return super().dispatch(request, *args, **kwargs)

    def link(self, metric: str, step_id: int | None, branch_id: int | None = None) -> str | None:
        """The URL of the contacts behind a number (only for who may see contacts)."""
        if not self.links:
            return None
        return contacts_url(
            metric=metric,
            scenario=self.scenario.pk,
            step=step_id or None,
            branch=branch_id,
            **self.period_query(),
        )

    def get_context_data(self, **kwargs):

        context = super().get_context_data(**kwargs)
        report = scenario_report(self.scenario, self.period)
        # The Plan the report's steps come from (the stored one); a draft-only scenario's
        # tree is drawn as it stands.
        plan = current_plan(self.scenario.pk) or build_plan(self.scenario)
        stages = report.funnel
        urls = {
            id(stage): self.link(self.funnel_metric(i, stages), stage.step_id)
            for i, stage in enumerate(stages)
        }
        context.update(
            report=report,
            diagram=draw_plan(
                plan,
                summarize_trigger(self.scenario),
                {step.step_id: step.waiting for step in report.steps},
                figures={step.step_id: step for step in report.steps},
                link=self.link,
            ),
            funnel=funnel_chart(
                stages,
                title=_("From trigger to goal"),
                href=lambda stage: urls[id(stage)],
            ),
            totals=self.totals(report),
            exports=self.export_urls("scenario", self.scenario.pk),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.scenario.pk]),
        )
        return context

    @staticmethod
    def funnel_metric(index: int, stages: list) -> str:
        """A funnel stage's drill-down: a step's stage counts who entered it; the stages
        without a step are the trigger (entered) and, last, the goal (converted)."""
        if stages[index].step_id is None and index == len(stages) - 1 and index:
            return "converted"
        return "entered"

    def totals(self, report) -> list[tuple[str, str, str | None]]:
        """``(label, number, contacts URL)`` of the scenario as a whole."""
        rows = [
            (_("Entered"), report.entered, "entered"),
            (_("Waiting now"), report.waiting, "waiting"),
            (_("Reached the goal"), report.converted, "converted"),
            (_("Exited"), report.exited, "exited"),
            (_("Completed"), report.completed, None),
        ]
        out = [
            (label, number_format(n, force_grouping=True), self.link(m, None) if m else None)
            for label, n, m in rows
        ]
        out.append((_("Revenue"), number_format(report.revenue, 2, force_grouping=True), None))
        return out


class EmailReportView(ReportMixin, TemplateView):
    """An email over a period: totals and rates, per scenario, per segment variant,
    click-through per link and the click map over its preview."""

    template_name = "wagtail_journeys/reports/email.html"

    def get_page_title(self):
        return _("Report: %(title)s") % {"title": self.email.title}

    def dispatch(self, request, *args, **kwargs):
        self.email = get_object_or_404(EmailPage, pk=_page_id(kwargs["email_id"]))
        return super().dispatch(request, *args, **kwargs)

    def link(self, metric: str, **params: Any) -> str | None:
        if not self.links:
            return None
        return contacts_url(metric=metric, email=self.email.pk, **params, **self.period_query())

    def get_context_data(self, **kwargs):

        context = super().get_context_data(**kwargs)
        report = email_report(self.email, self.period)
        try:
            preview = click_map(self.email, report.links) if self.email.live else ""
            preview_error = "" if preview else _("The email is not live: nothing to draw on.")
        except JourneysError as exc:
            preview, preview_error = "", str(exc)
        context.update(
            report=report,
            rows=self.rows(report),
            link_rows=[(link, self.link("clicked", link=link.link)) for link in report.links],
            click_map=preview,
            click_map_error=preview_error,
            exports=self.export_urls("email", self.email.pk),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.email.pk]),
        )
        return context

    def rows(self, report) -> list[dict]:
        """The table's rows: the email, then each scenario and each variant, every count
        with its contacts URL."""
        found = [(_("All sends"), report.mail, {})]
        found += [(b.label, b.mail, {"scenario": b.key}) for b in report.by_scenario]
        found += [(b.label, b.mail, {"variant": b.key or "-"}) for b in report.by_variant]
        return [
            {
                "label": label,
                "kind": "variant" if "variant" in params else "scenario" if params else "all",
                "mail": mail,
                "cells": [
                    (
                        number_format(getattr(mail, metric), force_grouping=True),
                        self.link(metric, **params),
                        metric,
                    )
                    for metric in MAIL_METRICS
                ],
            }
            for label, mail, params in found
        ]


#: The counts the email report's table shows, each a drill-down metric.
MAIL_METRICS = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "unsubscribed",
    "complained",
)


# The contacts behind a number -------------------------------------------------------


def _int(query, name: str) -> int | None:
    value = query.get(name, "")
    if value == "":
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_ID:
        raise InvalidInput(_("%(name)s must be a whole number.") % {"name": name}, field=name)
    return int(value)


def parse_behind(query) -> dict[str, Any]:
    """The drill-down's arguments from a query string; ``InvalidInput`` if one cannot be
    read (unknown metric, an id that is no number or too large, a bad date, NUL)."""

    metric = query.get("metric", "")
    if metric not in METRICS:
        raise InvalidInput(_("Unknown figure: choose one of the report's numbers."), field="metric")
    variant = query.get("variant")
    if variant is not None and (len(variant) > MAX_VARIANT or "\x00" in variant):
        raise InvalidInput(_("Unknown segment variant."), field="variant")
    args = {
        "metric": metric,
        "period": Period.parse(query.get("from"), query.get("to")),
        "scenario_id": _int(query, "scenario"),
        "step_id": _int(query, "step"),
        "email_id": _int(query, "email"),
        "branch_id": _int(query, "branch"),
        "link": _int(query, "link"),
        "variant": "" if variant == "-" else variant,
    }
    return args


def _contact_name(contact: Contact):
    url = reverse("journeys_contacts:inspect", args=[contact.pk])
    return format_html('<a href="{}">{}</a>', url, contact.full_name or contact.email)


class ContactsBehindView(ReportView):
    """The contacts behind one number of a report, paginated; each links to its page.
    Needs ``view_reports`` and seeing contacts."""

    page_title = gettext_lazy("Contacts behind a number")
    header_icon = "user"
    paginate_by = 50
    index_url_name = "journeys_reports:contacts"
    columns = [
        Column("name", label=gettext_lazy("Name"), accessor=_contact_name),
        Column("email", label=gettext_lazy("Email")),
        Column("get_email_status_display", label=gettext_lazy("Email status")),
    ]

    def dispatch(self, request, *args, **kwargs):
        if not (can_view_reports(request.user) and can_see_contacts(request.user)):
            raise PermissionDenied
        try:
            self.behind = parse_behind(request.GET)
        except InvalidInput as exc:
            return bad_request(request, str(exc), title=str(self.page_title))
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):

        args = dict(self.behind)
        metric = args.pop("metric")
        return contacts_behind(metric, **args).order_by("email")

    def get_page_subtitle(self):

        return METRICS[self.behind["metric"]]

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("journeys_reports:index"), "label": _("Journeys reports")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["what"] = self.describe()
        return context

    def describe(self) -> list[tuple[str, str]]:
        """What the list is of, in words: ``(name, value)`` pairs the header shows."""

        b = self.behind
        ids = [i for i in (b["scenario_id"], b["step_id"], b["email_id"], b["branch_id"]) if i]
        titles = dict(Page.objects.filter(pk__in=ids).values_list("pk", "title"))
        out = [(_("Figure"), str(METRICS[b["metric"]]))]
        for key, label in (
            ("scenario_id", _("Scenario")),
            ("step_id", _("Step")),
            ("branch_id", _("Branch")),
            ("email_id", _("Email")),
        ):
            if b[key]:
                out.append((label, titles.get(b[key], f"#{b[key]}")))
        if b["link"] is not None:
            out.append((_("Link"), f"#{b['link']}"))
        if b["variant"] is not None:
            out.append((_("Segment variant"), b["variant"] or _("none")))
        out.append((_("Period"), f"{b['period'].start} – {b['period'].end}"))
        return out


# Exports --------------------------------------------------------------------------------


def export_view(request):
    """A scenario or email report as CSV or XLSX:
    ``?report=scenario|email&id=..&format=csv|xlsx&from=&to=``."""
    if not can_view_reports(request.user):
        raise PermissionDenied

    query = request.GET
    kind, fmt = query.get("report"), query.get("format", "csv")
    if kind not in ("scenario", "email") or fmt not in ("csv", "xlsx"):
        return bad_request(request, _("Choose report=scenario or email and format=csv or xlsx."))
    try:
        object_id = _int(query, "id")
        period = Period.parse(query.get("from"), query.get("to"))
    except InvalidInput as exc:
        return bad_request(request, str(exc))
    if object_id is None:
        return bad_request(request, _("Name the scenario or email with id."))
    model = ScenarioPage if kind == "scenario" else EmailPage
    page = model.objects.filter(pk=object_id).first()
    if page is None:
        raise Http404
    if kind == "scenario":
        rows = scenario_rows(scenario_report(page, period))
    else:
        rows = email_rows(email_report(page, period))
    name = f"{kind}-{page.pk}-{period.start}-{period.end}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(csv_file(rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            xlsx_file(rows, title=kind),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# The dashboard, the menu, the page header ------------------------------------------


class ReportsPanel(Component):
    """The dashboard panel: sends, opens, clicks, conversions and revenue over the last 30
    days, and the scenarios that need attention (``construct_homepage_panels``)."""

    name = "journeys_reports"
    order = 150
    template_name = "wagtail_journeys/reports/panel.html"

    def get_context_data(self, parent_context):

        context = super().get_context_data(parent_context)
        figures = overview(Period.last_days(30))
        context.update(
            chart=day_chart(figures.days, title=_("Sends and engagement, last 30 days")),
            totals=figures.totals,
            attention=figures.attention,
        )
        return context


class ReportsMenuItem(MenuItem):
    """ "Journeys" under the admin's Reports menu, for users who may read reports."""

    def is_shown(self, request):
        return can_view_reports(request.user)


def report_button(page: Any, user: Any) -> Button | None:
    """A "Report" button for an email's or a scenario's page header, or None."""
    specific = page.specific_class
    if not can_view_reports(user) or specific not in (EmailPage, ScenarioPage):
        return None
    name = "journeys_reports:email" if specific is EmailPage else "journeys_reports:scenario"
    return Button(
        _("Report"),
        reverse(name, args=[page.pk]),
        icon_name="table",
        priority=66,
        attrs={"data-testid": "journeys-report"},
    )


def admin_urls() -> list:
    """The ``journeys_reports`` URLs (``CONTRACT.md``), under the admin."""
    return [
        path("", IndexView.as_view(), name="index"),
        path("scenarios/<int:scenario_id>/", ScenarioReportView.as_view(), name="scenario"),
        path("emails/<int:email_id>/", EmailReportView.as_view(), name="email"),
        path(
            "contacts/",
            ContactsBehindView.as_view(template_name="wagtail_journeys/reports/contacts.html"),
            name="contacts",
        ),
        path("export/", export_view, name="export"),
    ]
