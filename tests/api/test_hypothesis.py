"""Hostile input against the API, generated: NUL characters, lone surrogates, CRLF and
other control characters, huge and non-finite numbers, deep nesting, in every field and
header a caller controls (``Idempotency-Key``, ``Origin``), as a server and as a browser,
on SQLite and PostgreSQL.

Whatever comes in, the API answers a documented status; an error is a problem and
writes nothing; what is accepted is stored exactly as sent. Bounded (``max_examples``)
and derandomized, so a run is the same every time.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.scenarios.factories import make_scenario
from wagtail_journeys.models import Contact, Enrollment, Event
from wagtail_journeys.tracking.visitor import VisitorId

pytestmark = pytest.mark.django_db

#: Examples share one test's database (that is the point: later requests meet earlier
#: rows), so the function-scoped fixtures are meant.
BOUNDED = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DOCUMENTED = {200, 201, 400, 401, 403, 404, 413, 422}

hostile_text = strategies.hostile_text()
#: Properties, attributes, context: an object, or another JSON value (which is refused).
objects = st.one_of(strategies.hostile_objects(), strategies.hostile_json())
emails = st.one_of(
    st.just("ann@example.com"),
    st.builds(lambda a, b: f"{a}@{b}.example", hostile_text, hostile_text),
    hostile_text,
)


def encode(body: dict) -> str:
    """JSON as a client might send it: NaN and Infinity spelled out, lone surrogates as
    ``\\ud800`` escapes (valid JSON text, but no valid Unicode)."""
    return json.dumps(body, allow_nan=True)


@pytest.fixture
def caller(server_token):
    client = Client(raise_request_exception=False)

    def call(path: str, body: dict, *, server: bool, **headers):
        if server:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {server_token}"
        return client.post(
            f"/journeys/api/{path}", data=encode(body), content_type="text/plain", **headers
        )

    return call


def check(response, *, stored_before: int, stored_after: int) -> None:
    """A documented status; every error a problem that stored nothing."""
    assert response.status_code in DOCUMENTED, response.content[:500]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json", response.content[:200]
        assert response.json()["status"] == response.status_code
        assert stored_after == stored_before, response.content[:200]


def optional(strategy):
    return st.one_of(st.none(), strategy)


@BOUNDED
@given(
    server=st.booleans(),
    name=st.one_of(st.sampled_from(["page_view", "purchase", "cart.updated"]), hostile_text),
    properties=objects,
    key=optional(hostile_text),
    header=optional(hostile_text),
    email=optional(emails),
    origin=optional(st.one_of(st.just("http://testserver"), hostile_text.map("http://".__add__))),
)
def test_events_answer_hostile_input_with_documented_statuses(
    caller, server, name, properties, key, header, email, origin
):
    body: dict[str, Any] = {"name": name, "properties": properties}
    if key is not None:
        body["idempotency_key"] = key
    if email is not None and server:
        body["email"] = email
    else:
        body["visitor"] = VisitorId.new().token
    headers = {"HTTP_IDEMPOTENCY_KEY": header} if header is not None else {}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    before = Event.objects.count()
    response = caller("events", body, server=server, **headers)
    check(response, stored_before=before, stored_after=Event.objects.count())
    if response.status_code == 201:
        event = Event.objects.get(pk=response.json()["id"])
        assert (event.name, event.properties) == (name, properties)


@BOUNDED
@given(
    email=emails,
    first_name=optional(hostile_text),
    phone=optional(hostile_text),
    locale=optional(hostile_text),
    timezone=optional(st.one_of(st.just("Europe/Paris"), hostile_text)),
    tags=optional(st.lists(hostile_text, max_size=3)),
    attributes=optional(objects),
)
def test_identify_answers_hostile_input_with_documented_statuses(
    caller, email, first_name, phone, locale, timezone, tags, attributes
):
    fields = {
        "first_name": first_name,
        "phone": phone,
        "locale": locale,
        "timezone": timezone,
        "tags": tags,
        "attributes": attributes,
    }
    body = {"email": email, **{k: v for k, v in fields.items() if v is not None}}
    before = list(Contact.objects.order_by("pk").values())
    response = caller("identify", body, server=True)
    after = list(Contact.objects.order_by("pk").values())
    check(response, stored_before=len(before), stored_after=len(after))
    if response.status_code >= 400:
        assert after == before  # nothing changed either
    else:
        contact = Contact.objects.get(pk=response.json()["contact_id"])
        if first_name is not None:
            assert contact.first_name == first_name
        if attributes:
            assert {k: contact.attributes[k] for k in attributes} == attributes


@BOUNDED
@given(
    scenario=st.one_of(
        st.just("live"), st.integers(min_value=-(2**70), max_value=2**70), hostile_text
    ),
    email=emails,
    context=objects,
)
def test_start_answers_hostile_input_with_documented_statuses(caller, scenario, email, context):
    live = make_scenario(trigger_kind="manual").pk if scenario == "live" else None
    path_id = live if live is not None else scenario
    before = Enrollment.objects.count()
    # Percent-encoded as a client would send it (lone surrogates as their UTF-8 bytes).
    segment = quote(str(path_id).encode("utf-8", "surrogatepass"), safe="")
    response = caller(
        f"scenarios/{segment}/start", {"email": email, "context": context}, server=True
    )
    check(response, stored_before=before, stored_after=Enrollment.objects.count())
    if response.status_code == 201:
        enrollment = Enrollment.objects.get(pk=response.json()["enrollment_id"])
        assert enrollment.scenario_id == live
