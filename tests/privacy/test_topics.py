"""Subscription topics: a contact unsubscribed from one topic still gets the others' mail
and never the unsubscribed one (through the engine's pass, and through a one-click POST
of the mail's own List-Unsubscribe header); the preference centre; the segment rule."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core import mail
from django.template import Context, Engine
from django.utils import timezone

from tests.emails.factories import make_contact, make_email
from tests.engine.test_engine import T0
from tests.scenarios.factories import add, make_scenario
from tests.segments.factories import rule
from wagtail_journeys.delivery import send_email, send_emails
from wagtail_journeys.engine import tick
from wagtail_journeys.exceptions import Suppressed
from wagtail_journeys.models import (
    ConsentRecord,
    EmailStatus,
    Event,
    EventSource,
    MessageStatus,
    SendEmailStep,
    StepRun,
    Topic,
    TopicSubscription,
    WaitStep,
)
from wagtail_journeys.reasons import display
from wagtail_journeys.segments import compile_rules, evaluate_rules
from wagtail_journeys.segments.facts import load_facts
from wagtail_journeys.topics import choose

pytestmark = pytest.mark.django_db
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


@pytest.fixture
def topics(db):
    news = Topic.objects.create(
        name="Newsletter", slug="newsletter", description="Our monthly letter", sort_order=1
    )
    offers = Topic.objects.create(
        name="Offers", slug="offers", description="Sales and vouchers", sort_order=2
    )
    return news, offers


def header_url(message) -> str:
    """The https part of a sent mail's List-Unsubscribe header, as a path."""
    header = message.extra_headers["List-Unsubscribe"]
    return re.search(r"<http://localhost:8000(/journeys/u/[^>]+)>", header)[1]


def mails_to(address: str) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [address]]


def purchase(contact) -> None:
    Event.objects.create(
        name="purchase",
        contact=contact,
        occurred_at=T0,
        source=EventSource.API,
        received_at=timezone.now() - dt.timedelta(seconds=10),
    )


def test_a_contact_unsubscribed_from_one_topic_still_gets_the_other(client, email_site, topics):
    news, offers = topics
    scenario = make_scenario()
    add(scenario, SendEmailStep, email=make_email(subject="News 1", topic=news))
    add(scenario, WaitStep, mode="duration", amount=1, unit="days")
    add(scenario, SendEmailStep, email=make_email(subject="Offer", topic=offers))
    add(scenario, WaitStep, mode="duration", amount=1, unit="days")
    add(scenario, SendEmailStep, email=make_email(subject="News 2", topic=news))
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    purchase(ada)
    purchase(bob)

    tick(now=T0)
    assert mails_to("ada@example.com") == mails_to("bob@example.com") == ["News 1"]
    # Ada's mail client posts the one-click unsubscribe of the newsletter's header.
    (ada_news,) = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    response = client.post(header_url(ada_news), ONE_CLICK, content_type=FORM)
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.email_status == EmailStatus.SUBSCRIBED  # only the topic was left
    assert TopicSubscription.objects.get(contact=ada).subscribed is False

    tick(now=T0 + dt.timedelta(days=1))
    assert mails_to("ada@example.com") == ["News 1", "Offer"]
    tick(now=T0 + dt.timedelta(days=2))
    assert mails_to("ada@example.com") == ["News 1", "Offer"]
    assert mails_to("bob@example.com") == ["News 1", "Offer", "News 2"]
    skipped = StepRun.objects.get(contact_id=ada.pk, outcome="skipped")
    assert skipped.reason == "not subscribed to the topic 'Newsletter'"
    assert display(skipped.reason) == "not subscribed to the topic 'Newsletter'"


FORM = "application/x-www-form-urlencoded"


def test_one_click_of_a_mail_without_topic_unsubscribes_from_all(client, email_site, topics):
    send_email(make_email(subject="Hello"), make_contact("ada@example.com"))
    response = client.post(header_url(mail.outbox[0]), ONE_CLICK, content_type=FORM)
    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    record = ConsentRecord.objects.get()
    assert (record.action, record.topic, record.contact.email_status) == (
        "withdrawn",
        None,
        EmailStatus.UNSUBSCRIBED,
    )


def test_an_opt_in_topic_goes_only_to_who_opted_in(email_site):
    club = Topic.objects.create(name="Book club", slug="club", subscribed_by_default=False)
    page = make_email(subject="Club news", topic=club)
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    choose(bob, {club.pk: True}, [club])
    messages = send_emails(page, [ada, bob])
    assert [m.status for m in messages] == [MessageStatus.SUPPRESSED, MessageStatus.SENT]
    assert messages[0].error == "not subscribed to the topic 'Book club'"
    assert mails_to("bob@example.com") == ["Club news"]
    with pytest.raises(Suppressed):
        send_email(page, ada)


def test_transactional_sends_ignore_topics(email_site, topics):
    news, _ = topics
    ada = make_contact("ada@example.com")
    choose(ada, {news.pk: False}, [news])
    page = make_email(subject="Your order", topic=news)
    assert send_email(page, ada, transactional=True).status == MessageStatus.SENT
    with pytest.raises(Suppressed):
        send_email(page, ada)


# The preference centre


@pytest.fixture
def sent(email_site, topics):
    """A newsletter sent to Ada; the path of its preference page."""
    news, _ = topics
    send_email(make_email(subject="News", topic=news), make_contact("ada@example.com"))
    return header_url(mail.outbox[0])


def form_token(response) -> str:
    return re.search(rb'name="form_token" value="([^"]+)"', response.content)[1].decode()


def ticked(response) -> list[str]:
    return re.findall(r'name="topics" value="(\d+)" checked', response.content.decode())


def test_the_preference_centre_shows_the_topics_and_saves_choices(client, sent, topics):
    news, offers = topics
    page = client.get(sent)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Newsletter" in html and "Our monthly letter" in html and "Offers" in html
    assert "Unsubscribe from “Newsletter”" in html
    assert sorted(ticked(page)) == sorted([str(news.pk), str(offers.pk)])
    assert not ConsentRecord.objects.exists()  # a GET changes nothing

    saved = client.post(
        sent, {"form_token": form_token(page), "action": "save", "topics": [offers.pk]}
    )
    assert saved.status_code == 200 and "Your choices are saved." in saved.content.decode()
    assert ticked(saved) == [str(offers.pk)]
    (record,) = ConsentRecord.objects.all()
    assert (record.action, record.topic, record.source) == ("withdrawn", news, "preferences")
    assert record.wording == "Newsletter: Our monthly letter"

    again = client.post(
        sent,
        {"form_token": form_token(saved), "action": "save", "topics": [news.pk, offers.pk]},
    )
    assert sorted(ticked(again)) == sorted([str(news.pk), str(offers.pk)])
    assert ConsentRecord.objects.filter(action="granted", topic=news).count() == 1


def test_unsubscribe_from_all_then_subscribe_again(client, sent):
    page = client.get(sent)
    gone = client.post(sent, {"form_token": form_token(page), "action": "unsubscribe_all"})
    assert "You are unsubscribed" in gone.content.decode()
    assert "Subscribe again" in gone.content.decode()
    back = client.post(sent, {"form_token": form_token(gone), "action": "resubscribe"})
    assert "You are subscribed again." in back.content.decode()
    records = ConsentRecord.objects.order_by("recorded_at", "id")
    assert [(r.action, r.source, r.wording) for r in records] == [
        ("withdrawn", "preferences", "Unsubscribe from all our marketing emails"),
        ("granted", "preferences", "Subscribe again"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"action": "unsubscribe_all"},  # no form token: not the page's form
        {"form_token": "forged", "action": "unsubscribe_all"},
        {"form_token": "TOKEN", "action": "drop_tables"},
        {"form_token": "TOKEN", "action": "save", "topics": ["abc"]},
        {"form_token": "TOKEN", "action": "save", "topics": ["999999"]},
        {"form_token": "TOKEN", "action": "save", "topics": ["1" * 400]},
        {"form_token": "TOKEN\x00", "action": "unsubscribe_all"},
    ],
)
def test_hostile_form_posts_are_refused_and_change_nothing(client, sent, body):
    token = form_token(client.get(sent))
    body = {k: (v.replace("TOKEN", token) if isinstance(v, str) else v) for k, v in body.items()}
    response = client.post(sent, body)
    assert response.status_code == 400
    assert not ConsentRecord.objects.exists()
    assert not TopicSubscription.objects.exists()


def test_a_body_that_is_not_utf8_is_refused(client, sent):
    token = form_token(client.get(sent))
    body = f"form_token={token}&action=save&topics=%ED%A0%80&topics=%FF"
    assert client.post(sent, body, content_type=FORM).status_code == 400
    assert not TopicSubscription.objects.exists()


def test_a_form_token_of_another_message_is_refused(client, sent):
    send_email(make_email(subject="Other"), make_contact("bob@example.com"))
    bobs = header_url(mail.outbox[-1])
    token = form_token(client.get(bobs))
    response = client.post(sent, {"form_token": token, "action": "unsubscribe_all"})
    assert response.status_code == 400
    assert not ConsentRecord.objects.exists()


def test_a_forged_page_url_is_404(client, sent):
    assert client.get(sent[:-3] + "xyz").status_code == 404
    assert client.post(sent[:-3] + "xyz", ONE_CLICK, content_type=FORM).status_code == 404


def test_the_page_can_extend_a_fresh_wagtail_start_sites_base(client, sent, settings, tmp_path):
    """``PREFERENCES_BASE_TEMPLATE = "base.html"`` with the base.html ``wagtail start``
    writes: the site's layout around the preference centre."""
    import wagtail

    source = Path(wagtail.__file__).parent / "project_template/project_name/templates/base.html"
    rendered = Engine().from_string(source.read_text()).render(Context({"project_name": "mysite"}))
    (tmp_path / "base.html").write_text(rendered)
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [str(tmp_path), *settings.TEMPLATES[0]["DIRS"]]}
    ]
    settings.WAGTAIL_JOURNEYS = {
        **settings.WAGTAIL_JOURNEYS,
        "PREFERENCES_BASE_TEMPLATE": "base.html",
    }
    response = client.get(sent)
    html = response.content.decode()
    assert response.status_code == 200
    assert "css/mysite.css" in html  # the site's own stylesheet
    assert 'name="form_token"' in html and "Newsletter" in html


# The segment rule


def test_the_subscribed_to_topic_rule(email_site, topics):
    news, _ = topics
    club = Topic.objects.create(name="Club", slug="club", subscribed_by_default=False)
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    cy = make_contact("cy@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    choose(bob, {news.pk: False, club.pk: True}, [news, club])
    from wagtail_journeys.models import Contact

    def members(topic, negate=False) -> set[str]:
        rules = [rule("topic", negate, topic=topic.pk)]
        in_sql = set(Contact.objects.filter(compile_rules(rules)).values_list("email", flat=True))
        in_python = {
            f.fields["email"]
            for f in load_facts(Contact.objects.all())
            if evaluate_rules(rules, "all", f)
        }
        assert in_sql == in_python
        return in_sql

    assert members(news) == {ada.email}
    assert members(news, negate=True) == {bob.email, cy.email}
    assert members(club) == {bob.email}


def test_a_rehearsal_skips_who_left_the_emails_topic(email_site, topics):
    """The rehearsal decides as the engine does: the draft's send is skipped for a
    contact unsubscribed from the email's topic, with the same reason."""
    from tests.scenarios.factories import scenario_index
    from wagtail_journeys.engine.rehearsal import rehearse
    from wagtail_journeys.models import ScenarioPage

    news, _ = topics
    scenario = add(
        scenario_index(), ScenarioPage, publish=False, trigger_event="signup", live_since=T0
    )
    step = add(scenario, SendEmailStep, publish=False, email=make_email(topic=news))
    ada, bob = make_contact("ada@example.com"), make_contact("bob@example.com")
    choose(bob, {news.pk: False}, [news])
    for contact in (ada, bob):
        Event.objects.create(
            name="signup",
            contact=contact,
            occurred_at=T0 + dt.timedelta(hours=1),
            received_at=T0 + dt.timedelta(hours=1),
            source=EventSource.API,
        )
    result = rehearse(scenario, start=T0, end=T0 + dt.timedelta(days=1))
    node = result.nodes[step.pk]
    assert node.sent == 1
    assert node.skipped == {"not subscribed to the topic 'Newsletter'": 1}


def test_topics_in_the_admin(client, email_site):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    client.force_login(get_user_model().objects.create_superuser("boss", "b@x.com", "x"))
    add_url = reverse("wagtailsnippets_wagtail_journeys_topic:add")
    response = client.post(
        add_url,
        {"name": "Offers", "slug": "offers", "description": "Sales", "sort_order": "1"},
    )
    assert response.status_code == 302
    offers = Topic.objects.get()
    assert offers.subscribed_by_default is False  # an unticked checkbox: opt-in
    listing = client.get(reverse("wagtailsnippets_wagtail_journeys_topic:list"))
    assert listing.status_code == 200 and "Offers" in listing.content.decode()
    # The email editor offers the topics in a select, "no topic" said in words.
    email = make_email(topic=offers)
    editor = client.get(reverse("wagtailadmin_pages:edit", args=[email.pk])).content.decode()
    assert "No topic: transactional, or mail every subscribed contact may get" in editor
    # A topic an email belongs to cannot be deleted from under it.
    delete_url = reverse("wagtailsnippets_wagtail_journeys_topic:delete", args=[offers.pk])
    response = client.post(delete_url)
    assert response.status_code < 500
    assert Topic.objects.filter(pk=offers.pk).exists()
