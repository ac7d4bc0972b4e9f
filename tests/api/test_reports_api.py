"""``GET /journeys/api/reports/…``: the report functions' figures as JSON, for a token
allowed to view reports only; hostile query strings are 4xx, never 500."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.emails.factories import make_email
from tests.scenarios.factories import add, make_scenario
from wagtail_journeys.analytics.figures import Period
from wagtail_journeys.analytics.reports import email_report, overview, scenario_report
from wagtail_journeys.models import LinkDay, MailDay, SendEmailStep, StepDay

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def get(client, path, token=None, **query):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(f"/journeys/api/reports/{path}", query, **headers)


@pytest.fixture
def sent():
    email = make_email(title="Welcome")
    scenario = make_scenario(title="Onboarding")
    step = add(scenario, SendEmailStep, email=email)
    for days_ago, n in ((0, 120), (3, 80), (40, 1000)):
        day = TODAY - dt.timedelta(days=days_ago)
        MailDay.objects.create(
            day=day,
            email_page_id=email.pk,
            scenario_id=scenario.pk,
            step_id=step.pk,
            sent=n,
            delivered=n - 2,
            bounced=2,
            opened=n // 2,
            clicked=n // 4,
            converted=n // 10,
            revenue=Decimal("9.99") * (n // 10),
        )
        StepDay.objects.create(
            day=day, scenario_id=scenario.pk, step_id=0, outcome="entered", count=n
        )
        StepDay.objects.create(
            day=day, scenario_id=scenario.pk, step_id=step.pk, outcome="sent", count=n
        )
        LinkDay.objects.create(
            day=day,
            email_page_id=email.pk,
            scenario_id=scenario.pk,
            step_id=step.pk,
            link=0,
            url="https://shop.example/",
            clicks=n // 3,
        )
    return scenario, step, email


def test_scenario_report_as_json(client, reports_token, sent):
    scenario, step, _email = sent
    response = get(client, f"scenarios/{scenario.pk}", reports_token)
    assert response.status_code == 200, response.content
    body = response.json()
    report = scenario_report(scenario.pk, Period.last_days(30))
    assert body["entered"] == report.entered == 200
    assert body["period"] == {
        "start": str(TODAY - dt.timedelta(days=29)),
        "end": str(TODAY),
    }
    assert body["mail"]["sent"] == 200 and body["mail"]["bounced"] == 4
    assert body["mail"]["bounce_rate"] == pytest.approx(4 / 200)
    assert body["mail"]["revenue"] == str(Decimal("9.99") * 20)  # money as a decimal string
    [only] = body["steps"]
    assert (only["step_id"], only["kind"], only["passed"]) == (step.pk, "send_email", 200)
    assert only["mail"]["open_rate"] == pytest.approx(100 / 200)
    assert [stage["count"] for stage in body["funnel"]] == [200, 200, 0]
    since = str(TODAY - dt.timedelta(days=60))
    wider = get(client, f"scenarios/{scenario.pk}", reports_token, **{"from": since})
    assert wider.json()["entered"] == 1200


def test_email_report_and_overview_as_json(client, reports_token, sent):
    scenario, _step, email = sent
    body = get(client, f"emails/{email.pk}", reports_token).json()
    report = email_report(email.pk, Period.last_days(30))
    assert body["mail"]["sent"] == report.mail.sent == 200
    assert [b["key"] for b in body["by_scenario"]] == [str(scenario.pk)]
    assert body["links"] == [
        {
            "link": 0,
            "url": "https://shop.example/",
            "clicks": 40 + 26,
            "clicked": 0,
            "machine_clicks": 0,
            "share": 1.0,
        }
    ]
    week = {"from": str(TODAY - dt.timedelta(days=6)), "to": str(TODAY)}
    body = get(client, "overview", reports_token, **week).json()
    assert len(body["days"]) == 7
    assert body["days"][-1]["sent"] == 120 and body["days"][-4]["sent"] == 80
    assert (
        body["totals"]["sent"]
        == overview(Period.parse(**{"start": week["from"], "end": week["to"]})).totals.sent
    )
    assert body["attention"] == []


def test_tokens(client, reports_token, server_token, weak_token, sent):
    scenario, _step, _email = sent
    path = f"scenarios/{scenario.pk}"
    assert get(client, path).status_code == 401
    assert get(client, path, "not-a-token").status_code == 401
    assert get(client, path, server_token).status_code == 403  # may track, not read
    assert get(client, path, weak_token).status_code == 403
    assert get(client, "overview", server_token).status_code == 403
    tracked = client.post(
        "/journeys/api/events",
        {"name": "purchase", "email": "ada@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {reports_token}",
    )
    assert tracked.status_code == 403  # may read, not track
    assert tracked["Content-Type"].startswith("application/problem+json")


def test_unknown_ids_and_hostile_queries(client, reports_token, sent):
    scenario, _step, email = sent
    missing = get(client, "scenarios/999999999", reports_token)
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/problem+json")
    assert get(client, f"emails/{scenario.pk}", reports_token).status_code == 404
    assert get(client, f"scenarios/{email.pk}", reports_token).status_code == 404
    for path in ("scenarios/0", f"scenarios/{2**63}", "scenarios/-1", "scenarios/x"):
        assert get(client, path, reports_token).status_code in (404, 422), path
    hostile = [
        {"from": "2026-02-30"},
        {"from": "yesterday"},
        {"to": "2026-01-01", "from": "2026-02-01"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "2026-01-01\x00"},
        {"from": "9" * 5000},
        {"to": "2026-1-1"},
    ]
    for query in hostile:
        for path in (f"scenarios/{scenario.pk}", f"emails/{email.pk}", "overview"):
            response = get(client, path, reports_token, **query)
            assert response.status_code == 422, (path, query, response.content)
            assert response["Content-Type"].startswith("application/problem+json")
    for raw in ("from=%ED%A0%80", "from=%FF%FE", "from=2026-01-01&from=x", "to=%00"):
        response = client.get(
            f"/journeys/api/reports/overview?{raw}", HTTP_AUTHORIZATION=f"Bearer {reports_token}"
        )
        assert response.status_code == 422, (raw, response.content)
