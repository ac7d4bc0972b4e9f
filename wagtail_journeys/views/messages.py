"""Messages in the Wagtail admin: every email sent (or refused) to a contact, filtered by
its fate and its date, and each one as it was sent (HTML, text, headers).

A read-only ``ModelViewSet``: no adding, editing or deleting. A message names a contact,
so its screens need the contact view permission (``MessagePermissionPolicy``,
``docs/reference/permissions.md``). The titles of emails, scenarios and steps are read
with one query per page of the listing, never one per row. A message's HTML is not
stored: ``delivery.compose_again`` builds it again from what the message recorded.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

import django_filters
from django import forms
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import BooleanRadioSelect
from wagtail.permission_policies import ModelPermissionPolicy

from ..delivery import compose_again
from ..emails import links
from ..emails.render import compiled_for, link_target
from ..models import EmailPage, Message, MessageStatus, ScenarioPage
from ..models.messages import BounceType
from ..permissions import can_see_contacts

#: A 1×1 transparent GIF: what the preview shows instead of the open pixel.
BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


class MessagePermissionPolicy(ModelPermissionPolicy):
    """Seeing messages is seeing contacts (``permissions.can_see_contacts``); nobody
    adds, changes or deletes a message in the admin."""

    def user_has_permission(self, user, action):
        return action == "view" and can_see_contacts(user)


def titles_of(rows: list[Message]) -> None:
    """Give each message its email's, scenario's and step's titles (``email_title``,
    ``scenario_title``, ``step_title``): one query for all of them."""
    from wagtail.models import Page

    ids = {i for m in rows for i in (m.email_page_id, m.scenario_id, m.step_id) if i}
    titles = dict(Page.objects.filter(pk__in=ids).values_list("pk", "title")) if ids else {}
    for message in rows:
        message.email_title = titles.get(message.email_page_id, "-")
        message.scenario_title = titles.get(message.scenario_id, "-")
        message.step_title = titles.get(message.step_id, "-")


def _happened(label):
    """A "has it happened?" filter on one of the message's times."""
    return django_filters.BooleanFilter(
        label=label, method="filter_happened", widget=BooleanRadioSelect
    )


class MessageFilterSet(WagtailFilterSet):
    """Status, email, scenario, every fate (yes/no), and when it was created or sent."""

    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=MessageStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    email_page = django_filters.ModelChoiceFilter(
        label=_("Email"), queryset=EmailPage.objects.order_by("title")
    )
    scenario = django_filters.ModelChoiceFilter(
        label=_("Scenario"),
        queryset=ScenarioPage.objects.order_by("title"),
        method="filter_scenario",
    )
    created_at = django_filters.DateFromToRangeFilter(label=_("Date"), widget=DateRangePickerWidget)
    sent_at = django_filters.DateFromToRangeFilter(label=_("Sent"), widget=DateRangePickerWidget)
    bounce_type = django_filters.ChoiceFilter(
        label=_("Bounce"), choices=BounceType.choices, empty_label=_("All")
    )
    delivered_at = _happened(_("Delivered"))
    opened_at = _happened(_("Opened"))
    clicked_at = _happened(_("Clicked"))
    bounced_at = _happened(_("Bounced"))
    complained_at = _happened(_("Complained"))
    unsubscribed_at = _happened(_("Unsubscribed"))

    class Meta:
        model = Message
        fields = []

    def filter_scenario(self, queryset, name, value):
        return queryset if value is None else queryset.filter(scenario_id=value.pk)

    def filter_happened(self, queryset, name, value):
        """Yes: the time ``name`` is set (it happened); no: it is not."""
        if value is None:
            return queryset
        return queryset.filter(**{f"{name}__isnull": not value})


def _contact_cell(message: Message):
    url = reverse("journeys_contacts:inspect", args=[message.contact_id])
    return format_html('<a href="{}">{}</a>', url, message.recipient or message.contact.email)


def _status_cell(message: Message):
    """The status; for a failed or deferred message, why, below it (in the user's
    language, ``reasons.display``)."""
    if message.status not in (MessageStatus.FAILED, MessageStatus.DEFERRED) or not message.error:
        return message.get_status_display()
    return format_html(
        '{}<br><small class="journeys-message-reason">{}</small>',
        message.get_status_display(),
        message.get_error_display(),
    )


def _count(count: str):
    """An open or click cell: the human count, machines' apart ("2 (+1 machine)"), or "-"
    when none happened."""
    machine = f"machine_{count}"

    def cell(message: Message) -> str:
        humans, machines = getattr(message, count), getattr(message, machine)
        if not humans and not machines:
            return "-"
        if not machines:
            return str(humans)
        return _("%(humans)s (+%(machines)s machine)") % {"humans": humans, "machines": machines}

    return cell


class MessageIndexView(generic.IndexView):
    """The listing, newest first; an address search looks the contact up (indexed),
    other text is matched in subjects and addresses."""

    default_ordering = "-created_at"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("contact")

    def search_queryset(self, queryset):
        query = self.search_query.strip() if self.is_searching else ""
        if query and "@" in query and " " not in query:
            return queryset.filter(Q(contact__email=query.lower()) | Q(recipient=query.lower()))
        return super().search_queryset(queryset)

    def paginate_queryset(self, queryset, page_size):
        paginator, page, rows, is_paginated = super().paginate_queryset(queryset, page_size)
        rows = list(rows)
        titles_of(rows)
        return paginator, page, rows, is_paginated


class MessageInspectView(generic.InspectView):
    """One message: its fields and fate, then the mail as it was sent (a preview in a
    sandboxed frame, its HTML source, its text and headers), built again from what the
    message recorded."""

    template_name = "wagtail_journeys/messages/inspect.html"

    def get_object(self, queryset=None):
        message = super().get_object(queryset)
        titles_of([message])
        return message

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["as_sent"] = as_sent(self.object)
        context["contact_url"] = reverse("journeys_contacts:inspect", args=[self.object.contact_id])
        return context


def as_sent(message: Message) -> dict[str, Any]:
    """What the inspect page shows of the mail: its headers, text, HTML source, and a
    preview of the HTML whose tracking URLs are made inert (viewing it records no open,
    following a link records no click and unsubscribes nobody). ``error`` says why it
    cannot be built."""
    try:
        mail = compose_again(message)
    except LookupError as exc:
        return {"error": str(exc)}
    html = mail.alternatives[0].content if mail.alternatives else ""
    headers = [
        ("Subject", mail.subject),
        ("From", mail.from_email),
        ("To", ", ".join(mail.to)),
        *mail.extra_headers.items(),
    ]
    return {
        "headers": headers,
        "text": mail.body,
        "html": html,
        "preview": inert(message, html),
    }


def inert(message: Message, html: str) -> str:
    """``html`` with its open pixel blanked, its tracked links pointing straight at their
    targets and its unsubscribe links dead."""
    root = re.escape(links.prefix())
    compiled = None

    def target(match: re.Match) -> str:
        nonlocal compiled
        found = links.unsign(match[1])
        if found is None or message.email_page is None:
            return "#"
        if compiled is None:
            compiled = compiled_for(
                message.email_page, tuple(message.variant), revision_id=message.revision_id
            )
        url = link_target(compiled, found[1], message.contact, message.context) or ""
        return escape(url) if url.startswith(("http://", "https://")) else "#"

    html = re.sub(rf"{root}o/[A-Za-z0-9_-]+\.gif", BLANK_GIF, html)
    html = re.sub(rf"{root}u/[A-Za-z0-9_-]+", "#", html)
    return re.sub(rf"{root}c/([A-Za-z0-9_-]+)", target, html)


class MessageViewSet(ModelViewSet):
    """The "Messages" admin menu: list, search, filter and inspect; read only."""

    model = Message
    icon = "mail"
    menu_label = _("Messages")
    add_to_admin_menu = True
    menu_order = 260
    filterset_class = MessageFilterSet
    index_view_class = MessageIndexView
    inspect_view_enabled = True
    inspect_view_class = MessageInspectView
    search_fields = ["recipient", "subject"]
    list_display = [
        "subject",
        Column("contact", label=_("Contact"), accessor=_contact_cell),
        Column("email_title", label=_("Email")),
        Column("scenario_title", label=_("Scenario")),
        Column("step_title", label=_("Step")),
        Column("status", label=_("Status"), accessor=_status_cell),
        DateColumn("sent_at", label=_("Sent"), sort_key="sent_at"),
        DateColumn("delivered_at", label=_("Delivered")),
        Column("opens", label=_("Opened"), accessor=_count("open_count")),
        Column("clicks", label=_("Clicked"), accessor=_count("click_count")),
        DateColumn("bounced_at", label=_("Bounced")),
        DateColumn("complained_at", label=_("Complained")),
        DateColumn("unsubscribed_at", label=_("Unsubscribed")),
    ]
    inspect_view_fields = [
        "subject",
        "status",
        "recipient",
        "message_id",
        "esp_message_id",
        "created_at",
        "sent_at",
        "delivered_at",
        "opened_at",
        "open_count",
        "machine_open_count",
        "clicked_at",
        "click_count",
        "machine_click_count",
        "bounced_at",
        "bounce_type",
        "complained_at",
        "unsubscribed_at",
        "attempts",
        "next_attempt_at",
        "error",
    ]

    copy_view_enabled = False

    def get_urlpatterns(self):
        """The listing and each message: nothing to add, edit or delete."""
        from django.urls import path

        conv = self.pk_path_converter
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path(f"inspect/<{conv}:pk>/", self.inspect_view, name="inspect"),
        ]

    def get_permissions_to_register(self):
        """None: who sees messages is who sees contacts (``MessagePermissionPolicy``)."""
        return Permission.objects.none()
