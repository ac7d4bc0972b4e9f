"""The one place settings are read.

Every option lives in ``settings.WAGTAIL_JOURNEYS`` (a dict); anything left out takes the
default below. ``manage.py check`` reports unknown keys and bad values (``journeys.E001``…).
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django.conf import settings
from django.core import checks

DEFAULTS: dict[str, Any] = {
    # Tracking
    "TRACK_PAGE_VIEWS": True,
    "VISITOR_COOKIE_NAME": "journeys_vid",
    "VISITOR_COOKIE_AGE": 60 * 60 * 24 * 395,
    "VISITOR_COOKIE_SECURE": False,
    "VISITOR_COOKIE_SAMESITE": "Lax",
    "IGNORE_USER_AGENTS": r"bot|crawl|spider|slurp|preview|headlesschrome/.*lighthouse",
    "CORS_ALLOWED_ORIGINS": [],
    # Event names browsers may post through the API (exact names or shell-style patterns);
    # anything else, commerce above all, must come from a server holding a token.
    "BROWSER_EVENTS": [
        "page_view",
        "page.*",
        "ui.*",
        "click",
        "scroll",
        "search",
        "share",
        "video.*",
        "cart.*",
        "cart_*",
        "wishlist.*",
    ],
    "MAX_BODY_BYTES": 64 * 1024,
    "MAX_BATCH_BODY_BYTES": 1024 * 1024,
    "API_TOKEN_CACHE_SECONDS": 10,
    "MAX_EVENT_AGE_DAYS": 365,
    "BROWSER_MAX_EVENT_AGE_SECONDS": 24 * 60 * 60,
    "MAX_CLOCK_SKEW_SECONDS": 5 * 60,
    # Contacts
    "DEFAULT_EMAIL_STATUS": "subscribed",
    "DEFAULT_TIMEZONE": "UTC",
    "FORM_EMAIL_FIELD": "",
    # Privacy (docs/how-to/privacy.md): tracking waits for the visitor's consent
    # (consent cookie, set by the JS API or tracking.consent); double opt-in holds new
    # form and API signups ``pending`` until the confirmation email's signed link is
    # followed; erased addresses are kept as a keyed hash when SUPPRESS_ERASED
    "TRACKING_CONSENT_REQUIRED": False,
    "CONSENT_COOKIE_NAME": "journeys_consent",
    "CONSENT_COOKIE_AGE": 60 * 60 * 24 * 180,
    "DOUBLE_OPT_IN": False,
    "CONFIRMATION_EMAIL": "",
    "CONFIRMATION_LINK_MAX_AGE_HOURS": 72,
    "CONFIRMATION_RESEND_MINUTES": 60,
    "SUPPRESS_ERASED": False,
    "SUPPRESSION_HASH_KEY": "",
    # Retention: raw events and messages older than this many days are purged daily
    # (None keeps them); IP addresses are never stored ("none") or stored truncated
    # (IPv4's last octet, IPv6's last 80 bits zeroed) as proof in consent records
    "EVENT_RETENTION_DAYS": None,
    "MESSAGE_RETENTION_DAYS": None,
    # Double opt-in: a contact still pending this many days after it signed up and after
    # its last confirmation mail is erased (None keeps it)
    "UNCONFIRMED_CONTACT_DAYS": 30,
    "IP_ADDRESSES": "none",
    # Batches
    "EVENT_BATCH_SIZE": 2000,
    # Segments: how long the admin listing may reuse a segment's count (0: never)
    "SEGMENT_COUNT_CACHE_SECONDS": 60,
    # Scenarios
    "TRIGGER_MAX_EVENT_AGE_HOURS": 72,
    "ADVANCE_BATCH_SIZE": 500,
    "FREQUENCY_CAP": {"emails": 3, "days": 7},
    "QUIET_HOURS": ["21:00", "08:00"],
    "LOOP_DEPTH": 3,
    "SMS_BACKEND": "wagtail_journeys.sms.ConsoleSMSBackend",
    "PRIORITY_CLUSTER": "journeys-priority",
    "STALE_SEND_SECONDS": 60,
    # a send the mail server could not take for now (connection refused or lost, 4xx):
    # tried again after each delay in turn (seconds), the last one repeating, until
    # SEND_MAX_ATTEMPTS tries; then it is failed
    "SEND_RETRY_DELAYS": [60, 300, 1800, 7200, 21600],
    "SEND_MAX_ATTEMPTS": 6,
    "STEP_RUN_RETENTION_DAYS": 180,
    # Emails
    "EMAIL_BASE_URL": "",
    "EMAIL_UNSUBSCRIBE_MAILTO": "",
    # The template the preference centre (tracking.preferences) extends: the app's own
    # standalone page, or the site's (a ``wagtail start`` site's "base.html" works)
    "PREFERENCES_BASE_TEMPLATE": "wagtail_journeys/preferences/base.html",
    "EMAIL_MESSAGE_ID_DOMAIN": "",
    "EMAIL_CONTEXT_VARIABLES": ["voucher_code", "promo_code", "cart_url", "download_url"],
    "EMAIL_CACHE": "default",
    "EMAIL_CACHE_TIMEOUT": 60 * 60 * 24,
    # Engagement: what counts as a machine's open or click (tracking.machines)
    "MACHINE_USER_AGENTS": (
        r"bot\b|crawl|spider|slurp|preview|scan|headless|python|curl/|wget|libwww|okhttp"
        r"|go-http-client|java/|axios|node-fetch|barracuda|mimecast|proofpoint|symantec"
        r"|trend ?micro|forcepoint|fortinet|sophos|ironport|safelinks|ms-office"
        r"|microsoft office existence|linkcheck"
    ),
    "MACHINE_OPEN_NETWORKS": ["17.0.0.0/8"],
    "MACHINE_CLICK_SECONDS": 10,
    "MACHINE_BURST_SECONDS": 1,
    # ESP feedback (django-anymail): soft bounces that suppress a contact, within days
    "SOFT_BOUNCE_LIMIT": {"bounces": 3, "days": 30},
    # Reports (analytics.conversions): events that count as a conversion of the last
    # message the contact opened or clicked within ATTRIBUTION_DAYS (a scenario's goal
    # events count for its own messages too)
    "CONVERSION_EVENTS": ["purchase"],
    "ATTRIBUTION_DAYS": 5,
    # Reports: contacts per arm before a split's verdict names a winner; the bounce and
    # complaint rates past which a scenario needs attention, once it sent this many
    "SPLIT_MIN_SAMPLE": 100,
    "ATTENTION_BOUNCE_RATE": 0.05,
    "ATTENTION_COMPLAINT_RATE": 0.001,
    "ATTENTION_MIN_SENT": 100,
    # Rehearsals (engine.rehearsal): warn when a scenario would mail more than this share
    # of the subscribed contacts in one day
    "REHEARSAL_DAILY_SHARE_WARNING": 0.2,
}

#: Names the merge scope gives itself (see ``emails.mergetags``): not a site's to reuse.
_MERGE_SCOPE_NAMES = {
    "contact",
    "event",
    "today",
    "site_name",
    "unsubscribe_url",
    "preferences_url",
    "confirm_url",
}
_EMAIL_STATUSES = {"subscribed", "pending", "unsubscribed", "bounced", "complained"}


def get(name: str) -> Any:
    """Return the effective value of one ``WAGTAIL_JOURNEYS`` option."""
    if name not in DEFAULTS:
        raise KeyError(f"Unknown WAGTAIL_JOURNEYS option {name!r}")
    return getattr(settings, "WAGTAIL_JOURNEYS", {}).get(name, DEFAULTS[name])


def _problems(user: dict[str, Any]) -> list[str]:
    problems = [f"unknown option {key!r}" for key in user if key not in DEFAULTS]

    def value(key: str) -> Any:
        return user.get(key, DEFAULTS[key])

    for key in (
        "TRACK_PAGE_VIEWS",
        "VISITOR_COOKIE_SECURE",
        "TRACKING_CONSENT_REQUIRED",
        "DOUBLE_OPT_IN",
        "SUPPRESS_ERASED",
    ):
        if not isinstance(value(key), bool):
            problems.append(f"{key} must be True or False")
    for key in (
        "VISITOR_COOKIE_AGE",
        "MAX_BODY_BYTES",
        "MAX_BATCH_BODY_BYTES",
        "MAX_EVENT_AGE_DAYS",
        "BROWSER_MAX_EVENT_AGE_SECONDS",
        "MAX_CLOCK_SKEW_SECONDS",
        "EVENT_BATCH_SIZE",
        "CONSENT_COOKIE_AGE",
        "CONFIRMATION_LINK_MAX_AGE_HOURS",
        "CONFIRMATION_RESEND_MINUTES",
    ):
        v = value(key)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            problems.append(f"{key} must be a positive integer, not {v!r}")
    seconds = value("SEGMENT_COUNT_CACHE_SECONDS")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        problems.append(f"SEGMENT_COUNT_CACHE_SECONDS must be 0 or more, not {seconds!r}")
    seconds = value("API_TOKEN_CACHE_SECONDS")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        problems.append(f"API_TOKEN_CACHE_SECONDS must be 0 or more, not {seconds!r}")
    for key in ("VISITOR_COOKIE_NAME", "CONSENT_COOKIE_NAME"):
        name = value(key)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
            problems.append(f"{key} must be a plain cookie name")
    for key in ("EVENT_RETENTION_DAYS", "MESSAGE_RETENTION_DAYS", "UNCONFIRMED_CONTACT_DAYS"):
        v = value(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
            problems.append(f"{key} must be None or a positive number of days, not {v!r}")
    kept, attribution = value("EVENT_RETENTION_DAYS"), value("ATTRIBUTION_DAYS")
    if (
        isinstance(kept, int)
        and isinstance(attribution, int)
        and not isinstance(kept, bool)
        and 0 < kept < attribution
    ):
        problems.append(
            "EVENT_RETENTION_DAYS must be at least ATTRIBUTION_DAYS: a conversion is "
            "credited to the opens and clicks of that many days before it"
        )
    if value("IP_ADDRESSES") not in ("none", "truncated"):
        problems.append("IP_ADDRESSES must be 'none' or 'truncated'")
    for key in ("CONFIRMATION_EMAIL", "SUPPRESSION_HASH_KEY"):
        if not isinstance(value(key), str):
            problems.append(f"{key} must be a string")
    if value("VISITOR_COOKIE_SAMESITE") not in ("Lax", "Strict", "None"):
        problems.append("VISITOR_COOKIE_SAMESITE must be 'Lax', 'Strict' or 'None'")
    try:
        re.compile(value("IGNORE_USER_AGENTS") or "")
    except (re.error, TypeError):
        problems.append("IGNORE_USER_AGENTS must be a regular expression")
    origins = value("CORS_ALLOWED_ORIGINS")
    if not isinstance(origins, list | tuple) or not all(
        isinstance(o, str) and re.fullmatch(r"https?://[^/\s]+", o) for o in origins
    ):
        problems.append(
            "CORS_ALLOWED_ORIGINS must be a list of origins such as 'https://shop.example.com'"
            " (scheme and host, no path)"
        )
    names = value("BROWSER_EVENTS")
    if not isinstance(names, list | tuple) or not all(
        isinstance(n, str) and re.fullmatch(r"[A-Za-z0-9_.:\-*]{1,100}", n) for n in names
    ):
        problems.append(
            "BROWSER_EVENTS must be a list of event names or patterns such as 'video.*'"
            " (letters, digits, '_', '.', ':', '-' and '*')"
        )
    if value("DEFAULT_EMAIL_STATUS") not in _EMAIL_STATUSES:
        problems.append(f"DEFAULT_EMAIL_STATUS must be one of {sorted(_EMAIL_STATUSES)}")
    try:
        zoneinfo.ZoneInfo(value("DEFAULT_TIMEZONE"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        problems.append(f"DEFAULT_TIMEZONE {value('DEFAULT_TIMEZONE')!r} is not an IANA timezone")
    base_url = value("EMAIL_BASE_URL")
    if not isinstance(base_url, str) or (
        base_url and not re.fullmatch(r"https?://[^\s]+", base_url)
    ):
        problems.append("EMAIL_BASE_URL must be '' or an absolute http(s) URL")
    for key in ("EMAIL_UNSUBSCRIBE_MAILTO", "EMAIL_MESSAGE_ID_DOMAIN", "EMAIL_CACHE"):
        if not isinstance(value(key), str):
            problems.append(f"{key} must be a string")
    base_template = value("PREFERENCES_BASE_TEMPLATE")
    if not isinstance(base_template, str) or not base_template:
        problems.append("PREFERENCES_BASE_TEMPLATE must name a template")
    names = value("EMAIL_CONTEXT_VARIABLES")
    if not isinstance(names, list | tuple) or not all(
        isinstance(n, str) and re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names
    ):
        problems.append("EMAIL_CONTEXT_VARIABLES must be a list of lower-case identifiers")
    elif reserved := sorted(_MERGE_SCOPE_NAMES & set(names)):
        problems.append(
            f"EMAIL_CONTEXT_VARIABLES may not use the merge scope's own names {reserved}"
        )
    timeout = value("EMAIL_CACHE_TIMEOUT")
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(f"EMAIL_CACHE_TIMEOUT must be a positive integer, not {timeout!r}")
    problems += _scenario_problems(value)
    problems += _feedback_problems(value)
    problems += _report_problems(value)
    if not isinstance(value("FORM_EMAIL_FIELD"), str):
        problems.append("FORM_EMAIL_FIELD must be a form field's clean name or ''")
    return problems


def _scenario_problems(value) -> list[str]:
    problems = []
    stale = value("STALE_SEND_SECONDS")
    if not isinstance(stale, int) or isinstance(stale, bool) or stale < 0:
        problems.append(f"STALE_SEND_SECONDS must be an integer >= 0, not {stale!r}")
    delays = value("SEND_RETRY_DELAYS")
    if (
        not isinstance(delays, list | tuple)
        or not delays
        or any(not isinstance(d, int | float) or isinstance(d, bool) or d < 0 for d in delays)
    ):
        problems.append(
            f"SEND_RETRY_DELAYS must be a non-empty list of seconds (numbers >= 0), not {delays!r}"
        )
    for key in (
        "ADVANCE_BATCH_SIZE",
        "LOOP_DEPTH",
        "TRIGGER_MAX_EVENT_AGE_HOURS",
        "SEND_MAX_ATTEMPTS",
    ):
        v = value(key)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            problems.append(f"{key} must be a positive integer, not {v!r}")
    retention = value("STEP_RUN_RETENTION_DAYS")
    if retention is not None and (
        not isinstance(retention, int) or isinstance(retention, bool) or retention <= 0
    ):
        problems.append(
            f"STEP_RUN_RETENTION_DAYS must be None or a positive integer, not {retention!r}"
        )
    cap = value("FREQUENCY_CAP")
    if (
        isinstance(retention, int)
        and isinstance(cap, dict)
        and isinstance(cap.get("days"), int)
        and retention < cap["days"]
    ):
        problems.append(
            "STEP_RUN_RETENTION_DAYS must be at least FREQUENCY_CAP's days: the cap counts "
            "the sends those step runs record"
        )
    if cap is not None and not (
        isinstance(cap, dict)
        and set(cap) == {"emails", "days"}
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in cap.values())
    ):
        problems.append('FREQUENCY_CAP must be None or {"emails": N, "days": D} (positive)')
    quiet = value("QUIET_HOURS")
    if quiet is not None and not (
        isinstance(quiet, list | tuple)
        and len(quiet) == 2
        and all(isinstance(t, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t) for t in quiet)
    ):
        problems.append('QUIET_HOURS must be None or ["HH:MM", "HH:MM"] (start, end; local)')
    share = value("REHEARSAL_DAILY_SHARE_WARNING")
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
        problems.append(
            f"REHEARSAL_DAILY_SHARE_WARNING must be a share above 0 and at most 1, not {share!r}"
        )
    for key in ("SMS_BACKEND", "PRIORITY_CLUSTER"):
        if not isinstance(value(key), str) or not value(key):
            problems.append(f"{key} must be a non-empty string")
    return problems


def _feedback_problems(value) -> list[str]:
    import ipaddress

    problems = []
    try:
        re.compile(value("MACHINE_USER_AGENTS") or "")
    except (re.error, TypeError):
        problems.append("MACHINE_USER_AGENTS must be a regular expression (or '')")
    networks = value("MACHINE_OPEN_NETWORKS")
    try:
        if not isinstance(networks, list | tuple):
            raise TypeError
        for network in networks:
            ipaddress.ip_network(network, strict=False)
    except (TypeError, ValueError):
        problems.append("MACHINE_OPEN_NETWORKS must be a list of networks such as '17.0.0.0/8'")
    for key in ("MACHINE_CLICK_SECONDS", "MACHINE_BURST_SECONDS"):
        v = value(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            problems.append(f"{key} must be an integer >= 0, not {v!r}")
    limit = value("SOFT_BOUNCE_LIMIT")
    if limit is not None and not (
        isinstance(limit, dict)
        and set(limit) == {"bounces", "days"}
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limit.values())
    ):
        problems.append('SOFT_BOUNCE_LIMIT must be None or {"bounces": N, "days": D} (positive)')
    names = value("CONVERSION_EVENTS")
    if not isinstance(names, list | tuple) or not all(
        isinstance(n, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}", n) for n in names
    ):
        problems.append("CONVERSION_EVENTS must be a list of event names such as 'purchase'")
    days = value("ATTRIBUTION_DAYS")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 365:
        problems.append(f"ATTRIBUTION_DAYS must be an integer from 1 to 365, not {days!r}")
    return problems


def _report_problems(value) -> list[str]:
    problems = []
    for key in ("SPLIT_MIN_SAMPLE", "ATTENTION_MIN_SENT"):
        v = value(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            problems.append(f"{key} must be a positive integer, not {v!r}")
    for key in ("ATTENTION_BOUNCE_RATE", "ATTENTION_COMPLAINT_RATE"):
        v = value(key)
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
            problems.append(f"{key} must be a rate between 0 and 1, not {v!r}")
    return problems


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: ``WAGTAIL_JOURNEYS`` holds only known options with valid values."""
    user = getattr(settings, "WAGTAIL_JOURNEYS", {})
    if not isinstance(user, dict):
        return [checks.Error("WAGTAIL_JOURNEYS must be a dict", id="journeys.E001")]
    messages: list[checks.CheckMessage] = [
        checks.Error(f"WAGTAIL_JOURNEYS: {problem}", id="journeys.E002")
        for problem in _problems(user)
    ]
    if not hasattr(settings, "Q_CLUSTER"):
        messages.append(
            checks.Warning(
                "Q_CLUSTER is not set: django-q2 will look for Redis on localhost.",
                hint='For one machine: Q_CLUSTER = {"name": "journeys", "orm": "default", '
                '"workers": 2, "timeout": 300, "retry": 360, "save_limit": -1}',
                id="journeys.W001",
            )
        )
    return messages
