"""Sending SMS through a pluggable backend (``WAGTAIL_JOURNEYS["SMS_BACKEND"]``)."""

from __future__ import annotations

import re
import sys
from typing import Any

from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop

from . import conf

_TAG = re.compile(r"{{\s*(first_name|last_name|email)\s*}}")


class ConsoleSMSBackend:
    """Writes each SMS to stdout (the default; for development)."""

    def send(self, to: str, text: str, *, key: str) -> None:
        sys.stdout.write(f"SMS to {to} [{key}]: {text}\n")


def render_sms(text: str, contact: Any) -> str:
    """Fill the documented merge tags (first_name, last_name, email); nothing else runs."""
    return _TAG.sub(lambda m: str(getattr(contact, m.group(1)) or ""), text)


def send_sms(contact: Any, text: str, *, key: str) -> str | None:
    """Send one SMS; return why it was not sent (no opt-in, no phone) or ``None``."""
    if not contact.sms_opt_in:
        return gettext_noop("no SMS opt-in")
    if not contact.phone:
        return gettext_noop("no phone number")
    backend = import_string(conf.get("SMS_BACKEND"))()
    backend.send(contact.phone, render_sms(text, contact), key=key)
    return None
