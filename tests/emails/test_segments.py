"""Per-segment blocks: each contact sees the blocks of the segments they are in."""

from __future__ import annotations

import pytest

from tests.emails.factories import make_contact
from wagtail_journeys.delivery import send_emails
from wagtail_journeys.emails import render_for
from wagtail_journeys.emails.render import segment_ids
from wagtail_journeys.models import EmailPage, Segment

MADAM = "For you, Madam"
SIR = "For you, Sir"
OTHERS = "Our staff picks"


@pytest.fixture
def welcome(bookshop_emails):
    return EmailPage.objects.get(slug="welcome")


def test_demo_email_refers_to_both_segments(welcome):
    assert segment_ids(welcome) == [
        Segment.objects.get(slug="mrs").pk,
        Segment.objects.get(slug="mr").pk,
    ]


@pytest.mark.parametrize(
    ("civility", "shown", "hidden"),
    [("mrs", [MADAM, OTHERS], [SIR]), ("mr", [SIR], [MADAM, OTHERS]), ("", [OTHERS], [MADAM, SIR])],
)
def test_each_contact_sees_their_variant(welcome, civility, shown, hidden):
    rendered = render_for(welcome, make_contact(civility=civility))
    for text in shown:
        assert text in rendered.html and text in rendered.text
    for text in hidden:
        assert text not in rendered.html


def test_batch_send_groups_contacts_by_variant(welcome):
    from django.core import mail

    contacts = [make_contact(civility=c) for c in ("mr", "mrs", "", "mr")]
    messages = send_emails(welcome, contacts, context={"promo_code": "WELCOME-1"})
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert SIR in bodies[contacts[0].email] and MADAM in bodies[contacts[1].email]
    assert OTHERS in bodies[contacts[2].email] and SIR in bodies[contacts[3].email]
    assert messages[1].variant == [Segment.objects.get(slug="mrs").pk]
