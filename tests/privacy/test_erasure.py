"""Erasure: after ``erase_contact`` no table of the app (nor the form submissions, nor
django-q2's queue) holds the person's address or name, the reports' totals are what they
would have been without it, and a suppressed address is refused by imports, the API and
forms. Deleting a contact in the admin is erasure; exports are permission-checked."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import uuid

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from wagtail.contrib.forms.models import FormSubmission
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from tests.analytics import counts
from tests.emails.factories import email_index, make_contact, make_email, text
from tests.engine.test_engine import T0
from tests.scenarios.factories import add, make_scenario
from tests.users import make_user
from wagtail_journeys.analytics.figures import Period
from wagtail_journeys.analytics.reports import email_report, overview, scenario_report
from wagtail_journeys.analytics.rollup import rollup_pass
from wagtail_journeys.consent import record_consent
from wagtail_journeys.contacts import identify
from wagtail_journeys.engine import tick
from wagtail_journeys.models import (
    Contact,
    ContactImport,
    Event,
    EventSource,
    ImportStatus,
    Message,
    PromoCode,
    SendEmailStep,
    StepRun,
    Suppression,
    Topic,
    TopicSubscription,
    Visitor,
    WaitStep,
)
from wagtail_journeys.privacy import erase_contact, export_contact
from wagtail_journeys.tracking.engagement import record_click, record_open
from wagtail_journeys.tracking.machines import HUMAN

pytestmark = pytest.mark.django_db

EMAIL = "zoeline.quarmby@example.com"
FIRST, LAST = "Zoéline", "Quarmby"
PERIOD = Period(dt.date(2026, 1, 1), dt.date(2027, 12, 31))
LINKS = (
    "<p><a href='https://shop.example/a?who={{ contact.email|urlencode }}'>a</a>"
    " <a href='https://shop.example/b'>b</a></p>"
)


@pytest.fixture(autouse=True)
def engine_settings(settings):
    settings.WAGTAIL_JOURNEYS = {
        "QUIET_HOURS": None,
        "FREQUENCY_CAP": None,
        "MACHINE_CLICK_SECONDS": 0,
        "MACHINE_BURST_SECONDS": 0,
    }


def signup(contact, at=T0):
    Event.objects.create(
        name="signup", contact=contact, occurred_at=at, source=EventSource.API, properties={}
    )


@pytest.fixture
def world(bookshop_pages):
    """A scenario (signup → an email → a day → an email with links → a week, goal:
    purchase) run by the person to erase and three others; the first part of it read by
    the rollup, the rest (opens, clicks, a purchase, the second sends) not yet. The
    person also has tags, attributes, a browser, a consent record, a topic choice, a form
    submission, a promo code, an import report line, an email previewed as them and a
    line in the admin's history."""
    email_index()
    scenario = make_scenario(title="Welcome", trigger_event="signup", goal_event="purchase")
    first = make_email(title="First")
    last = make_email([text(LINKS)], title="Last")
    add(scenario, SendEmailStep, email=first)
    add(scenario, WaitStep, mode="duration", amount=1, unit="days")
    add(scenario, SendEmailStep, email=last)
    add(scenario, WaitStep, mode="duration", amount=7, unit="days")
    person = make_contact(
        EMAIL,
        first_name=FIRST,
        last_name=LAST,
        phone="+33 6 12 34 56 78",
        attributes={"nickname": f"{FIRST} {LAST}", "city": "Lyon"},
    )
    person.tags.add("thriller")
    others = [make_contact(f"other{i}@example.com", first_name="Ada") for i in range(3)]
    for contact in [person, *others]:
        signup(contact)
    counts.settle_everything()
    tick(now=T0)
    # The rollup reads everything so far; what follows it has not read at erasure time.
    counts.settle_everything()
    rollup_pass(settle=dt.timedelta(0))
    tick(now=T0 + dt.timedelta(days=1))
    for contact in [person, others[0]]:
        for message in Message.objects.filter(contact=contact):
            record_open(message, HUMAN, T0 + dt.timedelta(days=1, hours=2))
            record_click(
                message,
                0,
                f"https://shop.example/a?who={contact.email}",
                HUMAN,
                T0 + dt.timedelta(days=1, hours=2, minutes=1),
            )
        Event.objects.create(
            name="purchase",
            contact=contact,
            occurred_at=T0 + dt.timedelta(days=1, hours=3),
            source=EventSource.API,
            properties={"amount": "40.00", "buyer": contact.email},
        )
    visitor = uuid.uuid4()
    Event.objects.create(
        name="page_view", visitor_id=visitor, source=EventSource.PAGE, properties={"path": "/"}
    )
    identify(visitor, person)
    Event.objects.create(
        name="page_view", visitor_id=uuid.uuid4(), source=EventSource.PAGE, properties={}
    )  # someone else's anonymous visit, kept
    topic = Topic.objects.create(name="Offers", slug="offers")
    TopicSubscription.objects.create(contact=person, topic=topic, subscribed=False)
    record_consent(
        person, action="granted", source="form", wording=f"I, {FIRST}, agree", details={}
    )
    home = bookshop_pages.get_children().get(slug="newsletter")
    submission = FormSubmission.objects.create(
        page=home, form_data={"email": EMAIL, "first_name": FIRST}
    )
    # The app's receiver records form_submitted for the contact the post names.
    assert (
        Event.objects.get(name="form_submitted", contact=person).properties["submission_id"]
        == submission.pk
    )
    other_submission = FormSubmission.objects.create(
        page=home, form_data={"email": "other0@example.com"}
    )
    PromoCode.objects.create(prefix="WELCOME", code="WELCOME-ZQ12", contact=person)
    ContactImport.objects.create(
        file_name="old.csv",
        status=ImportStatus.DONE,
        rejects=f"line,reason,email,first_name\n3,bad birth date,{EMAIL},{FIRST}\n"
        "4,bad birth date,other1@example.com,Ada\n",
    )
    ContactImport.objects.create(
        file_name="waiting.csv",
        status=ImportStatus.UPLOADED,
        data=f"email,first_name\n{EMAIL},{FIRST}\nother2@example.com,Ada\n".encode(),
    )
    tick(now=T0 + dt.timedelta(days=9))  # everyone completes the scenario (unread too)
    first.preview_contact = EMAIL
    first.save_revision().publish()
    log(person, "wagtail.edit")
    return {
        "scenario": scenario,
        "emails": (first, last),
        "person": person,
        "others": others,
        "other_submission": other_submission,
    }


def dump() -> str:
    """The text of every column of every row of every table the app owns, of the form
    submissions and of django-q2's queue and task results, lower-cased."""
    models = [
        *apps.get_app_config("wagtail_journeys").get_models(),
        FormSubmission,
        *apps.get_app_config("django_q").get_models(),
    ]
    parts = []
    for model in models:
        for row in model.objects.values_list():
            for value in row:
                if isinstance(value, bytes | memoryview):
                    value = bytes(value).decode("utf-8", "replace")
                parts.append(json.dumps(value, default=str, ensure_ascii=False))
    history = ModelLogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Contact))
    parts += [str(row) for row in history.values_list("label", "data")]
    return "\n".join(parts).lower()


def _without_waiting(value):
    """A report as plain data, without its live "waiting now" counts (who is on a step
    at this moment changes when a contact leaves: it is no total)."""
    if isinstance(value, dict):
        return {k: _without_waiting(v) for k, v in value.items() if k != "waiting"}
    if isinstance(value, list | tuple):
        return [_without_waiting(v) for v in value]
    return value


def reports(world) -> dict:
    """The totals the admin and the API show, after the rollup has read everything."""
    counts.settle_everything()
    rollup_pass(settle=dt.timedelta(0))
    first, last = world["emails"]
    return _without_waiting(
        {
            "overview": dataclasses.asdict(overview(PERIOD)),
            "scenario": dataclasses.asdict(scenario_report(world["scenario"], PERIOD)),
            "emails": [dataclasses.asdict(email_report(e, PERIOD)) for e in (first, last)],
            "tables": counts.tables(),
        }
    )


class _Undo(Exception):
    pass


def reports_without_erasure(world) -> dict:
    """The reports as they would be had nobody been erased (computed, then undone)."""
    with contextlib.suppress(_Undo), transaction.atomic():
        found = reports(world)
        raise _Undo
    return found


def test_erasure_leaves_no_trace_and_the_reports_unchanged(world):
    person = world["person"]
    text_before = dump()
    assert EMAIL in text_before and FIRST.lower() in text_before and LAST.lower() in text_before
    assert Event.objects.filter(contact=person, id__gt=0).exists()
    expected = reports_without_erasure(world)
    assert expected["overview"]["totals"]["sent"] == 8  # two emails to four contacts
    assert expected["overview"]["totals"]["converted"] == 2

    erasure = erase_contact(person)

    assert erasure.deleted["contact"] >= 1 and erasure.deleted["events"] > 0
    assert erasure.deleted["form_submissions"] == 1
    text_after = dump()
    for needle in (EMAIL, FIRST.lower(), LAST.lower(), "zoeline.quarmby%40example.com"):
        assert needle not in text_after, needle
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert not Visitor.objects.filter(contact_id=person.pk).exists()
    assert not StepRun.objects.filter(contact_id=person.pk).exists()
    assert PromoCode.objects.get(code="WELCOME-ZQ12").contact_id is None  # stays taken
    assert FormSubmission.objects.filter(pk=world["other_submission"].pk).exists()
    assert Event.objects.filter(name="page_view", contact__isnull=True).count() == 1
    assert "other1@example.com" in ContactImport.objects.get(file_name="old.csv").rejects
    assert reports(world) == expected


def test_an_erased_person_still_in_a_scenario_counts_as_having_left_it(world):
    person, scenario = world["person"], world["scenario"]
    last_wait = scenario.get_children().last()
    (enrollment,) = person.enrollments.all()
    enrollment.status, enrollment.step_id = "active", last_wait.pk
    enrollment.save()
    expected = reports_without_erasure(world)
    erase_contact(person)
    after = reports(world)
    step = lambda report: next(s for s in report["steps"] if s["step_id"] == last_wait.pk)  # noqa: E731
    assert step(after["scenario"])["entered"] == step(expected["scenario"])["entered"]
    assert step(after["scenario"])["exited"] == step(expected["scenario"])["exited"] + 1
    assert after["scenario"]["exited"] == expected["scenario"]["exited"] + 1
    assert after["overview"] == expected["overview"] and after["emails"] == expected["emails"]


def test_an_erased_contact_is_logged_by_id_and_by_whom(world):
    person = world["person"]
    admin = make_user("dpo", "delete_contact", "view_contact")
    erase_contact(person, by=admin)
    entry = ModelLogEntry.objects.get(action="wagtail_journeys.erase")
    assert (entry.user, entry.label, entry.object_id) == (
        admin,
        f"Contact #{person.pk} (erased)",
        str(person.pk),
    )


def test_export_holds_everything_about_the_person(world):
    person = world["person"]
    data = json.loads(json.dumps(export_contact(person)))  # JSON as it is
    assert data["contact"]["email"] == EMAIL
    assert data["contact"]["tags"] == ["thriller"]
    assert data["contact"]["attributes"]["city"] == "Lyon"
    names = {e["name"] for e in data["events"]}
    assert {"signup", "email_sent", "email_opened", "purchase", "page_view"} <= names
    assert len(data["events"]) == Event.objects.filter(contact=person).count()
    assert {m["subject"] for m in data["messages"]} == {f"Hello {FIRST}"}
    (enrollment,) = data["enrollments"]
    assert enrollment["step_runs"] and enrollment["scenario_id"] == world["scenario"].pk
    assert [c["wording"] for c in data["consents"]] == [f"I, {FIRST}, agree"]
    assert data["topics"] == [
        {
            "topic": "offers",
            "name": "Offers",
            "subscribed": False,
            "changed_at": data["topics"][0]["changed_at"],
        }
    ]
    assert len(data["visitors"]) == 1
    assert data["promo_codes"][0]["code"] == "WELCOME-ZQ12"
    assert data["form_submissions"][0]["data"]["first_name"] == FIRST
    other = json.dumps(export_contact(world["others"][1]))
    assert EMAIL not in other and FIRST not in other


# -- suppression ----------------------------------------------------------------------------


@pytest.fixture
def suppressing(settings):
    settings.WAGTAIL_JOURNEYS = {**settings.WAGTAIL_JOURNEYS, "SUPPRESS_ERASED": True}


@pytest.fixture
def erased(db, suppressing):
    contact = make_contact(EMAIL, first_name=FIRST, last_name=LAST)
    erasure = erase_contact(contact)
    assert erasure.suppressed
    (suppression,) = Suppression.objects.all()
    assert EMAIL not in suppression.hash
    return contact


def test_an_import_skips_an_erased_address_and_says_why(erased, tmp_path):
    from wagtail_journeys.contact_imports import run_import

    job = ContactImport.objects.create(
        file_name="list.csv",
        status=ImportStatus.QUEUED,
        data=f"email,first_name\nnew@example.com,New\n{EMAIL.upper()},{FIRST}\n".encode(),
    )
    assert run_import(job.pk) == "done"
    job.refresh_from_db()
    assert (job.created, job.skipped, job.rejected) == (1, 1, 0)
    assert "3,skipped: this address was erased" in job.rejects
    assert EMAIL not in job.rejects.lower() and FIRST not in job.rejects
    assert not Contact.objects.filter(email=EMAIL).exists()
    path = tmp_path / "list.csv"
    path.write_text(f"email\n{EMAIL}\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("journeys_import_contacts", str(path), "--no-progress", stdout=out, stderr=err)
    assert "skipped 1 erased addresses" in out.getvalue()
    assert "line 2: skipped" in err.getvalue()


def test_the_api_refuses_to_add_an_erased_address(erased, client, server_token):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {server_token}"}
    for path, body in (
        ("/journeys/api/identify", {"email": EMAIL}),
        ("/journeys/api/events", {"name": "purchase", "email": EMAIL}),
    ):
        response = client.post(path, body, content_type="application/json", **auth)
        assert response.status_code == 409, response.content
        assert "erased" in response.json()["detail"]
    assert not Contact.objects.filter(email=EMAIL).exists()


def test_a_form_signup_of_an_erased_address_creates_no_contact(erased, client, bookshop_pages):
    response = client.post("/newsletter/", {"first_name": FIRST, "email": EMAIL})
    assert response.status_code == 200
    assert not Contact.objects.filter(email=EMAIL).exists()
    submitted = Event.objects.get(name="form_submitted")
    assert submitted.contact_id is None


def test_the_admin_refuses_to_add_an_erased_address(erased, client):
    admin = make_user("dpo", "add_contact", "view_contact")
    client.force_login(admin)
    response = client.post(
        "/admin/journeys_contacts/new/",
        {"email": EMAIL, "email_status": "subscribed", "attributes": "{}"},
    )
    assert response.status_code == 200
    assert "erased at its owner" in response.content.decode()
    assert not Contact.objects.filter(email=EMAIL).exists()


def test_the_command_erases_and_allows_again(db, suppressing):
    make_contact(EMAIL)
    out = io.StringIO()
    call_command("journeys_erase", EMAIL, stdout=out)
    assert "erased" in out.getvalue() and "address suppressed" in out.getvalue()
    assert not Contact.objects.filter(email=EMAIL).exists()
    with pytest.raises(Exception, match="erased"):
        from wagtail_journeys.contacts import upsert_contact

        upsert_contact(EMAIL)
    call_command("journeys_erase", "--allow-again", EMAIL, stdout=out)
    assert not Suppression.objects.exists()
    make_contact(EMAIL)


def test_batches_refuse_an_erased_address_and_keep_the_rest(erased, client, server_token):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {server_token}"}
    response = client.post(
        "/journeys/api/contacts/batch",
        {"contacts": [{"email": EMAIL}, {"email": "new@example.com"}]},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    first, second = response.json()["results"]
    assert first["status"] == "rejected" and "erased" in first["error"]
    assert second["status"] == "created"
    response = client.post(
        "/journeys/api/events/batch",
        {"events": [{"name": "purchase", "email": e} for e in (EMAIL, "b@example.com")]},
        content_type="application/json",
        **auth,
    )
    first, second = response.json()["results"]
    assert first["status"] == "rejected" and second["status"] == "stored"
    assert not Contact.objects.filter(email=EMAIL).exists()
