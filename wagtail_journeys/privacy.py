"""Access and erasure: one contact's data as JSON, and erasing a contact everywhere.

``export_contact`` answers a right of access (GDPR art. 15, 20): everything the app keeps
about a person, as one JSON-able dict. ``erase_contact`` answers a right to erasure
(art. 17): the contact and every row that names it are deleted in one transaction, and
the few places where an address or a name can hide in rows that stay (a form's stored
submissions, an import's report of rejected rows, a link's last target, the admin's
history, an email's "preview as" address) are scrubbed. The reports' totals are kept:
what the rollup has not read yet of the contact is counted first
(``analytics.rollup.add_unread_of``), in the same transaction. With ``SUPPRESS_ERASED``,
a keyed hash of the address is kept (``Suppression``) so an import, an API upsert or a
form signup cannot add the person back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.core.cache import cache
from django.db import connections, transaction
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils import timezone

from . import conf
from .consent import suppression_hash, suppression_hashes
from .contacts import normalize_email
from .models import (
    ConsentRecord,
    Contact,
    ContactImport,
    Enrollment,
    Event,
    ImportStatus,
    LinkDay,
    Message,
    PromoCode,
    StepRun,
    Suppression,
    TopicSubscription,
    Visitor,
)

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "wagtail-journeys contact data"
EXPORT_VERSION = 1

CONTACT_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "civility",
    "birth_date",
    "phone",
    "locale",
    "timezone",
    "attributes",
    "email_status",
    "sms_opt_in",
    "confirmation_sent_at",
    "confirmed_at",
    "created_at",
    "updated_at",
    "last_activity_at",
)
MESSAGE_FIELDS = (
    "uuid",
    "email_page_id",
    "scenario_id",
    "step_id",
    "enrollment_id",
    "subject",
    "recipient",
    "status",
    "transactional",
    "context",
    "error",
    "created_at",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "open_count",
    "click_count",
    "machine_open_count",
    "machine_click_count",
    "bounced_at",
    "bounce_type",
    "complained_at",
    "unsubscribed_at",
    "converted_at",
    "revenue",
)
ENROLLMENT_FIELDS = (
    "id",
    "scenario_id",
    "status",
    "step_id",
    "context",
    "started_at",
    "ended_at",
    "end_reason",
)
RUN_FIELDS = (
    "enrollment_id",
    "scenario_id",
    "step_id",
    "kind",
    "outcome",
    "reason",
    "ran_at",
    "ends",
)
CONSENT_FIELDS = (
    "channel",
    "action",
    "topic_id",
    "topic_name",
    "source",
    "wording",
    "details",
    "recorded_at",
)


def is_suppressed(email: str) -> bool:
    """Was this address erased and its suppression kept (``SUPPRESS_ERASED``)? Always
    False while the setting is off: suppressions kept earlier then stop nobody."""
    if not conf.get("SUPPRESS_ERASED"):
        return False
    return Suppression.objects.filter(hash=suppression_hash(email)).exists()


def suppressed_among(emails: list[str]) -> set[str]:
    """The addresses of ``emails`` (normalised, as ``contacts.normalize_email`` returns
    them) that are suppressed: one query per 900 addresses, none while ``SUPPRESS_ERASED``
    is off (imports and batches ask once per batch)."""
    if not conf.get("SUPPRESS_ERASED") or not emails:
        return set()
    hashes = suppression_hashes(emails)
    found: set[str] = set()
    keys = list(hashes)
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        found.update(Suppression.objects.filter(hash__in=chunk).values_list("hash", flat=True))
    return {hashes[h] for h in found}


def truncate_ip(ip: str | None) -> str:
    """An IP address with what names one machine zeroed: IPv4's last octet
    (``203.0.113.77`` → ``203.0.113.0``), IPv6's last 80 bits (the interface and most of
    the subnet: ``2001:db8:1234:5678::1`` → ``2001:db8:1234::``). ``""`` for anything
    that is not an address. Pure."""
    import ipaddress

    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def erased_among(emails: set[str] | list[str]) -> set[str]:
    """The (normalised) addresses of ``emails`` that were erased and are no contact now:
    what an import or a batch must not create (two queries while ``SUPPRESS_ERASED`` is
    on, none otherwise)."""
    suppressed = suppressed_among(sorted(emails))
    if suppressed:
        suppressed -= set(
            Contact.objects.filter(email__in=sorted(suppressed)).values_list("email", flat=True)
        )
    return suppressed


# -- access ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as JSON holds it: times in ISO 8601, UUIDs and decimals as strings."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def _rows(queryset, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {name: _plain(value) for name, value in zip(names, row, strict=True)}
        for row in queryset.values_list(*names).iterator(chunk_size=5000)
    ]


def _event_chunks(contact_id: int, visitor_ids: list) -> Iterator[str]:
    """The contact's events and its visitors' anonymous ones, oldest first, as JSON
    objects joined by commas, a few thousand at a time. Read through a raw cursor: the
    stored JSON of the properties goes out as it is (it is JSON already), times come as
    text, and no datetime or JSON is parsed on the way, so 100,000 events take well under a second
    (``benchmarks/bench_privacy.py``)."""
    where = Q(contact_id=contact_id)
    if visitor_ids:
        where |= Q(visitor_id__in=visitor_ids)
    text = CharField()
    queryset = (
        Event.objects.filter(where)
        .order_by("occurred_at", "id")
        .values_list(
            "id",
            "name",
            Cast("occurred_at", text),
            Cast("received_at", text),
            "source",
            Cast("visitor_id", text),
            "properties",
        )
    )
    sql, params = queryset.query.sql_with_params()
    names: dict[str, str] = {}
    first = True
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(5000):
            parts = []
            for pk, name, occurred, received, source, visitor, properties in rows:
                # SQLite's naive UTC text takes the offset; PostgreSQL's "+00" its minutes.
                if len(occurred) > 19 and occurred[-3] in "+-":
                    occurred, received = f"{occurred}:00", f"{received}:00"
                else:
                    occurred, received = f"{occurred}+00:00", f"{received}+00:00"
                if name not in names:
                    names[name] = json.dumps(name)
                if source not in names:
                    names[source] = json.dumps(source)
                if visitor is not None:
                    visitor = f'"{uuid.UUID(str(visitor))}"'
                if not isinstance(properties, str):  # a backend that decoded it
                    properties = json.dumps(properties)
                parts.append(
                    f'{{"id": {pk}, "name": {names[name]}, '
                    f'"occurred_at": "{occurred[:10]}T{occurred[11:]}", '
                    f'"received_at": "{received[:10]}T{received[11:]}", "source": {names[source]}, '
                    f'"visitor_id": {visitor or "null"}, "properties": {properties or "{}"}}}'
                )
            yield ("" if first else ", ") + ", ".join(parts)
            first = False


def form_submissions(contact: Contact, *, events=None) -> list[tuple[type, list[int]]]:
    """The Wagtail form submissions this app linked to the contact (its
    ``form_submitted`` events name them) and any other whose data holds its address:
    ``[(submission model, [ids])]``. Empty when ``wagtail.contrib.forms`` is not
    installed."""
    from django.apps import apps

    if not apps.is_installed("wagtail.contrib.forms"):
        return []
    from wagtail.contrib.forms.models import AbstractFormSubmission

    models = {
        m._meta.label_lower: m for m in apps.get_models() if issubclass(m, AbstractFormSubmission)
    }
    named: dict[str, set[int]] = {}
    events = events if events is not None else Event.objects.filter(contact_id=contact.pk)
    for key, properties in events.filter(name="form_submitted").values_list(
        "idempotency_key", "properties"
    ):
        label = (key or "").removeprefix("form_submission:").rpartition(":")[0]
        submission = (properties or {}).get("submission_id")
        if label in models and isinstance(submission, int):
            named.setdefault(label, set()).add(submission)
    found = []
    for label, model in models.items():
        ids = set(named.get(label, ()))
        ids.update(
            model.objects.filter(form_data__icontains=contact.email).values_list("pk", flat=True)
        )
        ids = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if ids:
            found.append((model, sorted(ids)))
    return found


def export_contact(contact: Contact) -> dict[str, Any]:
    """Everything the app keeps about ``contact``, as one JSON-able dict: its profile
    (fields, attributes, tags), consent records and topic choices, visitors (browsers
    tied to it), events (its own and its visitors' anonymous ones, oldest first),
    messages, enrolments with their step runs, promo codes issued to it, and the data of
    the form submissions linked to it. Read only. ``export_contact_json`` writes the
    same as JSON text, faster (what the admin and the API send)."""
    return json.loads("".join(export_contact_json(contact)))


def export_contact_json(contact: Contact) -> Iterator[str]:
    """``export_contact`` as pieces of JSON text, for a streamed download: a handful of
    queries whatever the number of rows, and the events are never parsed (see
    ``_event_chunks``)."""
    profile = {name: _plain(getattr(contact, name)) for name in CONTACT_FIELDS}
    profile["tags"] = sorted(contact.tags.names())
    visitors = list(
        Visitor.objects.filter(contact_id=contact.pk)
        .order_by("created_at")
        .values_list("id", "created_at", "identified_at")
    )
    runs: dict[int, list] = {}
    for run in _rows(
        StepRun.objects.filter(contact_id=contact.pk).order_by("ran_at", "id"), RUN_FIELDS
    ):
        runs.setdefault(run.pop("enrollment_id"), []).append(run)
    enrollments = _rows(
        Enrollment.objects.filter(contact_id=contact.pk).order_by("started_at", "id"),
        ENROLLMENT_FIELDS,
    )
    for enrollment in enrollments:
        enrollment["step_runs"] = runs.get(enrollment["id"], [])
    submissions = []
    for model, ids in form_submissions(contact):
        for pk, page_id, data, submitted in model.objects.filter(pk__in=ids).values_list(
            "pk", "page_id", "form_data", "submit_time"
        ):
            submissions.append(
                {"id": pk, "page_id": page_id, "data": data, "submitted_at": _plain(submitted)}
            )
    head = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "contact": profile,
        "consents": _rows(
            ConsentRecord.objects.filter(contact_id=contact.pk).order_by("recorded_at", "id"),
            CONSENT_FIELDS,
        ),
        "topics": [
            {"topic": slug, "name": name, "subscribed": subscribed, "changed_at": _plain(at)}
            for slug, name, subscribed, at in TopicSubscription.objects.filter(
                contact_id=contact.pk
            )
            .order_by("topic__sort_order", "topic__name")
            .values_list("topic__slug", "topic__name", "subscribed", "changed_at")
        ],
        "visitors": [
            {"id": str(pk), "created_at": _plain(created), "identified_at": _plain(identified)}
            for pk, created, identified in visitors
        ],
    }
    tail = {
        "messages": _rows(
            Message.objects.filter(contact_id=contact.pk).order_by("created_at", "id"),
            MESSAGE_FIELDS,
        ),
        "enrollments": enrollments,
        "promo_codes": [
            {"code": code, "issued_at": _plain(at)}
            for code, at in PromoCode.objects.filter(contact_id=contact.pk)
            .order_by("issued_at")
            .values_list("code", "issued_at")
        ],
        "form_submissions": submissions,
    }
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "events": ['
    yield from _event_chunks(contact.pk, [pk for pk, _c, _i in visitors])
    yield "], " + json.dumps(tail, ensure_ascii=False)[1:]


# -- erasure -----------------------------------------------------------------------------


@dataclass
class Erasure:
    """What an erasure deleted or scrubbed (row counts by kind), for logs and answers."""

    contact_id: int
    deleted: dict[str, int] = field(default_factory=dict)
    scrubbed: dict[str, int] = field(default_factory=dict)
    suppressed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "deleted": self.deleted,
            "scrubbed": self.scrubbed,
            "suppressed": self.suppressed,
        }


def _without_lines(text: str, needles: list[str]) -> tuple[str, bool]:
    """``text`` without its lines that hold any of ``needles`` (case-insensitive)."""
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not any(n in line.lower() for n in needles)]
    return "".join(kept), len(kept) != len(lines)


def _scrub_imports(needles: list[str]) -> int:
    """Remove the address's lines from import reports (rejected rows) and from files
    uploaded but not imported yet; a running import's file is in a worker's memory, and
    an import that ran keeps no file. Returns the imports changed."""
    changed = 0
    q = Q()
    for needle in needles:
        q |= Q(rejects__icontains=needle)
    for pk, rejects in ContactImport.objects.filter(q).values_list("pk", "rejects"):
        text, found = _without_lines(rejects, needles)
        if found:
            changed += ContactImport.objects.filter(pk=pk).update(rejects=text)
    waiting = ContactImport.objects.filter(
        status__in=(ImportStatus.UPLOADED, ImportStatus.QUEUED)
    ).exclude(data=b"")
    for pk, data in waiting.values_list("pk", "data"):
        text = bytes(data).decode("utf-8", errors="surrogateescape")
        kept, found = _without_lines(text, needles)
        if found:
            raw = kept.encode("utf-8", errors="surrogateescape")
            changed += ContactImport.objects.filter(pk=pk).update(data=raw, size=len(raw))
    return changed


def _scrub_admin_history(contact_pk: int) -> int:
    """Wagtail's history of the contact (*Reports → Site history*) names it by its name
    or address: the entries stay, labelled by the contact's id only."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    return ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Contact), object_id=str(contact_pk)
    ).update(label=f"Contact #{contact_pk} (erased)", data={})


def _scrub_previews(email: str) -> int:
    """An email's *Preview as contact* address, on the page and in its revisions."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Revision

    from .models import EmailPage

    changed = EmailPage.objects.filter(preview_contact__iexact=email).update(preview_contact="")
    kind = ContentType.objects.get_for_model(EmailPage)
    for revision in Revision.objects.filter(base_content_type=kind, content__icontains=email).only(
        "pk", "content"
    ):
        content = revision.content
        if str(content.get("preview_contact", "")).lower() == email:
            content["preview_contact"] = ""
            Revision.objects.filter(pk=revision.pk).update(content=content)
            changed += 1
    return changed


def _forget_counts() -> None:
    """Segment counts cached for the listing (``SEGMENT_COUNT_CACHE_SECONDS``) counted
    the contact: drop them."""
    from .models import Segment

    keys = [
        f"journeys:segment-count:{pk}:{updated.timestamp()}"
        for pk, updated in Segment.objects.values_list("pk", "updated_at")
    ]
    if keys:
        cache.delete_many(keys)


def erase_contact(
    contact: Contact | int, *, by: Any = None, suppress: bool | None = None
) -> Erasure:
    """Erase a contact: delete it and everything that names it, scrub what stays, keep
    the reports' totals. One transaction: a failure erases nothing.

    Deleted: the contact, its tags, consent records, topic choices, visitors, events (its
    own and its visitors' anonymous ones), messages, enrolments and step runs, segment
    memberships, the Wagtail form submissions linked to it or holding its address. An
    active enrolment is counted as exited where it stands (reports count whoever is on
    a step as having entered it).
    Scrubbed: promo codes issued to it stay taken but name nobody; lines holding the
    address in import reports and waiting uploads; a report link's last target
    (``LinkDay.url``) holding the address; Wagtail's history of the contact (labelled by
    id); an email's *Preview as contact* address. What the rollup had not read yet of
    the contact is counted first, so no report changes. With ``SUPPRESS_ERASED`` (or
    ``suppress=True``), the address's keyed hash is kept (``Suppression``); ``suppress=False``
    keeps none whatever the setting (an unconfirmed signup may sign up again). ``by`` (a
    user) is logged."""
    from .analytics.rollup import add_erased_exits, add_unread_of
    from .models import SegmentTriggerMember

    if not isinstance(contact, Contact):
        contact = Contact.objects.get(pk=contact)
    email = normalize_email(contact.email)
    needles = sorted({email, quote(email, safe=""), quote(email, safe="@")})
    report = Erasure(contact_id=contact.pk)
    deleted = report.deleted
    with transaction.atomic():
        add_unread_of(contact.pk)
        add_erased_exits(contact.pk)
        visitors = list(Visitor.objects.filter(contact_id=contact.pk).values_list("pk", flat=True))
        mine = Event.objects.filter(contact_id=contact.pk)
        submissions = form_submissions(contact, events=mine)
        deleted["form_submissions"] = 0
        for model, ids in submissions:
            deleted["form_submissions"] += model.objects.filter(pk__in=ids).delete()[0]
        # Plain DELETEs: nothing refers to events or step runs (Django deletes them
        # without loading a row).
        deleted["events"] = mine.delete()[0]
        if visitors:
            deleted["events"] += Event.objects.filter(visitor_id__in=visitors).delete()[0]
        deleted["step_runs"] = StepRun.objects.filter(contact_id=contact.pk).delete()[0]
        report.scrubbed["promo_codes"] = PromoCode.objects.filter(
            Q(contact_id=contact.pk) | Q(enrollment__contact_id=contact.pk)
        ).update(contact=None, enrollment=None)
        for name, queryset in (
            ("messages", Message.objects.filter(contact_id=contact.pk)),
            ("enrollments", Enrollment.objects.filter(contact_id=contact.pk)),
            ("consent_records", ConsentRecord.objects.filter(contact_id=contact.pk)),
            ("topic_choices", TopicSubscription.objects.filter(contact_id=contact.pk)),
            ("segment_memberships", SegmentTriggerMember.objects.filter(contact_id=contact.pk)),
            ("visitors", Visitor.objects.filter(contact_id=contact.pk)),
        ):
            deleted[name] = queryset.delete()[0]
        deleted["contact"] = Contact.objects.filter(pk=contact.pk).delete()[0]
        link_q = Q()
        for needle in needles:
            link_q |= Q(url__icontains=needle)
        report.scrubbed["links"] = LinkDay.objects.filter(link_q).update(url="")
        report.scrubbed["imports"] = _scrub_imports(needles)
        report.scrubbed["admin_history"] = _scrub_admin_history(contact.pk)
        report.scrubbed["email_previews"] = _scrub_previews(email)
        if conf.get("SUPPRESS_ERASED") if suppress is None else suppress:
            Suppression.objects.get_or_create(hash=suppression_hash(email))
            report.suppressed = True
        _log(contact.pk, by)
    _forget_counts()
    return report


def _log(contact_pk: int, by: Any) -> None:
    """One entry in Wagtail's history: who erased which contact id (never whom)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    user = by if getattr(by, "is_authenticated", False) else None
    ModelLogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(contact_pk),
        label=f"Contact #{contact_pk} (erased)",
        action="wagtail_journeys.erase",
        user=user,
        timestamp=timezone.now(),
    )
