"""Wagtail form pages (``wagtail.contrib.forms``) identify the people who submit them.

A form post proves nothing about who sends it: anyone can type anyone's address. So a
submission with an email field

- creates the contact when the address is new (from the post's names), and ties the
  submitting browser to it: there was nothing to take over. With ``DOUBLE_OPT_IN`` on,
  the new contact is ``pending`` instead, the browser is not tied, and the contact is
  mailed a confirmation link (``confirmation``): only the browser that follows it is
  tied, and only then may marketing mail go out;
- updates the contact's names only when the browser is already tied to that contact
  (its signed visitor cookie names it, from an earlier signup or a followed email link);
- otherwise leaves the existing contact exactly as it was and does not tie the browser
  (with double opt-in, a contact still ``pending`` is sent its confirmation link again,
  at most once per ``CONFIRMATION_RESEND_MINUTES``).

``form_submitted`` is recorded in every case, with the form's page, for the contact the
post names (a returning subscriber's signup from a new browser counts) and with
``verified`` saying whether the browser was shown to be that contact's; an unverified
event carries no visitor id, so nothing links the poster's browser to that contact.

It works for every form page without subclassing: a ``post_save`` receiver on form
submissions, with the request of the page being served kept in a context variable by
``on_serve_page``.
"""

from __future__ import annotations

import contextvars
import logging

from django.db import transaction
from django.db.models.signals import post_save

from .. import conf, confirmation
from ..consent import record_consent
from ..contacts import get_or_create_contact, upsert_contact
from ..events import record_event
from ..exceptions import InvalidInput
from ..inputs import text_problem
from ..models import ConsentAction, ConsentSource, Contact, EmailStatus, EventSource
from . import visitor as visitors

logger = logging.getLogger(__name__)

current_request: contextvars.ContextVar = contextvars.ContextVar(
    "wagtail_journeys_request", default=None
)

#: Form field clean names copied onto the contact when present.
NAME_FIELDS = {
    "first_name": "first_name",
    "firstname": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "phone": "phone",
}


def keep_request(next_serve):
    """``on_serve_page``: expose the request to the submission receiver while serving."""

    def serve(page, request, args, kwargs):
        token = current_request.set(request)
        try:
            return next_serve(page, request, args, kwargs)
        finally:
            current_request.reset(token)

    return serve


def email_field_name(page) -> str | None:
    """The clean name of the form's email field: the configured one, else the first email."""
    configured = conf.get("FORM_EMAIL_FIELD")
    fields = list(page.get_form_fields())
    for field in fields:
        if configured and field.clean_name == configured:
            return field.clean_name
    for field in fields:
        if field.field_type == "email":
            return field.clean_name
    return None


def contact_fields(data: dict, submission_id) -> dict[str, str]:
    """The contact fields a submission's data holds (``NAME_FIELDS``), trimmed. A value
    the contact cannot hold (too long, a NUL) is left out and logged: the rest of the
    submission still counts."""
    fields = {}
    for name, target in NAME_FIELDS.items():
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        limit = Contact._meta.get_field(target).max_length
        problem = text_problem(value) or (
            f"is longer than {limit} characters" if len(value) > limit else None
        )
        if problem:
            logger.warning("Form submission %s: %s %s; not stored.", submission_id, name, problem)
            continue
        fields[target] = value
    return fields


def claim(
    email: str, fields: dict, visitor: visitors.VisitorId | None, *, pending: bool = False
) -> tuple[Contact, bool]:
    """The contact a post names, and whether the post may act for it (``verified``).

    A new address creates the contact from ``fields`` (``pending``, and then not
    verified, with double opt-in); the contact the browser's signed cookie names takes
    ``fields``; any other existing contact is returned untouched. Raises
    ``InvalidInput`` when the address cannot be a contact's.
    """
    status = {"email_status": EmailStatus.PENDING} if pending else {}
    try:
        contact, created = get_or_create_contact(email, {**fields, **status})
    except InvalidInput as exc:
        if exc.field == "email" or not fields:
            raise
        logger.warning("Form submission's contact fields not stored: %s", exc)
        contact, created = get_or_create_contact(email, status)
    if created:
        contact.journeys_created = True  # the post made it: its consent is recorded
        return contact, not pending
    if visitor is not None and visitor.contact_id == contact.pk:
        contact, _ = upsert_contact(contact.email, fields)
        return contact, True
    return contact, False


def consent_wording(page, data: dict) -> str:
    """What the person agreed to, as the form put it: the labels (and help texts) of its
    checkbox fields ticked in this submission; empty when it has none."""
    said = []
    for field in page.get_form_fields():
        if field.field_type == "checkbox" and data.get(field.clean_name) is True:
            said.append(" ".join(p for p in (field.label, field.help_text or "") if p))
    return "\n".join(said)


def on_submission(sender, instance, created, raw=False, **kwargs) -> None:
    """``post_save`` of a form submission: create or update the contact it may act for,
    tie the browser when it may, record ``form_submitted``. Never fails the form post."""
    if not created or raw:
        return
    try:
        _record_submission(instance)
    except Exception:
        # The submission itself is saved by Wagtail; tracking it must never break the page.
        logger.exception("wagtail-journeys could not record form submission %s", instance.pk)


def _record_submission(instance) -> None:
    page = instance.page.specific
    field = email_field_name(page)
    data = instance.get_data() if hasattr(instance, "get_data") else instance.form_data
    email = data.get(field) if field else None
    request = current_request.get()
    double_opt_in = conf.get("DOUBLE_OPT_IN")
    with transaction.atomic():
        contact, verified = None, False
        if isinstance(email, str) and email.strip():
            visitor = visitors.from_request(request) if request is not None else None
            try:
                contact, verified = claim(
                    email, contact_fields(data, instance.pk), visitor, pending=double_opt_in
                )
            except InvalidInput as exc:
                # The form accepted an address no contact may have: the post counts, anonymously.
                logger.warning("Form submission %s not linked to a contact: %s", instance.pk, exc)
        # Where the consent was given: kept with its record.
        where = {
            "page_id": page.pk,
            "form": page.slug,
            "title": page.title,
            "submission_id": instance.pk,
        }
        if double_opt_in and contact is not None:
            confirmation.request_confirmation(
                contact,
                source=ConsentSource.FORM,
                wording=consent_wording(page, data),
                details=where,
                request=request,
            )
        elif (
            contact is not None
            and getattr(contact, "journeys_created", False)
            and contact.email_status == EmailStatus.SUBSCRIBED
        ):
            # Without double opt-in the signup itself is the consent: keep its proof.
            record_consent(
                contact,
                action=ConsentAction.GRANTED,
                source=ConsentSource.FORM,
                wording=consent_wording(page, data),
                details=where,
                request=request,
            )
        visitor = None
        if request is not None and contact is not None and verified:
            visitor = visitors.tie(request, contact)
        elif request is not None and contact is None:
            visitor = visitors.ensure(request)
        record_event(
            "form_submitted",
            contact=contact,
            visitor_id=visitor.uuid if visitor else None,
            properties={
                "page_id": page.pk,
                "page_type": type(page)._meta.label_lower,
                "form": page.slug,
                "title": page.title,
                "submission_id": instance.pk,
                "verified": verified,
            },
            source=EventSource.FORM,
            idempotency_key=f"form_submission:{type(instance)._meta.label_lower}:{instance.pk}",
        )


def connect() -> None:
    """Connect the receiver to every concrete form submission model."""
    from django.apps import apps

    if not apps.is_installed("wagtail.contrib.forms"):
        return
    from wagtail.contrib.forms.models import AbstractFormSubmission

    for model in apps.get_models():
        if issubclass(model, AbstractFormSubmission):
            post_save.connect(
                on_submission, sender=model, dispatch_uid=f"journeys-{model._meta.label}"
            )
