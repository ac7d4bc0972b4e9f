"""Messages in the Wagtail admin: the listing (titles in one query, filters, search), each
message as it was sent (built again byte for byte), the contact's messages, and who may
see them (the contact view permission)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.emails.factories import make_contact, make_email, text
from tests.scenarios.factories import add, make_scenario
from tests.users import make_user
from wagtail_journeys.delivery import compose_again, send_email, send_emails
from wagtail_journeys.models import Message, MessageStatus, SendEmailStep

XSS = "<script>alert(1)</script>"
BODY = [
    text(
        "<p>Hi {{ contact.first_name }}, your code {{ voucher_code }} (sent {{ today }}).</p>"
        "<p><a href='https://shop.example/cart?c={{ voucher_code|urlencode }}'>Your cart</a></p>"
    )
]


@pytest.fixture
def admin_client(client, email_site):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"journeys_messages:{name}", args=args)


def listing(client, **params) -> str:
    response = client.get(url("index"), params)
    assert response.status_code == 200
    return response.content.decode()


def scenario_send(n: int = 1, **contact_fields) -> list[Message]:
    """``n`` messages of a scenario's send step (real pages: their titles are listed)."""
    scenario = make_scenario(title="Welcome series")
    email = make_email(BODY, title="Welcome email", subject="Welcome {{ contact.first_name }}")
    step = add(scenario, SendEmailStep, email=email, title="Send the welcome")
    contacts = [make_contact(**contact_fields) for _ in range(n)]
    return send_emails(
        email,
        contacts,
        context={"voucher_code": "WELCOME10"},
        scenario_ids=[scenario.pk] * n,
        step_ids=[step.pk] * n,
    )


def test_the_listing_shows_each_message_with_its_titles_and_escapes_contact_data(admin_client):
    (message,) = scenario_send(first_name=XSS)
    page = listing(admin_client)
    for title in ("Welcome series", "Welcome email", "Send the welcome", message.recipient):
        assert title in page
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert url("inspect", message.pk) in page


def test_the_listing_reads_titles_once_per_page_not_per_row(admin_client):
    scenario_send(2)
    listing(admin_client)  # warm caches (content types, menus)
    with CaptureQueriesContext(connection) as few:
        listing(admin_client)
    scenario_send(12)
    with CaptureQueriesContext(connection) as many:
        listing(admin_client)
    assert len(many) == len(few)


def test_filters_by_fate_status_email_scenario_and_date(admin_client):
    opened, bounced, plain = scenario_send(3)
    other = send_email(make_email(title="Other email", subject="Other"), make_contact())
    now = timezone.now()
    Message.objects.filter(pk=opened.pk).update(opened_at=now, open_count=1)
    Message.objects.filter(pk=bounced.pk).update(
        status=MessageStatus.BOUNCED, bounced_at=now, bounce_type="hard"
    )
    Message.objects.filter(pk=other.pk).update(created_at=now - dt.timedelta(days=40))

    def found(**params) -> set[int]:
        page = listing(admin_client, **params)
        return {int(pk) for pk in re.findall(r"/admin/journeys_messages/inspect/(\d+)/", page)}

    assert found(opened_at="true") == {opened.pk}
    assert found(opened_at="false") == {bounced.pk, plain.pk, other.pk}
    assert found(bounced_at="true") == {bounced.pk}
    assert found(status=["bounced"]) == {bounced.pk}
    assert found(bounce_type="hard") == {bounced.pk}
    assert found(email_page=other.email_page_id) == {other.pk}
    assert found(scenario=opened.scenario_id) == {opened.pk, bounced.pk, plain.pk}
    since = (now - dt.timedelta(days=1)).date().isoformat()
    assert found(created_at_from=since) == {opened.pk, bounced.pk, plain.pk}
    assert found(q=other.recipient.upper()) == {other.pk}
    assert found(q="Other") == {other.pk}  # in the subject


def test_a_message_is_built_again_exactly_as_the_backend_received_it(email_site):
    (message,) = scenario_send(first_name="Zoé")
    (sent,) = mail.outbox
    email = message.email_page.specific
    # the email changes after the send: the message keeps its own revision
    email.subject, email.from_name = "Something else", "Another sender"
    email.body = [text("<p>New text</p>")]
    email.save_revision().publish()
    again = compose_again(Message.objects.get(pk=message.pk))
    assert again.alternatives[0].content == sent.alternatives[0].content  # HTML, every byte
    assert again.body == sent.body  # text
    assert (again.subject, again.from_email, again.to) == (sent.subject, sent.from_email, sent.to)
    assert again.extra_headers == sent.extra_headers  # Message-ID, List-Unsubscribe…
    assert again.message()["Subject"] == sent.message()["Subject"]


def test_the_inspect_page_shows_the_mail_without_tracking_anything(admin_client):
    (message,) = scenario_send(first_name=XSS)
    response = admin_client.get(url("inspect", message.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert XSS not in page
    (srcdoc,) = re.findall(r'<iframe[^>]*sandbox=""[^>]*srcdoc="([^"]*)"', page)
    assert "/journeys/o/" not in srcdoc and "/journeys/c/" not in srcdoc
    assert "/journeys/u/" not in srcdoc
    assert "https://shop.example/cart?c=WELCOME10" in srcdoc  # links go to their targets
    assert message.message_id.replace("<", "&lt;").replace(">", "&gt;") in page  # headers
    assert "/journeys/o/" in page  # the HTML source, as sent (escaped, not loaded)
    assert "your code WELCOME10" in page  # the text part
    assert not message.contact.events.exclude(name="email_sent").exists()


def test_a_message_whose_revision_is_gone_says_so(admin_client):
    (message,) = scenario_send()
    Message.objects.filter(pk=message.pk).update(revision=None)
    response = admin_client.get(url("inspect", message.pk))
    assert response.status_code == 200
    assert b"cannot be shown again" in response.content


def test_the_inspect_page_gives_a_stored_reason_in_the_editors_language(admin_client):
    from wagtail.users.models import UserProfile

    (message,) = scenario_send()
    Message.objects.filter(pk=message.pk).update(error="contact is unsubscribed")
    assert b"contact is unsubscribed" in admin_client.get(url("inspect", message.pk)).content
    preferences = UserProfile.get_for_user(get_user_model().objects.get(username="boss"))
    preferences.preferred_language = "fr"
    preferences.save()
    page = admin_client.get(url("inspect", message.pk)).content.decode()
    assert "le contact est désinscrit" in page and "contact is unsubscribed" not in page


def test_the_contacts_page_lists_their_messages(admin_client):
    (message,) = scenario_send()
    response = admin_client.get(reverse("journeys_contacts:inspect", args=[message.contact_id]))
    page = response.content.decode()
    assert url("inspect", message.pk) in page and "Welcome email" in page


def test_messages_need_the_contact_view_permission(client, email_site):
    (message,) = scenario_send()
    client.force_login(make_user("writer", "add_segment"))
    assert client.get(url("index")).status_code == 302
    assert client.get(url("inspect", message.pk)).status_code == 302
    assert url("index") not in client.get(reverse("wagtailadmin_home")).content.decode()
    client.force_login(make_user("support", "view_contact"))
    assert client.get(url("index")).status_code == 200
    assert client.get(url("inspect", message.pk)).status_code == 200
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert url("index") in home  # the "Messages" menu entry
    assert client.get(url("index") + "edit/1/").status_code == 404  # read only
