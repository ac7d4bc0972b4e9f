"""Scenarios as page trees: a ``ScenarioPage`` (trigger, entry rules, goal) whose children
are steps that run top to bottom. None of these pages is ever served to the public."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, PageChooserPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from ..scenarios.panels import ProblemsPanel
from ..segments import RulesBlock

STEP_TYPES = [
    "wagtail_journeys.SendEmailStep",
    "wagtail_journeys.SendSMSStep",
    "wagtail_journeys.NotifyStep",
    "wagtail_journeys.WaitStep",
    "wagtail_journeys.ConditionStep",
    "wagtail_journeys.SplitStep",
    "wagtail_journeys.UpdateContactStep",
    "wagtail_journeys.StartScenarioStep",
    "wagtail_journeys.ExitStep",
]
STEP_PARENTS = ["wagtail_journeys.ScenarioPage", "wagtail_journeys.Branch"]


class Unit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")
    WEEKS = "weeks", _("weeks")


class PrivatePage(Page):
    """Admin-only pages: never routed, never searchable, never in menus."""

    show_in_menus_default = False
    preview_modes = []

    class Meta:
        abstract = True

    def route(self, request, path_components):
        raise Http404

    def serve(self, request, *args, **kwargs):
        raise Http404


class ScenarioIndexPage(PrivatePage):
    """Folder for scenarios (create one anywhere, e.g. under the site root)."""

    subpage_types = ["wagtail_journeys.ScenarioPage"]

    class Meta:
        verbose_name = _("scenario folder")


class TriggerKind(models.TextChoices):
    EVENT = "event", _("An event happens")
    PAGE_VIEW = "page_view", _("A page is viewed")
    SEGMENT_ENTERED = "segment_entered", _("The contact enters a segment")
    BIRTHDAY = "birthday", _("Birthday, every year")
    ANNIVERSARY = "anniversary", _("Anniversary of sign-up, every year")
    BROADCAST = "broadcast", _("A broadcast to a segment")
    EMAIL_ENGAGEMENT = "email_engagement", _("Email engagement")
    MANUAL = "manual", _("Only when started by the API or another scenario")


class Engagement(models.TextChoices):
    OPENED = "opened", _("opened")
    CLICKED = "clicked", _("clicked")
    NOT_OPENED = "not_opened", _("did not open within N days")


class Recurrence(models.TextChoices):
    ONCE = "once", _("once")
    DAILY = "daily", _("every day")
    WEEKLY = "weekly", _("every week")
    MONTHLY = "monthly", _("every month")


class Reentry(models.TextChoices):
    ONCE = "once", _("Once ever")
    PER_DAYS = "per_days", _("Once per N days")
    ALWAYS = "always", _("Every time the trigger fires")


class ScenarioPage(PrivatePage):
    """A scenario: its trigger, who may enter, and what ends it; the steps are children."""

    trigger_kind = models.CharField(
        _("trigger"), max_length=20, choices=TriggerKind.choices, default=TriggerKind.EVENT
    )
    trigger_event = models.CharField(
        _("event name"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("For event triggers, e.g. purchase, cart_updated, form_submitted."),
    )
    trigger_filters = models.JSONField(
        _("event property filters"),
        default=dict,
        blank=True,
        help_text=_('Properties the event must have, e.g. {"form": "newsletter"}.'),
    )
    trigger_page = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("viewed page"),
    )
    trigger_page_type = models.CharField(
        _("viewed page type"), max_length=100, blank=True, help_text=_("e.g. shop.bookpage")
    )
    trigger_page_tag = models.CharField(_("viewed page tag"), max_length=100, blank=True)
    trigger_min_views = models.PositiveIntegerField(_("number of views"), default=1)
    trigger_view_days = models.PositiveIntegerField(
        _("within days"), default=0, help_text=_("0: views at any time count.")
    )
    trigger_segment = models.ForeignKey(
        "wagtail_journeys.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("segment (entered, or broadcast audience)"),
    )
    trigger_time = models.TimeField(
        _("local time"),
        null=True,
        blank=True,
        help_text=_("Birthdays and anniversaries run at this time in each contact's timezone."),
    )
    broadcast_at = models.DateTimeField(_("broadcast at"), null=True, blank=True)
    broadcast_every = models.CharField(
        _("repeat"), max_length=10, choices=Recurrence.choices, default=Recurrence.ONCE
    )
    engagement_email = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("email"),
    )
    engagement_kind = models.CharField(
        _("engagement"), max_length=12, choices=Engagement.choices, default=Engagement.OPENED
    )
    engagement_days = models.PositiveIntegerField(_("days"), default=3)

    audience = models.ForeignKey(
        "wagtail_journeys.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("audience"),
        help_text=_("Only contacts in this segment enter (empty: everyone)."),
    )
    exclusion = models.ForeignKey(
        "wagtail_journeys.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("exclude"),
    )
    reentry = models.CharField(
        _("re-entry"), max_length=10, choices=Reentry.choices, default=Reentry.ONCE
    )
    reentry_days = models.PositiveIntegerField(_("re-entry after days"), default=30)

    goal_event = models.CharField(_("goal event"), max_length=100, blank=True, db_index=True)
    goal_filters = models.JSONField(_("goal property filters"), default=dict, blank=True)
    goal_step = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("on goal, jump to step"),
        help_text=_("Empty: the goal ends the scenario as a conversion."),
    )
    exit_on_audience_loss = models.BooleanField(
        _("exit when no longer in the audience"), default=False
    )
    end_at = models.DateTimeField(_("hard end"), null=True, blank=True)

    parent_page_types = ["wagtail_journeys.ScenarioIndexPage"]
    subpage_types = STEP_TYPES

    content_panels = PrivatePage.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("trigger_kind"),
                FieldRowPanel([FieldPanel("trigger_event"), FieldPanel("trigger_filters")]),
                PageChooserPanel("trigger_page"),
                FieldRowPanel([FieldPanel("trigger_page_type"), FieldPanel("trigger_page_tag")]),
                FieldRowPanel([FieldPanel("trigger_min_views"), FieldPanel("trigger_view_days")]),
                FieldPanel("trigger_segment"),
                FieldPanel("trigger_time"),
                FieldRowPanel([FieldPanel("broadcast_at"), FieldPanel("broadcast_every")]),
                PageChooserPanel("engagement_email", "wagtail_journeys.EmailPage"),
                FieldRowPanel([FieldPanel("engagement_kind"), FieldPanel("engagement_days")]),
            ],
            heading=_("Trigger"),
        ),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("audience"), FieldPanel("exclusion")]),
                FieldRowPanel([FieldPanel("reentry"), FieldPanel("reentry_days")]),
            ],
            heading=_("Entry"),
        ),
        ProblemsPanel(heading=_("Checker")),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("goal_event"), FieldPanel("goal_filters")]),
                PageChooserPanel("goal_step"),
                FieldPanel("exit_on_audience_loss"),
                FieldPanel("end_at"),
            ],
            heading=_("Goal and exit"),
        ),
    ]

    preview_modes = [("diagram", _("Diagram"))]
    default_preview_mode = "diagram"

    class Meta:
        verbose_name = _("scenario")

    def serve_preview(self, request, mode_name):
        """The scenario drawn as a tree, with the contacts now on each step."""
        from django.db.models import Count
        from django.template.response import TemplateResponse

        from ..scenarios.diagram import draw_plan
        from ..scenarios.loading import build_plan
        from ..scenarios.publishing import check_scenario
        from ..scenarios.summaries import summarize_trigger
        from .enrollments import Enrollment

        plan = build_plan(self)
        counts = (
            dict(
                Enrollment.objects.filter(scenario_id=self.pk, status="active")
                .values_list("step_id")
                .annotate(n=Count("id"))
                .values_list("step_id", "n")
            )
            if self.pk
            else {}
        )
        return TemplateResponse(
            request,
            "wagtail_journeys/scenario_diagram.html",
            {
                "page": self,
                "svg": draw_plan(plan, summarize_trigger(self), counts),
                "problems": check_scenario(self, extra=plan) if self.pk else [],
            },
        )

    def get_admin_display_title(self) -> str:
        from ..scenarios.summaries import summarize_trigger

        return f"{self.draft_title or self.title} ({summarize_trigger(self)})"

    def clean(self) -> None:
        super().clean()
        if self.trigger_kind == TriggerKind.EVENT and not self.trigger_event:
            raise ValidationError({"trigger_event": _("Name the event that starts the scenario.")})
        for field in ("trigger_filters", "goal_filters"):
            if not isinstance(getattr(self, field), dict):
                raise ValidationError({field: _("Filters must be a JSON object.")})


class StepPage(PrivatePage):
    """Base of every step: lives under a scenario or a branch, summarises itself."""

    parent_page_types = STEP_PARENTS
    subpage_types: list[str] = []

    class Meta:
        abstract = True

    def summary(self) -> str:
        from ..scenarios.summaries import summarize_step

        return summarize_step(self)

    def get_admin_display_title(self) -> str:
        return self.summary()


class CapPolicy(models.TextChoices):
    DEFER = "defer", _("Defer until the cap allows")
    SKIP = "skip", _("Skip this email")


class SendEmailStep(StepPage):
    email = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transactional = models.BooleanField(
        _("transactional"),
        default=False,
        help_text=_("Exempt from caps and quiet hours; sent on the priority queue."),
    )
    on_cap = models.CharField(
        _("when capped"), max_length=8, choices=CapPolicy.choices, default=CapPolicy.DEFER
    )
    content_panels = PrivatePage.content_panels + [
        PageChooserPanel("email", "wagtail_journeys.EmailPage"),
        FieldPanel("transactional"),
        FieldPanel("on_cap"),
    ]

    class Meta:
        verbose_name = _("send email")


class SendSMSStep(StepPage):
    text = models.TextField(_("text"), help_text=_("Merge tags such as {{ first_name }}."))
    content_panels = PrivatePage.content_panels + [FieldPanel("text")]

    class Meta:
        verbose_name = _("send SMS")


class NotifyStep(StepPage):
    notify_email = models.EmailField(_("email the team at"), blank=True)
    webhook_url = models.URLField(_("POST a signed webhook to"), blank=True)
    message = models.TextField(_("message"), blank=True)
    content_panels = PrivatePage.content_panels + [
        FieldPanel("notify_email"),
        FieldPanel("webhook_url"),
        FieldPanel("message"),
    ]

    class Meta:
        verbose_name = _("notify")


class WaitMode(models.TextChoices):
    DURATION = "duration", _("For a duration")
    UNTIL = "until", _("Until a date and time")
    WINDOW = "window", _("Until a time window (contact's timezone)")
    EVENT = "event", _("Until an event, with a timeout")


class WaitStep(StepPage):
    mode = models.CharField(
        _("wait"), max_length=10, choices=WaitMode.choices, default=WaitMode.DURATION
    )
    amount = models.PositiveIntegerField(_("amount"), default=1)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.DAYS)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    weekdays = models.CharField(
        _("weekdays"),
        max_length=20,
        blank=True,
        default="0,1,2,3,4",
        help_text=_("Monday=0 … Sunday=6, comma separated."),
    )
    window_start = models.TimeField(_("from"), null=True, blank=True)
    window_end = models.TimeField(_("to"), null=True, blank=True)
    event_name = models.CharField(_("event"), max_length=100, blank=True)
    event_filters = models.JSONField(_("event property filters"), default=dict, blank=True)

    subpage_types = ["wagtail_journeys.Branch"]
    content_panels = PrivatePage.content_panels + [
        FieldPanel("mode"),
        FieldRowPanel([FieldPanel("amount"), FieldPanel("unit")]),
        FieldPanel("until"),
        FieldRowPanel(
            [FieldPanel("weekdays"), FieldPanel("window_start"), FieldPanel("window_end")]
        ),
        FieldRowPanel([FieldPanel("event_name"), FieldPanel("event_filters")]),
    ]

    class Meta:
        verbose_name = _("wait")


class ConditionStep(StepPage):
    subpage_types = ["wagtail_journeys.Branch"]

    class Meta:
        verbose_name = _("condition")


class SplitStep(StepPage):
    subpage_types = ["wagtail_journeys.Branch"]

    class Meta:
        verbose_name = _("A/B split")


class Outcome(models.TextChoices):
    NONE = "", _("—")
    EVENT = "event", _("The event happened")
    TIMEOUT = "timeout", _("Timed out")


class Branch(PrivatePage):
    """One way out of a condition (rules, or "else"), a split (a share) or a wait (outcome)."""

    rules = StreamField(RulesBlock(), blank=True, use_json_field=True)
    match = models.CharField(
        _("match"),
        max_length=3,
        choices=[("all", _("all rules")), ("any", _("any rule"))],
        default="all",
    )
    is_else = models.BooleanField(_("else"), default=False)
    percent = models.PositiveIntegerField(_("share (%)"), default=0)
    outcome = models.CharField(
        _("wait outcome"), max_length=8, choices=Outcome.choices, default="", blank=True
    )

    parent_page_types = [
        "wagtail_journeys.ConditionStep",
        "wagtail_journeys.SplitStep",
        "wagtail_journeys.WaitStep",
    ]
    subpage_types = STEP_TYPES
    content_panels = PrivatePage.content_panels + [
        FieldPanel("rules"),
        FieldRowPanel([FieldPanel("match"), FieldPanel("is_else")]),
        FieldRowPanel([FieldPanel("percent"), FieldPanel("outcome")]),
    ]

    class Meta:
        verbose_name = _("branch")

    def get_admin_display_title(self) -> str:
        from ..scenarios.summaries import summarize_branch

        return summarize_branch(self)


class UpdateContactStep(StepPage):
    add_tags = models.CharField(_("add tags"), max_length=255, blank=True)
    remove_tags = models.CharField(_("remove tags"), max_length=255, blank=True)
    attributes = models.JSONField(_("set attributes"), default=dict, blank=True)
    email_status = models.CharField(
        _("list subscription"),
        max_length=16,
        blank=True,
        choices=[
            ("", _("unchanged")),
            ("subscribed", _("subscribe")),
            ("unsubscribed", _("unsubscribe")),
        ],
    )
    promo_code_prefix = models.CharField(
        _("issue a promo code with prefix"),
        max_length=20,
        blank=True,
        help_text=_("Stored in the contact attribute promo_code."),
    )
    content_panels = PrivatePage.content_panels + [
        FieldRowPanel([FieldPanel("add_tags"), FieldPanel("remove_tags")]),
        FieldPanel("attributes"),
        FieldPanel("email_status"),
        FieldPanel("promo_code_prefix"),
    ]

    class Meta:
        verbose_name = _("update contact")


class StartScenarioStep(StepPage):
    scenario = models.ForeignKey(
        "wagtail_journeys.ScenarioPage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    content_panels = PrivatePage.content_panels + [PageChooserPanel("scenario")]

    class Meta:
        verbose_name = _("start scenario")


class ExitStep(StepPage):
    class Meta:
        verbose_name = _("exit")
