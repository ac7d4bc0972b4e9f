"""Values no database can store (NUL, lone surrogates, huge numbers) and ids past 64 bits:
a clear 422 (or 404) naming the field, never a 500, and nothing written, on SQLite and
PostgreSQL alike. Also the contact writer the API shares with forms and imports."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.scenarios.factories import make_scenario
from wagtail_journeys.contacts import upsert_contact
from wagtail_journeys.exceptions import InvalidInput
from wagtail_journeys.models import Contact, Enrollment, Event

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
LONE = "a\ud800b"
HUGE = 10**400


@pytest.fixture
def api(server_token):
    """A client that reports a 500 as a response (as a real caller would see it) instead
    of raising the exception in the test."""
    client = Client(raise_request_exception=False)

    def post(path: str, body, *, token: str | None = server_token, **headers):
        if token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        data = body if isinstance(body, str) else json.dumps(body)
        return client.post(
            f"/journeys/api/{path}", data=data, content_type="application/json", **headers
        )

    return post


def assert_refused(response, status: int = 422, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    if field:
        assert field in json.dumps(problem), problem
    return problem


EVENT = {"name": "purchase", "email": "ann@example.com"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**EVENT, "idempotency_key": NUL}, "idempotency_key"),
        ({**EVENT, "idempotency_key": LONE}, "idempotency_key"),
        ({**EVENT, "email": "ann\x00@example.com"}, "email"),
        ({**EVENT, "email": "ann@exa\ud800mple.com"}, "email"),
        ({**EVENT, "visitor": NUL}, "visitor"),
        ({**EVENT, "properties": {"amount": HUGE}}, "properties"),
        ({**EVENT, "properties": {"amount": -HUGE}}, "properties"),
        ({**EVENT, "properties": {"amount": 1e300}}, "properties"),
        ({**EVENT, "properties": {NUL: 1}}, "properties"),
        ({**EVENT, "properties": {LONE: 1}}, "properties"),
        ({**EVENT, "properties": {"title": LONE}}, "properties"),
        ({**EVENT, "properties": {"items": [{"sku": NUL}]}}, "properties"),
    ],
)
def test_event_that_cannot_be_stored_is_422(api, body, field):
    assert_refused(api("events", body), field=field)
    assert not Event.objects.exists()
    assert not Contact.objects.exists()


@pytest.mark.parametrize("key", [NUL, LONE])
def test_idempotency_key_header_that_cannot_be_stored_is_422(api, key):
    assert_refused(api("events", EVENT, HTTP_IDEMPOTENCY_KEY=key), field="Idempotency")
    assert not Event.objects.exists()


def test_a_400_digit_amount_is_refused_and_spend_sums_keep_working(api):
    """On PostgreSQL such an amount used to be stored, after which every sum over
    ``amount`` failed for every contact."""
    amount = "1" + "0" * 400
    body = f'{{"name": "purchase", "email": "a@example.com", "properties": {{"amount": {amount}}}}}'
    assert_refused(api("events", body), field="properties")
    assert api("events", {**EVENT, "properties": {"amount": 12.5}}).status_code == 201
    assert Event.objects.get().properties == {"amount": 12.5}


IDENTIFY = {"email": "ann@example.com"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**IDENTIFY, "first_name": "Ann\x00"}, "first_name"),
        ({**IDENTIFY, "last_name": "Lee\x00"}, "last_name"),
        ({**IDENTIFY, "last_name": LONE}, "last_name"),
        ({**IDENTIFY, "phone": "+33\x00"}, "phone"),
        ({**IDENTIFY, "locale": "fr\x00"}, "locale"),
        ({**IDENTIFY, "timezone": "UTC\x00"}, "timezone"),
        ({**IDENTIFY, "tags": ["horror", "x\x00"]}, "tags"),
        ({**IDENTIFY, "tags": [LONE]}, "tags"),
        ({"email": "ann\x00@example.com"}, "email"),
        ({"email": "ann@exa\ud800mple.com"}, "email"),
        ({**IDENTIFY, "attributes": {"plan": NUL}}, "attributes"),
        ({**IDENTIFY, "attributes": {LONE: "gold"}}, "attributes"),
        ({**IDENTIFY, "attributes": {"points": HUGE}}, "attributes"),
    ],
)
def test_identify_with_a_value_that_cannot_be_stored_is_422(api, body, field):
    assert_refused(api("identify", body), field=field)
    assert not Contact.objects.exists()


def test_identify_keeps_an_existing_contact_untouched_on_a_bad_value(api):
    Contact.objects.create(email="ann@example.com", first_name="Ann")
    assert_refused(api("identify", {**IDENTIFY, "first_name": "X", "phone": "1\x00"}))
    assert Contact.objects.get().first_name == "Ann"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a\x00@example.com"}, "email"),
        ({"email": "a@example.com", "context": {"code": NUL}}, "context"),
        ({"email": "a@example.com", "context": {LONE: 1}}, "context"),
        ({"email": "a@example.com", "context": {"n": HUGE}}, "context"),
    ],
)
def test_start_with_a_value_that_cannot_be_stored_is_422(api, body, field):
    scenario = make_scenario(trigger_kind="manual")
    assert_refused(api(f"scenarios/{scenario.pk}/start", body), field=field)
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("scenario_id", [2**64, 2**63, -1, 0, "1e3", "abc", "9" * 400])
def test_start_with_an_id_no_scenario_can_have_is_404_or_422(api, scenario_id):
    """2**63 and more used to be a 500 on SQLite (an integer it cannot bind)."""
    response = api(f"scenarios/{scenario_id}/start", {"email": "a@example.com"})
    assert response.status_code in (404, 422), response.content
    assert response["Content-Type"] == "application/problem+json"
    assert not Contact.objects.exists()


def test_the_largest_64_bit_id_is_simply_not_found(api):
    response = api(f"scenarios/{2**63 - 1}/start", {"email": "a@example.com"})
    assert_refused(response, status=404)


@pytest.mark.parametrize("token", ["\ud800", "wagtail_\x00", "é" * 10])
def test_a_token_that_is_not_even_text_is_401(api, token):
    response = api("events", EVENT, token=token)
    assert_refused(response, status=401)


@pytest.mark.parametrize("origin", ["http://[", "http://a\x00", "http://a\ud800", "http://[::1"])
@pytest.mark.parametrize("token", [True, False])
def test_an_origin_that_is_no_origin_is_never_a_500(api, server_token, origin, token):
    """Used to be a 500 (``urlsplit`` raising on a server's request, or a lone surrogate
    in the refusal); it is never echoed back as an allowed origin."""
    response = api("events", EVENT, token=server_token if token else None, HTTP_ORIGIN=origin)
    assert response.status_code == (201 if token else 403), response.content
    assert "Access-Control-Allow-Origin" not in response


class TestUpsertContact:
    """The one way contacts are written from outside: API, forms, imports."""

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"first_name": "Ann\x00"}, "first_name"),
            ({"last_name": LONE}, "last_name"),
            ({"phone": "0\x00"}, "phone"),
            ({"locale": "fr\x00"}, "locale"),
        ],
    )
    def test_text_that_cannot_be_stored_is_refused(self, fields, field):
        with pytest.raises(InvalidInput) as error:
            upsert_contact("ann@example.com", fields)
        assert error.value.field == field
        assert not Contact.objects.exists()

    @pytest.mark.parametrize("email", ["ann\x00@example.com", "ann@exa\ud800mple.com"])
    def test_an_email_that_cannot_be_stored_is_refused(self, email):
        with pytest.raises(InvalidInput) as error:
            upsert_contact(email)
        assert error.value.field == "email"

    @pytest.mark.parametrize(
        "attributes", [{"a": NUL}, {LONE: 1}, {"n": HUGE}, {"n": float("nan")}, {"n": 1e16}]
    )
    def test_attributes_that_cannot_be_stored_are_refused(self, attributes):
        Contact.objects.create(email="ann@example.com", attributes={"plan": "gold"})
        with pytest.raises(InvalidInput) as error:
            upsert_contact("ann@example.com", attributes=attributes)
        assert error.value.field == "attributes"
        assert Contact.objects.get().attributes == {"plan": "gold"}

    @pytest.mark.parametrize("tag", ["x\x00", LONE])
    def test_tags_that_cannot_be_stored_are_refused(self, tag):
        with pytest.raises(InvalidInput) as error:
            upsert_contact("ann@example.com", tags=["horror", tag])
        assert error.value.field == "tags"
        assert not Contact.objects.exists()

    def test_storable_values_pass_unchanged(self):
        contact, created = upsert_contact(
            "ann@example.com",
            {"first_name": "Zoë 📚", "last_name": "O'Brien\r\nJr"},
            attributes={"points": 10**14, "ratio": 0.5, "ok": True},
            tags=["thriller"],
        )
        contact.refresh_from_db()
        assert created
        assert (contact.first_name, contact.last_name) == ("Zoë 📚", "O'Brien\r\nJr")
        assert contact.attributes == {"points": 10**14, "ratio": 0.5, "ok": True}
        assert list(contact.tags.names()) == ["thriller"]
