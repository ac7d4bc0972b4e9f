"""The bytes ``PreparedMail`` writes are the message Django would have built.

For any contact data (names with accents, quotes, emoji, right-to-left text, line breaks,
values long enough to fold or to switch a body to quoted-printable), the fast bytes and
Django's bytes of the same mail parse (``email.parser.BytesParser`` with the default
policy) to the same headers, parts, transfer encodings and decoded payloads; where
neither body is quoted-printable the bytes are the same but for the boundary and Date;
and a mail Django refuses (a newline in a header, text UTF-8 cannot encode) is refused
with the same error.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import re
import string
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import forbid_multi_line_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emails.factories import make_contact, make_email, text
from tests.strategies import TEXT_PIECES, hostile_text
from wagtail_journeys.delivery import send_emails
from wagtail_journeys.emails.handover import stuffed
from wagtail_journeys.emails.mime import PreparedMail, SerialisedMessage, Skeleton, header_line
from wagtail_journeys.models import MessageStatus

#: Pieces of contact data and bodies: hostile ones, right-to-left and emoji text, and
#: lines long enough to fold a header or to make Django pick quoted-printable (998 bytes).
PIECES = (
    *TEXT_PIECES,
    "مرحبا بكم",  # right-to-left
    "שלום",
    "\u202e",  # right-to-left override
    "👩‍👩‍👧",  # joined emoji
    "Zoë O'Brien-Łukasiewicz",
    "=?utf-8?q?Hi?=",  # looks like an RFC 2047 word
    "=",
    "\x0c",
    "\x85",
    "a" * 80,
    "é" * 500,  # 1,000 bytes
    "lorem ipsum " * 90,
    "x" * 998,
    "x" * 999,
    ".",
    "\n.\n",
    " \n",
    "From here",
)
SENDERS = (
    "Shop <shop@example.com>",
    "Librairie Zoé <zoe@example.com>",
    '"Books, Inc." <books@example.com>',
    "shop@example.com",
)


NOW = dt.datetime.now(dt.UTC)


def contact_text(max_pieces: int = 6):
    return hostile_text(PIECES, max_pieces=max_pieces)


def parsed(data: bytes):
    return BytesParser(policy=email.policy.default).parsebytes(data)


def described(data: bytes) -> dict:
    """What a reader of the message sees: headers (decoded and unfolded; the boundary
    and the Date's exact second aside), defects, and each part's type, charset, transfer
    encoding and decoded content."""
    message = parsed(data)
    headers = []
    for name, value in message.items():
        defects = [type(d) for d in value.defects]
        if name == "Date":
            shown = abs(sent_at(str(value)) - NOW) < dt.timedelta(minutes=5)
        elif name == "Content-Type":
            shown = (message.get_content_type(), message.get_param("boundary") is not None)
        else:
            shown = str(value)
        headers.append((name, shown, defects))
    parts = [
        (
            part.get_content_type(),
            part.get_content_charset(),
            part["Content-Transfer-Encoding"],
            part.get_content(),
            [type(d) for d in part.defects],
        )
        for part in message.iter_parts()
    ]
    return {"headers": headers, "defects": [type(d) for d in message.defects], "parts": parts}


def sent_at(value: str) -> dt.datetime:
    when = parsedate_to_datetime(value)  # "-0000": UTC, naive
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def normalised(data: bytes) -> bytes:
    data = re.sub(rb"={15}\d{19}==", b"BOUNDARY", data)
    return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\nDate: -\r\n", data)


def built(make):
    """``(bytes, None)`` or ``(None, the exception's type)``."""
    try:
        return make(), None
    except Exception as exc:  # noqa: BLE001 — the two builds must fail alike
        return None, type(exc)


def assert_same_message(prepared: PreparedMail) -> bytes | None:
    """``prepared``'s bytes and Django's bytes of the very same mail say the same."""
    made, fast_error = built(lambda: (m := prepared.message(), m.as_bytes(linesep="\r\n")))
    fast = made[1] if made else None
    if made and isinstance(made[0], SerialisedMessage):  # what SMTP's DATA sends, stuffed
        assert made[0].smtp == stuffed(fast)  # as smtplib would stuff it
        assert made[0].dotted == (made[0].smtp != fast)
    django, django_error = built(
        lambda: EmailMultiAlternatives.message(prepared).as_bytes(linesep="\r\n")
    )
    assert fast_error == django_error
    if django is None:
        return None
    assert described(fast) == described(django)
    if b"quoted-printable" not in django:
        assert normalised(fast) == normalised(django)
    for line in fast.split(b"\r\n"):  # what a line may hold where Django's lines held it
        assert len(line) <= max(998, max(map(len, django.split(b"\r\n"))))
    return fast


def prepared_mail(subject, to, body, pieces, sender, skeleton, unsubscribe="abc") -> PreparedMail:
    mail = PreparedMail(
        subject=subject,
        body=body,
        from_email=sender,
        to=[to],
        headers={
            "Message-ID": "<0123456789abcdef@example.com>",
            "List-Unsubscribe": f"<mailto:unsubscribe@example.com?subject=unsubscribe%20"
            f"{unsubscribe}>, <https://shop.example/journeys/u/{unsubscribe}/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        skeleton=skeleton,
        shared=frozenset({"from", "list-unsubscribe-post"}),
        pieces={"plain": [body[: len(body) // 2], body[len(body) // 2 :]], "html": pieces},
    )
    mail.attach_alternative("".join(pieces), "text/html")
    return mail


@settings(max_examples=400, deadline=None)
@given(
    subject=contact_text(),
    to=st.one_of(st.emails(), contact_text(2).map(lambda s: s + "@example.com")),
    body=contact_text(8),
    pieces=st.lists(contact_text(3), max_size=8),
    sender=st.sampled_from(SENDERS),
    unsubscribe=st.from_regex(r"[0-9a-f]{32}|[A-Za-z0-9:_-]{1,120}", fullmatch=True),
)
def test_any_mail_is_the_message_django_builds(subject, to, body, pieces, sender, unsubscribe):
    skeleton = Skeleton()
    for _ in range(2):  # the second time from what the skeleton kept
        assert_same_message(prepared_mail(subject, to, body, pieces, sender, skeleton, unsubscribe))


def exact_line(name: str, value: str) -> bytes:
    """The header line as Django's build and the SMTP backend's generator write it."""
    name, value = forbid_multi_line_headers(name, value, "utf-8")
    return email.policy.compat32.clone(linesep="\r\n").fold_binary(name, value)


HEADER_TEXT = st.one_of(
    st.text(st.one_of(st.sampled_from(" ,;\t=?_"), st.characters(codec="utf-8")), max_size=160),
    st.text(st.sampled_from(string.printable[:-5] + "\t"), min_size=60, max_size=240),
)
WORD_CHARACTERS = string.ascii_letters + string.digits + "<>@:/%.?=-_()\"'"


@settings(max_examples=600, deadline=None)
@given(
    name=st.sampled_from(["Subject", "List-Unsubscribe", "X-Mailer", "To"]),
    value=HEADER_TEXT,
    other=st.one_of(
        st.text(st.sampled_from(WORD_CHARACTERS), min_size=1),
        st.text(st.characters(codec="ascii", exclude_characters=" \t;,"), min_size=1),
    ),
)
def test_header_lines_are_djangos_to_the_byte(name, value, other):
    """Lines that fit, lines folded like an earlier value of the same shape, and
    one-word RFC 2047 subjects are written without ``email.header``, to the same bytes."""
    like = "".join(c if c in " \t;," else other[i % len(other)] for i, c in enumerate(value))
    for sample in (value, like, value, like):  # the second of a shape: folded as the first
        line, error = built(lambda sample=sample: header_line(name, sample))
        expected, expected_error = built(lambda sample=sample: exact_line(name, sample))
        assert (line, error) == (expected, expected_error)


@pytest.mark.parametrize("count", range(1, 40))
def test_subjects_around_one_encoded_word_are_djangos(count):
    for value in ("é" * count, "Chloé " * count, "📚" * count, "Hi " + "ß" * count):
        assert header_line("Subject", value) == exact_line("Subject", value)


@pytest.mark.parametrize("repeat", [60, 20])  # one piece too long / only joined
def test_a_long_html_line_is_quoted_printable_from_kept_pieces(repeat):
    skeleton = Skeleton()
    fixed = "<p>" + "Lorem ipsum dolor sit amet. " * repeat + "</p>"
    for name in ["Chloé", "Bruno", "<b>Ève</b> 📚"]:
        prepared = prepared_mail(
            f"Hello {name}", "c@example.com", "Hi", [fixed, name, fixed], SENDERS[0], skeleton
        )
        data = assert_same_message(prepared)
        html = parsed(data).get_body(("html",))
        assert html["Content-Transfer-Encoding"] == "quoted-printable"
        assert html.get_content() == fixed + name + fixed
        assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert fixed in skeleton.kept  # encoded once for the three messages


@pytest.mark.parametrize(
    "fixed, name",
    [
        ("<p>" + "Lorem ipsum dolor. " * 60 + "</p>", "Ann"),  # soft breaks before a dot?
        ("<p>" + "x" * 1000 + "</p>\n.", "Ann"),  # a fixed line that starts with one
        ("<p>" + "x" * 1000 + "</p>", ".Ann"),  # a contact's value that starts one
        ("<p>" + "x" * 1000 + "</p>\n", "Ann\n.Bo"),
        ("<p>short</p>\n", ".Ann"),  # not quoted-printable
        ("<p>short</p>", "Ann"),
    ],
)
def test_the_mail_knows_whether_smtp_must_stuff_a_dot(fixed, name):
    skeleton = Skeleton()
    for _ in range(2):  # the second time from what the skeleton kept
        prepared = prepared_mail(
            "Hi", "c@example.com", "Hi", [fixed, name, fixed], SENDERS[0], skeleton
        )
        assert assert_same_message(prepared)  # and says whether it is dotted, rightly


def test_a_header_with_a_newline_is_refused_as_django_refuses_it():
    prepared = prepared_mail("Hi\nBcc: x@example.com", "c@example.com", "", ["<p>"], "a@b.c", None)
    prepared.skeleton = Skeleton()
    with pytest.raises(mail.BadHeaderError):
        prepared.message()


def storable(value: str) -> bool:
    return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.tuples(
            contact_text(4).filter(storable).map(lambda v: v[:150]),  # the fields' length
            contact_text(3).filter(storable).map(lambda v: v[:150]),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_sends_are_the_messages_django_builds_for_any_contact(email_site, names):
    """Through ``send_emails`` (Django's locmem backend gets prepared mails): the
    personalised subject, both bodies with escaped values and signed links."""
    page = _page()
    contacts = [make_contact(first_name=first, last_name=last) for first, last in names]
    mail.outbox = []
    messages = send_emails(page, contacts)
    sent = [m for m in messages if m.status == MessageStatus.SENT]
    assert len(mail.outbox) == len(sent)
    for prepared in mail.outbox:
        assert isinstance(prepared, PreparedMail)
        data = assert_same_message(prepared)
        received = parsed(data)
        assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/journeys/c/" in received.get_body(("html",)).get_content()


def _page():
    from wagtail_journeys.models import EmailPage

    page = EmailPage.objects.filter(slug="mime-property").first()
    if page is None:
        paragraph = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing. " * 30 + "</p>"
        page = make_email(
            [
                text("<p>Dear {{ contact.first_name }} {{ contact.last_name }},</p>"),
                text(paragraph + '<p><a href="https://shop.example/new">New</a></p>'),
                text("<p>{{ contact.full_name }}</p>" + paragraph),
            ],
            slug="mime-property",
            subject="Hello {{ contact.first_name }} {{ contact.last_name }}",
        )
    return page


def test_esp_backends_get_djangos_mail_with_its_parts(email_site, settings):
    """django-anymail's backends read the parts, not MIME: they get Django's class."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"TEST_SEND_DEFAULTS": {}}
    page = _page()
    messages = send_emails(page, [make_contact(first_name="Zoë", last_name="Ø")])
    assert messages[0].status == MessageStatus.SENT
    (sent,) = mail.outbox
    assert type(sent) is EmailMultiAlternatives
    params = sent.anymail_test_params
    assert params["subject"] == "Hello Zoë Ø"
    assert "Dear Zoë Ø" in params["html_body"] and "Dear Zoë Ø" in params["text_body"]
    assert params["metadata"] == {"journeys_message": messages[0].uuid.hex}


def test_a_message_of_the_same_second_reuses_its_date_line():
    skeleton = Skeleton()
    assert skeleton.date_line() == skeleton.date_line()
    line = skeleton.date_line().decode()
    sent = sent_at(line.removeprefix("Date: ").strip())
    assert abs(sent - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)


def test_djangos_console_and_locmem_backends_take_prepared_mails(email_site):
    """The console backend writes the prepared bytes; what else a caller asks of the
    message (a header, a copy) is answered as by Django's own."""
    import copy
    import io

    from django.core.mail import get_connection

    page = _page()
    stream = io.StringIO()
    console = get_connection("django.core.mail.backends.console.EmailBackend", stream=stream)
    (message,) = send_emails(page, [make_contact(first_name="Zoë")], connection=console)
    assert message.status == MessageStatus.SENT
    written = parsed(stream.getvalue().split("\n" + "-" * 79)[0].encode())
    assert written["Subject"] == "Hello Zoë"
    assert written["Message-ID"] == message.message_id
    mail.outbox = []
    send_emails(page, [make_contact(first_name="Ann")])
    (prepared,) = mail.outbox
    serialised = prepared.message()
    assert serialised["Subject"] == prepared.subject == "Hello Ann"
    assert serialised["To"] == prepared.to[0]
    assert copy.deepcopy(serialised).as_bytes() == serialised.as_bytes()
    assert copy.deepcopy(prepared).skeleton is prepared.skeleton
