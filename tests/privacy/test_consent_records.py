"""Consent records: every consent change leaves one (the unsubscribe link, the preference
centre, the API, CSV imports, the admin, ESP feedback), they show on the contact's
profile, and they can be downloaded by who may export contacts."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.emails.factories import make_contact, make_email
from tests.factories import ContactFactory
from tests.users import make_user
from wagtail_journeys.consent import record_consent
from wagtail_journeys.delivery import send_email
from wagtail_journeys.importer import import_contacts
from wagtail_journeys.models import ConsentRecord, Contact, Topic

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def records(**filters) -> list[tuple]:
    rows = ConsentRecord.objects.filter(**filters).order_by("recorded_at", "id")
    return [(r.channel, r.action, r.source, r.details.get("email_status")) for r in rows]


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@x.com", "x"))
    return client


def test_the_one_click_unsubscribe_keeps_a_record(client, email_site):
    message = send_email(make_email(subject="Hi"), make_contact("ada@example.com"))
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    url = re.search(r"<http://localhost:8000(/journeys/u/[^>]+)>", header)[1]
    client.post(url, "List-Unsubscribe=One-Click", content_type=FORM)
    client.post(url, "List-Unsubscribe=One-Click", content_type=FORM)  # a retry: no news
    assert records() == [("email", "withdrawn", "unsubscribe", "unsubscribed")]
    assert ConsentRecord.objects.get().details["message"] == message.uuid.hex


# The API


def identify(client, token, **body):
    return client.post(
        "/journeys/api/identify",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_identify_keeps_the_consent_it_brings_with_its_wording(client, server_token):
    wording = "Yes, send me the bookshop's newsletter."
    response = identify(
        client,
        server_token,
        email="ada@example.com",
        email_status="subscribed",
        sms_opt_in=True,
        consent_wording=wording,
    )
    assert response.status_code == 200
    assert records() == [("email", "granted", "api", "subscribed"), ("sms", "granted", "api", None)]
    assert {r.wording for r in ConsentRecord.objects.all()} == {wording}
    identify(client, server_token, email="ada@example.com", first_name="Ada")  # no consent news
    identify(client, server_token, email="ada@example.com", email_status="subscribed")
    assert ConsentRecord.objects.count() == 2
    identify(client, server_token, email="ada@example.com", email_status="unsubscribed")
    last = ConsentRecord.objects.order_by("-id").first()
    assert (last.action, last.details) == (
        "withdrawn",
        {"email_status": "unsubscribed", "previous": "subscribed", "via": "identify"},
    )


def test_a_contacts_batch_keeps_the_consent_its_items_set(client, server_token):
    ContactFactory(email="out@example.com", email_status="subscribed")
    items = [
        {"email": "out@example.com", "email_status": "unsubscribed"},
        {"email": "new@example.com", "email_status": "subscribed"},
        {"email": "plain@example.com", "first_name": "Pat"},
    ]
    response = client.post(
        "/journeys/api/contacts/batch",
        data=json.dumps({"contacts": items}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {server_token}",
    )
    assert response.status_code == 200, response.content
    found = {
        (r.contact.email, r.action, r.source, r.details["via"])
        for r in ConsentRecord.objects.select_related("contact")
    }
    assert found == {
        ("out@example.com", "withdrawn", "api", "contacts/batch"),
        ("new@example.com", "granted", "api", "contacts/batch"),
    }


def test_identify_refuses_wording_that_cannot_be_stored(client, server_token):
    response = identify(client, server_token, email="ada@example.com", consent_wording="a\x00b")
    assert response.status_code in (400, 422)
    assert not ConsentRecord.objects.exists() and not Contact.objects.exists()


# Imports


def test_an_import_keeps_a_record_per_consent_it_sets_in_one_insert_per_batch(db):
    ContactFactory(email="old@example.com", email_status="subscribed")
    lines = [
        "email,email_status,sms_opt_in,first_name",
        "old@example.com,unsubscribed,,",  # a change
        "new@example.com,subscribed,yes,",  # a new contact's consent
        "plain@example.com,,,Pat",  # sets no consent
        "old@example.com,unsubscribed,,Olga",  # no further change
    ]
    with CaptureQueriesContext(connection) as queries:
        report = import_contacts(lines, consent_details={"import": 7})
    assert report.rejected == 0
    table = ConsentRecord._meta.db_table
    inserts = [q for q in queries.captured_queries if f'INSERT INTO "{table}"' in q["sql"]]
    assert len(inserts) == 1
    found = {
        (r.contact.email, r.channel, r.action, r.source, r.details.get("import"))
        for r in ConsentRecord.objects.select_related("contact")
    }
    assert found == {
        ("old@example.com", "email", "withdrawn", "import", 7),
        ("new@example.com", "email", "granted", "import", 7),
        ("new@example.com", "sms", "granted", "import", 7),
    }
    import_contacts(lines)  # the same file again changes nothing, records nothing
    assert ConsentRecord.objects.count() == 3


# The admin


def contact_form(**overrides) -> dict:
    data = {
        "email": "me@example.com",
        "email_status": "subscribed",
        "first_name": "Nora",
        "last_name": "",
        "civility": "",
        "birth_date": "",
        "phone": "",
        "locale": "",
        "timezone": "UTC",
        "tags": "",
        "attributes": "",
    }
    return data | overrides


def test_admin_changes_of_status_and_sms_opt_in_keep_records(admin_client):
    add = admin_client.post(reverse("journeys_contacts:add"), contact_form())
    assert add.status_code == 302
    contact = Contact.objects.get()
    edit = reverse("journeys_contacts:edit", args=[contact.pk])
    admin_client.post(edit, contact_form(first_name="Nina"))  # no consent change
    admin_client.post(edit, contact_form(email_status="unsubscribed", sms_opt_in="on"))
    assert records() == [
        ("email", "granted", "admin", "subscribed"),
        ("email", "withdrawn", "admin", "unsubscribed"),
        ("sms", "granted", "admin", None),
    ]
    boss = get_user_model().objects.get(username="boss")
    assert {r.details["user"] for r in ConsentRecord.objects.all()} == {boss.pk}


# ESP feedback


def test_an_esp_complaint_keeps_a_record(client, email_site, settings):
    pytest.importorskip("anymail")
    from tests.tracking.test_esp_webhooks import MAILGUN_KEY, SECRET, post_postmark, postmark

    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    message = send_email(make_email(subject="Hi"), make_contact("ada@example.com"))
    complaint = postmark(
        "SpamComplaint", message, ID=42, Type="SpamComplaint", TypeCode=512, Name="Spam"
    )
    assert post_postmark(client, complaint).status_code == 200
    assert post_postmark(client, complaint).status_code == 200  # a retried webhook
    assert records() == [("email", "withdrawn", "esp", "complained")]


# The profile and the export


def test_the_profile_shows_consent_records_and_topic_choices(admin_client):
    news = Topic.objects.create(name="Newsletter", slug="newsletter")
    Topic.objects.create(name="Club <b>", slug="club", subscribed_by_default=False)
    contact = ContactFactory(email="ada@example.com")
    record_consent(contact, action="withdrawn", source="preferences", topic=news, wording="<i>x")
    html = admin_client.get(reverse("journeys_contacts:inspect", args=[contact.pk])).content
    html = html.decode()
    assert "Consent records" in html and "Preference centre" in html
    assert "Consent withdrawn" in html and "Newsletter" in html
    assert "&lt;i&gt;x" in html and "Club &lt;b&gt;" in html  # escaped
    assert "consent records</a>" in html


def export_rows(client, **params) -> list[list[str]]:
    response = client.get(reverse("journeys_consents:index"), {"export": "csv", **params})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body, newline="")))


def test_consent_records_download_as_csv(admin_client):
    ada, bob = ContactFactory(email="ada@example.com"), ContactFactory(email="bob@example.com")
    record_consent(ada, action="granted", source="form", wording="=HYPERLINK(1)")
    record_consent(bob, action="withdrawn", source="unsubscribe", details={"message": "m"})
    rows = export_rows(admin_client)
    assert rows[0] == [
        "email",
        "channel",
        "action",
        "topic",
        "source",
        "wording",
        "details",
        "recorded_at",
    ]
    by_email = {row[0]: row for row in rows[1:]}
    assert by_email["ada@example.com"][1:3] == ["email", "granted"]
    assert by_email["ada@example.com"][5] == "'=HYPERLINK(1)"  # no formula runs
    assert json.loads(by_email["bob@example.com"][6]) == {"message": "m"}
    assert [row[0] for row in export_rows(admin_client, q="ada@example.com")[1:]] == [
        "ada@example.com"
    ]
    listing = admin_client.get(reverse("journeys_consents:index"))
    assert listing.status_code == 200 and "ada@example.com" in listing.content.decode()


def test_seeing_and_downloading_consent_records_need_the_contact_permissions(client, db):
    ContactFactory(email="ada@example.com")
    url = reverse("journeys_consents:index")
    client.force_login(make_user("nobody"))
    assert client.get(url).status_code == 302  # Wagtail's refusal: back to the dashboard
    client.force_login(make_user("support", "view_contact"))
    assert client.get(url).status_code == 200
    refused = client.get(url, {"export": "csv"})
    assert refused.status_code == 302 and not refused.streaming  # Wagtail's refusal
    client.force_login(make_user("dpo", "view_contact", "export_contacts"))
    assert client.get(url, {"export": "csv"}).status_code == 200
