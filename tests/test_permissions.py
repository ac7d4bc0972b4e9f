"""The permission matrix (docs/reference/permissions.md), door by door, from the wrong
side: editors who may not see contacts never get a real contact's data, nor learn whether
an address exists, through previews, test sends, segment samples, exports or the forms."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, streamfield

from tests.emails.factories import email_index, make_contact, make_email, text
from tests.scenarios.factories import add, make_scenario, scenario_index
from tests.users import SEGMENT_EDITING, editor_without_contacts, make_user
from wagtail_journeys.models import Contact, NotifyStep

REAL = "roberta.real@bookshop.example"
MISSING = "nobody.here@bookshop.example"
NAME = "Roberta"
NOTE = "you may not see real contacts"


@pytest.fixture
def real(email_site):
    return make_contact(email=REAL, first_name=NAME, last_name="Realperson", civility="mrs")


@pytest.fixture
def page(real):
    return make_email(
        [text("<p>Hi {{ contact.first_name }} ({{ contact.email }})</p>")],
        subject="Hello {{ contact.first_name }}",
    )


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def editor(client, page):
    """Edits and publishes emails and scenarios, edits segments; no contact permission."""
    return login(client, editor_without_contacts(email_index(), scenario_index()))


def viewer(client, *codenames):
    """The same editor, plus the contact permissions named."""
    user = make_user("viewer", *SEGMENT_EDITING, "view_contact", *codenames, pages=[email_index()])
    return login(client, user)


def html(response) -> str:
    return response.content.decode()


def untimed(text: str) -> str:
    """``text`` with its signed (time-stamped) link tokens blanked."""
    return re.sub(r"/journeys/[ouc]/[\w.:-]+", "/journeys/TOKEN", text)


def preview(client, page, **params) -> str:
    response = client.get(reverse("wagtailadmin_pages:view_draft", args=[page.pk]), params)
    return untimed(html(response))


# Preview ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["contact", "text", ""])
def test_preview_as_a_real_contact_shows_them_a_made_up_sample(editor, page, mode):
    shown = preview(editor, page, mode=mode, contact=REAL)
    assert NAME not in shown and REAL not in shown
    assert "Alex" in shown and NOTE in shown
    # Nothing tells an existing address from a missing one.
    assert shown == preview(editor, page, mode=mode, contact=MISSING)


def test_preview_as_a_real_contact_for_those_who_may_see_contacts(client, page):
    allowed = viewer(client)
    shown = preview(allowed, page, mode="contact", contact=REAL)
    assert f"Hello {NAME}" in shown and REAL in shown and NOTE not in shown
    missing = preview(allowed, page, mode="contact", contact=MISSING)
    assert f"No contact has the address {MISSING}" in missing and "Hello Alex" in missing


def test_the_pages_preview_contact_is_neither_shown_nor_used_for_them(editor, page):
    page.preview_contact = REAL
    page.save_revision().publish()
    assert NAME not in preview(editor, page, mode="contact")
    edit = html(editor.get(reverse("wagtailadmin_pages:edit", args=[page.pk])))
    assert 'name="preview_contact"' not in edit and REAL not in edit


# Send test -------------------------------------------------------------------------------


def send_test(client, page, contact: str):
    return client.post(reverse("wagtail_journeys_send_test", args=[page.pk]), {"contact": contact})


def test_send_test_is_personalised_for_a_made_up_contact_without_the_right(editor, page):
    response = send_test(editor, page, REAL)
    assert response.status_code == 302
    (sent,) = mail.outbox
    assert sent.subject == "[Test] Hello Alex"
    assert NAME not in sent.body and REAL not in sent.body


def test_send_test_answers_alike_for_existing_and_missing_addresses(editor, page):
    page.preview_contact = REAL
    page.save_revision().publish()
    form = html(editor.get(reverse("wagtail_journeys_send_test", args=[page.pk])))
    assert REAL not in form and 'name="contact"' not in form
    existing, missing = send_test(editor, page, REAL), send_test(editor, page, MISSING)
    assert (existing.status_code, existing.get("Location")) == (
        missing.status_code,
        missing.get("Location"),
    )
    assert [m.subject for m in mail.outbox] == ["[Test] Hello Alex"] * 2
    assert untimed(mail.outbox[0].body) == untimed(mail.outbox[1].body)


@pytest.mark.parametrize(
    ("codenames", "subject"),
    [((), "[Test] Hello Alex"), (("send_test_as_contact",), f"[Test] Hello {NAME}")],
)
def test_send_test_as_a_real_contact_needs_its_own_permission(client, page, codenames, subject):
    allowed = viewer(client, *codenames)
    assert send_test(allowed, page, REAL).status_code == 302
    assert [m.subject for m in mail.outbox] == [subject]
    if codenames:  # they may see contacts: telling them an address is unknown is fine
        assert "No contact has this email address" in html(send_test(allowed, page, MISSING))


# Segments --------------------------------------------------------------------------------

PREVIEW = "wagtailsnippets_wagtail_journeys_segment:preview"
MRS = ("field", {"negate": "", "field": "civility", "operator": "equals", "value": "mrs"})


def segment_form() -> dict:
    return nested_form_data(
        {
            "name": "Mrs",
            "slug": "mrs",
            "description": "",
            "match": "all",
            "rules": streamfield([MRS]),
        }
    )


def test_segment_live_sample_gives_them_the_count_and_a_note(editor, real):
    response = editor.post(reverse(PREVIEW), segment_form())
    data = response.json()
    assert data["count"] == 1 and data["sample"] == [] and data["note"]
    assert REAL not in html(response) and NAME not in html(response)


def test_segment_live_sample_names_contacts_for_those_who_may_see_them(client, real):
    data = viewer(client).post(reverse(PREVIEW), segment_form()).json()
    assert data["sample"] == [{"id": real.pk, "email": REAL, "name": f"{NAME} Realperson"}]
    assert data["note"] == ""


# Contacts listing, export, add/delete ----------------------------------------------------


def contacts_url(name: str, *args) -> str:
    return reverse(f"journeys_contacts:{name}", args=args)


def test_export_needs_its_own_permission(client, real):
    allowed = viewer(client)
    listing = allowed.get(contacts_url("index"))
    assert REAL in html(listing) and "export=csv" not in html(listing)
    refused = allowed.get(contacts_url("index"), {"export": "csv"})
    assert refused.status_code == 302 and not refused.streaming
    assert allowed.get(contacts_url("index_results"), {"export": "xlsx"}).status_code == 302
    exporter = make_user("exporter", "view_contact", "export_contacts")
    login(client, exporter)
    assert "export=csv" in html(client.get(contacts_url("index")))
    csv = client.get(contacts_url("index"), {"export": "csv"})
    assert REAL in b"".join(csv.streaming_content).decode()


@pytest.mark.parametrize("codename", ["add_contact", "delete_contact"])
def test_adding_or_deleting_alone_shows_no_contact(client, real, codename):
    user = login(client, make_user("clerk", codename))
    for name in ("index", "inspect", "copy", "delete", "history"):
        args = () if name == "index" else (real.pk,)
        response = user.get(contacts_url(name, *args))
        assert response.status_code == 302, name
        assert REAL not in html(response) and NAME not in html(response)
    assert "journeys_contacts" not in html(user.get(reverse("wagtailadmin_home")))
    assert Contact.objects.filter(pk=real.pk).exists()


# Scenarios -------------------------------------------------------------------------------


def test_only_exporters_choose_where_notify_sends_contacts(client, email_site):
    scenario = make_scenario()
    step = add(scenario, NotifyStep, notify_email="team@bookshop.example", message="Hi")
    editor = login(client, editor_without_contacts(scenario_index()))
    edit = html(editor.get(reverse("wagtailadmin_pages:edit", args=[step.pk])))
    assert 'name="notify_email"' not in edit and 'name="webhook_url"' not in edit
    assert 'name="message"' in edit
    exporter = make_user("exporter", "view_contact", "export_contacts", pages=[scenario_index()])
    edit = html(login(client, exporter).get(reverse("wagtailadmin_pages:edit", args=[step.pk])))
    assert 'name="notify_email"' in edit and "team@bookshop.example" in edit


# The group editor and upgrades -----------------------------------------------------------


def test_the_group_editor_offers_the_contact_permissions(admin_client):
    page = html(admin_client.get(reverse("wagtailusers_groups:add")))
    for label in ("Can export contacts", "Can send tests personalised with real contact data"):
        assert label in page


def test_upgrading_keeps_what_contact_viewers_could_do(db):
    """0007 gives export and real-contact tests to those who could see contacts before."""
    seeing, blind = Group.objects.create(name="Marketing"), Group.objects.create(name="Writers")
    seeing.permissions.add(Permission.objects.get(codename="view_contact"))
    blind.permissions.add(Permission.objects.get(codename="add_segment"))
    user = get_user_model().objects.create_user("boss")
    user.user_permissions.add(Permission.objects.get(codename="change_contact"))
    migration = importlib.import_module("wagtail_journeys.migrations.0007_permissions")
    migration.keep_what_contact_viewers_could_do(apps, None)
    new = {"export_contacts", "send_test_as_contact"}
    assert new <= set(seeing.permissions.values_list("codename", flat=True))
    assert new <= set(user.user_permissions.values_list("codename", flat=True))
    assert not new & set(blind.permissions.values_list("codename", flat=True))
