"""Contacts in the Wagtail admin, through real requests of logged-in users."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests.factories import ContactFactory
from wagtail_journeys.events import record_event
from wagtail_journeys.models import Contact, EmailStatus, EventSource

XSS = "<script>alert(1)</script>"


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    return client


def _staff_client(client, *codenames: str):
    user = get_user_model().objects.create_user("editor", "editor@example.com", "x")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        *Permission.objects.filter(codename__in=codenames),
    )
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"journeys_contacts:{name}", args=args)


def listed_emails(response) -> set[str]:
    return {c.email for c in response.context["object_list"]}


def form_data(**overrides) -> dict:
    data = {
        "email": "new@example.com",
        "email_status": "subscribed",
        "first_name": "Nora",
        "last_name": "Quinn",
        "civility": "",
        "birth_date": "",
        "phone": "",
        "locale": "fr",
        "timezone": "Europe/Paris",
        "tags": "thriller, horror",
        "attributes": '{"member_since": 2019}',
    }
    data.update(overrides)
    return data


def test_listing_searches_email_and_names(admin_client):
    ContactFactory(email="king.fan@example.com", first_name="Stephen")
    ContactFactory(email="austen@example.com", first_name="Jane", last_name="Woolf")
    ContactFactory(email="other@example.com", first_name="Bob", last_name="Smith")
    assert listed_emails(admin_client.get(url("index"), {"q": "king"})) == {"king.fan@example.com"}
    assert listed_emails(admin_client.get(url("index"), {"q": "woolf"})) == {"austen@example.com"}
    assert listed_emails(admin_client.get(url("index"), {"q": "stephen"})) == {
        "king.fan@example.com"
    }


def test_listing_filters(admin_client):
    now = timezone.now()
    old = ContactFactory(
        email="old@example.com",
        email_status=EmailStatus.UNSUBSCRIBED,
        civility="mr",
        locale="fr",
        sms_opt_in=True,
        created_at=now - dt.timedelta(days=400),
        last_activity_at=now - dt.timedelta(days=300),
    )
    old.tags.add("horror")
    recent = ContactFactory(
        email="recent@example.com",
        civility="mrs",
        locale="en",
        last_activity_at=now,
    )
    recent.tags.add("thriller", "classic")
    index = url("index")
    assert listed_emails(admin_client.get(index, {"email_status": "unsubscribed"})) == {
        "old@example.com"
    }
    assert listed_emails(
        admin_client.get(index, {"email_status": ["unsubscribed", "subscribed"]})
    ) == {"old@example.com", "recent@example.com"}
    assert listed_emails(admin_client.get(index, {"civility": "mrs"})) == {"recent@example.com"}
    assert listed_emails(admin_client.get(index, {"locale": "fr"})) == {"old@example.com"}
    assert listed_emails(admin_client.get(index, {"tag": ["thriller", "classic"]})) == {
        "recent@example.com"
    }
    assert listed_emails(admin_client.get(index, {"sms_opt_in": "true"})) == {"old@example.com"}
    last_month = (now - dt.timedelta(days=30)).date().isoformat()
    assert listed_emails(admin_client.get(index, {"created_at_from": last_month})) == {
        "recent@example.com"
    }
    assert listed_emails(admin_client.get(index, {"last_activity_at_to": last_month})) == {
        "old@example.com"
    }


def test_filters_offer_the_locales_and_tags_in_use(admin_client):
    ContactFactory(locale="pt-BR").tags.add("poetry")
    html = admin_client.get(url("index")).content.decode()
    assert 'value="pt-BR"' in html
    assert 'value="poetry"' in html


def test_create_normalises_email_and_saves_everything(admin_client):
    response = admin_client.post(url("add"), form_data(email="  Nora.Quinn@Example.COM "))
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.email == "nora.quinn@example.com"
    assert contact.timezone == "Europe/Paris"
    assert contact.attributes == {"member_since": 2019}
    assert set(contact.tags.names()) == {"thriller", "horror"}


def test_create_refuses_an_email_already_taken_once_normalised(admin_client):
    ContactFactory(email="taken@example.com")
    response = admin_client.post(url("add"), form_data(email="TAKEN@example.com"))
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "Another contact already has the address taken@example.com."
    ]
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter a valid email address"),
        ("timezone", "Mars/Olympus", "is not an IANA timezone"),
        ("attributes", "[1, 2]", "Attributes must be a JSON object"),
        ("attributes", "{not json", "Enter a valid JSON"),
        ("email_status", "maybe", "Select a valid choice"),
    ],
)
def test_create_refuses_bad_values_with_a_form_error(admin_client, field, value, message):
    response = admin_client.post(url("add"), form_data(**{field: value}))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Contact.objects.exists()


def test_edit_keeps_its_own_email_and_changes_consent(admin_client):
    contact = ContactFactory(email="me@example.com")
    response = admin_client.post(
        url("edit", contact.pk),
        form_data(email="me@example.com", email_status="unsubscribed", attributes=""),
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.email_status == "unsubscribed"
    assert contact.attributes == {}


def test_inspect_shows_fields_tags_consent_and_timeline_newest_first(admin_client):
    contact = ContactFactory(
        email="reader@example.com", email_status=EmailStatus.PENDING, attributes={"vip": True}
    )
    contact.tags.add("stephen-king")
    now = timezone.now()
    for days, name in [(3, "page_view"), (2, "form_submitted"), (1, "purchase")]:
        record_event(
            name,
            contact=contact,
            properties={"title": f"{name} props"},
            occurred_at=now - dt.timedelta(days=days),
            source=EventSource.API,
        )
    response = admin_client.get(url("inspect", contact.pk))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("reader@example.com", "Pending double opt-in", "stephen-king", "&quot;vip&quot;"):
        assert text in html
    assert html.index("purchase") < html.index("form_submitted") < html.index("page_view")
    assert "API" in html and "purchase props" in html


def test_timeline_is_paginated(admin_client):
    contact = ContactFactory()
    now = timezone.now()
    for i in range(105):
        record_event(
            f"event_{i:03d}",
            contact=contact,
            occurred_at=now - dt.timedelta(minutes=i),
            source=EventSource.SYSTEM,
        )
    first = admin_client.get(url("inspect", contact.pk)).content.decode()
    second = admin_client.get(url("inspect", contact.pk), {"p": 2}).content.decode()
    assert "event_000" in first and "event_099" in first and "event_100" not in first
    assert "event_100" in second and "event_104" in second and "event_000" not in second
    assert "Page 1 of 2" in first and "105 events in all" in first


def test_contact_data_is_escaped_everywhere(admin_client):
    contact = ContactFactory(
        email="xss@example.com",
        first_name=XSS,
        last_name=XSS,
        attributes={XSS: XSS},
        timezone="",
    )
    contact.tags.add(XSS)
    record_event(XSS.replace("<", "").replace(">", "")[:50], contact=contact, source="api")
    record_event("evil", contact=contact, properties={"html": XSS}, source=EventSource.API)
    pages = [
        admin_client.get(url("index")),
        admin_client.get(url("index"), {"q": "xss"}),
        admin_client.get(url("inspect", contact.pk)),
        admin_client.get(url("edit", contact.pk)),
        admin_client.get(url("delete", contact.pk)),
    ]
    for response in pages:
        assert response.status_code == 200
        html = response.content.decode()
        assert XSS not in html, response.request["PATH_INFO"]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_permissions_follow_the_model_permissions(client, db):
    contact = ContactFactory()
    viewer = _staff_client(client, "view_contact")
    assert viewer.get(url("index")).status_code == 200
    assert viewer.get(url("inspect", contact.pk)).status_code == 200
    assert viewer.get(url("add")).status_code == 302  # Wagtail redirects to the dashboard
    assert viewer.get(url("edit", contact.pk)).status_code == 302
    assert viewer.post(url("delete", contact.pk)).status_code == 302
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_a_user_without_contact_permissions_sees_no_contacts(client, db):
    ContactFactory()
    nobody = _staff_client(client)
    assert nobody.get(url("index")).status_code == 302
    assert "journeys_contacts" not in nobody.get(reverse("wagtailadmin_home")).content.decode()


def test_change_permission_allows_editing_but_not_deleting(client, db):
    contact = ContactFactory(email="edit-me@example.com")
    editor = _staff_client(client, "change_contact")
    response = editor.post(url("edit", contact.pk), form_data(email="edit-me@example.com"))
    assert response.status_code == 302
    assert Contact.objects.get().first_name == "Nora"
    assert editor.post(url("delete", contact.pk)).status_code == 302
    assert Contact.objects.exists()


def test_superuser_can_delete(admin_client):
    contact = ContactFactory()
    assert admin_client.post(url("delete", contact.pk)).status_code == 302
    assert not Contact.objects.exists()


def test_listing_exports_the_filtered_contacts_as_csv(admin_client):
    ContactFactory(email="kept@example.com", email_status=EmailStatus.BOUNCED)
    ContactFactory(email="other@example.com")
    response = admin_client.get(url("index"), {"email_status": "bounced", "export": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert "kept@example.com" in body and "other@example.com" not in body


def test_listing_links_each_contact_to_its_page(admin_client):
    contact = ContactFactory()
    html = admin_client.get(url("index")).content.decode()
    assert url("inspect", contact.pk) in html


def test_inspect_shows_the_contacts_scenarios_and_why_a_step_was_skipped(admin_client):
    from tests.scenarios.factories import add, make_scenario, site_root
    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.enroll import enroll
    from wagtail_journeys.models import UpdateContactStep, WaitStep

    site_root()
    scenario = make_scenario(title="Welcome <series>")
    add(scenario, UpdateContactStep, title="Tag as new", add_tags="new")
    add(scenario, WaitStep, title="Three days", amount=3, unit="days")
    contact = ContactFactory(email="reader@example.com")
    now = timezone.now()
    enroll(scenario.pk, [contact.pk], now=now)
    advance_due(now=now)
    html = admin_client.get(url("inspect", contact.pk)).content.decode()
    section = html[html.index("journeys-scenarios") :]
    assert "Welcome &lt;series&gt;" in section and "<series>" not in section
    assert "Active" in section and "Three days" in section and "due " in section
    runs = section[section.index("journeys-step-runs") :]
    assert "Tag as new" in runs and "<code>done</code>" in runs
    other = ContactFactory()
    assert (
        "has not entered any scenario"
        in admin_client.get(url("inspect", other.pk)).content.decode()
    )


def test_inspect_shows_each_entry_once_among_the_latest_steps(admin_client):
    """An enrolment logs no ``entered`` step run: its start is shown from the enrolment,
    under the steps it took at that same time; an enrolment from before migration 0022,
    which has its ``entered`` run, shows it once too."""
    from tests.scenarios.factories import add, make_scenario, site_root
    from wagtail_journeys.engine.advance import advance_due
    from wagtail_journeys.engine.enroll import enroll
    from wagtail_journeys.models import Enrollment, StepRun, UpdateContactStep

    site_root()
    scenario = make_scenario(title="Welcome", reentry="always")
    add(scenario, UpdateContactStep, title="Tag as new", add_tags="new")
    contact = ContactFactory()
    earlier = timezone.now() - dt.timedelta(days=400)
    logged = Enrollment.objects.create(
        contact=contact, scenario=scenario, status="completed", started_at=earlier
    )
    StepRun.objects.create(
        enrollment=logged,
        contact_id=contact.pk,
        scenario_id=scenario.pk,
        step_id=None,
        outcome="entered",
        ran_at=earlier,
    )
    now = timezone.now()
    enroll(scenario.pk, [contact.pk], now=now)
    advance_due(now=now)
    assert StepRun.objects.filter(outcome="entered").count() == 1
    html = admin_client.get(url("inspect", contact.pk)).content.decode()
    runs = html[html.index("journeys-step-runs") :]
    assert re.findall(r"<code>(\w+)</code>", runs) == ["completed", "done", "entered", "entered"]
