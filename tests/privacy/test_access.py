"""A contact's data out of the admin and the API (access), and their delete (erasure),
each behind its permission: a user or token without it gets 403 and learns nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from wagtail.models import APIToken, ModelLogEntry

from tests.emails.factories import make_contact
from tests.users import make_user
from wagtail_journeys.models import Contact, Event, EventSource

pytestmark = pytest.mark.django_db

EMAIL = "zoeline.quarmby@example.com"


@pytest.fixture
def person(db):
    contact = make_contact(EMAIL, first_name="Zoéline", last_name="Quarmby")
    for i in range(3):
        Event.objects.create(
            name="page_view", contact=contact, source=EventSource.PAGE, properties={"n": i}
        )
    return contact


def data_url(contact) -> str:
    return f"/admin/journeys_contacts/data/{contact.pk}/"


def test_the_profile_offers_the_download_to_those_who_may_export(client, person):
    exporter = make_user("dpo", "view_contact", "export_contacts")
    client.force_login(exporter)
    profile = client.get(f"/admin/journeys_contacts/inspect/{person.pk}/").content.decode()
    assert "Download data (JSON)" in profile and data_url(person) in profile
    response = client.get(data_url(person))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert f"contact-{person.pk}-" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["contact"]["email"] == EMAIL and len(data["events"]) == 3


def test_seeing_contacts_is_not_enough_to_download_their_data(client, person):
    viewer = make_user("viewer", "view_contact")
    client.force_login(viewer)
    profile = client.get(f"/admin/journeys_contacts/inspect/{person.pk}/").content.decode()
    assert "Download data (JSON)" not in profile
    response = client.get(data_url(person))
    # Wagtail's admin answers a refused permission by leading back to the dashboard.
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert EMAIL not in response.content.decode()


def test_deleting_a_contact_in_the_admin_erases_it(client, person):
    user = make_user("dpo", "view_contact", "delete_contact")
    client.force_login(user)
    url = f"/admin/journeys_contacts/delete/{person.pk}/"
    page = client.get(url).content.decode()
    assert "erases it" in page and "3 events" in page and "reports keep their totals" in page
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "Contact erased" in response.content.decode()
    assert "Quarmby" not in response.content.decode()
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert not Event.objects.filter(contact_id=person.pk).exists()
    history = ModelLogEntry.objects.filter(object_id=str(person.pk))
    labels = set(history.values_list("label", flat=True))
    assert labels == {f"Contact #{person.pk} (erased)"}


def test_a_user_who_may_not_delete_cannot_erase(client, person):
    client.force_login(make_user("viewer", "view_contact", "change_contact"))
    response = client.post(f"/admin/journeys_contacts/delete/{person.pk}/")
    assert response.status_code in (302, 403)
    assert Contact.objects.filter(pk=person.pk).exists()


def token(*codenames: str) -> str:
    user = make_user(f"api-{'-'.join(codenames) or 'none'}")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return APIToken.create_token(user=user, name="dpo")[1]


def api(client, method: str, path: str, key: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return getattr(client, method)(f"/journeys/api{path}", **headers)


def test_the_api_exports_with_the_export_permission_only(client, person):
    path = f"/contacts/{EMAIL}/data"
    assert api(client, "get", path).status_code == 401
    refused = api(client, "get", path, token("track_contacts"))
    assert refused.status_code == 403 and EMAIL not in refused.content.decode()
    key = token("export_contacts")
    response = api(client, "get", f"/contacts/{EMAIL.upper()}/data", key)
    assert response.status_code == 200, response.content
    assert response.json()["contact"]["first_name"] == "Zoéline"
    assert api(client, "get", "/contacts/nobody@example.com/data", key).status_code == 404
    assert api(client, "get", "/contacts/not-an-address/data", key).status_code == 422


def test_the_api_erases_with_the_delete_permission_only(client, person, settings):
    settings.WAGTAIL_JOURNEYS = {"SUPPRESS_ERASED": False}
    path = f"/contacts/{EMAIL}"
    assert api(client, "delete", path, token("export_contacts")).status_code == 403
    assert Contact.objects.filter(pk=person.pk).exists()
    key = token("delete_contact")
    response = api(client, "delete", path, key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deleted"]["events"] == 3 and body["suppressed"] is False
    assert not Contact.objects.filter(email=EMAIL).exists()
    assert api(client, "delete", path, key).status_code == 404
