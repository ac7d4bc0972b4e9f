"""Double opt-in: a signup is ``pending`` until the mailed link is followed; only the
browser that follows it is tied to the contact, and only then may marketing mail go."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
import types

import pytest
from django.core import mail, signing
from django.db import connection, transaction

from tests.emails.factories import button, email_index, make_contact, make_email, text
from wagtail_journeys import confirmation
from wagtail_journeys.activity import describe
from wagtail_journeys.delivery import compose_again, send_email, send_test
from wagtail_journeys.engine.env import DatabaseEnv
from wagtail_journeys.exceptions import Suppressed
from wagtail_journeys.models import (
    ConsentRecord,
    Contact,
    EmailPage,
    EmailStatus,
    Event,
    Message,
    MessageStatus,
    Visitor,
)
from wagtail_journeys.tracking.visitor import VisitorId

LINK = re.compile(r"https?://[^\s\"<>]+/journeys/confirm/[^\s\"<>]+")


@pytest.fixture
def double_opt_in(settings):
    settings.WAGTAIL_JOURNEYS = {"DOUBLE_OPT_IN": True}


@pytest.fixture
def confirm_email(bookshop_pages):
    """The confirmation email editors write (the default slug)."""
    return make_email(
        [
            text("<p>Hello {{ contact.first_name }}, one click and you are in.</p>"),
            button("Confirm my subscription", "{{ confirm_url }}"),
        ],
        slug="confirm-subscription",
        subject="Please confirm your subscription",
    )


@pytest.fixture
def newsletter(bookshop_pages):
    return bookshop_pages.get_children().get(slug="newsletter").specific


def signup(client, django_capture_on_commit_callbacks, email="zoe@example.com", **data):
    """Post the newsletter form as a browser does; the confirmation goes on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/newsletter/", {"first_name": "Zoé", "email": email, **data})
    assert response.status_code == 200
    return response


def link_in(message) -> str:
    (found,) = set(LINK.findall(message.alternatives[0][0]))
    assert found in message.body  # the plain-text part holds it too
    return found


def path_of(url: str) -> str:
    return url[url.index("/journeys/") :]


def cookie_contact(client) -> int | None:
    cookie = client.cookies.get("journeys_vid")
    return VisitorId.from_token(cookie.value).contact_id if cookie else None


pytestmark = pytest.mark.django_db


def test_a_new_signup_is_pending_mailed_a_link_and_its_browser_is_not_tied(
    client, double_opt_in, confirm_email, newsletter, django_capture_on_commit_callbacks
):
    client.get("/books/the-shining/")
    poster = VisitorId.from_token(client.cookies["journeys_vid"].value)
    signup(client, django_capture_on_commit_callbacks, email=" Zoe@Example.com")

    contact = Contact.objects.get()
    assert (contact.email, contact.first_name) == ("zoe@example.com", "Zoé")
    assert contact.email_status == EmailStatus.PENDING
    assert contact.confirmation_sent_at is not None and contact.confirmed_at is None
    # nothing ties the posting browser to the address it typed
    assert cookie_contact(client) is None
    assert not Visitor.objects.filter(contact=contact).exists()
    assert Event.objects.get(name="page_view", visitor_id=poster.uuid).contact is None
    submitted = Event.objects.get(name="form_submitted")
    assert (submitted.contact, submitted.visitor_id) == (contact, None)
    assert submitted.properties["verified"] is False
    # the confirmation mail: transactional, through the normal delivery path
    (sent,) = mail.outbox
    assert sent.to == ["zoe@example.com"] and sent.subject == "Please confirm your subscription"
    assert "Hello Zoé" in sent.body
    message = Message.objects.get()
    assert (message.contact, message.email_page_id) == (contact, confirm_email.pk)
    assert message.transactional and message.status == MessageStatus.SENT
    # the request is on record, with where it came from
    (requested,) = ConsentRecord.objects.filter(contact=contact)
    assert (requested.action, requested.source, requested.channel) == (
        "requested",
        "form",
        "email",
    )
    assert requested.details["page_id"] == newsletter.pk
    assert requested.details["form"] == "newsletter"
    # the link is not tracked: it goes straight to the confirmation page
    assert "/journeys/c/" not in link_in(sent)


def test_following_the_link_asks_first_then_confirms_and_ties_that_browser(
    client, double_opt_in, confirm_email, newsletter, django_capture_on_commit_callbacks
):
    signup(client, django_capture_on_commit_callbacks)
    contact = Contact.objects.get()
    url = path_of(link_in(mail.outbox[0]))

    # The person reads the mail elsewhere: another browser, which a link scanner's GET
    # precedes. A GET changes nothing.
    reader = type(client)()
    for _ in range(2):
        page = reader.get(url)
        assert page.status_code == 200
        assert b"Yes, confirm my subscription" in page.content
        assert b"zoe@example.com" in page.content
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.PENDING
    assert "journeys_vid" not in reader.cookies

    done = reader.post(url)
    assert done.status_code == 200
    assert b"is subscribed" in done.content
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert contact.confirmed_at is not None
    granted = ConsentRecord.objects.get(contact=contact, action="granted")
    assert (granted.source, granted.channel, granted.topic) == ("confirmation", "email", None)
    assert granted.details["page_id"] == newsletter.pk
    assert granted.details["requested_through"] == "form"
    confirmed = Event.objects.get(name="subscription_confirmed")
    assert confirmed.contact == contact and confirmed.properties["form"] == "newsletter"
    # the contact's profile tells it in words
    assert (
        "Confirmed their subscription"
        in describe(confirmed.name, confirmed.source, confirmed.properties, {}).text
    )
    # the confirming browser, and only it, is now the contact's
    assert cookie_contact(reader) == contact.pk
    tied = VisitorId.from_token(reader.cookies["journeys_vid"].value)
    assert Visitor.objects.get(pk=tied.uuid).contact == contact
    assert cookie_contact(client) is None
    assert Visitor.objects.filter(contact=contact).count() == 1

    # Following it again is harmless: nothing is recorded twice.
    again = reader.post(url)
    assert again.status_code == 200 and b"already subscribed" in again.content
    assert ConsentRecord.objects.filter(contact=contact, action="granted").count() == 1
    assert Event.objects.filter(name="subscription_confirmed").count() == 1


def test_the_wording_of_a_ticked_consent_box_is_kept_as_the_proof(
    client, double_opt_in, confirm_email, newsletter, django_capture_on_commit_callbacks
):
    from example_site.shop.models import FormField

    label = "Yes, send me new books and offers once a month"
    FormField.objects.create(
        page=newsletter, sort_order=5, label=label, field_type="checkbox", required=True
    )
    signup(
        client,
        django_capture_on_commit_callbacks,
        yes_send_me_new_books_and_offers_once_a_month="on",
    )
    contact = Contact.objects.get()
    assert ConsentRecord.objects.get(action="requested").wording == label
    client.post(path_of(link_in(mail.outbox[0])))
    assert ConsentRecord.objects.get(contact=contact, action="granted").wording == label


def test_an_unverified_post_for_an_existing_contact_changes_and_binds_nothing(
    client, double_opt_in, confirm_email, django_capture_on_commit_callbacks
):
    vera = make_contact("vera@example.com", first_name="Vera")
    before = Contact.objects.values().get(pk=vera.pk)
    client.get("/books/it/")
    signup(client, django_capture_on_commit_callbacks, email="VERA@example.com", first_name="Mal")
    assert Contact.objects.values().get(pk=vera.pk) == before
    assert cookie_contact(client) is None
    assert not Visitor.objects.filter(contact=vera).exists()
    # a subscribed contact is not mailed a confirmation, and no consent is claimed
    assert mail.outbox == [] and not Message.objects.exists()
    assert not ConsentRecord.objects.exists()
    assert Event.objects.get(name="form_submitted").properties["verified"] is False


def test_repeated_signups_send_one_mail_until_the_resend_time_has_passed(
    client, double_opt_in, confirm_email, django_capture_on_commit_callbacks
):
    for name in ("Zoé", "Zoe", "Mallory"):
        signup(client, django_capture_on_commit_callbacks, first_name=name)
    assert len(mail.outbox) == 1
    contact = Contact.objects.get()
    assert contact.first_name == "Zoé"  # the later, unverified posts changed nothing
    assert ConsentRecord.objects.filter(action="requested").count() == 1
    # once CONFIRMATION_RESEND_MINUTES have passed, a signup sends the link again
    first_sent = contact.confirmation_sent_at
    Contact.objects.filter(pk=contact.pk).update(
        confirmation_sent_at=first_sent - dt.timedelta(minutes=61)
    )
    signup(client, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    # both links work: each one confirms
    client.post(path_of(link_in(mail.outbox[0])))
    assert Contact.objects.get().email_status == EmailStatus.SUBSCRIBED


def test_an_expired_link_is_a_friendly_410_and_confirms_nothing(
    client, double_opt_in, confirm_email, monkeypatch
):
    contact = make_contact("zoe@example.com", email_status=EmailStatus.PENDING)
    past = types.SimpleNamespace(time=lambda: time.time() - 73 * 3600)
    with monkeypatch.context() as patch:
        patch.setattr(signing, "time", past)
        token = confirmation.confirm_token(contact)
    for method in (client.get, client.post):
        response = method(f"/journeys/confirm/{token}")
        assert response.status_code == 410
        assert b"expired" in response.content and b"Sign up again" in response.content
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.PENDING and "journeys_vid" not in client.cookies


@pytest.mark.parametrize(
    "token",
    [
        "sample",
        "1.abc:1tXyZ:forged",
        "x" * 500,
        "%00",
        "1.0123456789abcdef0123:!!:??",
    ],
)
def test_a_forged_link_is_a_friendly_404(client, double_opt_in, token):
    for method in (client.get, client.post):
        response = method(f"/journeys/confirm/{token}")
        assert response.status_code == 404
        assert b"not valid" in response.content


def test_an_altered_link_confirms_nobody(client, double_opt_in):
    contact = make_contact("zoe@example.com", email_status=EmailStatus.PENDING)
    other = make_contact("ann@example.com", email_status=EmailStatus.PENDING)
    token = confirmation.confirm_token(contact)
    value, _, rest = token.partition(".")
    altered = f"{other.pk}.{rest}"
    assert client.post(f"/journeys/confirm/{altered}").status_code == 404
    assert client.post(f"/journeys/confirm/{token[:-2]}").status_code == 404
    assert set(Contact.objects.values_list("email_status", flat=True)) == {"pending"}


def test_a_link_for_an_address_changed_since_does_not_confirm(client, double_opt_in):
    contact = make_contact("zoe@example.com", email_status=EmailStatus.PENDING)
    token = confirmation.confirm_token(contact)
    Contact.objects.filter(pk=contact.pk).update(email="zoe@elsewhere.example")
    response = client.post(f"/journeys/confirm/{token}")
    assert response.status_code == 410 and b"has changed" in response.content
    assert Contact.objects.get().email_status == EmailStatus.PENDING
    contact.delete()
    assert client.get(f"/journeys/confirm/{token}").status_code == 410


def test_an_unsubscribed_contact_is_not_resubscribed_by_an_old_link(client, double_opt_in):
    contact = make_contact("zoe@example.com", email_status=EmailStatus.PENDING)
    token = confirmation.confirm_token(contact)
    Contact.objects.filter(pk=contact.pk).update(email_status=EmailStatus.UNSUBSCRIBED)
    response = client.post(f"/journeys/confirm/{token}")
    assert response.status_code == 200 and b"cannot change that" in response.content
    assert Contact.objects.get().email_status == EmailStatus.UNSUBSCRIBED
    assert "journeys_vid" not in client.cookies


def test_contact_data_is_escaped_on_the_confirmation_page(client, double_opt_in):
    contact = make_contact('"<b>x</b>"@example.com', email_status=EmailStatus.PENDING)
    page = client.get(f"/journeys/confirm/{confirmation.confirm_token(contact)}")
    assert b"<b>x</b>" not in page.content and b"&lt;b&gt;x&lt;/b&gt;" in page.content


def test_a_site_overrides_the_confirmation_page(client, double_opt_in, settings, tmp_path):
    (tmp_path / "wagtail_journeys").mkdir()
    (tmp_path / "wagtail_journeys" / "confirm.html").write_text(
        "{% extends 'base.html' %}{% block content %}Ours: {{ state }}{% endblock %}"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    contact = make_contact("zoe@example.com", email_status=EmailStatus.PENDING)
    page = client.get(f"/journeys/confirm/{confirmation.confirm_token(contact)}")
    assert b"Ours: ask" in page.content and b"The Bookshop" in page.content


def test_without_a_confirmation_email_signups_stay_pending_with_a_logged_error(
    client, double_opt_in, bookshop_pages, caplog, django_capture_on_commit_callbacks
):
    from wagtail_journeys.confirmation import check_confirmation_email

    (warning,) = check_confirmation_email()
    assert warning.id == "journeys.W010" and "confirm-subscription" in warning.msg
    with caplog.at_level(logging.ERROR, logger="wagtail_journeys"):
        signup(client, django_capture_on_commit_callbacks)
    assert "no live confirmation email" in caplog.text
    contact = Contact.objects.get()
    assert contact.email_status == EmailStatus.PENDING and mail.outbox == []
    # the claim is given back: a signup once the email exists sends it at once
    assert contact.confirmation_sent_at is None
    confirm = make_email([button("Confirm", "{{ confirm_url }}")], slug="confirm-subscription")
    assert check_confirmation_email() == []
    signup(client, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1 and Message.objects.get().email_page_id == confirm.pk


def test_the_check_names_a_confirmation_email_without_its_link(double_opt_in, settings):
    from wagtail_journeys.confirmation import check_confirmation_email

    email_index()
    make_email([text("<p>Welcome!</p>")], slug="please-confirm")
    settings.WAGTAIL_JOURNEYS = {"DOUBLE_OPT_IN": True, "CONFIRMATION_EMAIL": "please-confirm"}
    (warning,) = check_confirmation_email()
    assert warning.id == "journeys.W011"
    settings.WAGTAIL_JOURNEYS = {"DOUBLE_OPT_IN": False}
    assert check_confirmation_email() == []


def test_a_failed_send_gives_the_claim_back(
    client, double_opt_in, confirm_email, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="wagtail_journeys"):
        signup(client, django_capture_on_commit_callbacks)
    assert "confirmation mail to contact" in caplog.text
    contact = Contact.objects.get()
    assert contact.email_status == EmailStatus.PENDING and contact.confirmation_sent_at is None
    assert Message.objects.get().status == MessageStatus.FAILED


def test_pending_contacts_get_the_confirmation_but_no_marketing_mail(double_opt_in, confirm_email):
    contact = make_contact("zoe@example.com", email_status=EmailStatus.PENDING)
    newsletter = make_email([text("<p>Our picks</p>")])
    # the engine's check before a send step, and delivery's own
    env = DatabaseEnv(contact.created_at)
    assert env.may_email(contact, transactional=False) == "contact is pending"
    assert env.may_email(contact, transactional=True) is None
    with pytest.raises(Suppressed):
        send_email(newsletter, contact, key="news:1")
    assert send_email(confirm_email, contact, key="c:1", transactional=True).status == "sent"
    assert [m.subject for m in mail.outbox] == ["Please confirm your subscription"]


def test_previews_test_sends_and_sent_mails_shown_again_confirm_nobody(
    client, double_opt_in, confirm_email
):
    contact = make_contact("zoe@example.com", email_status=EmailStatus.PENDING)
    send_test(confirm_email, contact, to="editor@bookshop.example")
    (test_mail,) = mail.outbox
    response = client.post(path_of(link_in(test_mail)))
    assert response.status_code == 404
    message = send_email(confirm_email, contact, key="c:1", transactional=True)
    shown = compose_again(message)
    assert client.post(path_of(link_in(shown))).status_code == 404
    assert Contact.objects.get().email_status == EmailStatus.PENDING
    # the mail itself did hold a working link
    assert client.post(path_of(link_in(mail.outbox[-1]))).status_code == 200
    assert Contact.objects.get().email_status == EmailStatus.SUBSCRIBED


def test_confirm_url_is_a_merge_tag_editors_can_save(confirm_email):
    from wagtail_journeys.emails import mergetags

    assert mergetags.validate("{{ confirm_url }}") == []
    assert "confirm_url" in mergetags.known_names()


# The API: a headless site's signup form, relayed by its server.


def identify(client, token, **body):
    return client.post(
        "/journeys/api/identify",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_api_identify_with_double_opt_in(
    client, server_token, confirm_email, django_capture_on_commit_callbacks
):
    visitor = VisitorId.new()
    with django_capture_on_commit_callbacks(execute=True):
        response = identify(
            client,
            server_token,
            email="Zoe@Example.com",
            first_name="Zoé",
            tags=["thriller"],
            visitor=visitor.token,
            double_opt_in=True,
            consent_wording="Send me the newsletter",
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] and body["email_status"] == "pending" and body["confirmation_sent"]
    assert body["visitor"] is None  # only the browser that follows the link is tied
    contact = Contact.objects.get()
    assert (contact.first_name, list(contact.tags.names())) == ("Zoé", ["thriller"])
    assert not Visitor.objects.exists()
    requested = ConsentRecord.objects.get()
    assert (requested.source, requested.wording) == ("api", "Send me the newsletter")
    assert len(mail.outbox) == 1
    # again: the existing (pending) contact is left as it is, and not mailed twice
    with django_capture_on_commit_callbacks(execute=True):
        again = identify(
            client, server_token, email="zoe@example.com", first_name="M", double_opt_in=True
        )
    assert again.json() == {
        "contact_id": contact.pk,
        "created": False,
        "visitor": None,
        "moved_events": 0,
        "email_status": "pending",
        "confirmation_sent": False,
    }
    assert Contact.objects.get().first_name == "Zoé" and len(mail.outbox) == 1
    client.post(path_of(link_in(mail.outbox[0])))
    granted = ConsentRecord.objects.get(action="granted")
    assert (granted.wording, granted.details["requested_through"]) == (
        "Send me the newsletter",
        "api",
    )


def test_api_identify_refuses_a_status_with_double_opt_in(client, server_token):
    response = identify(
        client, server_token, email="zoe@example.com", email_status="subscribed", double_opt_in=True
    )
    assert response.status_code == 422
    assert "email_status" in response.content.decode()
    assert not Contact.objects.exists()
    # Wording without double opt-in is the proof of a direct consent (consent records).
    response = identify(client, server_token, email="zoe@example.com", consent_wording="Yes")
    assert response.status_code == 200
    assert Contact.objects.get().consents.get().wording == "Yes"


def test_api_identify_documents_double_opt_in(client):
    schema = client.get("/journeys/api/openapi.json").json()
    fields = schema["components"]["schemas"]["IdentifyIn"]["properties"]
    assert "pending" in fields["double_opt_in"]["description"]
    assert "consent_wording" in fields


# Two posts at once (PostgreSQL runs them truly in parallel).


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_signups_of_one_address_send_one_mail(double_opt_in, bookshop_pages):
    from django.test import Client

    make_email([button("Confirm", "{{ confirm_url }}")], slug="confirm-subscription")
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    errors = []

    def post():
        try:
            barrier.wait()
            response = Client().post("/newsletter/", {"email": "zoe@example.com"})
            assert response.status_code == 200
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert Contact.objects.get().email_status == EmailStatus.PENDING
    assert len(mail.outbox) == 1 and Message.objects.count() == 1
    assert ConsentRecord.objects.filter(action="requested").count() == 1
    assert Event.objects.filter(name="form_submitted").count() == threads_count

    # and a pending contact's concurrent re-signups (the resend time passed) claim once
    contact = Contact.objects.get()
    Contact.objects.filter(pk=contact.pk).update(confirmation_sent_at=None)
    claims = []

    def claim():
        try:
            barrier.wait()
            with transaction.atomic():
                claims.append(confirmation.request_confirmation(contact, source="form"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(claims) == [False] * (threads_count - 1) + [True]
    assert len(mail.outbox) == 2
    assert EmailPage.objects.live().filter(slug="confirm-subscription").count() == 1
