"""Actions and exits on a real database: update contact, start scenario, notify (a real
webhook receiver on loopback), audience exit, hard end, page-view counts, transactional
priority."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0, fire
from tests.processes import free_port
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.outbox import sign_webhook
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    Enrollment,
    NotifyStep,
    SendEmailStep,
    StartScenarioStep,
    StepRun,
    UpdateContactStep,
    WaitStep,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def test_update_contact_tags_attributes_and_a_unique_promo_code():
    scenario = make_scenario()
    add(
        scenario,
        UpdateContactStep,
        add_tags="vip",
        attributes={"tier": "gold"},
        promo_code_prefix="WELCOME",
    )
    ada, bob = make_contact(), make_contact()
    fire("purchase", ada)
    fire("purchase", bob)
    advance_due(now=T0)
    ada.refresh_from_db()
    bob.refresh_from_db()
    assert list(ada.tags.names()) == ["vip"]
    assert ada.attributes["tier"] == "gold"
    assert ada.attributes["promo_code"].startswith("WELCOME-")
    assert ada.attributes["promo_code"] != bob.attributes["promo_code"]


@pytest.fixture
def receiver():
    """A webhook receiver on loopback: records each POST; answers ``status`` (200)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        status = 200

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(Handler.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received, Handler
    server.shutdown()
    server.server_close()


def test_notify_emails_the_team_and_posts_a_signed_webhook(receiver):
    url, received, _ = receiver
    scenario = make_scenario()
    add(
        scenario,
        NotifyStep,
        notify_email="sales@example.com",
        webhook_url=url,
        message="Big spender <b>alert</b>",
    )
    ada = make_contact("ada@example.com")
    fire("purchase", ada)
    advance_due(now=T0)
    (team,) = mail.outbox
    assert team.to == ["sales@example.com"] and "ada@example.com" in team.body
    ((headers, body),) = received
    assert headers["X-Journeys-Signature"] == sign_webhook(body)
    payload = json.loads(body)
    assert payload["contact"] == {"id": ada.pk, "email": "ada@example.com"}
    assert payload["message"] == "Big spender <b>alert</b>"
    assert headers["X-Journeys-Key"] == payload["key"]
    run = StepRun.objects.get(kind="notify")
    assert (run.outcome, run.key) == ("done", payload["key"])


def test_a_failing_webhook_is_logged_and_the_contact_moves_on(receiver):
    url, received, handler = receiver
    handler.status = 500
    scenario = make_scenario()
    add(scenario, NotifyStep, webhook_url=url, message="hello")
    add(scenario, UpdateContactStep, add_tags="after-notify")
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    assert len(received) == 1
    run = StepRun.objects.get(kind="notify")
    assert run.outcome == "failed" and "500" in run.reason
    assert list(ada.tags.names()) == ["after-notify"]
    assert Enrollment.objects.get().status == "completed"


def test_start_scenario_enrols_in_the_other_one_and_the_loop_guard_stops_cycles(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None, "LOOP_DEPTH": 2}
    # The checker lets a loop live only when a condition guards it; the guard at run time
    # stops one whose condition keeps matching.
    a = make_scenario(title="A", reentry="always")
    b = make_scenario(title="B", trigger_kind="manual", reentry="always")
    add(a, StartScenarioStep, scenario=b)
    again = add(add(b, ConditionStep, title="Again?"), Branch, title="always", is_else=True)
    add(again, StartScenarioStep, scenario=a)
    fire("purchase", make_contact())
    for _ in range(5):
        advance_due(now=T0)
    depths = sorted(Enrollment.objects.values_list("scenario__title", "depth"))
    assert depths == [("A", 0), ("A", 2), ("B", 1)]
    assert StepRun.objects.filter(reason__startswith="loop guard").count() == 1


def test_leaving_the_audience_exits_at_the_next_step():
    readers = SegmentFactory(rules=[rule("tags", tags="reader")])
    scenario = make_scenario(audience=readers, exit_on_audience_loss=True)
    add(scenario, WaitStep, amount=1, unit="days")
    add(scenario, SendEmailStep, email=make_email())
    ada = make_contact()
    ada.tags.add("reader")
    fire("purchase", ada)
    advance_due(now=T0)
    ada.tags.remove("reader")
    advance_due(now=T0 + dt.timedelta(days=1))
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.end_reason) == ("exited", "no longer in the audience")
    assert mail.outbox == []


def test_hard_end_date_stops_entries_and_ends_active_enrolments():
    scenario = make_scenario(end_at=T0 + dt.timedelta(days=1))
    add(scenario, WaitStep, amount=2, unit="days")
    add(scenario, SendEmailStep, email=make_email())
    ada = make_contact()
    fire("purchase", ada)
    advance_due(now=T0)
    advance_due(now=T0 + dt.timedelta(days=2))
    assert Enrollment.objects.get().end_reason == "the scenario's end date passed"
    assert fire("purchase", make_contact(), at=T0 + dt.timedelta(days=2)) == 0
    assert mail.outbox == []


def test_page_view_trigger_needs_n_views_of_tagged_pages_within_days():
    make_scenario(
        trigger_kind="page_view",
        trigger_event="",
        trigger_page_tag="stephen-king",
        trigger_min_views=3,
        trigger_view_days=30,
    )
    ada = make_contact()
    king = {"page_id": 1, "page_type": "shop.bookpage", "tags": ["stephen-king"]}
    other = {"page_id": 2, "page_type": "shop.bookpage", "tags": ["jane-austen"]}
    assert fire("page_view", ada, at=T0 - dt.timedelta(days=40), **king) == 0
    assert fire("page_view", ada, at=T0 - dt.timedelta(days=1), **king) == 0
    assert fire("page_view", ada, at=T0, **other) == 0
    assert fire("page_view", ada, at=T0, **king) == 0  # 2 in 30 days
    assert fire("page_view", ada, at=T0, **king) == 1


def test_transactional_sends_go_to_the_priority_pass_and_skip_quiet_hours(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": ["00:00", "23:59"], "FREQUENCY_CAP": None}
    receipts = make_scenario(trigger_event="order_paid")
    add(receipts, SendEmailStep, email=make_email(title="Receipt"), transactional=True)
    news = make_scenario(trigger_event="purchase")
    add(news, SendEmailStep, email=make_email(title="News"))
    ada = make_contact()
    fire("order_paid", ada)
    fire("purchase", ada)
    assert Enrollment.objects.get(scenario=receipts).priority is True
    assert advance_due(now=T0, priority=True) == 1
    assert len(mail.outbox) == 1
    advance_due(now=T0)
    assert len(mail.outbox) == 1  # the marketing email waits for the end of quiet hours
    assert StepRun.objects.filter(reason="quiet hours").exists()
