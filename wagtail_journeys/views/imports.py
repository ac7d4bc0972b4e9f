"""Importing contacts from the admin: upload a CSV, confirm its columns, watch it run.

The file is checked before anything is stored (size, not a workbook or binary, UTF-8, a
header); the import itself runs in a django-q2 task through the same engine as
``journeys_import_contacts`` (``contact_imports.run_import``), so the page only polls a
small JSON view and stays responsive. Needs *Can import contacts* and seeing contacts.
"""

from __future__ import annotations

import csv

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ..contact_rows import (
    ATTRIBUTE_PREFIX,
    COLUMNS,
    MAX_COLUMNS,
    InvalidHeader,
    parse_header,
    read_records,
)
from ..exceptions import InvalidInput
from ..models import ContactImport, ImportStatus
from ..permissions import can_import_contacts

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
#: Columns the contacts export writes that an import does not read.
EXPORT_ONLY = {"created_at", "updated_at", "last_activity_at"}
PREVIEW_ROWS = 5
_SNIFF_BYTES = 256 * 1024


def _check_permission(request) -> None:
    if not can_import_contacts(request.user):
        raise PermissionDenied


def _head(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and first rows of a file's beginning, or ``forms.ValidationError``."""
    if not data.strip():
        raise forms.ValidationError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise forms.ValidationError(
            _("This is a spreadsheet workbook, not a CSV file: save it as “CSV UTF-8” first.")
        )
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise forms.ValidationError(
            _("This is not a text file (it holds NUL bytes): save it as “CSV UTF-8”.")
        )
    head = data[:_SNIFF_BYTES]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a character cut at the sniff's end
            raise forms.ValidationError(
                _("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.")
            ) from None
        text = head[: exc.start].decode("utf-8-sig")
    lines = text.splitlines(keepends=True)
    if len(head) < len(data) and lines:
        lines = lines[:-1]  # the last line may be cut
    try:
        header, records = read_records(lines)
    except (InvalidInput, csv.Error) as exc:  # a header the csv module cannot read
        raise forms.ValidationError(str(exc)) from None
    if not header or not any(cell.strip() for cell in header):
        raise forms.ValidationError(_("The file has no header row."))
    if len(header) > MAX_COLUMNS:
        raise forms.ValidationError(_("The header has too many columns."))
    rows = []
    for _line, cells in records:
        if isinstance(cells, list):
            rows.append(cells)
        if len(rows) >= PREVIEW_ROWS:
            break
    return header, rows


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, comma or semicolon separated, with a header row; an export of the "
            "contacts listing imports as it is."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB: split it, or use journeys_import_contacts.")
                % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        data = b"".join(upload.chunks())
        self.header, self.preview = _head(data)
        self.data = data
        return upload


def _guess(cell: str) -> str:
    """The column a header cell stands for, or "" (not imported)."""
    name = cell.strip().lstrip("\ufeff").strip()
    try:
        return parse_header([name, "email"] if name.lower() != "email" else [name])[0]
    except InvalidHeader:
        return ""


class ColumnsForm(forms.Form):
    """One choice per header cell: a contact column, an attribute named after it, or
    not imported."""

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        for i, cell in enumerate(header):
            choices = [("", _("Not imported"))] + [(name, name) for name in COLUMNS]
            key = cell.strip()[:100] or f"column_{i + 1}"
            attribute = key if key.lower().startswith(ATTRIBUTE_PREFIX) else ATTRIBUTE_PREFIX + key
            if attribute not in dict(choices):
                choices.append((attribute, _("Attribute “%(key)s”") % {"key": attribute[5:]}))
            guess = _guess(cell)
            self.fields[f"column_{i}"] = forms.ChoiceField(
                label=cell or _("(column %(n)s)") % {"n": i + 1},
                choices=choices,
                required=False,
                initial=guess if guess in dict(choices) else "",
            )

    def clean(self):
        data = super().clean()
        columns = [data.get(f"column_{i}", "") for i in range(len(self.header))]
        try:
            parse_header([name for name in columns if name])
        except InvalidHeader as exc:
            raise forms.ValidationError(str(exc)) from None
        self.columns = columns
        return data


class ImportMixin(WagtailAdminTemplateMixin):
    header_icon = "upload"
    page_title = gettext_lazy("Import contacts")

    def dispatch(self, request, *args, **kwargs):
        _check_permission(request)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("journeys_contacts:index"), "label": _("Contacts")},
            {"url": "", "label": self.get_page_title()},
        ]


class UploadView(ImportMixin, FormView):
    template_name = "wagtail_journeys/imports/upload.html"
    form_class = UploadForm

    def form_valid(self, form):
        job = ContactImport.objects.create(
            file_name=form.cleaned_data["file"].name[:255],
            size=len(form.data),
            data=form.data,
            header=form.header,
            created_by=self.request.user,
        )
        return redirect("journeys_imports:confirm", job.pk)


class ConfirmView(ImportMixin, FormView):
    template_name = "wagtail_journeys/imports/confirm.html"
    form_class = ColumnsForm

    def dispatch(self, request, *args, **kwargs):
        _check_permission(request)
        self.job = get_object_or_404(ContactImport, pk=kwargs["pk"])
        if self.job.status != ImportStatus.UPLOADED:
            return redirect("journeys_imports:progress", self.job.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "header": self.job.header}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        _header, rows = _head(bytes(self.job.data))
        context["job"] = self.job
        context["preview"] = rows
        return context

    def form_valid(self, form):
        from django_q.tasks import async_task

        updated = ContactImport.objects.filter(pk=self.job.pk, status=ImportStatus.UPLOADED).update(
            columns=form.columns, status=ImportStatus.QUEUED
        )
        if updated:
            async_task(
                "wagtail_journeys.tasks.import_contacts",
                self.job.pk,
                task_name=f"journeys: import contacts {self.job.pk}",
            )
        return redirect("journeys_imports:progress", self.job.pk)


class ProgressView(ImportMixin, TemplateView):
    template_name = "wagtail_journeys/imports/progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["job"] = get_object_or_404(
            ContactImport.objects.defer("data", "rejects"), pk=kwargs["pk"]
        )
        return context


def status_view(request, pk: int):
    """The import's progress as JSON, for the progress page's polling."""
    _check_permission(request)
    job = get_object_or_404(ContactImport.objects.defer("data", "rejects"), pk=pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED),
            "percent": round(job.share * 100),
            "rows": job.rows,
            "created": job.created,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "merged": job.merged,
            "rejected": job.rejected,
            "skipped": job.skipped,
            "error": job.error,
        }
    )


def rejects_view(request, pk: int):
    """The rejected rows as CSV: line, reason, then the row's cells (formula-safe)."""
    _check_permission(request)
    job = get_object_or_404(ContactImport.objects.defer("data"), pk=pk)
    response = HttpResponse(job.rejects, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="contacts-import-{job.pk}-rejected.csv"'
    )
    return response


def admin_urls():
    return [
        path("", UploadView.as_view(), name="upload"),
        path("<int:pk>/", ConfirmView.as_view(), name="confirm"),
        path("<int:pk>/progress/", ProgressView.as_view(), name="progress"),
        path("<int:pk>/status/", status_view, name="status"),
        path("<int:pk>/rejected.csv", rejects_view, name="rejects"),
    ]
