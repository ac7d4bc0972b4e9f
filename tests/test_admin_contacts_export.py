"""The contacts export (CSV and XLSX, from the listing) through the real admin URL: what a
spreadsheet opens must never run a formula, and no stored name may break the download."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

#: Stored as contacts' names (and one email): each would run in a spreadsheet as written.
FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    '＝HYPERLINK("http://evil.example")',
]
#: Ordinary values that must come out exactly as stored.
ORDINARY = ["Jean-Pierre", "O'Brien", "-12.5", "+33612345678", "Zoë", "Ann=Marie"]


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    return client


def export(client, kind: str) -> list[list]:
    """The exported rows (header first) as a spreadsheet program reads them."""
    response = client.get(reverse("journeys_contacts:index"), {"export": kind})
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    if kind == "csv":
        return list(csv.reader(io.StringIO(body.decode(), newline="")))
    sheet = load_workbook(io.BytesIO(body)).active
    return [list(row) for row in sheet.iter_rows()]


def by_email(rows: list[list], value=lambda cell: cell) -> dict:
    return {value(row[0]): [value(cell) for cell in row] for row in rows[1:]}


def test_csv_export_neutralises_formulas_and_keeps_ordinary_values(admin_client):
    for i, text in enumerate(FORMULAS):
        ContactFactory(email=f"f{i}@example.com", first_name=text, last_name="Doe")
    for i, text in enumerate(ORDINARY):
        ContactFactory(email=f"o{i}@example.com", first_name=text, last_name=text)
    ContactFactory(email="=1+1@example.com", first_name="Eve")
    rows = by_email(export(admin_client, "csv"))
    for i, text in enumerate(FORMULAS):
        assert rows[f"f{i}@example.com"][1] == "'" + text
        assert rows[f"f{i}@example.com"][2] == "Doe"
    for i, text in enumerate(ORDINARY):
        assert rows[f"o{i}@example.com"][1:3] == [text, text]
    assert "'=1+1@example.com" in rows


def test_xlsx_export_stores_formulas_as_quoted_text_exactly(admin_client):
    for i, text in enumerate(FORMULAS):
        ContactFactory(email=f"f{i}@example.com", first_name=text)
    ContactFactory(email="ordinary@example.com", first_name="Jean-Pierre", last_name="-12.5")
    rows = by_email(export(admin_client, "xlsx"), value=lambda cell: cell)
    cells = {row[0].value: row for row in rows.values()}
    for i, text in enumerate(FORMULAS):
        name = cells[f"f{i}@example.com"][1]
        assert name.data_type == "s" and name.value == text
        assert name.quotePrefix  # Excel keeps it text even when the cell is edited
    ordinary = cells["ordinary@example.com"]
    assert [ordinary[1].value, ordinary[2].value] == ["Jean-Pierre", "-12.5"]
    assert not ordinary[1].quotePrefix


def test_control_characters_do_not_break_the_xlsx_export(admin_client):
    ContactFactory(email="ctrl@example.com", first_name="Bell\x07 and\x1b[31m", last_name="A\tB")
    rows = export(admin_client, "xlsx")
    (row,) = rows[1:]
    assert [cell.value for cell in row[:3]] == [
        "ctrl@example.com",
        "Bell\ufffd and\ufffd[31m",
        "A\tB",
    ]
    csv_rows = export(admin_client, "csv")
    assert csv_rows[1][1:3] == ["Bell\x07 and\x1b[31m", "A\tB"]  # CSV keeps them exactly


def test_exported_csv_imports_back_to_the_same_values(admin_client, tmp_path):
    from django.core.management import call_command

    from wagtail_journeys.models import Contact

    ContactFactory(email="=1+1@example.com", first_name="+1+1", last_name="-Doe")
    ContactFactory(email="plain@example.com", first_name="Ann", last_name="-12.5")
    rows = export(admin_client, "csv")
    Contact.objects.all().delete()
    path = tmp_path / "export.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["email", "first_name", "last_name"]] + [r[:3] for r in rows[1:]])
    call_command("journeys_import_contacts", str(path), "--no-progress", stdout=io.StringIO())
    assert sorted(Contact.objects.values_list("email", "first_name", "last_name")) == [
        ("=1+1@example.com", "+1+1", "-Doe"),
        ("plain@example.com", "Ann", "-12.5"),
    ]


def test_csv_export_has_every_field_tags_and_attributes_under_the_import_names(admin_client):
    import datetime as dt

    contact = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        civility="mrs",
        birth_date=dt.date(1980, 5, 17),
        phone="+33612345678",
        locale="fr",
        attributes={"member_since": 2019, "genre": "thriller"},
        sms_opt_in=True,
    )
    contact.tags.add("stephen-king", "horror")
    rows = export(admin_client, "csv")
    header, row = rows[0], by_email(rows)["ann@example.com"]
    assert header[:12] == [
        "email",
        "first_name",
        "last_name",
        "civility",
        "birth_date",
        "phone",
        "locale",
        "timezone",
        "email_status",
        "sms_opt_in",
        "tags",
        "attributes",
    ]
    cells = dict(zip(header, row, strict=True))
    assert cells["civility"] == "mrs" and cells["birth_date"] == "1980-05-17"
    assert cells["phone"] == "'+33612345678" or cells["phone"] == "+33612345678"
    assert cells["tags"] == "horror; stephen-king"
    assert cells["attributes"] == '{"genre": "thriller", "member_since": 2019}'
    assert cells["timezone"] == "Europe/Paris" and cells["locale"] == "fr"
    assert {"created_at", "updated_at", "last_activity_at"} <= set(header)


def test_export_file_names_say_what_and_when(admin_client):
    from django.utils import timezone

    from tests.segments.factories import SegmentFactory, rule

    today = timezone.localdate().isoformat()
    segment = SegmentFactory(slug="king-readers", rules=[rule("tags", tags="king")])
    index = reverse("journeys_contacts:index")

    def name(**query) -> str:
        response = admin_client.get(index, {"export": "csv", **query})
        return response["Content-Disposition"]

    assert name() == f'attachment; filename="contacts-all-{today}.csv"'
    assert name(segment=segment.pk) == f'attachment; filename="contacts-king-readers-{today}.csv"'
    assert name(email_status="bounced") == f'attachment; filename="contacts-filtered-{today}.csv"'
    xlsx = admin_client.get(index, {"export": "xlsx", "segment": segment.pk})
    assert f"contacts-king-readers-{today}.xlsx" in xlsx["Content-Disposition"]
