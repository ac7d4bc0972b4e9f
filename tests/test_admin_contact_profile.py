"""A contact's profile in the admin: the listing opens it, it reads as an activity feed in
words, lists the contact's segments, messages and why one was not sent, escapes every
value, and costs a bounded number of queries however long the contact's history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from tests.emails.factories import make_email
from tests.factories import ContactFactory
from tests.segments.factories import SegmentFactory, rule
from wagtail_journeys.models import Event, EventSource, Message, MessageStatus

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    return client


def profile(client, contact, **params) -> str:
    response = client.get(reverse("journeys_contacts:inspect", args=[contact.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def feed(html: str) -> str:
    start = html.index('class="journeys-feed"')
    return html[start : html.index("</ol>", start)]


def add_events(contact, rows: list[tuple[str, str, dict]]) -> None:
    """Events newest first, as ``(name, source, properties)``, a minute apart."""
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            name=name,
            contact=contact,
            source=source,
            properties=properties,
            occurred_at=now - dt.timedelta(minutes=i),
        )
        for i, (name, source, properties) in enumerate(rows)
    )


def test_the_listing_opens_the_profile_not_the_edit_form(admin_client):
    contact = ContactFactory(email="ann@example.com")
    html = admin_client.get(reverse("journeys_contacts:index")).content.decode()
    inspect = reverse("journeys_contacts:inspect", args=[contact.pk])
    edit = reverse("journeys_contacts:edit", args=[contact.pk])
    title_link = html[html.index('<div class="title-wrapper">') :]
    title_link = title_link[: title_link.index("</a>")]
    assert f'href="{inspect}"' in title_link and "ann@example.com" in title_link
    assert edit in html  # still one click away, in the row's menu


def test_each_kind_of_event_reads_as_a_sentence(admin_client):
    welcome = make_email(title="Welcome")
    book = make_email(title="Gone Girl")  # any page: its title is what the feed shows
    contact = ContactFactory()
    email = {"email_page_id": welcome.pk, "message": 1}
    add_events(
        contact,
        [
            ("page_view", EventSource.PAGE, {"page_id": book.pk, "path": "/books/gone-girl/"}),
            ("email_sent", EventSource.EMAIL, email),
            ("email_opened", EventSource.EMAIL, {**email, "first": True}),
            ("email_opened", EventSource.EMAIL, {**email, "machine": True}),
            ("email_clicked", EventSource.EMAIL, {**email, "url": "https://shop.test/selection"}),
            (
                "purchase",
                EventSource.API,
                {"items": [{"sku": "a"}, {"sku": "b"}], "amount": 34.9, "currency": "EUR"},
            ),
            ("purchase", EventSource.API, {"title": "Carrie", "amount": "12", "currency": "USD"}),
            ("form_submitted", EventSource.FORM, {"title": "Newsletter", "form": "newsletter"}),
            ("email_bounced", EventSource.EMAIL, {**email, "bounce": "hard"}),
            ("email_complained", EventSource.EMAIL, email),
            ("email_delivered", EventSource.EMAIL, email),
            ("unsubscribed", EventSource.EMAIL, email),
            ("video.played", EventSource.API, {"video": "trailer"}),
            ("page_view", EventSource.PAGE, {"page_id": 999999, "path": "/gone/"}),
        ],
    )
    text = feed(profile(admin_client, contact))
    sentences = [
        "Viewed <em>Gone Girl</em>",
        "Was sent <em>Welcome</em>",
        "Opened <em>Welcome</em>",
        "<em>Welcome</em> was opened by a machine",
        "Clicked <em>https://shop.test/selection</em> in <em>Welcome</em>",
        "Bought 2 items, €34.90",
        "Bought <em>Carrie</em>, $12.00",
        "Submitted the form <em>Newsletter</em>",
        "<em>Welcome</em> bounced (permanently)",
        "Marked <em>Welcome</em> as spam",
        "<em>Welcome</em> was delivered",
        "Unsubscribed (from <em>Welcome</em>)",
        "<code>video.played</code>",
        "Viewed <em>/gone/</em>",  # a page deleted since: its path
    ]
    positions = [text.index(sentence) for sentence in sentences]
    assert positions == sorted(positions)  # newest first
    assert text.count("<details") == 14  # the raw properties, on demand
    assert "&quot;/books/gone-girl/&quot;" in text


def test_everything_from_a_contact_is_escaped(admin_client):
    contact = ContactFactory(first_name=XSS, attributes={XSS: XSS})
    contact.tags.add(XSS)
    welcome = make_email(title=XSS)
    add_events(
        contact,
        [
            ("page_view", EventSource.PAGE, {"path": XSS, XSS: XSS}),
            ("email_clicked", EventSource.EMAIL, {"email_page_id": welcome.pk, "url": XSS}),
            ("purchase", EventSource.API, {"title": XSS, "amount": 1, "currency": XSS}),
            ("form_submitted", EventSource.FORM, {"title": XSS}),
            ("custom", EventSource.API, {"html": XSS}),
        ],
    )
    Message.objects.create(
        contact=contact,
        email_page=welcome,
        subject=XSS,
        status=MessageStatus.HELD,
        error=XSS,
    )
    SegmentFactory(name=XSS, rules=[rule("tags", tags=XSS)])
    html = profile(admin_client, contact)
    assert XSS not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 12


def test_segments_messages_and_why_a_mail_was_not_sent(admin_client):
    contact = ContactFactory()
    contact.tags.add("gold")
    SegmentFactory(name="Gold readers", rules=[rule("tags", tags="gold")])
    SegmentFactory(name="Silver readers", rules=[rule("tags", tags="silver")])
    welcome = make_email(title="Welcome")
    Message.objects.create(
        contact=contact, email_page=welcome, subject="Hi", status=MessageStatus.SENT, open_count=3
    )
    Message.objects.create(
        contact=contact,
        email_page=welcome,
        subject="Again",
        status=MessageStatus.HELD,
        error="The required merge tag first_name was empty.",
    )
    html = profile(admin_client, contact)
    segments = html[html.index("journeys-segments") : html.index("journeys-timeline")]
    assert "Gold readers" in segments and "Silver readers" not in segments
    messages = html[html.index("journeys-messages") : html.index("journeys-scenarios")]
    assert "Held (a required merge tag was empty)" in messages
    assert "The required merge tag first_name was empty." in messages
    assert "<td>3</td>" in messages


def test_a_segment_without_rules_holds_every_contact_on_the_profile(admin_client):
    SegmentFactory(name="Everyone", rules=[])
    SegmentFactory(name="Silver readers", rules=[rule("tags", tags="silver")])
    html = profile(admin_client, ContactFactory())
    segments = html[html.index("journeys-segments") : html.index("journeys-timeline")]
    assert "Everyone" in segments and "Silver readers" not in segments


def test_a_contact_with_nothing_has_no_empty_headers(admin_client):
    html = profile(admin_client, ContactFactory())
    for line in (
        "This contact is in no segment.",
        "No events recorded for this contact yet.",
        "No message has been sent to this contact.",
        "This contact has not entered any scenario.",
    ):
        assert line in html
    assert '<table class="listing' not in html and 'class="journeys-feed"' not in html


def test_the_profile_costs_the_same_queries_for_ten_or_a_thousand_events(
    admin_client, django_assert_max_num_queries
):
    welcome = make_email(title="Welcome")
    SegmentFactory(name="Gold", rules=[rule("tags", tags="gold")])
    SegmentFactory(name="Silver", rules=[rule("tags", tags="silver")])

    def contact_with(n: int):
        contact = ContactFactory()
        email = {"email_page_id": welcome.pk}
        add_events(
            contact,
            [
                ("page_view", EventSource.PAGE, {"page_id": welcome.pk})
                if i % 2
                else ("email_opened", EventSource.EMAIL, email)
                for i in range(n)
            ],
        )
        Message.objects.bulk_create(
            Message(contact=contact, email_page=welcome, subject=f"S{i}") for i in range(n // 10)
        )
        return contact

    small, large = contact_with(10), contact_with(1000)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as baseline:
        profile(admin_client, small)
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        html = profile(admin_client, large)
    assert feed(html).count("journeys-feed__item") == 100
    assert "1000 events in all" in html


def test_stored_reasons_read_in_the_editors_language(admin_client):
    from wagtail.users.models import UserProfile

    from tests.scenarios.factories import make_scenario
    from wagtail_journeys.delivery import UNCERTAIN
    from wagtail_journeys.models import Enrollment, StepRun

    contact = ContactFactory()
    scenario = make_scenario(title="Welcome", trigger_kind="manual")
    ended = Enrollment.objects.create(
        contact=contact, scenario=scenario, status="exited", end_reason="no longer in the audience"
    )
    for reason in ("quiet hours", "frequency cap (3 in 7 days)", "an ESP's own words"):
        StepRun.objects.create(
            enrollment=ended,
            contact_id=contact.pk,
            scenario_id=scenario.pk,
            kind="send_email",
            outcome="deferred",
            reason=reason,
        )
    Message.objects.create(
        contact=contact,
        email_page=make_email(title="Welcome mail"),
        subject="Hi",
        status=MessageStatus.UNCERTAIN,
        error=UNCERTAIN,
    )
    english = profile(admin_client, contact)
    assert "frequency cap (3 in 7 days)" in english and "no longer in the audience" in english
    user = get_user_model().objects.get(username="boss")
    preferences = UserProfile.get_for_user(user)
    preferences.preferred_language = "fr"
    preferences.save()
    french = profile(admin_client, contact)
    assert "limite de fréquence (3 en 7 jours)" in french
    assert "heures de silence" in french and "n&#x27;est plus dans l&#x27;audience" in french
    assert "Le worker s&#x27;est arrêté" in french
    assert "an ESP&#x27;s own words" in french  # not a text of the app: shown as stored
    assert "frequency cap" not in french and "quiet hours" not in french
