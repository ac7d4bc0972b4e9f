"""Admin view behind the page editor's "Send test" action."""

from __future__ import annotations

import re
import smtplib

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from wagtail.admin.action_menu import ActionMenuItem

from ..delivery import send_test
from ..emails.preview import choose_sample
from ..emails.render import held_reason
from ..exceptions import EmailNotReady
from ..models import Contact, EmailPage
from ..permissions import can_see_contacts, can_send_test_as_contact

#: The most addresses one test send goes to: enough for a team, too few for a mailing.
MAX_TEST_RECIPIENTS = 10
SEPARATORS = re.compile(r"[\s,;]+")


class RecipientsField(forms.CharField):
    """Email addresses separated by commas, semicolons or new lines: each checked, the
    same address once, at most ``MAX_TEST_RECIPIENTS``. Cleans to a list (maybe empty)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def clean(self, value):
        value = super().clean(value)
        addresses: list[str] = []
        for address in SEPARATORS.split(value or ""):
            if address and address.lower() not in {a.lower() for a in addresses}:
                addresses.append(address)
        invalid = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                invalid.append(address)
        if invalid:
            raise ValidationError(
                ngettext(
                    "This is not an email address: %(addresses)s.",
                    "These are not email addresses: %(addresses)s.",
                    len(invalid),
                )
                % {"addresses": ", ".join(invalid)},
                code="invalid",
            )
        if len(addresses) > MAX_TEST_RECIPIENTS:
            raise ValidationError(
                _("A test goes to at most %(max)d addresses at once (%(count)d given).")
                % {"max": MAX_TEST_RECIPIENTS, "count": len(addresses)},
                code="max",
            )
        return addresses


class SendTestForm(forms.Form):
    """Where the test goes and whom to personalise it for. The contact field exists only
    for users who may send tests personalised for a real contact, so its "no such
    contact" error never answers anyone else."""

    to = RecipientsField(label=gettext_lazy("Send to"), required=False)
    contact = forms.EmailField(
        label=gettext_lazy("Personalise for the contact"),
        required=False,
        help_text=gettext_lazy("A contact's email address; empty: a made-up sample contact."),
    )

    def __init__(self, *args, personalise: bool, own_address: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.own_address = own_address
        self.fields["to"].help_text = _(
            "Email addresses, separated by commas or new lines (at most %(max)d). "
            "Empty: your own address."
        ) % {"max": MAX_TEST_RECIPIENTS}
        if not personalise:
            del self.fields["contact"]

    def clean_contact(self):
        email = self.cleaned_data["contact"].strip().lower()
        if email and not Contact.objects.filter(email=email).exists():
            raise forms.ValidationError(_("No contact has this email address."))
        return email

    def clean(self):
        cleaned_data = super().clean()
        to = cleaned_data.get("to")
        if to == [] and self.own_address:
            cleaned_data["to"] = to = [self.own_address]
        elif to == []:
            self.add_error("to", _("Your account has no email address: enter one."))
        own = self.own_address.lower()
        if to and cleaned_data.get("contact") and any(a.lower() != own for a in to):
            # A real contact's data leaves the admin only towards its own user.
            self.add_error(
                "to", _("A test personalised for a real contact goes to your own address only.")
            )
        return cleaned_data


def send_test_view(request, page_id: int):
    """Send the latest draft to a few addresses (the editor's own by default), personalised
    for a real contact (with ``send_test_as_contact``, to the editor only) or for the
    made-up sample contact. Users who may see contacts are told which addresses are not
    contacts; others learn nothing about who is one."""
    page = get_object_or_404(EmailPage, pk=page_id)
    if not page.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    personalise = can_send_test_as_contact(request.user)
    initial = {"to": request.user.email}
    if personalise:
        initial["contact"] = page.preview_contact
    form = SendTestForm(
        request.POST if request.method == "POST" else None,
        personalise=personalise,
        own_address=request.user.email,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        recipients = form.cleaned_data["to"]
        revision = page.get_latest_revision()
        draft = revision.as_object() if revision else page
        sample = choose_sample(form.cleaned_data.get("contact"), allowed=personalise)
        try:
            missing = send_test(
                draft, sample.contact, to=recipients, revision_id=revision and revision.pk
            )
        except EmailNotReady as exc:
            messages.error(request, str(exc))
        except (smtplib.SMTPException, OSError) as exc:
            messages.error(request, _("The test could not be sent: %(error)s") % {"error": exc})
        else:
            messages.success(
                request, _("Test email sent to %(email)s.") % {"email": ", ".join(recipients)}
            )
            strangers = not_contacts(recipients) if can_see_contacts(request.user) else []
            if strangers:
                messages.info(
                    request,
                    ngettext(
                        "%(addresses)s is not a contact.",
                        "%(addresses)s are not contacts.",
                        len(strangers),
                    )
                    % {"addresses": ", ".join(strangers)},
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


def not_contacts(addresses: list[str]) -> list[str]:
    """The addresses no contact has (one query; addresses compare case-insensitively)."""
    known = {
        email.lower()
        for email in Contact.objects.filter(
            email__in=[a.lower() for a in addresses] + list(addresses)
        ).values_list("email", flat=True)
    }
    return [a for a in addresses if a.lower() not in known]


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
