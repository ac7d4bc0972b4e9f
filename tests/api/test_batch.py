"""POST /journeys/api/events/batch and /contacts/batch: per-item results, one bad item
never rejecting the others, idempotency per item, limits, and who may call them."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.factories import ContactFactory
from wagtail_journeys.consent import action_for_status
from wagtail_journeys.models import ConsentRecord, Contact, Event, EventSource
from wagtail_journeys.tracking.visitor import VisitorId

EVENTS = "/journeys/api/events/batch"
CONTACTS = "/journeys/api/contacts/batch"
pytestmark = pytest.mark.django_db


def post(client, url, body, *, token=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


class TestEvents:
    def test_each_item_gets_its_result_and_bad_ones_never_reject_the_others(
        self, client, server_token
    ):
        Event.objects.create(name="purchase", source="api", idempotency_key="order-1")
        visitor = VisitorId.new()
        old = (timezone.now() - dt.timedelta(days=400)).isoformat()
        items = [
            {"name": "purchase", "email": "Ann@Example.com", "properties": {"amount": 12.5}},
            {"name": "page_view", "visitor": visitor.token},
            {"name": "bad name!", "email": "ann@example.com"},
            {"name": "purchase", "email": "ann@example.com", "properties": {"x": "a\x00b"}},
            {"name": "purchase", "email": "ann@example.com", "occurred_at": old},
            "not an object",
            {"name": "purchase", "email": "ann@example.com", "idempotency_key": "order-1"},
            {"name": "purchase", "email": "bob@example.com", "idempotency_key": "order-2"},
            {"name": "purchase", "email": "bob@example.com", "idempotency_key": "order-2"},
            {"name": "purchase"},
            {"name": "purchase", "email": "not-an-address"},
            {"name": "purchase", "email": "ann@example.com", "surprise": 1},
        ]
        response = post(client, EVENTS, {"events": items}, token=server_token)
        assert response.status_code == 200, response.content
        body = response.json()
        statuses = [r["status"] for r in body["results"]]
        assert statuses == [
            "stored",
            "stored",
            "rejected",
            "rejected",
            "rejected",
            "rejected",
            "duplicate",
            "stored",
            "duplicate",
            "rejected",
            "rejected",
            "rejected",
        ]
        assert [r["index"] for r in body["results"]] == list(range(len(items)))
        assert (body["stored"], body["duplicates"], body["rejected"]) == (3, 2, 7)
        results = body["results"]
        assert results[2]["field"] == "name"
        assert results[3]["field"] == "properties" and "NUL" in results[3]["error"]
        assert results[4]["field"] == "occurred_at"
        assert results[6]["id"] == Event.objects.get(idempotency_key="order-1").pk
        assert results[8]["id"] == results[7]["id"]
        assert results[9]["field"] == "email"
        assert results[11]["field"] == "surprise"
        # Exactly the stored items are in the log, as sent, from a server.
        ann = Contact.objects.get(email="ann@example.com")
        stored = Event.objects.filter(pk__in=[results[i]["id"] for i in (0, 1, 7)])
        assert stored.count() == 3 and set(stored.values_list("source", flat=True)) == {
            EventSource.API
        }
        assert Event.objects.get(pk=results[0]["id"]).contact == ann
        assert Event.objects.get(pk=results[0]["id"]).properties == {"amount": 12.5}
        assert Event.objects.get(pk=results[1]["id"]).visitor_id == visitor.uuid
        assert Event.objects.count() == 4  # the three stored and the earlier order-1

    def test_contacts_it_creates_keep_their_consent_record_as_a_single_event_does(
        self, client, server_token
    ):
        ContactFactory(email="known@example.com")
        items = [
            {"name": "purchase", "email": "New@Example.com"},
            {"name": "purchase", "email": "new@example.com"},
            {"name": "purchase", "email": "known@example.com"},
        ]
        response = post(client, EVENTS, {"events": items}, token=server_token)
        assert response.json()["stored"] == 3
        single = {"name": "purchase", "email": "one@example.com"}
        post(client, "/journeys/api/events", single, token=server_token)
        found = {
            (r.contact.email, r.channel, r.action, r.source, r.details["email_status"])
            + (r.details["via"],)
            for r in ConsentRecord.objects.select_related("contact")
        }
        status = Contact.objects.get(email="new@example.com").email_status
        assert found == {
            ("new@example.com", "email", action_for_status(status), "api", status, "events/batch"),
            ("one@example.com", "email", action_for_status(status), "api", status, "event"),
        }

    def test_a_retried_batch_stores_nothing_twice(self, client, server_token):
        items = [
            {"name": "purchase", "email": f"c{i}@example.com", "idempotency_key": f"k{i}"}
            for i in range(50)
        ]
        first = post(client, EVENTS, {"events": items}, token=server_token).json()
        again = post(client, EVENTS, {"events": items}, token=server_token).json()
        assert first["stored"] == 50 and again["duplicates"] == 50
        assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
        assert Event.objects.count() == 50
        assert Contact.objects.count() == 50

    def test_an_identified_visitor_is_its_contacts(self, client, server_token):
        contact = Contact.objects.create(email="vera@example.com")
        visitor = VisitorId(VisitorId.new().uuid, contact.pk)
        response = post(
            client,
            EVENTS,
            {"events": [{"name": "ui.click", "visitor": visitor.token}]},
            token=server_token,
        )
        assert Event.objects.get(pk=response.json()["results"][0]["id"]).contact == contact

    def test_a_forged_visitor_is_rejected_alone(self, client, server_token):
        items = [{"name": "page_view", "visitor": "forged"}, {"name": "x", "email": "a@b.co"}]
        body = post(client, EVENTS, {"events": items}, token=server_token).json()
        assert [r["status"] for r in body["results"]] == ["rejected", "stored"]

    def test_limits(self, client, server_token, settings):
        too_many = [{"name": "x", "email": "a@example.com"}] * 501
        assert post(client, EVENTS, {"events": too_many}, token=server_token).status_code == 422
        assert post(client, EVENTS, {"events": []}, token=server_token).status_code == 422
        assert post(client, EVENTS, {"events": "x"}, token=server_token).status_code == 422
        big = [{"name": "x", "email": "a@example.com", "properties": {"t": "a" * 3000}}] * 400
        response = post(client, EVENTS, {"events": big}, token=server_token)
        assert response.status_code == 413
        assert response["Content-Type"] == "application/problem+json"
        # 500 items of ordinary size fit in the 1 MB batch limit (not the 64 KB one).
        ok = [{"name": "x", "email": "a@example.com", "properties": {"t": "a" * 1000}}] * 500
        assert post(client, EVENTS, {"events": ok}, token=server_token).status_code == 200
        assert Event.objects.count() == 500

    def test_servers_only(self, client, weak_token):
        body = {"events": [{"name": "page_view", "email": "a@example.com"}]}
        assert post(client, EVENTS, body).status_code == 401
        assert post(client, EVENTS, body, token=weak_token).status_code == 403
        client.cookies["journeys_vid"] = VisitorId.new().token
        assert post(client, EVENTS, body).status_code == 403
        assert not Event.objects.exists()


class TestContacts:
    def test_upserts_each_item_and_reports_it(self, client, server_token):
        Contact.objects.create(
            email="ann@example.com", first_name="Ann", attributes={"plan": "free", "n": 1}
        )
        Contact.objects.create(email="same@example.com", first_name="Same")
        items = [
            {"email": "new@example.com", "first_name": "Nina", "tags": ["thriller"]},
            {"email": "ANN@example.com", "last_name": "Lee", "attributes": {"plan": "pro"}},
            {"email": "same@example.com", "first_name": "Same"},
            {"email": "bad"},
            {"email": "tz@example.com", "timezone": "Mars/Olympus"},
            {"email": "nul@example.com", "first_name": "a\x00"},
            {"email": "new@example.com", "last_name": "Nash"},
            42,
        ]
        response = post(client, CONTACTS, {"contacts": items}, token=server_token)
        assert response.status_code == 200, response.content
        body = response.json()
        assert [r["status"] for r in body["results"]] == [
            "created",
            "updated",
            "unchanged",
            "rejected",
            "rejected",
            "rejected",
            "updated",
            "rejected",
        ]
        assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (
            1,
            2,
            1,
            4,
        )
        assert body["results"][4]["field"] == "timezone"
        assert body["results"][5]["field"] == "first_name"
        nina = Contact.objects.get(email="new@example.com")
        assert (nina.first_name, nina.last_name) == ("Nina", "Nash")
        assert list(nina.tags.names()) == ["thriller"]
        assert body["results"][0]["id"] == nina.pk == body["results"][6]["id"]
        ann = Contact.objects.get(email="ann@example.com")
        assert ann.last_name == "Lee" and ann.attributes == {"plan": "pro", "n": 1}
        assert not Contact.objects.filter(email__in=["tz@example.com", "nul@example.com"]).exists()

    def test_email_status_changes_only_when_given(self, client, server_token):
        Contact.objects.create(email="out@example.com", email_status="unsubscribed")
        items = [
            {"email": "out@example.com", "first_name": "Otto"},
            {"email": "in@example.com", "email_status": "unsubscribed"},
        ]
        post(client, CONTACTS, {"contacts": items}, token=server_token)
        assert Contact.objects.get(email="out@example.com").email_status == "unsubscribed"
        assert Contact.objects.get(email="in@example.com").email_status == "unsubscribed"

    def test_a_tag_whose_slugs_are_all_taken_still_gets_one(self, client, server_token):
        from taggit.models import Tag

        # "\x81" slugifies to nothing, so to "tag"; "tag" and "tag_1" are taken already.
        Tag.objects.create(name="first", slug="tag")
        Tag.objects.create(name="second", slug="tag_1")
        body = {"contacts": [{"email": "a@example.com", "tags": ["\x81"]}]}
        response = post(client, CONTACTS, body, token=server_token)
        assert response.status_code == 200, response.content
        assert list(Contact.objects.get().tags.names()) == ["\x81"]

    def test_servers_only_and_limits(self, client, server_token):
        body = {"contacts": [{"email": "a@example.com"}]}
        assert post(client, CONTACTS, body).status_code == 401
        many = {"contacts": [{"email": f"c{i}@example.com"} for i in range(501)]}
        assert post(client, CONTACTS, many, token=server_token).status_code == 422
        assert not Contact.objects.exists()


def test_the_openapi_document_describes_both_batches(client):
    document = client.get("/journeys/api/openapi.json").json()
    for path, item in (("/events/batch", "name"), ("/contacts/batch", "email")):
        operation = next(v for k, v in document["paths"].items() if k.endswith(path))["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        array = next(iter(schema["properties"].values()))
        assert array["maxItems"] == 500
        assert item in array["items"]["properties"]
        assert {"401", "403", "413", "422"} <= set(operation["responses"])
