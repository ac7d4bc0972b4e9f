"""Spreadsheet exports (Wagtail's CSV/XLSX export of a listing) that spreadsheets cannot
turn against whoever opens them: see ``wagtail_journeys.spreadsheets``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.functional import cached_property

from ..permissions import can_export_contacts
from ..spreadsheets import csv_text, looks_like_formula, xlsx_text


class SafeSpreadsheetExportMixin:
    """For a view using Wagtail's ``SpreadsheetExportMixin`` (every generic ``IndexView``).

    Text only: numbers, booleans and dates are written as Wagtail writes them. In CSV a
    text that looks like a formula gets a leading apostrophe; in XLSX it stays exactly as
    stored, as a text cell marked "quote prefix" (so editing it in Excel keeps it text),
    and characters a worksheet cannot hold are replaced instead of failing the download.
    """

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        if not isinstance(value, str):
            return value
        return csv_text(value) if export_format == self.FORMAT_CSV else xlsx_text(value)

    def generate_xlsx_row(self, worksheet, row_dict, date_format=None):
        for cell in super().generate_xlsx_row(worksheet, row_dict, date_format=date_format):
            if cell.data_type == "s" and looks_like_formula(cell.value):
                cell.quotePrefix = True
            yield cell


class ContactDataExportMixin(SafeSpreadsheetExportMixin):
    """A listing of contact data whose downloads need ``export_contacts`` on top of seeing
    the listing: the buttons are hidden and the download refused (403) without it."""

    def dispatch(self, request, *args, **kwargs):
        if self.is_export and not can_export_contacts(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def show_export_buttons(self) -> bool:
        return bool(self.list_export) and can_export_contacts(self.request.user)
