"""Every error under /journeys/api/ is an RFC 7807 ``application/problem+json`` body: a
500, an unknown path, a wrong method, malformed JSON, content that is not JSON, and
pydantic's validation errors alike."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from wagtail_journeys.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def caller():
    """A client that sees a 500 as the response a real caller gets."""
    return Client(raise_request_exception=False)


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["type"]
    return body


def test_an_unexpected_exception_is_a_logged_500_problem(caller, server_token, monkeypatch, caplog):
    from wagtail_journeys.api import tracking

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(tracking, "record_event", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = caller.post(
            "/journeys/api/events",
            data=json.dumps({"name": "purchase", "email": "a@example.com"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {server_token}",
        )
    body = problem(response, 500)
    assert "on fire" not in body["detail"]  # no internals shown to callers
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info and record.exc_info[0] is RuntimeError


def test_the_500_reaches_error_trackers_through_djangos_signal(server_token, monkeypatch):
    """The test client listens to ``got_request_exception`` like Sentry does."""
    from wagtail_journeys.api import tracking

    monkeypatch.setattr(tracking, "record_event", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        Client().post(
            "/journeys/api/events",
            data=json.dumps({"name": "purchase", "email": "a@example.com"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {server_token}",
        )


@pytest.mark.parametrize(
    "path", ["/journeys/api/nope", "/journeys/api/events/", "/journeys/api/", "/journeys/api/x/y"]
)
def test_an_unknown_path_is_a_404_problem(caller, path):
    assert "No API endpoint" in problem(caller.post(path), 404)["detail"]
    problem(caller.get(path), 404)


def test_the_docs_without_their_slash_redirect_like_append_slash(caller):
    response = caller.get("/journeys/api/docs")
    assert (response.status_code, response["Location"]) == (301, "/journeys/api/docs/")


def test_a_wrong_method_is_a_405_problem_naming_the_allowed_one(caller):
    response = caller.get("/journeys/api/events")
    assert "POST" in problem(response, 405)["detail"]
    assert response["Allow"] == "POST"
    problem(caller.post("/journeys/api/visitor"), 405)
    problem(caller.delete("/journeys/api/identify"), 405)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("name=purchase", "application/x-www-form-urlencoded"),
        ("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--", "multipart/form-data"),
        ("\x00\x01", "application/octet-stream"),
        ("[" * 50_000, "application/json"),
    ],
)
def test_a_body_that_is_not_json_is_a_400_problem(caller, data, content_type):
    caller.get("/journeys/api/visitor")
    problem(caller.post("/journeys/api/events", data=data, content_type=content_type), 400)
    assert not Event.objects.exists()


def test_a_validation_error_is_a_422_problem_with_its_location(caller):
    caller.get("/journeys/api/visitor")
    response = caller.post(
        "/journeys/api/events", data=json.dumps({"name": 7}), content_type="application/json"
    )
    body = problem(response, 422)
    assert body["errors"][0]["loc"][-1] == "name"


def test_the_database_unavailable_is_a_503_problem_to_retry(caller, server_token, monkeypatch):
    """A database restarting (connections refused or cut) is not the caller's fault nor a
    bug: a 503 asking to retry, and nothing stored."""
    from django.db import OperationalError

    from wagtail_journeys.api import tracking

    def down(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(tracking, "record_event", down)
    response = caller.post(
        "/journeys/api/events",
        data=json.dumps({"name": "purchase", "email": "a@example.com"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {server_token}",
        HTTP_IDEMPOTENCY_KEY="order-1",
    )
    body = problem(response, 503)
    assert response["Retry-After"] == "5"
    assert "Try again later" in body["detail"] and "administrator" not in body["detail"]
    assert not Event.objects.exists()
