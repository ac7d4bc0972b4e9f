"""Importing contacts from CSV: check the whole file, then validate and upsert in batches.

``import_contacts`` reads its source twice, streaming it (never loaded whole), and
guarantees:

- nothing is written unless the whole file can be read: the first pass decodes every
  byte (UTF-8) and parses the header and every record, the second one writes;
- every row is validated completely (``contact_rows``) before anything of it is written,
  and a row with a cell the database could not store (NUL, lone surrogate, a number out
  of bounds, a cell over ``MAX_CELL_CHARS``) is rejected with its line, like any other
  bad row; each batch is written in one transaction, so a row is never half-written;
- an empty cell changes nothing, so an existing contact's ``email_status`` (consent) only
  changes when the row's ``email_status`` cell says so;
- attributes are merged key by key and tags are added, never removed;
- a row repeating an email seen earlier in the file is merged into it, in file order
  (later non-empty cells win), exactly as if the rows came in two imports;
- a row of an address that was erased (``SUPPRESS_ERASED``) and is no contact is skipped
  with its line and the reason, never its cells: the report does not bring the address
  back either.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_noop
from taggit.models import Tag

from . import conf
from .consent import action_for_status
from .contact_rows import (
    ContactRow,
    InvalidFile,
    InvalidHeader,
    Rejection,
    check_utf8,
    parse_header,
    read_records,
    validate_row,
)
from .exceptions import InvalidInput
from .models import (
    ConsentAction,
    ConsentChannel,
    ConsentRecord,
    ConsentSource,
    Contact,
    ContactTag,
    EmailStatus,
)

__all__ = ["ImportReport", "InvalidFile", "InvalidHeader", "Rejection", "import_contacts"]

#: SQLite's historical limit of bound parameters in one statement, with room to spare.
_IN_CHUNK = 900


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do), row by row."""

    header: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rejected: int = 0
    skipped: int = 0

    @property
    def rows(self) -> int:
        return (
            self.created
            + self.updated
            + self.unchanged
            + self.merged
            + self.rejected
            + self.skipped
        )


#: The reason given for a skipped row (an erased address); translated where shown.
SKIPPED_ERASED = gettext_noop("skipped: this address was erased at its owner's request")


def _erased(batch: list[ContactRow], seen: set[str]) -> set[str]:
    """The addresses of a batch that were erased and are no contact: their rows are
    skipped (no query while ``SUPPRESS_ERASED`` is off)."""
    from .privacy import erased_among

    return erased_among({row.email for row in batch} - seen)


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _apply(contact: Contact, row: ContactRow, changed: set[str]) -> bool:
    """Copy the row onto the contact; add the names of the fields it changed to
    ``changed`` (the batch's columns to update) and return whether it changed any."""
    names = [name for name, value in row.fields.items() if getattr(contact, name) != value]
    for name in names:
        setattr(contact, name, row.fields[name])
    if row.attributes:
        merged = {**(contact.attributes or {}), **row.attributes}
        if merged != contact.attributes:
            contact.attributes = merged
            names.append("attributes")
    changed.update(names)
    return bool(names)


def _ensure_tags(names: set[str]) -> dict[str, int]:
    """Return ``{name: tag id}``, creating the missing tags in bulk with unique slugs."""
    ids: dict[str, int] = {}
    for chunk in _chunks(sorted(names)):
        ids.update(Tag.objects.filter(name__in=chunk).values_list("name", "id"))
    missing = sorted(names - ids.keys())
    if missing:
        wanted = {name: slugify(name)[:90] or "tag" for name in missing}
        taken = set()
        for chunk in _chunks(sorted(set(wanted.values()))):
            taken.update(Tag.objects.filter(slug__in=chunk).values_list("slug", flat=True))
        new = []
        for name in missing:
            slug, n = wanted[name], 1
            while slug in taken:
                slug, n = f"{wanted[name]}_{n}", n + 1
            taken.add(slug)
            new.append(Tag(name=name, slug=slug))
        Tag.objects.bulk_create(new, ignore_conflicts=True)
        for chunk in _chunks(missing):
            ids.update(Tag.objects.filter(name__in=chunk).values_list("name", "id"))
        for name in missing:
            if name not in ids:
                # Its numbered slug was taken too (only the plain slugs were looked up), or
                # a concurrent import made it: taggit's save finds a free slug.
                ids[name] = Tag.objects.get_or_create(name=name)[0].pk
    return ids


CONSENT_FIELDS = ("email_status", "sms_opt_in")


def _consent_rows(
    given: dict[str, set[str]],
    before: dict[str, tuple | None],
    contacts: dict[str, Contact],
    pks: dict[str, int],
    details: dict,
    now: dt.datetime,
    source: str = ConsentSource.IMPORT,
) -> list[tuple]:
    """The consent records of a batch, as ``CONSENT_COLUMNS`` values ready for the
    database: for each contact whose rows gave a consent field, one per field whose value
    differs from before the batch (any, for a new contact). Rows, not model instances,
    and each distinct value prepared once: an import of 100,000 new contacts writes
    200,000 records (``status_record`` and ``sms_record`` say the same per record)."""
    connection = connections[router.db_for_write(ConsentRecord)]
    field = ConsentRecord._meta.get_field
    at = field("recorded_at").get_db_prep_save(now, connection)
    prepared: dict[tuple, Any] = {}
    actions = {status: action_for_status(status).value for status in EmailStatus.values}

    def facts(**values) -> Any:
        key = tuple(values.items())
        if key not in prepared:
            prepared[key] = field("details").get_db_prep_save({**values, **details}, connection)
        return prepared[key]

    rows = []
    for email, names in given.items():
        contact, previous = contacts[email], before[email]
        status = contact.email_status
        if "email_status" in names and (previous is None or previous[0] != status):
            was = {"previous": previous[0]} if previous and previous[0] else {}
            rows.append(
                (pks[email], ConsentChannel.EMAIL.value, actions[status], "", "", source)
                + (facts(email_status=status, **was), at)
            )
        if "sms_opt_in" in names and (previous is None or previous[1] != contact.sms_opt_in):
            opted_in = bool(contact.sms_opt_in)
            action = ConsentAction.GRANTED if opted_in else ConsentAction.WITHDRAWN
            rows.append(
                (pks[email], ConsentChannel.SMS.value, action.value, "", "", source)
                + (facts(sms_opt_in=opted_in), at)
            )
    return rows


#: The columns ``_consent_rows`` fills (the topic is empty: imports set no topic).
CONSENT_COLUMNS = (
    "contact",
    "channel",
    "action",
    "topic_name",
    "wording",
    "source",
    "details",
    "recorded_at",
)


def _write_batch(
    rows: list[ContactRow],
    seen: set[str],
    report: ImportReport,
    dry_run: bool,
    consent_details: dict | None = None,
    *,
    outcomes: list[str] | None = None,
    consent_source: str = ConsentSource.IMPORT,
):
    """Upsert one batch of rows; ``outcomes`` (if given) gets each row's ``created``,
    ``updated`` or ``unchanged``, in order (the batch API reports them per item).
    The batch's consent records have ``consent_source`` and ``consent_details``."""
    emails = sorted({row.email for row in rows})
    existing: dict[str, Contact] = {}
    for chunk in _chunks(emails):
        existing.update((c.email, c) for c in Contact.objects.filter(email__in=chunk))
    tagged = {row.email for row in rows if row.tags and row.email in existing}
    has_tag: set[tuple[int, str]] = set()
    if tagged:
        for chunk in _chunks([existing[email].pk for email in tagged]):
            has_tag.update(
                ContactTag.objects.filter(content_object_id__in=chunk).values_list(
                    "content_object_id", "tag__name"
                )
            )
    new: dict[str, Contact] = {}
    changed_fields: set[str] = set()
    changed: dict[str, Contact] = {}
    new_tags: dict[str, list[str]] = {}
    given: dict[str, set[str]] = {}  # consent fields the rows of each address set
    before: dict[str, tuple | None] = {}  # their values before the batch (None: new)
    default_status = conf.get("DEFAULT_EMAIL_STATUS")
    for row in rows:
        contact = existing.get(row.email) or new.get(row.email)
        created = contact is None
        if created:
            contact = Contact(email=row.email, email_status=default_status)
            new[row.email] = contact
            before[row.email] = None
        elif row.email not in before:
            before[row.email] = (contact.email_status, contact.sms_opt_in)
        consent = [name for name in CONSENT_FIELDS if name in row.fields]
        if consent:
            given.setdefault(row.email, set()).update(consent)
        fields_changed = _apply(contact, row, changed_fields)
        pending = new_tags.setdefault(row.email, [])
        added = [tag for tag in row.tags if tag not in pending and (contact.pk, tag) not in has_tag]
        pending.extend(added)
        if outcomes is not None:
            outcomes.append(
                "created" if created else "updated" if fields_changed or added else "unchanged"
            )
        if row.email in seen:
            report.merged += 1
        elif created:
            report.created += 1
        elif fields_changed or added:
            report.updated += 1
        else:
            report.unchanged += 1
        if fields_changed and row.email not in new:  # a new contact is inserted as it ends
            changed[row.email] = contact
        seen.add(row.email)
    if dry_run:
        return
    now = timezone.now()
    for contact in changed.values():
        contact.updated_at = now
    with transaction.atomic():
        _insert_contacts(list(new.values()), now)
        if changed:
            Contact.objects.bulk_update(
                changed.values(), [*sorted(changed_fields), "updated_at"], batch_size=500
            )
        wanted = {email: tags for email, tags in new_tags.items() if tags}
        pks = {email: contact.pk for email, contact in existing.items()}
        unknown = [email for email in {*wanted, *given} if email in new]
        for chunk in _chunks(unknown):
            pks.update(Contact.objects.filter(email__in=chunk).values_list("email", "pk"))
        if given:
            rows = _consent_rows(
                given,
                before,
                {**existing, **new},
                pks,
                dict(consent_details or {}),
                now,
                consent_source,
            )
            fields = [ConsentRecord._meta.get_field(name) for name in CONSENT_COLUMNS]
            _insert(ConsentRecord, fields, rows)
        if wanted:
            tag_ids = _ensure_tags({tag for tags in wanted.values() for tag in tags})
            _insert(
                ContactTag,
                [ContactTag._meta.get_field("content_object"), ContactTag._meta.get_field("tag")],
                [[pks[email], tag_ids[tag]] for email, tags in wanted.items() for tag in tags],
            )


def _insert(model: type[models.Model], fields: list[models.Field], rows: list[list]) -> None:
    """INSERT rows (already prepared for the database) with one ``executemany``.

    Much faster than ``bulk_create``, which on SQLite splits a batch into statements of
    999 parameters, compiles each one and builds a model instance per row.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    # Only names from the model's own metadata, quoted, go into the statement.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _insert_contacts(contacts: list[Contact], now: dt.datetime) -> None:
    connection = connections[router.db_for_write(Contact)]
    fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    # Text needs no preparing (the values are validated strings); the rest goes through
    # the field, as bulk_create would.
    prepared = [not isinstance(f, models.CharField) for f in fields]
    for contact in contacts:
        contact.updated_at = now
    rows = [
        [
            f.get_db_prep_save(value, connection) if prep else value
            for f, prep, value in zip(
                fields, prepared, (getattr(c, f.attname) for f in fields), strict=True
            )
        ]
        for c in contacts
    ]
    _insert(Contact, fields, rows)


#: What ``import_contacts`` reads: a binary file (seekable) or the lines of one.
Source = IO[bytes] | Sequence[str]


@contextmanager
def _lines(source: Source, start: int) -> Iterator[IO[str] | Sequence[str]]:
    """The source's text from its start, once more (a binary file is decoded as UTF-8, a
    byte-order mark dropped; the file is left open)."""
    if isinstance(source, Sequence):
        yield source
        return
    source.seek(start)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        yield text
    finally:
        text.detach()


def _check(
    source: Source, start: int, columns: Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """The first pass: decode and parse the whole file, write nothing; return the header
    as read and its column names (``columns``, one per header cell, ``""`` for a column
    to skip, when given; else the header's own names).

    Raises ``InvalidFile`` (not UTF-8) or ``InvalidHeader``. A record that cannot be
    parsed is not fatal: the second pass rejects it with its line.
    """
    if not isinstance(source, Sequence):
        source.seek(start)
        check_utf8(source)
    with _lines(source, start) as lines:
        header, records = read_records(lines)
        if columns is None:
            names = parse_header(header)
        else:
            if len(columns) != len(header):
                raise InvalidHeader(
                    f"{len(columns)} columns were mapped, but the header has {len(header)}."
                )
            names = [name for name in columns if name]
            parse_header(names)
            names = list(columns)
        for _ in records:
            pass
    return header, names


def import_contacts(
    source: Source,
    *,
    batch_size: int = 1000,
    dry_run: bool = False,
    on_reject: Callable[[Rejection], None] | None = None,
    on_batch: Callable[[ImportReport], None] | None = None,
    columns: Sequence[str] | None = None,
    consent_details: dict | None = None,
) -> ImportReport:
    """Upsert the contacts of a CSV file, ``batch_size`` rows per transaction.

    ``source`` is read twice: a binary file opened for reading (seekable; UTF-8, with or
    without a byte-order mark) or a sequence of text lines. The first pass writes
    nothing and raises ``InvalidFile`` when the file is not UTF-8, ``InvalidHeader``
    when its header cannot be used. Then rejected rows are passed to ``on_reject`` and
    counted, and so are the rows skipped because their address was erased (their reason
    is ``SKIPPED_ERASED``, their cells left out); ``on_batch`` is called after each
    batch. With ``dry_run`` the database is read but never written. ``columns`` maps the
    header's cells, in order, to the column names they stand for (``""``: not imported),
    for headers named otherwise (the admin's import lets its user map them); the names
    are checked as a header's would be.
    """
    if isinstance(source, str | bytes) or not (
        isinstance(source, Sequence) or (hasattr(source, "seekable") and source.seekable())
    ):
        raise TypeError(
            "import_contacts reads its source twice: pass a seekable binary file or a list "
            "of lines."
        )
    start = 0 if isinstance(source, Sequence) else source.tell()
    header, names = _check(source, start, columns)
    keep = [i for i, name in enumerate(names) if name]
    if len(keep) < len(names):
        names = [names[i] for i in keep]
    else:
        keep = []
    report = ImportReport(header=header)
    seen: set[str] = set()
    batch: list[ContactRow] = []

    def flush() -> None:
        erased = _erased(batch, seen)
        if erased:
            for row in batch:
                if row.email in erased:
                    report.skipped += 1
                    if on_reject:
                        on_reject(Rejection(row.line, SKIPPED_ERASED, [], header))
            batch[:] = [row for row in batch if row.email not in erased]
        for attempt in range(2):
            fresh = {row.email for row in batch} - seen
            counts = (report.created, report.updated, report.unchanged, report.merged)
            try:
                _write_batch(batch, seen, report, dry_run, consent_details)
                break
            except IntegrityError:
                # A contact was created concurrently by the site: count again and retry once.
                if attempt:
                    raise
                seen.difference_update(fresh)
                report.created, report.updated, report.unchanged, report.merged = counts
        batch.clear()
        if on_batch:
            on_batch(report)

    with _lines(source, start) as lines:
        _, records = read_records(lines)
        for line, cells in records:
            try:
                if isinstance(cells, str):
                    raise InvalidInput(cells)
                if keep and len(cells) == len(header):
                    batch.append(validate_row(names, [cells[i] for i in keep], line))
                else:
                    batch.append(validate_row(names, cells, line))
            except InvalidInput as exc:
                report.rejected += 1
                if on_reject:
                    on_reject(
                        Rejection(line, str(exc), cells if isinstance(cells, list) else [], header)
                    )
                continue
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    return report
