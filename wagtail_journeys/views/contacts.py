"""Contacts in the Wagtail admin (placeholder; filled in by the admin work)."""

from wagtail.admin.viewsets.model import ModelViewSet

from ..models import Contact
from .segments import ContactFilterSet


class ContactViewSet(ModelViewSet):
    model = Contact
    icon = "user"
    menu_label = "Contacts"
    add_to_admin_menu = True
    menu_order = 250
    list_display = ["email", "full_name", "email_status", "created_at", "last_activity_at"]
    # Segment filter (issue 3): ContactFilterSet = email_status, civility + "in segment".
    filterset_class = ContactFilterSet
    search_fields = ["email", "first_name", "last_name"]
    form_fields = [
        "email",
        "first_name",
        "last_name",
        "civility",
        "birth_date",
        "phone",
        "locale",
        "timezone",
        "email_status",
        "sms_opt_in",
        "attributes",
        "tags",
    ]
    inspect_view_enabled = True
