"""Admin view behind the page editor's "Send test" action."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.action_menu import ActionMenuItem

from ..delivery import send_test
from ..emails.preview import choose_sample
from ..emails.render import held_reason
from ..exceptions import EmailNotReady
from ..models import Contact, EmailPage
from ..permissions import can_send_test_as_contact


class SendTestForm(forms.Form):
    """Whom to personalise the test for. The contact field exists only for users who may
    send tests personalised for a real contact, so its "no such contact" error never
    answers anyone else."""

    contact = forms.EmailField(
        label=gettext_lazy("Personalise for the contact"),
        required=False,
        help_text=gettext_lazy("A contact's email address; empty: a made-up sample contact."),
    )

    def __init__(self, *args, personalise: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not personalise:
            del self.fields["contact"]

    def clean_contact(self):
        email = self.cleaned_data["contact"].strip().lower()
        if email and not Contact.objects.filter(email=email).exists():
            raise forms.ValidationError(_("No contact has this email address."))
        return email


def send_test_view(request, page_id: int):
    """Send the latest draft to the editor's own address, personalised for a real contact
    (with ``send_test_as_contact``) or for the made-up sample contact."""
    page = get_object_or_404(EmailPage, pk=page_id)
    if not page.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    personalise = can_send_test_as_contact(request.user)
    form = SendTestForm(
        request.POST if request.method == "POST" else None,
        personalise=personalise,
        initial={"contact": page.preview_contact} if personalise else {},
    )
    if request.method == "POST" and form.is_valid():
        if not request.user.email:
            messages.error(request, _("Your account has no email address to send the test to."))
        else:
            revision = page.get_latest_revision()
            draft = revision.as_object() if revision else page
            sample = choose_sample(form.cleaned_data.get("contact"), allowed=personalise)
            try:
                missing = send_test(
                    draft,
                    sample.contact,
                    to=request.user.email,
                    revision_id=revision and revision.pk,
                )
            except EmailNotReady as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request, _("Test email sent to %(email)s.") % {"email": request.user.email}
                )
                if missing:
                    messages.warning(
                        request,
                        _("For this contact a real send would be held, not mailed: %(why)s.")
                        % {"why": held_reason(missing)},
                    )
                return redirect("wagtailadmin_pages:edit", page.pk)
    return TemplateResponse(
        request,
        "wagtail_journeys/emails/send_test.html",
        {
            "page": page,
            "form": form,
            "user_email": request.user.email,
            "personalise": personalise,
        },
    )


class SendTestMenuItem(ActionMenuItem):
    """ "Send test" in the editor's action menu of an email page."""

    label = gettext_lazy("Send test")
    name = "action-send-test"
    icon_name = "mail"
    order = 60

    def is_shown(self, context):
        page = context.get("page")
        return context["view"] == "edit" and isinstance(getattr(page, "specific", None), EmailPage)

    def get_url(self, context):
        return reverse("wagtail_journeys_send_test", args=[context["page"].pk])
