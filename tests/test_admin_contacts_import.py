"""Importing contacts from the admin: upload, confirm the columns, run (django-q2 in its
synchronous mode: the same task function a worker runs), progress and the report of
rejected rows; hostile files get a clear error, never a 500."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_q.conf import Conf

from tests.factories import ContactFactory
from wagtail_journeys.contact_imports import run_import
from wagtail_journeys.models import Contact, ContactImport, ImportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    return client


@pytest.fixture
def sync_tasks(monkeypatch):
    """django-q2's own synchronous mode: ``async_task`` runs the task at once."""
    monkeypatch.setattr(Conf, "SYNC", True)


def upload(client, content: bytes, name: str = "contacts.csv"):
    return client.post(
        reverse("journeys_imports:upload"), {"file": SimpleUploadedFile(name, content)}
    )


def test_upload_confirm_and_run_with_a_report_of_rejected_rows(admin_client, sync_tasks):
    ContactFactory(email="known@example.com", first_name="Old")
    content = (
        b"E-mail,first_name,Favourite genre,created_at\n"
        b"ann@example.com,Ann,thriller,2020-01-01\n"
        b"known@example.com,Known,horror,\n"
        b"not-an-email,Bad,,\n"
        b"=cmd|' /C calc'!A0,Evil,,\n"
    )
    response = upload(admin_client, content)
    job = ContactImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/")
    page = admin_client.get(response["Location"]).content.decode()
    assert "ann@example.com" in page and "Not imported" in page
    form = admin_client.get(response["Location"]).context["form"]
    assert [form.fields[f"column_{i}"].initial for i in range(4)] == ["", "first_name", "", ""]
    refused = admin_client.post(response["Location"], {"column_1": "first_name"})
    assert "no &#x27;email&#x27; column" in refused.content.decode()
    done = admin_client.post(
        response["Location"],
        {"column_0": "email", "column_1": "first_name", "column_2": "attr:Favourite genre"},
    )
    assert done.status_code == 302 and done["Location"].endswith("/progress/")
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and bytes(job.data) == b""
    assert (job.created, job.updated, job.rejected) == (1, 1, 2)
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.first_name == "Ann" and ann.attributes == {"Favourite genre": "thriller"}
    assert Contact.objects.get(email="known@example.com").first_name == "Known"
    status = admin_client.get(reverse("journeys_imports:status", args=[job.pk])).json()
    assert status["finished"] and status["percent"] == 100 and status["rejected"] == 2
    progress = admin_client.get(done["Location"]).content.decode()
    assert "Download the rejected rows" in progress
    report = admin_client.get(reverse("journeys_imports:rejects", args=[job.pk]))
    assert f"contacts-import-{job.pk}-rejected.csv" in report["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert rows[0] == ["line", "reason", "E-mail", "first_name", "Favourite genre", "created_at"]
    assert rows[1][0] == "4" and rows[1][2] == "not-an-email" and rows[1][1]
    assert rows[2][2] == "'=cmd|' /C calc'!A0"  # a spreadsheet shows it, never runs it


def test_an_export_imports_back_as_it_is(admin_client, sync_tasks):
    contact = ContactFactory(email="ann@example.com", attributes={"vip": True})
    contact.tags.add("horror")
    exported = b"".join(
        admin_client.get(reverse("journeys_contacts:index"), {"export": "csv"}).streaming_content
    )
    Contact.objects.all().delete()
    response = upload(admin_client, exported)
    confirm = response["Location"]
    form = admin_client.get(confirm).context["form"]
    data = {name: field.initial for name, field in form.fields.items()}
    admin_client.post(confirm, data)
    again = Contact.objects.get(email="ann@example.com")
    assert again.attributes == {"vip": True} and list(again.tags.names()) == ["horror"]


@pytest.mark.parametrize(
    "content, name, message",
    [
        (b"", "empty.csv", "is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "contacts.xlsx", "spreadsheet workbook"),
        (b"email\nann@example.com\x00\n", "nul.csv", "NUL bytes"),
        ("email,prénom\nann@example.com,Zoë\n".encode("latin-1"), "latin.csv", "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image.png", "NUL bytes"),
    ],
)
def test_hostile_files_get_a_clear_error(admin_client, content, name, message):
    response = upload(admin_client, content, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_file_not_utf8_after_its_beginning_fails_the_import_with_its_line(
    admin_client, sync_tasks
):
    content = b"email\n" + b"a@example.com\n" * 30_000 + b"caf\xe9@example.com\n"
    confirm = upload(admin_client, content)["Location"]
    admin_client.post(confirm, {"column_0": "email"})
    job = ContactImport.objects.get()
    assert job.status == ImportStatus.FAILED and "Line 30,002 is not UTF-8" in job.error
    assert not Contact.objects.exists()
    status = admin_client.get(reverse("journeys_imports:status", args=[job.pk])).json()
    assert status["finished"] and "Line 30,002" in status["error"]


def test_a_task_run_twice_imports_once():
    job = ContactImport.objects.create(
        file_name="x.csv", size=30, data=b"email\nann@example.com\n", status=ImportStatus.QUEUED
    )
    assert run_import(job.pk) == ImportStatus.DONE
    assert run_import(job.pk) == "not queued"
    assert ContactImport.objects.get().created == 1


def test_only_users_who_may_import_contacts_import(client):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("viewer", "v@example.com", "x")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_contact"),
        Permission.objects.get(codename="add_contact"),
    )
    client.force_login(user)
    job = ContactImport.objects.create(file_name="x.csv", rejects="line,reason,email\n")
    urls = [reverse("journeys_imports:upload")] + [
        reverse(f"journeys_imports:{name}", args=[job.pk])
        for name in ("confirm", "progress", "status", "rejects")
    ]
    for url in urls:
        assert client.get(url).status_code == 302, url  # Wagtail: back to the dashboard
    listing = client.get(reverse("journeys_contacts:index")).content.decode()
    assert "data-journeys-import" not in listing
    user.user_permissions.add(Permission.objects.get(codename="import_contacts"))
    client.force_login(get_user_model().objects.get(pk=user.pk))
    assert "data-journeys-import" in client.get(reverse("journeys_contacts:index")).content.decode()
    assert client.get(urls[0]).status_code == 200


def test_file_names_header_and_cells_are_escaped(admin_client, sync_tasks):
    xss = "<script>alert(1)</script>"
    content = f'email,"{xss}"\nann@example.com,"{xss}"\n'.encode()
    response = upload(admin_client, content, name=f"{xss}.csv")
    confirm = admin_client.get(response["Location"]).content.decode()
    assert xss not in confirm and "&lt;script&gt;alert(1)&lt;/script&gt;" in confirm
    done = admin_client.post(response["Location"], {"column_0": "email", "column_1": ""})
    progress = admin_client.get(done["Location"]).content.decode()
    # Django keeps the upload's base name only ("script>.csv"): escaped too
    assert xss not in progress and "script&gt;.csv" in progress


def test_a_header_too_wide_or_a_bad_mapping_is_a_form_error(admin_client):
    wide = ",".join(f"c{i}" for i in range(1500)).encode() + b"\n"
    assert "too many columns" in upload(admin_client, wide).content.decode()
    confirm = upload(admin_client, b"email,name\na@example.com,A\n")["Location"]
    twice = admin_client.post(confirm, {"column_0": "email", "column_1": "email"})
    assert twice.status_code == 200 and "Repeated column" in twice.content.decode()
    unknown = admin_client.post(confirm, {"column_0": "email", "column_1": "<bogus>"})
    assert unknown.status_code == 200
    assert ContactImport.objects.get().status == ImportStatus.UPLOADED


def test_a_file_over_the_size_limit_is_refused(admin_client, monkeypatch):
    from wagtail_journeys.views import imports

    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 1024 * 1024)
    huge = b"email\n" + b"someone@example.com\n" * 60_000
    response = upload(admin_client, huge)
    assert response.status_code == 200 and "larger than 1 MB" in response.content.decode()
    assert not ContactImport.objects.exists()
