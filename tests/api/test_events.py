"""POST /journeys/api/events: who may record what, idempotency, and every bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import override_settings
from django.utils import timezone

from wagtail_journeys.models import Contact, Event, EventSource
from wagtail_journeys.tracking.visitor import VisitorId

URL = "/journeys/api/events"
pytestmark = pytest.mark.django_db


def post(client, body, *, token=None, content_type="application/json", **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type=content_type, **headers)


def problem(response) -> dict:
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


class TestServer:
    def test_names_a_contact_by_email_and_creates_it(self, client, server_token):
        response = post(
            client,
            {"name": "purchase", "email": " Ann@Example.COM ", "properties": {"amount": 42.5}},
            token=server_token,
        )
        assert response.status_code == 201
        event = Event.objects.get(pk=response.json()["id"])
        assert event.contact.email == "ann@example.com"
        assert event.properties == {"amount": 42.5}
        assert event.source == EventSource.API

    def test_backdated_event_keeps_its_time(self, client, server_token):
        when = timezone.now() - dt.timedelta(days=30)
        response = post(
            client,
            {"name": "purchase", "email": "a@example.com", "occurred_at": when.isoformat()},
            token=server_token,
        )
        assert response.status_code == 201
        assert Event.objects.get().occurred_at == when

    def test_idempotency_key_stores_once(self, client, server_token):
        body = {"name": "purchase", "email": "a@example.com", "idempotency_key": "order-17"}
        first = post(client, body, token=server_token)
        again = post(client, body, token=server_token)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == {"id": first.json()["id"], "created": False}
        assert Event.objects.count() == 1

    def test_an_event_for_a_known_contact_is_one_statement(
        self, client, server_token, django_assert_num_queries
    ):
        body = {"name": "purchase", "email": "a@example.com", "idempotency_key": "order-1"}
        post(client, body, token=server_token)  # creates the contact; the token is checked
        with django_assert_num_queries(1):
            post(client, {**body, "idempotency_key": "order-2"}, token=server_token)
        with django_assert_num_queries(2):  # a repeat: nothing written, the original read
            again = post(client, body, token=server_token)
        assert again.status_code == 200 and Event.objects.count() == 2

    def test_idempotency_key_header(self, client, server_token):
        body = {"name": "purchase", "email": "a@example.com"}
        post(client, body, token=server_token, HTTP_IDEMPOTENCY_KEY="k1")
        post(client, body, token=server_token, HTTP_IDEMPOTENCY_KEY="k1")
        assert Event.objects.count() == 1

    def test_must_name_someone(self, client, server_token):
        response = post(client, {"name": "purchase"}, token=server_token)
        assert response.status_code == 422
        assert Event.objects.count() == 0

    @pytest.mark.parametrize(
        "header", ["Bearer wagtail_forged", "Basic dXNlcjpwYXNz", "Bearer ", "Token abc"]
    )
    def test_bad_authorization_is_401(self, client, header):
        response = client.post(
            URL,
            data=json.dumps({"name": "purchase", "email": "a@example.com"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=header,
        )
        assert response.status_code == 401
        assert problem(response)["status"] == 401
        assert Event.objects.count() == 0

    def test_revoked_token_is_401(self, client, server_token):
        from wagtail.models import APIToken

        for token in APIToken.objects.all():
            token.revoke()
        response = post(client, {"name": "x", "email": "a@example.com"}, token=server_token)
        assert response.status_code == 401

    def test_revoked_token_is_refused_once_its_cache_expires(self, client, server_token):
        from wagtail.models import APIToken

        from wagtail_journeys.api import access

        body = {"name": "x", "email": "a@example.com"}
        assert post(client, body, token=server_token).status_code == 201
        APIToken.objects.get().revoke()
        # within API_TOKEN_CACHE_SECONDS the process still trusts it ...
        assert post(client, body, token=server_token).status_code == 201
        # ... and not after
        access._GOOD_TOKENS.clear()
        assert post(client, body, token=server_token).status_code == 401

    @override_settings(WAGTAIL_JOURNEYS={"API_TOKEN_CACHE_SECONDS": 0})
    def test_no_token_cache_checks_every_request(self, client, server_token):
        from wagtail.models import APIToken

        body = {"name": "x", "email": "a@example.com"}
        assert post(client, body, token=server_token).status_code == 201
        APIToken.objects.get().revoke()
        assert post(client, body, token=server_token).status_code == 401

    def test_token_without_permission_is_403(self, client, weak_token):
        response = post(client, {"name": "purchase", "email": "a@example.com"}, token=weak_token)
        assert response.status_code == 403
        assert Contact.objects.count() == 0


class TestBrowser:
    def visitor(self, client) -> VisitorId:
        token = client.get("/journeys/api/visitor").json()["visitor"]
        return VisitorId.from_token(token)

    def test_visitor_endpoint_issues_signed_id_and_cookie(self, client):
        response = client.get("/journeys/api/visitor")
        assert response.status_code == 200
        token = response.json()["visitor"]
        assert response.cookies["journeys_vid"].value == token
        assert response.cookies["journeys_vid"]["httponly"]
        # the same browser keeps its id
        assert client.get("/journeys/api/visitor").json()["visitor"] == token

    def test_records_for_own_cookie(self, client):
        visitor = self.visitor(client)
        response = post(client, {"name": "cart.updated", "properties": {"items": 2}})
        assert response.status_code == 201
        event = Event.objects.get()
        assert (event.visitor_id, event.contact_id) == (visitor.uuid, None)
        assert event.source == EventSource.BEACON

    def test_beacon_text_plain_body_with_visitor_in_body(self, client):
        token = VisitorId.new().token
        response = post(
            client, {"name": "video.played", "visitor": token}, content_type="text/plain"
        )
        assert response.status_code == 201
        assert Event.objects.get().visitor_id == VisitorId.from_token(token).uuid

    def test_identified_visitor_events_go_to_its_contact(self, client):
        contact = Contact.objects.create(email="known@example.com")
        token = VisitorId.new().__class__(VisitorId.new().uuid, contact.pk).token
        post(client, {"name": "cart.updated", "visitor": token})
        assert Event.objects.get().contact == contact

    def test_missing_visitor_is_401(self, client):
        response = post(client, {"name": "cart.updated"})
        assert response.status_code == 401
        assert "visitor" in problem(response)["detail"]

    @pytest.mark.parametrize(
        "forged",
        [
            "0" * 32 + ":forged",
            VisitorId.new().token[:-2] + "xx",
            "not-even-close",
            "",
        ],
    )
    def test_forged_visitor_in_body_is_403(self, client, forged):
        response = post(client, {"name": "cart.updated", "visitor": forged})
        assert response.status_code == 403
        assert Event.objects.count() == 0

    def test_forged_cookie_is_403(self, client):
        client.cookies["journeys_vid"] = "1234:abcd"
        response = post(client, {"name": "cart.updated"})
        assert response.status_code == 403

    def test_altered_contact_in_visitor_id_is_403(self, client):
        token = VisitorId(VisitorId.new().uuid, 1).token
        value, signature = token.rsplit(":", 1)
        altered = value[:-1] + "2" + ":" + signature
        response = post(client, {"name": "cart.updated", "visitor": altered})
        assert response.status_code == 403

    def test_browser_may_not_name_a_contact(self, client):
        self.visitor(client)
        response = post(client, {"name": "signup", "email": "stranger@example.com"})
        assert response.status_code == 403
        assert Contact.objects.count() == 0
        assert Event.objects.count() == 0

    def test_browser_idempotency_keys_are_per_visitor(self, client):
        one, two = VisitorId.new().token, VisitorId.new().token
        for token in (one, two, one):
            post(client, {"name": "cart.updated", "visitor": token, "idempotency_key": "k"})
        assert Event.objects.count() == 2

    def test_browser_cannot_backdate_far(self, client):
        self.visitor(client)
        when = (timezone.now() - dt.timedelta(days=3)).isoformat()
        response = post(client, {"name": "cart.updated", "occurred_at": when})
        assert response.status_code == 422


class TestBadInput:
    @pytest.fixture(autouse=True)
    def _visitor(self, client, settings):
        # About shapes, not names: browsers may post the event "x" here.
        settings.WAGTAIL_JOURNEYS = {"BROWSER_EVENTS": ["x"]}
        client.get("/journeys/api/visitor")

    @pytest.mark.parametrize(
        "body",
        [
            "{not json",
            '{"name": "x", "properties": {"n": NaN}}',
            '{"name": "x", "properties": {"n": Infinity}}',
            b"\xff\xfe\x00garbage",
            "",
        ],
    )
    def test_malformed_json_is_400_or_422(self, client, body):
        response = post(client, body)
        assert response.status_code in (400, 422)
        assert problem(response)["status"] == response.status_code
        assert Event.objects.count() == 0

    @pytest.mark.parametrize(
        "body",
        [
            [1, 2, 3],
            {"name": 12},
            {"name": ["a"]},
            {"name": "x", "properties": []},
            {"name": "x", "properties": "a string"},
            {"name": "x", "unknown_field": 1},
            {"name": ""},
            {"name": "has spaces"},
            {"name": "x" * 101},
            {"name": "<script>"},
            {"name": "x", "occurred_at": "yesterday"},
            {"name": "x", "occurred_at": "2026-13-45T99:00:00Z"},
            {"name": "x", "occurred_at": "2026-05-01T10:00:00"},
            {"name": "x", "occurred_at": "2999-01-01T00:00:00Z"},
            {"name": "x", "properties": {"bad": "nul\u0000byte"}},
            {"name": "x", "properties": {"deep": [[[[[[[[[[1]]]]]]]]]]}},
            {"name": "x", "idempotency_key": ""},
            {"name": "x", "idempotency_key": "k" * 151},
        ],
    )
    def test_wrong_shapes_are_422(self, client, body):
        response = post(client, body)
        assert response.status_code == 422, response.content
        assert problem(response)["detail"]
        assert Event.objects.count() == 0

    def test_bad_email_from_server_is_422(self, client, server_token):
        response = post(client, {"name": "x", "email": "not-an-email"}, token=server_token)
        assert response.status_code == 422
        assert problem(response)["errors"][0]["loc"] == ["body", "email"]
        assert Contact.objects.count() == 0

    def test_oversized_body_is_413(self, client):
        body = json.dumps({"name": "x", "properties": {"blob": "a" * (64 * 1024)}})
        response = post(client, body)
        assert response.status_code == 413
        assert Event.objects.count() == 0

    def test_body_just_under_the_limit_is_accepted(self, client):
        filler = 64 * 1024 - 200
        response = post(client, {"name": "x", "properties": {"blob": "a" * filler}})
        assert response.status_code == 201

    def test_lying_content_length_is_400(self, client):
        response = client.post(
            URL, data="{}", content_type="application/json", CONTENT_LENGTH="lots"
        )
        assert response.status_code == 400

    def test_wrong_method_is_405(self, client):
        assert client.get(URL).status_code == 405

    def test_trailing_slash_is_not_the_endpoint(self, client):
        response = client.post(URL + "/", data="{}", content_type="application/json")
        assert response.status_code == 404
