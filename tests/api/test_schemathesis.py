"""The OpenAPI document against the real API (schemathesis): generated requests, valid
and invalid, for every operation, with no token, with a token whose user may not track
contacts, and with a full server token. No answer is a 5xx, and every answer is one the
document lists, with its content type and a body that matches its schema.

Bounded (``max_examples`` per operation and caller) and derandomized, so every run sends
the same requests; runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.emails.factories import make_email
from tests.scenarios.factories import make_scenario
from wagtail_journeys import conf
from wagtail_journeys.tracking import consent
from wagtail_journeys.tracking.visitor import VisitorId

OPERATIONS = [
    "POST /journeys/api/events",
    "POST /journeys/api/events/batch",
    "POST /journeys/api/contacts/batch",
    "POST /journeys/api/identify",
    "POST /journeys/api/scenarios/{scenario_id}/start",
    "GET /journeys/api/visitor",
    "GET /journeys/api/consent",
    "POST /journeys/api/consent",
    "GET /journeys/api/reports/scenarios/{scenario_id}",
    "GET /journeys/api/reports/emails/{email_id}",
    "GET /journeys/api/reports/overview",
    "GET /journeys/api/contacts/{email}/data",
    "DELETE /journeys/api/contacts/{email}",
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def document():
    """The API's own OpenAPI document, served by the app. Its requests go through the
    WSGI app in this thread, so, like Django's test client, keep the request signals
    from closing the connection (and with it each test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/journeys/api/openapi.json", get_wsgi_application())
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api(db, document):
    return document


@pytest.fixture(params=["no token", "weak token", "server token", "reports token"])
def caller(request) -> dict[str, dict[str, str]]:
    """The four callers: a browser (no token; with or without its visitor cookie), a
    token whose user lacks the tracking permission, a server allowed to track, a token
    allowed to read reports."""
    if request.param == "no token":
        return {"headers": {}, "cookies": {"journeys_vid": VisitorId.new().token}}
    token = request.getfixturevalue(request.param.replace(" ", "_"))
    return {"headers": {"Authorization": f"Bearer {token}"}, "cookies": {}}


@pytest.fixture
def live_scenario(db):
    """The id of a live scenario, made on first use (once per test, not per example)."""
    made: list[int] = []

    def get() -> int:
        if not made:
            made.append(make_scenario(trigger_kind="manual").pk)
        return made[0]

    return get


@pytest.fixture
def an_email(db):
    """The id of an email, made on first use."""
    made: list[int] = []

    def get() -> int:
        if not made:
            made.append(make_email().pk)
        return made[0]

    return get


@pytest.mark.parametrize("label", OPERATIONS)
@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_answer_is_documented_and_none_is_a_server_error(
    api, caller, live_scenario, an_email, label, data
):
    operation = api.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the document"
    cases = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if "scenario_id" in label:  # also a live scenario, not only ids that name none
        live = {"scenario_id": live_scenario()}
        cases.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=live))
    if "email_id" in label:
        email = {"email_id": an_email()}
        cases.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=email))
    case = data.draw(st.one_of(cases))
    cookies = data.draw(st.sampled_from([{}, caller["cookies"]]))
    # Browsers may post generated names too, sometimes: their 201s are answers to check.
    browser_events = data.draw(st.sampled_from([conf.DEFAULTS["BROWSER_EVENTS"], ["*"]]))
    # A site may require consent; the browser's consent cookie is genuine, forged or absent.
    required = data.draw(st.booleans())
    choice = data.draw(st.sampled_from([None, "granted", "denied", "granted:forged:sig"]))
    if choice is not None:
        value = choice if ":" in choice else consent.cookie_value(choice)
        cookies = {**cookies, "journeys_consent": value}
    journeys = {"BROWSER_EVENTS": browser_events, "TRACKING_CONSENT_REQUIRED": required}
    with override_settings(WAGTAIL_JOURNEYS=journeys):
        case.call_and_validate(headers=caller["headers"], cookies=cookies, checks=CHECKS)


def test_the_document_lists_exactly_these_operations(document):
    labels = {result.ok().label for result in document.get_all_operations()}
    assert labels == set(OPERATIONS)
