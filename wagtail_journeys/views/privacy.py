"""A contact's rights in the admin: *Download data (JSON)* on its profile (access), and
its *Delete* as an erasure (``privacy.erase_contact``), with a confirmation page that
says what will happen."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.actions import DeleteAction
from wagtail.admin.views import generic

from .. import conf
from ..models import Contact
from ..permissions import can_export_contacts
from ..privacy import erase_contact, export_contact_json


def contact_data_view(request, pk):
    """The contact's data as a JSON download: needs *Can export contacts* and seeing
    contacts, like the listing's exports (403 otherwise)."""
    if not can_export_contacts(request.user):
        raise PermissionDenied
    contact = get_object_or_404(Contact, pk=pk)
    body = "".join(export_contact_json(contact))
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}-{stamp}.json"'
    return response


class EraseContactAction(DeleteAction):
    """Wagtail's delete action for ``Contact`` (registered in ``wagtail_hooks``): every
    admin path that deletes a contact erases it."""

    def _delete(self):
        return erase_contact(self.instance, by=self.user)


class ContactDeleteView(generic.DeleteView):
    """The contact's *Delete*: an erasure, and the page says what it does first."""

    template_name = "wagtail_journeys/contacts/confirm_erase.html"
    page_title = _("Erase")
    success_message = _(
        "Contact erased: its data is deleted everywhere; reports keep their totals."
    )

    def get_success_message(self):
        return str(self.success_message)  # never the erased person's name

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contact = self.object
        context["counts"] = {
            "events": contact.events.count(),
            "messages": contact.messages.count(),
            "enrollments": contact.enrollments.count(),
            "visitors": contact.visitors.count(),
        }
        context["suppress_erased"] = conf.get("SUPPRESS_ERASED")
        return context
