"""Step pages: the children of a scenario (or of a branch), run top to bottom. Each shows
a one-line summary in the explorer and can only be added where it belongs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, PageChooserPanel
from wagtail.fields import StreamField

from ..scenarios.fields import EventNameInput, PropertyFiltersWidget
from ..scenarios.forms import BranchForm, PrivatePageForm, StepPageForm, WaitStepForm
from ..scenarios.panels import RulesPanel, ShownFieldPanel, ShownRowPanel
from ..segments import RulesBlock
from .scenarios import STEP_PARENTS, STEP_TYPES, CheckedPage, PrivatePage, Unit


class StepPage(CheckedPage, PrivatePage):
    """Base of every step: lives under a scenario or a branch, summarises itself."""

    parent_page_types = STEP_PARENTS
    subpage_types: list[str] = []
    base_form_class = StepPageForm

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
    posts_back = models.CharField(
        _("events the receiver posts back"),
        max_length=500,
        blank=True,
        help_text=_(
            "Comma-separated event names the webhook's receiver may record for this contact "
            "(through the events API) in answer, e.g. crm_synced. The scenario checker counts "
            "them as caused by this step, to find loops."
        ),
    )
    content_panels = PrivatePage.content_panels + [
        # Each contact's address goes there: choosing where is exporting contacts.
        FieldPanel("notify_email", permission="wagtail_journeys.export_contacts"),
        FieldPanel("webhook_url", permission="wagtail_journeys.export_contacts"),
        FieldPanel("message"),
        FieldPanel("posts_back"),
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
    admin_default_ordering = "ord"
    base_form_class = WaitStepForm
    content_panels = PrivatePage.content_panels + [
        RulesPanel(
            [
                FieldPanel("mode"),
                ShownFieldPanel(
                    "event_name", widget=EventNameInput, when={"mode": [WaitMode.EVENT]}
                ),
                ShownFieldPanel(
                    "event_filters",
                    widget=PropertyFiltersWidget(event_field="event_name"),
                    when={"mode": [WaitMode.EVENT]},
                ),
                ShownRowPanel(
                    [
                        FieldPanel("amount", heading=_("for")),
                        FieldPanel("unit", heading=_("unit")),
                    ],
                    when={"mode": [WaitMode.DURATION, WaitMode.EVENT]},
                    help_text=_("With an event: how long to wait for it at most."),
                ),
                ShownFieldPanel("until", when={"mode": [WaitMode.UNTIL]}),
                ShownFieldPanel("weekdays", when={"mode": [WaitMode.WINDOW]}),
                ShownRowPanel(
                    [FieldPanel("window_start"), FieldPanel("window_end")],
                    when={"mode": [WaitMode.WINDOW]},
                ),
            ],
            heading=_("Wait"),
        ),
    ]

    class Meta:
        verbose_name = _("wait")


class ConditionStep(StepPage):
    subpage_types = ["wagtail_journeys.Branch"]
    admin_default_ordering = "ord"
    base_form_class = PrivatePageForm  # its title names the question it asks

    class Meta:
        verbose_name = _("condition")


class SplitStep(StepPage):
    subpage_types = ["wagtail_journeys.Branch"]
    admin_default_ordering = "ord"
    base_form_class = PrivatePageForm  # its title names what it tests

    class Meta:
        verbose_name = _("A/B split")


class Outcome(models.TextChoices):
    NONE = "", _("—")
    EVENT = "event", _("The event happened")
    TIMEOUT = "timeout", _("Timed out")


class Branch(CheckedPage, PrivatePage):
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
    admin_default_ordering = "ord"
    base_form_class = BranchForm
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
        help_text=_(
            "A unique code, shown by the scenario's later emails as {{ promo_code }} (and "
            "stored in the contact attribute promo_code)."
        ),
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
