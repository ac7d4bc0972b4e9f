"""Consent records in the admin: the proof of every consent and withdrawal, listed,
filtered, and downloaded as CSV or XLSX (Wagtail's ``list_export``).

A read-only ``ModelViewSet``. A record names a contact, so seeing the listing needs the
contact view permission and downloading it ``export_contacts`` as well
(``docs/reference/permissions.md``), as for the contacts listing.
"""

from __future__ import annotations

import json

import django_filters
from django import forms
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy

from ..models import ConsentAction, ConsentChannel, ConsentRecord, ConsentSource
from ..permissions import can_see_contacts
from .exports import ContactDataExportMixin


class ConsentRecordPermissionPolicy(ModelPermissionPolicy):
    """Seeing consent records is seeing contacts; nobody adds, changes or deletes one
    (they are the proof, append-only)."""

    def user_has_permission(self, user, action):
        return action == "view" and can_see_contacts(user)


class ConsentRecordFilterSet(WagtailFilterSet):
    channel = django_filters.MultipleChoiceFilter(
        label=_("Channel"), choices=ConsentChannel.choices, widget=forms.CheckboxSelectMultiple
    )
    action = django_filters.MultipleChoiceFilter(
        label=_("Action"), choices=ConsentAction.choices, widget=forms.CheckboxSelectMultiple
    )
    source = django_filters.MultipleChoiceFilter(
        label=_("Source"), choices=ConsentSource.choices, widget=forms.CheckboxSelectMultiple
    )
    recorded_at = django_filters.DateFromToRangeFilter(
        label=_("Recorded"), widget=DateRangePickerWidget
    )

    class Meta:
        model = ConsentRecord
        fields = []


def topic_label(record: ConsentRecord) -> str:
    """The topic a record is about, or what no topic means."""
    return record.topic_name or str(_("All marketing"))


def _contact_cell(record: ConsentRecord):
    url = reverse("journeys_contacts:inspect", args=[record.contact_id])
    return format_html('<a href="{}">{}</a>', url, record.contact.email)


class ConsentRecordIndexView(ContactDataExportMixin, generic.IndexView):
    """The listing, newest first; searching an address finds that contact's records.
    Downloads need ``export_contacts``."""

    default_ordering = "-recorded_at"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("contact")

    def search_queryset(self, queryset):
        query = self.search_query.strip() if self.is_searching else ""
        if query and "@" in query and " " not in query:
            return queryset.filter(contact__email=query.lower())
        if query:
            return queryset.filter(
                Q(contact__email__icontains=query)
                | Q(topic_name__icontains=query)
                | Q(wording__icontains=query)
            )
        return queryset

    def get_filename(self) -> str:
        return f"consent-records-{timezone.localdate().isoformat()}"

    def to_row_dict(self, item):
        row = super().to_row_dict(item)
        row["details"] = json.dumps(item.details, ensure_ascii=False, sort_keys=True)
        return row


class ConsentRecordViewSet(ModelViewSet):
    """Consent records: list, search, filter and download; read only."""

    model = ConsentRecord
    icon = "tick-inverse"
    menu_label = _("Consent records")
    add_to_admin_menu = False  # reached from the contacts listing and each profile
    filterset_class = ConsentRecordFilterSet
    index_view_class = ConsentRecordIndexView
    search_fields = ["topic_name", "wording"]
    list_display = [
        Column("contact", label=_("Contact"), accessor=_contact_cell),
        Column("get_channel_display", label=_("Channel")),
        Column("get_action_display", label=_("Action")),
        Column("topic", label=_("Topic"), accessor=topic_label),
        Column("get_source_display", label=_("Source")),
        Column("wording", label=_("Wording shown")),
        DateColumn("recorded_at", label=_("Recorded"), sort_key="recorded_at"),
    ]
    list_export = [
        "contact.email",
        "channel",
        "action",
        "topic_name",
        "source",
        "wording",
        "details",
        "recorded_at",
    ]
    export_headings = {
        "contact.email": "email",
        "channel": "channel",
        "action": "action",
        "topic_name": "topic",
        "source": "source",
        "wording": "wording",
        "details": "details",
        "recorded_at": "recorded_at",
    }
    copy_view_enabled = False
    inspect_view_enabled = False

    def get_urlpatterns(self):
        """The listing only: nothing to add, edit or delete."""
        from django.urls import path

        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
        ]

    def get_permissions_to_register(self):
        """None: who sees consent records is who sees contacts."""
        return Permission.objects.none()
