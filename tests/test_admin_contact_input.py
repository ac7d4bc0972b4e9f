"""The admin contact form refuses what no database can store (NUL characters, lone
surrogates, numbers beyond a double) with a form error, never a 500, on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import ContactFactory
from wagtail_journeys.models import Contact


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    return client


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
        "tags": "thriller",
        "attributes": '{"member_since": 2019}',
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "Nora\x00", "Null characters are not allowed"),
        ("last_name", "\x00", "Null characters are not allowed"),
        ("phone", "+33\x00", "Null characters are not allowed"),
        ("tags", "thriller, x\x00", "Null characters are not allowed"),
        ("attributes", '{"plan": "gold\\u0000"}', "contains a NUL character"),
        ("attributes", '{"\\u0000": 1}', "has a key that contains a NUL character"),
        ("attributes", '{"plan": "\\ud800"}', "unpaired surrogate"),
        ("attributes", '{"\\udfff": 1}', "unpaired surrogate"),
        ("attributes", '{"points": 1' + "0" * 400 + "}", "number too large"),
        ("attributes", '{"points": 1e400}', "not finite"),
        ("attributes", '{"points": NaN}', "not finite"),
    ],
)
def test_create_refuses_what_cannot_be_stored(admin_client, field, value, message):
    response = admin_client.post(reverse("journeys_contacts:add"), form_data(**{field: value}))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Contact.objects.exists()


def test_edit_refuses_bad_attributes_and_keeps_the_contact(admin_client):
    contact = ContactFactory(email="me@example.com", attributes={"plan": "gold"})
    response = admin_client.post(
        reverse("journeys_contacts:edit", args=[contact.pk]),
        form_data(email="me@example.com", attributes='{"plan": "\\u0000"}'),
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.attributes == {"plan": "gold"}
    # The contact's page still shows, and the stored attributes are intact.
    inspect = admin_client.get(reverse("journeys_contacts:inspect", args=[contact.pk]))
    assert inspect.status_code == 200
