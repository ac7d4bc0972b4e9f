"""``POST /journeys/api/scenarios/<id>/start``."""

from __future__ import annotations

import pytest

from tests.scenarios.factories import make_scenario
from wagtail_journeys.models import Enrollment

pytestmark = pytest.mark.django_db


def post(client, scenario_id, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(
        f"/journeys/api/scenarios/{scenario_id}/start",
        body,
        content_type="application/json",
        **headers,
    )


def test_a_server_starts_a_scenario_once(client, server_token):
    scenario = make_scenario(trigger_kind="manual")
    response = post(client, scenario.pk, {"email": "Ada@Example.com"}, server_token)
    assert response.status_code == 201
    assert response.json()["started"] is True
    assert Enrollment.objects.get().contact.email == "ada@example.com"
    again = post(client, scenario.pk, {"email": "ada@example.com"}, server_token)
    assert (again.status_code, again.json()["started"]) == (200, False)


def test_without_a_server_token_or_live_scenario_it_is_refused(client, server_token, weak_token):
    scenario = make_scenario(trigger_kind="manual")
    assert post(client, scenario.pk, {"email": "a@example.com"}).status_code in (401, 403)
    assert post(client, scenario.pk, {"email": "a@example.com"}, weak_token).status_code == 403
    assert post(client, 999999, {"email": "a@example.com"}, server_token).status_code == 404
    assert post(client, scenario.pk, {"email": "nope"}, server_token).status_code in (400, 422)
    scenario.unpublish()
    assert post(client, scenario.pk, {"email": "a@example.com"}, server_token).status_code == 404
    assert not Enrollment.objects.exists()
