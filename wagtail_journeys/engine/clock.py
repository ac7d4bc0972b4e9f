"""The engine's one source of time. Tests pass ``now=`` or replace ``clock.now``."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    """The current aware time (UTC)."""
    return timezone.now()
