"""Running an admin upload (``ContactImport``) through the one import engine
(``importer.import_contacts``, the engine of ``journeys_import_contacts``).

``run_import`` is what the django-q2 task calls: it claims a queued import once (a task
the queue runs twice finds it claimed and does nothing), streams the file kept in the
row, saves the counters after each batch (the progress page polls them) and the report
of rejected rows at the end, then empties the stored file.
"""

from __future__ import annotations

import csv
import io

from django.db import DatabaseError, reset_queries
from django.utils import timezone
from django.utils.translation import gettext

from .importer import SKIPPED_ERASED, ImportReport, InvalidFile, Rejection, import_contacts
from .models import ContactImport, ImportStatus
from .spreadsheets import csv_text

#: The rejected rows a report keeps (their count is always exact).
MAX_REPORTED_REJECTIONS = 100_000


def rejects_header(header: list[str]) -> list[str]:
    return ["line", "reason", *header]


def run_import(import_id: int) -> str:
    """Run one queued import to its end; return its final status. Idempotent."""
    claimed = ContactImport.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "not queued"
    job = ContactImport.objects.get(pk=import_id)
    data, job.data = job.data, b""  # one copy of the file in memory, not two
    raw = io.BytesIO(data if isinstance(data, bytes) else bytes(data))
    del data
    rejects = io.StringIO()
    writer = csv.writer(rejects)
    reported = 0

    def on_reject(rejection: Rejection) -> None:
        nonlocal reported
        if reported == 0:
            writer.writerow([csv_text(c) for c in rejects_header(rejection.header)])
        if reported < MAX_REPORTED_REJECTIONS:
            reason = rejection.reason
            if reason == SKIPPED_ERASED:
                reason = gettext(SKIPPED_ERASED)
            writer.writerow([rejection.line, reason, *(csv_text(c) for c in rejection.cells)])
        reported += 1

    def on_batch(report: ImportReport) -> None:
        reset_queries()
        ContactImport.objects.filter(pk=import_id).update(
            bytes_read=raw.tell(), **_counters(report)
        )

    status, error, report = ImportStatus.DONE, "", None
    try:
        report = import_contacts(
            raw,
            columns=job.columns or None,
            on_reject=on_reject,
            on_batch=on_batch,
            consent_details={"import": import_id},
        )
    except InvalidFile as exc:
        status, error = ImportStatus.FAILED, str(exc)
    except DatabaseError as exc:
        status = ImportStatus.FAILED
        error = (
            f"The database stopped the import: {exc}. The batches before it were written; "
            "the rest was not. Import the file again: rows already written count as unchanged."
        )
    ContactImport.objects.filter(pk=import_id).update(
        status=status,
        error=error,
        rejects=rejects.getvalue(),
        data=b"",
        bytes_read=job.size,
        finished_at=timezone.now(),
        **(_counters(report) if report else {}),
    )
    return status


def _counters(report: ImportReport) -> dict[str, int]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "merged": report.merged,
        "rejected": report.rejected,
        "skipped": report.skipped,
    }
