"""``manage.py journeys_import_contacts FILE.csv``: upsert contacts from a CSV file.

Thin wrapper around ``wagtail_journeys.importer``: opens the file, draws progress on
stderr, lists rejected rows and prints the summary. Exits non-zero only when the file
cannot be read (missing, not UTF-8, an unusable header: then nothing is written) or the
database stops it; never with a traceback.
"""

from __future__ import annotations

import csv
import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, reset_queries

from ...importer import ImportReport, InvalidFile, Rejection, import_contacts
from ..progress import ProgressBar

SHOWN_REJECTIONS = 100


class Command(BaseCommand):
    help = (
        "Create or update contacts from a CSV file (UTF-8, comma or semicolon separated). "
        "Columns: email (required), first_name, last_name, civility, birth_date, phone, "
        "locale, timezone, email_status, sms_opt_in, tags, attributes, attr:<key>."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the CSV file")
        parser.add_argument(
            "--rejects", metavar="FILE.csv", help="write rejected rows here, with line and reason"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count, write nothing"
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, file, rejects, dry_run, batch_size, no_progress, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            raw = open(file, "rb")  # noqa: SIM115 (closed below)
            size = os.fstat(raw.fileno()).st_size
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        if not raw.seekable():
            raw.close()
            raise CommandError(f"Cannot read {file} twice (is it a pipe?): import a file.")
        try:
            rejects_file = (
                open(rejects, "w", encoding="utf-8", errors="backslashreplace", newline="")  # noqa: SIM115
                if rejects
                else None
            )
        except OSError as exc:
            raw.close()
            raise CommandError(f"Cannot write {rejects}: {exc.strerror}.") from exc
        rejects_writer = csv.writer(rejects_file) if rejects_file else None
        progress = None if no_progress else ProgressBar(self.stderr._out, size)
        shown = 0
        written = ImportReport()

        def on_reject(rejection: Rejection) -> None:
            nonlocal shown
            if progress:
                progress.clear()
            if shown < SHOWN_REJECTIONS:
                self.stderr.write(f"line {rejection.line}: {rejection.reason}")
            elif shown == SHOWN_REJECTIONS:
                self.stderr.write(
                    "… more rejected rows are not shown here"
                    + (f"; all are in {rejects}." if rejects else "; use --rejects FILE.csv.")
                )
            shown += 1
            if rejects_writer:
                if shown == 1:
                    rejects_writer.writerow(["line", "reason", *rejection.header])
                rejects_writer.writerow([rejection.line, rejection.reason, *rejection.cells])

        def on_batch(report: ImportReport) -> None:
            nonlocal written
            written = report
            reset_queries()  # with DEBUG on, Django would keep every batch's SQL
            if progress:
                progress.update(report.rows, raw.tell())

        try:
            report = import_contacts(
                raw,
                batch_size=batch_size,
                dry_run=dry_run,
                on_reject=on_reject,
                on_batch=on_batch,
                consent_details={"file": os.path.basename(str(file))},
            )
        except InvalidFile as exc:
            raise CommandError(f"{file}: {exc}") from exc
        except DatabaseError as exc:
            raise CommandError(
                f"The database stopped the import: {exc}. The batches before it were written "
                f"({written.rows:,} rows read); the rest was not. Import the file again once the "
                "database is fixed: rows already written count as unchanged."
            ) from exc
        finally:
            raw.close()
            if rejects_file:
                rejects_file.close()
        if progress:
            progress.finish(report.rows, size)
        prefix = "Dry run, nothing written: would have " if dry_run else ""
        self.stdout.write(
            f"{prefix}created {report.created:,}, updated {report.updated:,}, "
            f"unchanged {report.unchanged:,}, merged {report.merged:,} repeated emails, "
            f"rejected {report.rejected:,}"
            + (f", skipped {report.skipped:,} erased addresses" if report.skipped else "")
            + f" of {report.rows:,} rows."
        )
