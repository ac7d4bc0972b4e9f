"""Who may see contacts: the permission matrix of ``docs/reference/permissions.md`` in one
place, asked by every view, preview, form and live sample that could show a contact.

Seeing a contact on screen needs *Can view contact* (or *Can change contact*, which shows
everything the view does). Taking contact data out of the admin needs a right of its own
on top: a file (*Can export contacts*), a test email personalised for a real contact
(*Can send tests personalised with real contact data*).
"""

from __future__ import annotations

from typing import Any

from wagtail.permission_policies import ModelPermissionPolicy

VIEW_CONTACT = "wagtail_journeys.view_contact"
CHANGE_CONTACT = "wagtail_journeys.change_contact"
EXPORT_CONTACTS = "wagtail_journeys.export_contacts"
IMPORT_CONTACTS = "wagtail_journeys.import_contacts"
SEND_TEST_AS_CONTACT = "wagtail_journeys.send_test_as_contact"


def can_see_contacts(user: Any) -> bool:
    """May ``user`` see contacts' data (addresses, names, attributes, timelines)?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.has_perm(VIEW_CONTACT) or user.has_perm(CHANGE_CONTACT)


def can_export_contacts(user: Any) -> bool:
    """May ``user`` download the contacts listing as CSV or XLSX?"""
    return can_see_contacts(user) and user.has_perm(EXPORT_CONTACTS)


def can_import_contacts(user: Any) -> bool:
    """May ``user`` import contacts from a CSV file in the admin (creating and updating
    contacts, and reading the rejected rows back)?"""
    return can_see_contacts(user) and user.has_perm(IMPORT_CONTACTS)


def can_send_test_as_contact(user: Any) -> bool:
    """May ``user`` mail themselves a test personalised with real contact data?"""
    return can_see_contacts(user) and user.has_perm(SEND_TEST_AS_CONTACT)


class ContactPermissionPolicy(ModelPermissionPolicy):
    """The model permissions on ``Contact``, where adding and deleting also need seeing
    contacts: Wagtail opens the listing, the inspect page and the copy form (prefilled
    with a contact) to any holder of add or delete, and those show contacts."""

    def user_has_permission(self, user, action):
        if action in ("add", "delete") and not can_see_contacts(user):
            return False
        return super().user_has_permission(user, action)
