"""Wagtail form pages (``wagtail.contrib.forms``) identify the people who submit them.

A submission with an email field upserts the contact, ties the submitting browser's
visitor id to it and records ``form_submitted`` with the form's page. It works for every
form page without subclassing: a ``post_save`` receiver on form submissions, with the
request of the page being served kept in a context variable by ``on_serve_page``.
"""

from __future__ import annotations

import contextvars
import logging

from django.db import transaction
from django.db.models.signals import post_save

from .. import conf
from ..contacts import identify, upsert_contact
from ..events import record_event
from ..exceptions import InvalidInput
from ..models import EventSource
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


def on_submission(sender, instance, created, raw=False, **kwargs) -> None:
    """``post_save`` of a form submission: upsert, identify, record ``form_submitted``."""
    if not created or raw:
        return
    try:
        page = instance.page.specific
        field = email_field_name(page)
        data = instance.get_data() if hasattr(instance, "get_data") else instance.form_data
        email = data.get(field) if field else None
        request = current_request.get()
        with transaction.atomic():
            contact = None
            if email:
                fields = {
                    target: data[name]
                    for name, target in NAME_FIELDS.items()
                    if isinstance(data.get(name), str) and data[name].strip()
                }
                contact, _ = upsert_contact(email, fields)
            visitor = visitors.ensure(request) if request is not None else None
            if visitor is not None and contact is not None:
                identify(visitor.uuid, contact)
                visitors.remember(request, visitors.VisitorId(visitor.uuid, contact.pk))
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
                },
                source=EventSource.FORM,
                idempotency_key=f"form_submission:{type(instance)._meta.label_lower}:{instance.pk}",
            )
    except InvalidInput as exc:
        # The form validated the address; a value we cannot store is logged, not fatal.
        logger.warning("Form submission %s not linked to a contact: %s", instance.pk, exc)


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
