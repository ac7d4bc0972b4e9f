"""``ContactImport``: one CSV file uploaded in the admin, and how its import went."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded (columns to confirm)")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ContactImport(models.Model):
    """A CSV file of contacts uploaded in the admin and run by ``tasks.import_contacts``
    (the engine of ``journeys_import_contacts``).

    The file is kept in the database (``data``), so a worker on another machine reads it;
    ``columns`` is the confirmed mapping of its header (``importer.import_contacts``).
    The counters move after each batch, which is what the progress page polls;
    ``rejects`` is the report of rejected rows as CSV (line, reason, the row's cells).
    ``data`` is emptied once the import has run."""

    file_name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size"), default=0)
    data = models.BinaryField(default=b"", editable=False)
    header = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    bytes_read = models.BigIntegerField(default=0)
    created = models.PositiveIntegerField(pgettext_lazy("contacts counted", "created"), default=0)
    updated = models.PositiveIntegerField(pgettext_lazy("contacts counted", "updated"), default=0)
    unchanged = models.PositiveIntegerField(
        pgettext_lazy("contacts counted", "unchanged"), default=0
    )
    merged = models.PositiveIntegerField(_("merged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    #: Rows of erased addresses (``SUPPRESS_ERASED``), listed in ``rejects`` by line only.
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    rejects = models.TextField(blank=True, editable=False)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")

    def __str__(self) -> str:
        return self.file_name

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

    @property
    def share(self) -> float:
        """How much of the file has been read, 0 to 1."""
        if self.status == ImportStatus.DONE:
            return 1.0
        return min(self.bytes_read / self.size, 1.0) if self.size else 0.0
