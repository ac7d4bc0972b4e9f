"""Scenarios as page trees: a ``ScenarioPage`` (trigger, entry rules, goal) whose children
are steps that run top to bottom. None of these pages is ever served to the public."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    PageChooserPanel,
    TitleFieldPanel,
)
from wagtail.models import Page

from ..scenarios.fields import EventNameInput, PageTagInput, PropertyFiltersWidget
from ..scenarios.forms import PrivatePageForm, ScenarioPageForm
from ..scenarios.panels import (
    ProblemsPanel,
    RulesPanel,
    ShownFieldPanel,
    ShownPageChooserPanel,
    ShownRowPanel,
    StatusPanel,
)
from .emails import site_of
from .events import Trust

logger = logging.getLogger(__name__)

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
    """Admin-only pages: never routed, never searchable, never in menus. Their forms drop
    what only public pages need (the promote tab: slug, SEO fields, "Show in menus"; the
    slug is made from the title), and they have no URL, so no "View live" link."""

    show_in_menus_default = False
    preview_modes = []
    base_form_class = PrivatePageForm
    content_panels = [TitleFieldPanel("title")]
    promote_panels = []
    private_page_options: list[str] = []  # never served: nothing to restrict

    class Meta:
        abstract = True

    def get_url_parts(self, request=None):
        return None

    def get_site(self):
        return site_of(self)

    def route(self, request, path_components):
        raise Http404

    def serve(self, request, *args, **kwargs):
        raise Http404


class CheckedPage:
    """Scenario, step and branch pages: publishing, unpublishing, moving, copying or
    deleting one from code is checked like in the admin. If a live scenario would fail the checker,
    nothing changes and ``ScenarioInvalid`` is raised (see ``scenarios.guard``); a
    scheduled publish that would fail is cancelled and logged instead, so that
    ``publish_scheduled`` goes on with the other pages."""

    def publish(self, revision, *args, **kwargs):
        from ..exceptions import ScenarioInvalid
        from ..scenarios.guard import publishing_together

        try:
            with publishing_together():
                return super().publish(revision, *args, **kwargs)
        except ScenarioInvalid as refused:
            if kwargs.get("log_action") != "wagtail.publish.scheduled":
                raise
            cancel_scheduled_publish(self, revision, refused)
            return None

    def unpublish(self, *args, **kwargs):
        from ..scenarios.guard import publishing_together

        with publishing_together():
            return super().unpublish(*args, **kwargs)

    def move(self, *args, **kwargs):
        from ..scenarios.guard import publishing_together

        with publishing_together():
            return super().move(*args, **kwargs)

    def copy(self, *args, **kwargs):
        from ..scenarios.guard import publishing_together

        with publishing_together():
            return super().copy(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from ..scenarios.guard import publishing_together

        with publishing_together():
            return super().delete(*args, **kwargs)


def cancel_scheduled_publish(page, revision, refused) -> None:
    """A scheduled revision that would break its scenario: unschedule it and say why in
    the page's history and the log."""
    from wagtail.log_actions import log

    logger.error("Scheduled publish of %r refused: %s", page.title, refused)
    type(revision).objects.filter(pk=revision.pk).update(approved_go_live_at=None)
    log(
        instance=page,
        action="wagtail_journeys.publish_refused",
        data={"problems": [message for _title, message in refused.problems]},
        revision=revision,
    )


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


#: The trust a trigger may require of its events ("": any source; see ``models.events``).
TRIGGER_SOURCES = [
    ("", _("any source")),
    (Trust.SERVER, _("a server only (API token, import)")),
    (Trust.BROWSER, _("a browser only (page views, beacon, form posts)")),
]


class Reentry(models.TextChoices):
    ONCE = "once", _("Once ever")
    PER_DAYS = "per_days", _("Once per N days")
    ALWAYS = "always", _("Every time the trigger fires")


class Paused(models.TextChoices):
    """What a paused scenario does with the contacts already inside ("": not paused)."""

    RUNNING = "", _("Running")
    HOLD = "hold", _("Paused: contacts inside are held where they are")
    FINISH = "finish", _("Paused: contacts inside finish, nobody new enters")


class ScenarioPage(CheckedPage, PrivatePage):
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
    trigger_source = models.CharField(
        _("event source"),
        max_length=10,
        choices=TRIGGER_SOURCES,
        blank=True,
        default="",
        help_text=_(
            "Who must have sent the event: e.g. a server only, so that a purchase posted by a "
            "browser script never starts the scenario."
        ),
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
    trigger_segment_existing = models.BooleanField(
        _("also enrol the segment's current members"),
        default=False,
        help_text=_(
            "When the scenario goes live (or its segment changes), contacts already in the "
            "segment enter too. Otherwise only those who join it afterwards do."
        ),
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

    goal_event = models.CharField(
        _("goal events"),
        max_length=255,
        blank=True,
        db_index=True,
        help_text=_("One event name, or several separated by commas: the first that happens."),
    )
    goal_any_activity = models.BooleanField(
        _("any activity reaches the goal"),
        default=False,
        help_text=_(
            "Any event the contact causes (a page view, a click, a purchase…), not the emails "
            "the scenarios send them."
        ),
    )
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
    live_since = models.DateTimeField(
        _("live since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When the scenario last went from not live to live: its triggers ignore older "
            "events. Re-publishing a live scenario keeps it; unpublishing clears it."
        ),
    )

    paused = models.CharField(
        _("paused"),
        max_length=6,
        choices=Paused.choices,
        blank=True,
        default=Paused.RUNNING,
        editable=False,
        help_text=_(
            "A paused scenario enrols nobody; with 'hold' the contacts inside do not move "
            "either until it is resumed (see scenarios.switching)."
        ),
    )
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True, editable=False)

    parent_page_types = ["wagtail_journeys.ScenarioIndexPage"]
    subpage_types = STEP_TYPES

    base_form_class = ScenarioPageForm
    content_panels = PrivatePage.content_panels + [
        StatusPanel(heading=_("Status")),
        RulesPanel(
            [
                FieldPanel("trigger_kind"),
                ShownFieldPanel(
                    "trigger_event", widget=EventNameInput, when={"trigger_kind": ["event"]}
                ),
                ShownRowPanel(
                    [
                        PageChooserPanel("trigger_page"),
                        FieldPanel("trigger_page_type"),
                        FieldPanel("trigger_page_tag", widget=PageTagInput),
                    ],
                    when={"trigger_kind": ["page_view"]},
                ),
                ShownRowPanel(
                    [FieldPanel("trigger_min_views"), FieldPanel("trigger_view_days")],
                    when={"trigger_kind": ["page_view"]},
                ),
                ShownFieldPanel(
                    "trigger_filters",
                    widget=PropertyFiltersWidget(event_field="trigger_event"),
                    when={"trigger_kind": ["event", "page_view"]},
                ),
                ShownFieldPanel("trigger_source", when={"trigger_kind": ["event", "page_view"]}),
                ShownFieldPanel(
                    "trigger_segment", when={"trigger_kind": ["segment_entered", "broadcast"]}
                ),
                ShownFieldPanel(
                    "trigger_segment_existing", when={"trigger_kind": ["segment_entered"]}
                ),
                ShownFieldPanel("trigger_time", when={"trigger_kind": ["birthday", "anniversary"]}),
                ShownRowPanel(
                    [FieldPanel("broadcast_at"), FieldPanel("broadcast_every")],
                    when={"trigger_kind": ["broadcast"]},
                ),
                ShownPageChooserPanel(
                    "engagement_email",
                    "wagtail_journeys.EmailPage",
                    when={"trigger_kind": ["email_engagement"]},
                ),
                ShownRowPanel(
                    [FieldPanel("engagement_kind"), FieldPanel("engagement_days")],
                    when={"trigger_kind": ["email_engagement"]},
                ),
            ],
            heading=_("Trigger"),
        ),
        RulesPanel(
            [
                FieldRowPanel([FieldPanel("audience"), FieldPanel("exclusion")]),
                FieldPanel("reentry"),
                ShownFieldPanel("reentry_days", when={"reentry": [Reentry.PER_DAYS]}),
            ],
            heading=_("Entry"),
        ),
        ProblemsPanel(heading=_("Checker")),
        MultiFieldPanel(
            [
                FieldRowPanel(
                    [
                        FieldPanel("goal_event", widget=EventNameInput),
                        FieldPanel("goal_any_activity"),
                    ]
                ),
                FieldPanel("goal_filters", widget=PropertyFiltersWidget(event_field="goal_event")),
                PageChooserPanel("goal_step", STEP_TYPES),
                FieldPanel("exit_on_audience_loss"),
                FieldPanel("end_at"),
            ],
            heading=_("Goal and exit"),
        ),
    ]
    # Steps are listed in the order they run, and can be reordered (explorer, choosers).
    admin_default_ordering = "ord"
    # A copy has not gone live yet, whatever its original did.
    exclude_fields_in_copy = ["live_since", "paused", "paused_at"]

    preview_modes = [("diagram", _("Diagram"))]
    default_preview_mode = "diagram"

    class Meta:
        verbose_name = _("scenario")

    def serve_preview(self, request, mode_name):
        """The scenario drawn as a tree, with the contacts now on each step and, on send
        steps, those whose send is deferred (quiet hours, frequency cap) and why."""
        from django.template.response import TemplateResponse

        from .. import conf
        from ..scenarios.diagram import draw_plan
        from ..scenarios.loading import build_plan
        from ..scenarios.occupancy import active_by_step, deferred_by_step, deferred_rows
        from ..scenarios.report import scenario_problems
        from ..scenarios.summaries import summarize_trigger

        plan = build_plan(self)
        counts = active_by_step(self.pk) if self.pk else {}
        deferred = deferred_by_step(self.pk, plan) if self.pk else {}
        return TemplateResponse(
            request,
            "wagtail_journeys/scenario_diagram.html",
            {
                "page": self,
                "svg": draw_plan(plan, summarize_trigger(self), counts, deferred),
                "problems": scenario_problems(self, plan) if self.pk else [],
                "deferred": deferred_rows(plan, deferred),
                "quiet_hours": conf.get("QUIET_HOURS"),
                "frequency_cap": conf.get("FREQUENCY_CAP"),
                "default_zone": conf.get("DEFAULT_TIMEZONE"),
            },
        )

    def with_content_json(self, content):
        """A revision restores the page's content, not when the scenario went live or
        whether it is paused: that belongs to the page as a whole (like Wagtail's own
        ``live``)."""
        obj = super().with_content_json(content)
        obj.live_since = self.live_since
        obj.paused, obj.paused_at = self.paused, self.paused_at  # nor whether it is paused
        return obj

    def goal_events(self) -> list[str]:
        """The goal's event names, as typed (comma-separated), blanks left out."""
        return [name.strip() for name in self.goal_event.split(",") if name.strip()]

    def get_admin_display_title(self) -> str:
        from ..scenarios.summaries import summarize_trigger

        return f"{self.draft_title or self.title} ({summarize_trigger(self)})"

    #: trigger kind -> (field it needs, the editor's message when it is empty)
    TRIGGER_NEEDS = {
        TriggerKind.EVENT: ("trigger_event", _("Name the event that starts the scenario.")),
        TriggerKind.SEGMENT_ENTERED: ("trigger_segment", _("Choose the segment to watch.")),
        TriggerKind.BIRTHDAY: ("trigger_time", _("Choose the local time to start at.")),
        TriggerKind.ANNIVERSARY: ("trigger_time", _("Choose the local time to start at.")),
        TriggerKind.BROADCAST: ("broadcast_at", _("Choose when the broadcast goes out.")),
        TriggerKind.EMAIL_ENGAGEMENT: ("engagement_email", _("Choose the email to watch.")),
    }

    def clean(self) -> None:
        from ..events import EVENT_NAME

        super().clean()
        errors = {}
        needed = self.TRIGGER_NEEDS.get(self.trigger_kind)
        if needed and getattr(self, self._meta.get_field(needed[0]).attname) in (None, ""):
            errors[needed[0]] = needed[1]
        for field in ("trigger_filters", "goal_filters"):
            if not isinstance(getattr(self, field), dict):
                errors[field] = _("Filters must be a JSON object.")
        if self.trigger_source and self.trigger_kind not in (
            TriggerKind.EVENT,
            TriggerKind.PAGE_VIEW,
        ):
            errors["trigger_source"] = _(
                "Only event and page-view triggers can require a source; leave it on any."
            )
        bad = [name for name in self.goal_events() if not EVENT_NAME.fullmatch(name)]
        if bad:
            errors["goal_event"] = _(
                "%(names)s: event names are 1-100 letters, digits, '_', '.', ':' or '-', "
                "separated by commas."
            ) % {"names": ", ".join(repr(name) for name in bad)}
        elif self.goal_any_activity and self.goal_events():
            errors["goal_event"] = _(
                "Any activity already includes every event: leave the goal events empty, or "
                "untick any activity."
            )
        if errors:
            raise ValidationError(errors)
