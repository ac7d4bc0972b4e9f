"""``WAGTAIL_JOURNEYS`` settings: defaults, and ``manage.py check`` on bad values."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from wagtail_journeys import conf


def test_defaults_without_any_setting():
    with override_settings():
        from django.conf import settings

        del settings.WAGTAIL_JOURNEYS
        assert conf.get("MAX_BODY_BYTES") == 64 * 1024
        assert conf.check_settings() == []


@pytest.mark.parametrize(
    "options, message",
    [
        ({"MAX_BODY_BYTES": -1}, "MAX_BODY_BYTES must be a positive integer"),
        ({"MAX_BODY_BYTES": "64k"}, "MAX_BODY_BYTES must be a positive integer"),
        ({"TRACK_PAGE_VIEWS": "yes"}, "TRACK_PAGE_VIEWS must be True or False"),
        ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "is not an IANA timezone"),
        ({"CORS_ALLOWED_ORIGINS": ["shop.example.com"]}, "CORS_ALLOWED_ORIGINS"),
        ({"CORS_ALLOWED_ORIGINS": "https://shop.example.com"}, "CORS_ALLOWED_ORIGINS"),
        ({"DEFAULT_EMAIL_STATUS": "maybe"}, "DEFAULT_EMAIL_STATUS"),
        ({"IGNORE_USER_AGENTS": "(unclosed"}, "IGNORE_USER_AGENTS"),
        ({"VISITOR_COOKIE_NAME": "bad name;"}, "VISITOR_COOKIE_NAME"),
        ({"MAX_BODY_BYTE": 10}, "unknown option 'MAX_BODY_BYTE'"),
        ({"STEP_RUN_RETENTION_DAYS": 0}, "STEP_RUN_RETENTION_DAYS must be None or a positive"),
        ({"STEP_RUN_RETENTION_DAYS": 3}, "at least FREQUENCY_CAP's days"),
        ({"TRIGGER_MAX_EVENT_AGE_HOURS": 0}, "TRIGGER_MAX_EVENT_AGE_HOURS must be a positive"),
        ({"TRIGGER_MAX_EVENT_AGE_HOURS": None}, "TRIGGER_MAX_EVENT_AGE_HOURS must be a positive"),
        ({"EMAIL_CONTEXT_VARIABLES": ["event", "cart_url"]}, "merge scope's own names"),
        ({"MACHINE_USER_AGENTS": "(unclosed"}, "MACHINE_USER_AGENTS must be a regular"),
        ({"MACHINE_OPEN_NETWORKS": ["17.0.0.0/33"]}, "MACHINE_OPEN_NETWORKS must be a list"),
        ({"MACHINE_OPEN_NETWORKS": "17.0.0.0/8"}, "MACHINE_OPEN_NETWORKS must be a list"),
        ({"MACHINE_CLICK_SECONDS": -1}, "MACHINE_CLICK_SECONDS must be an integer >= 0"),
        ({"SOFT_BOUNCE_LIMIT": {"bounces": 0, "days": 30}}, "SOFT_BOUNCE_LIMIT must be None"),
        ({"SOFT_BOUNCE_LIMIT": 3}, "SOFT_BOUNCE_LIMIT must be None"),
        ({"CONVERSION_EVENTS": "purchase"}, "CONVERSION_EVENTS must be a list"),
        ({"CONVERSION_EVENTS": ["purchase", "bad name"]}, "CONVERSION_EVENTS must be a list"),
        ({"ATTRIBUTION_DAYS": 0}, "ATTRIBUTION_DAYS must be an integer from 1 to 365"),
        ({"ATTRIBUTION_DAYS": 5.5}, "ATTRIBUTION_DAYS must be an integer from 1 to 365"),
        ({"SPLIT_MIN_SAMPLE": 0}, "SPLIT_MIN_SAMPLE must be a positive integer"),
        ({"ATTENTION_MIN_SENT": "100"}, "ATTENTION_MIN_SENT must be a positive integer"),
        ({"ATTENTION_BOUNCE_RATE": 5}, "ATTENTION_BOUNCE_RATE must be a rate between 0 and 1"),
        ({"ATTENTION_COMPLAINT_RATE": True}, "ATTENTION_COMPLAINT_RATE must be a rate"),
        ({"REHEARSAL_DAILY_SHARE_WARNING": 0}, "REHEARSAL_DAILY_SHARE_WARNING must be a share"),
        ({"REHEARSAL_DAILY_SHARE_WARNING": "20%"}, "REHEARSAL_DAILY_SHARE_WARNING must be a share"),
        ({"SEND_RETRY_DELAYS": []}, "SEND_RETRY_DELAYS must be a non-empty list of seconds"),
        ({"SEND_RETRY_DELAYS": [60, -1]}, "SEND_RETRY_DELAYS must be a non-empty list"),
        ({"SEND_RETRY_DELAYS": 60}, "SEND_RETRY_DELAYS must be a non-empty list"),
        ({"SEND_MAX_ATTEMPTS": 0}, "SEND_MAX_ATTEMPTS must be a positive integer"),
    ],
)
def test_bad_values_fail_manage_py_check(options, message):
    with override_settings(WAGTAIL_JOURNEYS=options):
        errors = conf.check_settings()
        assert any(message in e.msg for e in errors), [e.msg for e in errors]
        with pytest.raises(SystemCheckError, match="journeys.E002"):
            call_command("check")


def test_not_a_dict():
    with override_settings(WAGTAIL_JOURNEYS=["oops"]):
        assert conf.check_settings()[0].id == "journeys.E001"


def test_unknown_option_in_code_is_a_bug():
    with pytest.raises(KeyError):
        conf.get("NO_SUCH_OPTION")


def test_missing_q_cluster_is_a_warning_with_the_fix():
    with override_settings():
        from django.conf import settings

        del settings.Q_CLUSTER
        (warning,) = conf.check_settings()
        assert warning.id == "journeys.W001"
        assert '"orm": "default"' in warning.hint
