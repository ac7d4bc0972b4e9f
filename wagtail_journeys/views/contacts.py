"""Contacts in the Wagtail admin: listing with search and filters, forms, and a timeline.

Declared the way Wagtail declares its own screens: a ``ModelViewSet`` with a
``WagtailFilterSet``, panels over a ``WagtailAdminModelForm`` and a subclass of the generic
``InspectView``. Permissions are the model's add/change/delete/view, through the
``ContactPermissionPolicy`` registered for ``Contact`` in ``wagtail_hooks``; exporting
needs ``export_contacts`` as well (``docs/reference/permissions.md``).
"""

from __future__ import annotations

import json

import django_filters
from django import forms
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import BooleanField, Case, Count, Value, When
from django.forms.fields import InvalidJSONInput
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import BooleanRadioSelect
from wagtail.admin.widgets.button import HeaderButton

from ..activity import describe, titles_needed
from ..contacts import CONTACT_FIELDS, normalize_email
from ..engine.steps import REACHED_END
from ..exceptions import InvalidInput, InvalidRule
from ..inputs import json_problem, text_problem
from ..models import ConsentSource, Contact, EmailStatus, Segment, StepRun
from ..models.contacts import Civility
from ..permissions import can_export_contacts, can_import_contacts
from ..privacy import is_suppressed
from .exports import ContactDataExportMixin
from .privacy import ContactDeleteView, contact_data_view

TIMELINE_PAGE_SIZE = 100  # the feed's newest events; older ones a page further
SEGMENT_ROWS = 200  # segments a profile checks membership of (one query for all)
JOURNEYS_ROWS = 20  # latest enrolments and step runs shown on a contact
MESSAGE_ROWS = 20  # latest messages shown on a contact
CONSENT_ROWS = 20  # latest consent records shown on a contact
TAG_FILTER_CHOICES = 30


def _json(value, *, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, sort_keys=True, default=str)


def feed_item(event, titles: dict[int, str], icons: dict[str, str]) -> SafeString:
    """One ``<li>`` of the activity feed: the sentence, when and from where, and the raw
    properties in a ``<details>``. Built here rather than in the template: a profile
    shows a hundred of them, and this is ten times faster (``bench_contact_profile``).
    ``icons`` caches each icon's markup (Wagtail's ``icon.html``) for the page."""
    activity = describe(event.name, event.source, event.properties, titles)
    if activity.icon not in icons:
        icons[activity.icon] = render_to_string(
            "wagtailadmin/shared/icon.html",
            {"name": activity.icon, "classname": "journeys-feed__icon"},
        )
    when = timezone.localtime(event.occurred_at)
    details = (
        format_html(
            '<details class="journeys-feed__properties"><summary>{}</summary>'
            '<pre style="white-space: pre-wrap; word-break: break-word;">{}</pre></details>',
            _("Properties"),
            _json(event.properties),
        )
        if event.properties
        else ""
    )
    return format_html(
        '<li class="journeys-feed__item" style="display: flex; gap: 0.75rem; '
        'padding: 0.5rem 0; border-bottom: 1px solid var(--w-color-border-furniture);">'
        '{icon}<div style="flex: 1; min-width: 0;">'
        '<p class="journeys-feed__text" style="margin: 0;">{text}</p>'
        '<p class="journeys-feed__meta w-help-text" style="margin: 0;">'
        '<time datetime="{iso}">{when}</time> · {source} · <code>{name}</code></p>'
        "{details}</div></li>",
        icon=mark_safe(icons[activity.icon]),  # noqa: S308 (Wagtail's own template)
        text=activity.text,
        iso=when.isoformat(),
        when=date_format(when, "DATETIME_FORMAT"),
        source=event.get_source_display(),
        name=event.name,
        details=details,
    )


def _end_of(run: StepRun) -> StepRun:
    """The scenario's end recorded on ``run`` (``StepRun.ends``) as a line of its own, as
    an end's own run shows."""
    end = StepRun(
        enrollment_id=run.enrollment_id,
        contact_id=run.contact_id,
        scenario_id=run.scenario_id,
        step_id=None,
        outcome=run.ends,
        reason=REACHED_END if run.ends == "completed" else "",
        ran_at=run.ran_at,
    )
    end.ended_by = run.pk
    return end


def _timeline_order(run: StepRun) -> tuple:
    """Sort key of a contact's timeline: time, then a start (made from its enrolment),
    the stored runs in order, each one's end (``_end_of``) right after it."""
    if run.pk is not None:
        return (run.ran_at, 1, run.pk, 0)
    if hasattr(run, "ended_by"):
        return (run.ran_at, 1, run.ended_by, 1)
    return (run.ran_at, 0, run.enrollment_id, 0)


class ContactFilterSet(WagtailFilterSet):
    """The listing's filters: consent, person, locale, interests and activity dates."""

    email_status = django_filters.MultipleChoiceFilter(
        label=_("Email status"), choices=EmailStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    civility = django_filters.ChoiceFilter(
        label=_("Civility"),
        choices=Civility.choices,
        empty_label=_("All"),
        widget=forms.RadioSelect,
    )
    locale = django_filters.ChoiceFilter(label=_("Locale"), empty_label=_("All"))
    tag = django_filters.MultipleChoiceFilter(
        label=_("Interests"),
        field_name="tags__name",
        distinct=True,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Contacts with any of the chosen tags (the most used are listed)."),
    )
    created_at = django_filters.DateFromToRangeFilter(
        label=_("Created"), widget=DateRangePickerWidget
    )
    last_activity_at = django_filters.DateFromToRangeFilter(
        label=_("Last activity"), widget=DateRangePickerWidget
    )
    sms_opt_in = django_filters.BooleanFilter(label=_("SMS opt-in"), widget=BooleanRadioSelect)
    segment = django_filters.ModelChoiceFilter(
        queryset=Segment.objects.all(), label=_("Segment"), method="filter_segment"
    )

    class Meta:
        model = Contact
        fields = []

    def filter_segment(self, queryset, name, value):
        """Contacts in the segment, through the segment's one compiled expression."""
        if value is None:
            return queryset
        try:
            return queryset.filter(value.compile())
        except InvalidRule:
            return queryset.none()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locales = (
            Contact.objects.exclude(locale="")
            .order_by("locale")
            .values_list("locale", flat=True)
            .distinct()[:100]
        )
        self.filters["locale"].extra["choices"] = [(code, code) for code in locales]
        tags = (
            Tag.objects.filter(wagtail_journeys_contacttag_items__isnull=False)
            .annotate(contacts=Count("wagtail_journeys_contacttag_items"))
            .order_by("-contacts", "name")[:TAG_FILTER_CHOICES]
        )
        self.filters["tag"].extra["choices"] = [(tag.name, tag.name) for tag in tags]


class AttributesField(forms.JSONField):
    """Contact attributes as JSON text. A refused value holding characters a page cannot
    carry (a lone surrogate, NUL) is shown again escaped, as it was typed (``\\ud800``)."""

    def prepare_value(self, value):
        text = super().prepare_value(value)
        if not isinstance(value, InvalidJSONInput) and text_problem(text):
            return json.dumps(value, ensure_ascii=True, cls=self.encoder)
        return text


class ContactForm(WagtailAdminModelForm):
    """Create/edit form: a normalised, unique email, an IANA timezone, and attributes that
    are a storable JSON object (``inputs``); text fields refuse NUL characters (Django's
    form fields do)."""

    class Meta:
        field_classes = {"attributes": AttributesField}

    def clean_email(self) -> str:
        try:
            email = normalize_email(self.cleaned_data["email"])
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
        others = Contact.objects.filter(email=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(
                _("Another contact already has the address %(email)s."),
                code="unique",
                params={"email": email},
            )
        if email != self.instance.email and is_suppressed(email):
            raise forms.ValidationError(
                _(
                    "This address was erased at its owner's request: it may not be added "
                    "again (SUPPRESS_ERASED)."
                ),
                code="erased",
            )
        return email

    def clean_attributes(self) -> dict:
        attributes = self.cleaned_data.get("attributes")
        if attributes in (None, ""):
            return {}
        if not isinstance(attributes, dict):
            raise forms.ValidationError(
                _('Attributes must be a JSON object, such as {"member_since": 2019}.'),
                code="invalid",
            )
        # JSON can spell NUL, lone surrogates and 1e400; the database cannot store them.
        problem = json_problem(attributes)
        if problem:
            raise forms.ValidationError(
                _("These attributes cannot be stored: the JSON %(problem)s."),
                code="invalid",
                params={"problem": problem},
            )
        return attributes

    def clean_timezone(self) -> str:
        return self.cleaned_data["timezone"].strip()


class _Chunked:
    """An export's contacts read 2,000 at a time with their tags (one query for each
    chunk's tags), for Wagtail's spreadsheet writers (they iterate and read ``model``)."""

    def __init__(self, queryset):
        self.queryset = queryset
        self.model = queryset.model

    def __iter__(self):
        return self.queryset.prefetch_related("tags").iterator(chunk_size=2000)


class ProfileTitleColumn(TitleColumn):
    """The listing's first column: a contact's name links to its profile (the inspect
    view), where Edit is one button away; Wagtail's default would open Edit."""

    def __init__(self, *args, view, **kwargs):
        super().__init__(*args, **kwargs)
        self.view = view

    def get_link_url(self, instance, parent_context):
        url = self.view.get_inspect_url(instance)
        return url or super().get_link_url(instance, parent_context)


class ContactIndexView(ContactDataExportMixin, generic.IndexView):
    """The listing. Its CSV and XLSX downloads (``?export=``) take contacts out of the
    admin, so they need ``export_contacts`` on top of seeing contacts; no cell of them
    runs as a formula in a spreadsheet."""

    @cached_property
    def header_buttons(self):
        buttons = super().header_buttons
        buttons.append(
            HeaderButton(
                _("Consent records"),
                url=reverse("journeys_consents:index"),
                icon_name="tick-inverse",
            )
        )
        if can_import_contacts(self.request.user):
            buttons.append(
                HeaderButton(
                    _("Import"),
                    url=reverse("journeys_imports:upload"),
                    icon_name="upload",
                    attrs={"data-journeys-import": ""},
                )
            )
        return buttons

    def get_filename(self) -> str:
        """``contacts-<segment slug, "filtered" or "all">-<today>``: what a downloads
        folder full of exports needs to tell them apart."""
        what = "all"
        segment_id = self.request.GET.get("segment", "")
        if segment_id.isdigit():
            segment = Segment.objects.filter(pk=segment_id).only("slug").first()
            what = segment.slug if segment else what
        if what == "all" and any(
            value
            for key, value in self.request.GET.items()
            if key not in ("export", "ordering", "p")
        ):
            what = "filtered"
        return f"contacts-{slugify(what) or 'segment'}-{timezone.localdate().isoformat()}"

    def as_spreadsheet(self, queryset, spreadsheet_format):
        return super().as_spreadsheet(_Chunked(queryset), spreadsheet_format)

    def to_row_dict(self, item):
        """Every column the import reads, by the same names: tags as ``a; b``, attributes
        as one JSON object (``journeys_import_contacts`` reads the file back)."""
        row = super().to_row_dict(item)
        row["tags"] = "; ".join(sorted(tag.name for tag in item.tags.all()))
        row["attributes"] = _json(item.attributes, indent=None) if item.attributes else ""
        return row

    def _get_title_column(self, field_name, column_class=ProfileTitleColumn, **kwargs):
        return super()._get_title_column(field_name, column_class, view=self, **kwargs)


class ContactInspectView(generic.InspectView):
    """A contact's profile: its fields, interests and consent, the segments it is in, its
    activity feed (events in words, newest first, raw properties on demand), its latest
    messages (status, opens, clicks, and why one was not sent) and its scenarios
    (enrolments and the latest step runs with their reasons). Every section that has
    nothing says so in one line."""

    template_name = "wagtail_journeys/contacts/inspect.html"

    @cached_property
    def header_buttons(self):
        """*Download data (JSON)*: the contact's data for a right of access, for those
        who may export contacts."""
        if not can_export_contacts(self.request.user):
            return []
        return [
            HeaderButton(
                _("Download data (JSON)"),
                url=reverse("journeys_contacts:data", args=[self.object.pk]),
                icon_name="download",
                attrs={"download": "", "data-journeys-contact-data": ""},
            )
        ]

    def get_attributes_display_value(self):
        if not self.object.attributes:
            return "-"
        return format_html("<pre>{}</pre>", _json(self.object.attributes))

    def get_last_activity_at_display_value(self):
        return self.object.last_activity_at or _("Never")

    def get_sms_opt_in_display_value(self):
        return _("Yes") if self.object.sms_opt_in else _("No")

    def get_timeline(self):
        """The activity feed: the newest ``TIMELINE_PAGE_SIZE`` events in words, older
        ones on the next pages; the pages they name are read in one query."""
        from wagtail.models import Page

        events = self.object.events.order_by("-occurred_at", "-id")
        page = Paginator(events, TIMELINE_PAGE_SIZE).get_page(self.request.GET.get("p"))
        ids = titles_needed(page.object_list)
        titles = dict(Page.objects.filter(pk__in=ids).values_list("pk", "title")) if ids else {}
        icons: dict[str, str] = {}
        page.rows = [feed_item(event, titles, icons) for event in page.object_list]
        return page

    def get_segments(self) -> list[Segment]:
        """The segments the contact is in now: one query for all of them (each segment's
        compiled rules as a ``CASE WHEN`` on this contact's row: rules compile to
        conditions on the contact's own row or ``EXISTS`` subqueries, never to joins that
        would repeat it). A segment whose rules no longer compile is left out."""
        checks = {}
        segments = list(Segment.objects.order_by("name")[:SEGMENT_ROWS])
        for segment in segments:
            try:
                q = segment.compile()
            except InvalidRule:
                continue
            # No rules: every contact (When() refuses an empty Q).
            checks[f"in_{segment.pk}"] = (
                Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField())
                if q
                else Value(True, output_field=BooleanField())
            )
        if not checks:
            return []
        row = Contact.objects.filter(pk=self.object.pk).values(**checks).first() or {}
        return [s for s in segments if row.get(f"in_{s.pk}")]

    def get_journeys(self) -> tuple[list, list]:
        """The contact's latest enrolments and steps, with the titles of their scenarios
        and steps (one query for all titles): why they got, or did not get, an email.
        Each start shows as an ``entered`` step of its scenario, made from the enrolment
        (the row that records it; an ``entered`` step run written before migration 0022
        is left out, not to show it twice), and an end recorded on the run of the step
        before it (``StepRun.ends``) as the scenario's own line after that run."""
        from wagtail.models import Page

        enrollments = list(self.object.enrollments.order_by("-started_at", "-id")[:JOURNEYS_ROWS])
        logged = (
            StepRun.objects.filter(contact_id=self.object.pk)
            .exclude(step_id__isnull=True, outcome="entered")
            .order_by("-ran_at", "-id")[:JOURNEYS_ROWS]
        )
        entered = [
            StepRun(
                enrollment_id=e.pk,
                contact_id=e.contact_id,
                scenario_id=e.scenario_id,
                step_id=None,
                outcome="entered",
                ran_at=e.started_at,
            )
            for e in enrollments
        ]
        ended = [_end_of(r) for r in logged if r.ends]
        # Latest first; at the same time, a start, then the steps, each step's end after it.
        runs = sorted([*logged, *entered, *ended], key=_timeline_order, reverse=True)
        runs = runs[:JOURNEYS_ROWS]
        ids = {e.scenario_id for e in enrollments} | {e.step_id for e in enrollments}
        ids |= {r.scenario_id for r in runs} | {r.step_id for r in runs}
        titles = dict(Page.objects.filter(pk__in=ids - {None}).values_list("pk", "title"))
        for row in [*enrollments, *runs]:
            row.scenario_title = titles.get(row.scenario_id, _("(deleted)"))
            row.step_title = titles.get(row.step_id, "-") if row.step_id else "-"
        return enrollments, runs

    def get_messages(self) -> list:
        """The contact's latest messages, with their emails' titles (one query)."""
        from .messages import titles_of

        rows = list(self.object.messages.order_by("-created_at", "-id")[:MESSAGE_ROWS])
        titles_of(rows)
        return rows

    def get_consent(self) -> tuple[list, list]:
        """The contact's latest consent records, and each subscription topic with
        whether the contact gets it (its own choice, or the topic's default)."""
        from ..models import Topic
        from ..topics import choices_of

        records = list(self.object.consents.order_by("-recorded_at", "-id")[:CONSENT_ROWS])
        topics = list(Topic.objects.all())
        chosen = choices_of(self.object, topics)
        own = set(self.object.topic_choices.values_list("topic_id", flat=True))
        return records, [(t, chosen[t.pk], t.pk in own) for t in topics]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["consents"], context["topic_choices"] = self.get_consent()
        context["consents_url"] = (
            f"{reverse('journeys_consents:index')}?{urlencode({'q': self.object.email})}"
        )
        context["journeys_messages"] = self.get_messages()
        context["segments"] = self.get_segments()
        context["enrollments"], context["step_runs"] = self.get_journeys()
        timeline = self.get_timeline()
        context["timeline"] = timeline
        context["elided_page_range"] = timeline.paginator.get_elided_page_range(timeline.number)
        return context


class ConsentKeepingMixin:
    """For the create and edit views: a saved change of the email status or the SMS
    opt-in is kept as a consent record (source ``admin``, with the user who made it), in
    the transaction that saved the contact."""

    creating = False

    def save_instance(self):
        from ..consent import record_changes

        with transaction.atomic():
            instance = super().save_instance()
            changed = {
                name: None if self.creating else self.form.initial.get(name)
                for name in ("email_status", "sms_opt_in")
                if name in self.form.changed_data or (self.creating and name == "email_status")
            }
            record_changes(
                instance,
                changed,
                source=ConsentSource.ADMIN,
                details={"user": self.request.user.pk},
            )
        return instance


class ContactCreateView(ConsentKeepingMixin, generic.CreateView):
    creating = True


class ContactEditView(ConsentKeepingMixin, generic.EditView):
    pass


class ContactViewSet(ModelViewSet):
    """The "Contacts" admin menu: list, search, filter, add, edit, inspect, delete."""

    model = Contact
    icon = "user"
    menu_label = _("Contacts")
    add_to_admin_menu = True
    menu_order = 250
    filterset_class = ContactFilterSet
    index_view_class = ContactIndexView
    add_view_class = ContactCreateView
    edit_view_class = ContactEditView
    search_fields = ["email", "first_name", "last_name"]
    list_display = [
        "email",
        Column("full_name", label=_("Name")),
        Column("get_email_status_display", label=_("Email status")),
        DateColumn("created_at", label=_("Created")),
        DateColumn("last_activity_at", label=_("Last activity")),
    ]
    #: Named as the import's columns (``contact_rows.COLUMNS``), so an export reads back.
    list_export = [
        "email",
        *CONTACT_FIELDS,
        "tags",
        "attributes",
        "created_at",
        "updated_at",
        "last_activity_at",
    ]
    export_headings = {name: name for name in list_export}
    inspect_view_enabled = True
    inspect_view_class = ContactInspectView
    delete_view_class = ContactDeleteView
    inspect_view_fields = [
        "email",
        "first_name",
        "last_name",
        "civility",
        "birth_date",
        "phone",
        "locale",
        "timezone",
        "tags",
        "email_status",
        "sms_opt_in",
        "attributes",
        "created_at",
        "last_activity_at",
    ]
    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [FieldPanel("email"), FieldPanel("email_status"), FieldPanel("sms_opt_in")],
                heading=_("Address and consent"),
            ),
            MultiFieldPanel(
                [
                    FieldRowPanel([FieldPanel("civility"), FieldPanel("birth_date")]),
                    FieldRowPanel([FieldPanel("first_name"), FieldPanel("last_name")]),
                    FieldPanel("phone"),
                ],
                heading=_("Person"),
            ),
            FieldRowPanel([FieldPanel("locale"), FieldPanel("timezone")]),
            FieldPanel("tags"),
            FieldPanel("attributes", help_text=_('A JSON object, such as {"member_since": 2019}.')),
        ],
        base_form_class=ContactForm,
    )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("data/<int:pk>/", contact_data_view, name="data"),
        ]
