"""The merge-tag sandbox: the documented names and filters work, anything else is refused."""

import datetime as dt

import pytest

from wagtail_journeys.emails import mergetags
from wagtail_journeys.emails.mergetags import MergeTagError, Scope
from wagtail_journeys.models import Contact


def render(text: str, contact=None, **context) -> str:
    scope = Scope(contact, context, {"unsubscribe_url": "https://u.example/x"})
    return "".join(p if isinstance(p, str) else p.evaluate(scope) for p in mergetags.parse(text))


def test_contact_fields_and_default():
    ada = Contact(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    assert render("Hi {{ contact.first_name }} {{contact.last_name|upper}}", ada) == (
        "Hi Ada LOVELACE"
    )
    assert render('Hi {{ contact.first_name|default("there") }}', Contact()) == "Hi there"


def test_dates_context_and_urls():
    ada = Contact(birth_date=dt.date(1990, 12, 10))
    assert render('{{ contact.birth_date|date("j F") }}', ada) == "10 December"
    assert render("{{ voucher_code }}", ada, voucher_code="HELLO10") == "HELLO10"
    assert render("{{ unsubscribe_url }}", ada) == "https://u.example/x"
    assert render("{{ contact.email|urlencode }}", Contact(email="a+b@x.org")) == "a%2Bb%40x.org"


def test_attributes_are_data_not_python():
    ada = Contact(attributes={"loyalty_points": 120, "nested": {"x": 1}})
    assert render("{{ contact.attributes.loyalty_points }}", ada) == "120"
    assert render("{{ contact.attributes.nested }}", ada) == ""


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.__class__ }}",
        "{{ contact._meta }}",
        "{{ contact.first_name.__class__ }}",
        "{{ contact.save }}",
        "{{ settings.SECRET_KEY }}",
        "{% include 'x.html' %}",
        "{% load static %}",
        "{# comment #}",
        "{{ contact.first_name|safe }}",
        "{{ contact.attributes.a.b }}",
        "{{ contact.first_name|default }}",
        "{{ contact.first_name",
    ],
)
def test_outside_the_sandbox_is_refused(source):
    assert mergetags.validate(f"Hello {source}")


def test_misspelled_tag_gets_a_suggestion():
    (problem,) = mergetags.validate("Hi {{ contact.firstname }}")
    assert "contact.firstname" in problem and "contact.first_name" in problem
    with pytest.raises(MergeTagError):
        mergetags.parse("{{ contact.firstname }}")


def test_plain_text_is_valid():
    assert mergetags.validate("No tags, just {curly} text.") == []
