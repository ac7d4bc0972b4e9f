"""Reasons the engine and delivery store as text, shown in the user's language.

A step run's ``reason``, an enrolment's ``end_reason`` and a message's ``error`` are data,
stored in English (``gettext_noop`` marks each fixed text at its source). ``display``
translates one when it is shown: a fixed text through the catalog, a text with values
(``frequency cap (3 in 7 days)``) through ``PATTERNS``; anything else (an ESP's own error,
a reason from before a wording changed) is shown as stored.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop, ngettext

#: Stored reasons with values: the pattern that reads one back, and its catalog text.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"frequency cap \((?P<count>\d+) in (?P<days>\d+) days\)"),
        gettext_noop("frequency cap (%(count)s in %(days)s days)"),
    ),
    (re.compile(r"contact is (?P<status>\w+)"), gettext_noop("contact is %(status)s")),
    (
        re.compile(r"not subscribed to the topic '(?P<topic>.+)'", re.S),
        gettext_noop("not subscribed to the topic '%(topic)s'"),
    ),
    (re.compile(r"branch: (?P<label>.+)", re.S), gettext_noop("branch: %(label)s")),
    (re.compile(r"goal: (?P<name>.+)", re.S), gettext_noop("goal: %(name)s")),
    (re.compile(r"'(?P<step>.+)' can never end", re.S), gettext_noop("'%(step)s' can never end")),
    (re.compile(r"step (?P<id>\d+) was removed"), gettext_noop("step %(id)s was removed")),
    (
        re.compile(r"loop guard: depth (?P<depth>\d+) > (?P<most>\d+)"),
        gettext_noop("loop guard: depth %(depth)s > %(most)s"),
    ),
    (
        re.compile(r"held: the scenario fails the checker: (?P<error>.+)", re.S),
        gettext_noop("held: the scenario fails the checker: %(error)s"),
    ),
    (
        re.compile(r"the email could not be filled for this contact \((?P<error>.+)\)", re.S),
        gettext_noop("the email could not be filled for this contact (%(error)s)"),
    ),
    # delivery: what the mail server did (``delivery.REFUSED`` and the texts after it)
    (
        re.compile(r"The mail server refused this message: (?P<error>.+)", re.S),
        gettext_noop("The mail server refused this message: %(error)s"),
    ),
    (
        re.compile(
            r"The mail server could not take it for now \((?P<error>.+)\); "
            r"it is tried again later\.",
            re.S,
        ),
        gettext_noop(
            "The mail server could not take it for now (%(error)s); it is tried again later."
        ),
    ),
    (
        re.compile(
            r"The mail server refused the connection (?P<count>\d+) times; "
            r"last error: (?P<error>.+)",
            re.S,
        ),
        gettext_noop(
            "The mail server refused the connection %(count)s times; last error: %(error)s"
        ),
    ),
    (
        re.compile(
            r"The mail server did not take the message in (?P<count>\d+) attempts; "
            r"last error: (?P<error>.+)",
            re.S,
        ),
        gettext_noop(
            "The mail server did not take the message in %(count)s attempts; last error: %(error)s"
        ),
    ),
    (
        re.compile(r"The mail server refused the connection: (?P<error>.+)", re.S),
        gettext_noop("The mail server refused the connection: %(error)s"),
    ),
    (
        re.compile(r"The mail server did not take the message: (?P<error>.+)", re.S),
        gettext_noop("The mail server did not take the message: %(error)s"),
    ),
]


#: A held send's empty required merge tags (``emails.render.held_reason``, plural-aware).
EMPTY_TAGS = re.compile(
    r"required merge tags? (?P<tags>\{\{ .+? \}\}(?:, \{\{ .+? \}\})*) (?:is|are) empty"
)


def _status(value: str) -> str:
    from .models.contacts import EmailStatus

    try:
        return str(EmailStatus(value).label).lower()
    except ValueError:
        return value


def display(reason: str | None) -> str:
    """``reason`` (stored in English) in the active language; reasons joined with "; "
    (a held send's) one by one."""
    if not reason:
        return ""
    for pattern, text in PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            values = match.groupdict()
            if "status" in values:
                values["status"] = _status(values["status"])
            return gettext(text) % values
    match = EMPTY_TAGS.fullmatch(reason)
    if match:
        tags = match["tags"]
        return ngettext(
            "required merge tag %(tags)s is empty",
            "required merge tags %(tags)s are empty",
            tags.count("{{"),
        ) % {"tags": tags}
    if "; " in reason:
        return "; ".join(display(part) for part in reason.split("; "))
    return gettext(reason)
