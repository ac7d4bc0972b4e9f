"""The merge-tag sandbox: the documented names and filters work, anything else is refused."""

import datetime as dt

import pytest
from django.utils import translation

from wagtail_journeys.emails import mergetags
from wagtail_journeys.emails.mergetags import MergeTagError, Scope
from wagtail_journeys.models import Contact


def render(text: str, contact=None, **context) -> str:
    scope = Scope(contact, context, {"unsubscribe_url": "https://u.example/x"})
    return mergetags.render(text, scope)[0]


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
        mergetags.template("{{ contact.firstname }}")


def test_a_french_editor_reads_merge_tag_problems_in_french():
    with translation.override("fr"):
        (problem,) = mergetags.validate("Salut {{ contact.firstname }}")
        (comment,) = mergetags.validate("{# note #}")
    assert problem == (
        "Balise de personnalisation inconnue «\u00a0contact.firstname\u00a0». "
        "Vouliez-vous dire «\u00a0contact.first_name\u00a0»\u00a0?"
    )
    assert comment.startswith("«\u00a0{# note #}\u00a0»\u00a0: les commentaires")
    (english,) = mergetags.validate("Hi {{ contact.firstname }}")
    assert english.startswith("Unknown merge tag")


def test_plain_text_is_valid():
    assert mergetags.validate("No tags, just {curly} text.") == []


def test_the_merge_scope_names_event_properties_and_enrolment_values():
    assert mergetags.validate("{{ event.title }} {{ event.order_id|upper }} {{ promo_code }}") == []
    assert mergetags.validate("{{ voucher_code }}") == []  # the older name of promo_code
    for wrong in ("{{ event }}", "{{ event.a.b }}", "{{ event.Title }}", "{{ events.title }}"):
        assert mergetags.validate(wrong), wrong
    context = {"promo_code": "WELCOME-1A", "event": {"title": "Dune", "items": [1], "n": 2}}
    assert render("{{ event.title }}|{{ event.items }}|{{ event.n }}", **context) == "Dune||2"
    assert render("{{ promo_code }} = {{ voucher_code }}", **context) == "WELCOME-1A = WELCOME-1A"
    assert render("{{ promo_code }}", voucher_code="OLD-9") == "OLD-9"
    assert render("{{ event.title }}", event="not a dict") == ""


def test_required_marks_a_tag_that_must_not_be_empty():
    assert mergetags.validate("{{ promo_code|required }}") == []
    assert mergetags.validate('{{ promo_code|required("x") }}')
    tag = "{{ promo_code|required|upper }}"
    assert mergetags.render(tag, Scope(None, {"promo_code": "ab"}, {})) == ("AB", [])
    assert mergetags.render(tag, Scope(None, {"promo_code": "  "}, {}))[1] == ["promo_code"]
    assert mergetags.render(tag, Scope(None, {}, {})) == ("", ["promo_code"])
    fallback = '{{ promo_code|default("NONE")|required }}'
    assert mergetags.render(fallback, Scope(None, {}, {})) == ("NONE", [])


def test_a_date_format_that_dates_cannot_take_is_refused_and_never_raises():
    assert mergetags.validate('{{ today|date("H:i") }}')
    assert mergetags.validate('{{ contact.birth_date|date("j F") }}') == []
    saved_before_the_check = mergetags.template(
        '{{ contact.birth_date|date("H:i") }}', checked=False
    )
    scope = Scope(Contact(birth_date=dt.date(1990, 12, 10)), {}, {})
    assert saved_before_the_check.render(scope.variables()) == "10 December 1990"


def test_thousands_of_unclosed_tags_are_reported_in_linear_time():
    text = "{{" * 20000 + "{%" * 20000 + " x"
    assert "not closed" in " ".join(mergetags.validate(text))
    assert mergetags.validate("{{ " + "a" * 5000 + " }}") == [
        "A merge tag is too long (1000 characters at most)."
    ]
