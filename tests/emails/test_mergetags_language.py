"""The merge-tag language as docs/reference/merge-tags.md promises it: filters in the
contact's locale, conditions, loops and the sandbox's rules. Pure code, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from wagtail_journeys.emails import mergetags
from wagtail_journeys.emails.mergetags import Scope
from wagtail_journeys.models import Contact

CART = {
    "total": "42.50",
    "items": [
        {"name": "Dune", "price": 12.5, "url": "https://shop.example/dune"},
        {"name": "Carrie", "price": "30", "url": "https://shop.example/carrie"},
    ],
}


def render(text: str, contact=None, **context) -> str:
    assert mergetags.validate(text) == [], mergetags.validate(text)
    return mergetags.render(text, Scope(contact, context, {}))[0]


def spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_money_number_and_date_follow_the_contacts_locale(settings):
    settings.LANGUAGE_CODE = "en"
    english, french = Contact(locale="en"), Contact(locale="fr", birth_date=dt.date(1990, 7, 14))
    assert render('{{ event.total|money("EUR") }}', english, event=CART) == "€42.50"
    assert spaces(render('{{ event.total|money("EUR") }}', french, event=CART)) == "42,50 €"
    assert render("{{ event.total|money }}", english, event={"total": 34.9}) == "€34.90"
    assert render("{{ event.n|number }}", english, event={"n": 1234.5}) == "1,234.5"
    assert spaces(render("{{ event.n|number }}", french, event={"n": 1234.5})) == "1 234,5"
    assert render("{{ event.n|number(2) }}", english, event={"n": "3.14159"}) == "3.14"
    assert render('{{ contact.birth_date|date("j F") }}', french) == "14 juillet"
    assert render('{{ event.day|date("j F Y") }}', english, event={"day": "2026-07-14"}) == (
        "14 July 2026"
    )
    # Without a locale, the site's; a value that is not a number or date is shown as it is.
    settings.LANGUAGE_CODE = "fr"
    assert spaces(render("{{ event.n|number }}", Contact(), event={"n": 1234.5})) == "1 234,5"
    assert (
        render("{{ event.n|money }} {{ event.d|date }}", Contact(), event={"n": "n/a", "d": "soon"})
        == "n/a soon"
    )


def test_conditions_compare_text_numbers_and_absent_values():
    vip = Contact(attributes={"vip": "yes"})
    text = "{% if contact.attributes.vip %}VIP{% elif event.total > 50 %}big{% else %}hi{% endif %}"
    assert render(text, vip) == "VIP"
    assert render(text, Contact(), event={"total": "60"}) == "big"  # a text holding a number
    assert render(text, Contact(), event={"total": "42.50"}) == "hi"
    assert render(text, Contact()) == "hi"  # absent: empty, and not > 50
    both = "{% if event.total >= 42.5 and not contact.first_name %}yes{% endif %}"
    assert render(both, Contact(), event=CART) == "yes"
    assert (
        render(
            '{% if "Dune" in event.title or event.n != 3 %}x{% endif %}',
            Contact(),
            event={"title": "Dune II", "n": 3},
        )
        == "x"
    )
    assert (
        render('{% if event.title not in "abc" %}x{% endif %}', Contact(), event={"title": "Dune"})
        == "x"
    )
    assert (
        render(
            "{% if event.title < 3 %}x{% else %}no{% endif %}", Contact(), event={"title": "Dune"}
        )
        == "no"
    )
    assert mergetags.validate("{% if 1 < event.n < 3 %}x{% endif %}")  # two at a time
    truth = "{% if event.n %}yes{% else %}no{% endif %}"
    assert [render(truth, Contact(), event={"n": n}) for n in (0, "", 2, "x")] == [
        "no",
        "no",
        "yes",
        "yes",
    ]
    assert render(truth, Contact(), event={}) == "no"


def test_loops_go_through_the_trigger_events_items():
    text = (
        "{% for item in event.items %}{{ loop.index }}/{{ loop.length }} {{ item.name }} "
        '{{ item.price|money("EUR") }}{% if loop.last %}.{% else %}, {% endif %}'
        "{% else %}Your cart is empty.{% endfor %}"
    )
    assert render(text, Contact(locale="en"), event=CART) == "1/2 Dune €12.50, 2/2 Carrie €30.00."
    assert render(text, Contact(), event={}) == "Your cart is empty."
    first = "{% for i in event.items %}{% if loop.first %}[{% endif %}{{ i.name }}{% endfor %}"
    assert render(first, Contact(), event=CART) == "[DuneCarrie"
    assert render(text, Contact(), event={"items": "not a list"}) == "Your cart is empty."
    many = {"items": [{"name": "x"}] * 500}
    assert (
        render("{% for i in event.items %}{{ i.name }}{% endfor %}", Contact(), event=many)
        == "x" * 100
    )
    tags = {"tags": ["a", "b", {"nested": {"deep": 1}}]}
    assert (
        render("{% for t in event.tags %}[{{ t }}]{% endfor %}", Contact(), event=tags)
        == "[a][b][]"
    )


@pytest.mark.parametrize(
    "source",
    [
        "{% if contact.first_name %}never closed",
        "{% for item in event.items %}{{ item.name }}",
        "{{ item.name }}",  # a loop's item outside its loop
        "{{ loop.index }}",
        "{% for item in event.items %}{{ item.a.b }}{% endfor %}",
        "{% for contact in event.items %}{% endfor %}",
        "{% for promo_code in event.items %}{% endfor %}",
        "{% set x = 1 %}",
        "{% include 'secret.html' %}",
        "{% macro m() %}{% endmacro %}",
        "{# a comment #}",
        "{{ contact.first_name|safe }}",
        "{{ contact.first_name|attr('x') }}",
        "{{ contact.first_name() }}",
        "{{ event.total + 1 }}",
        "{{ event['total'] }}",
        "{{ contact.first_name|default }}",
        "{{ contact.first_name|upper(1) }}",
        "{{ event.n|number(9) }}",
        "{{ event.n|number('x') }}",
        "{% for i in event.items recursive %}{% endfor %}",
        "{{ lipsum() }}",
        "{{ range(10) }}",
        "{% if x is defined %}{% endif %}",
    ],
)
def test_outside_the_language_is_refused_on_save(source):
    assert mergetags.validate(source)


def test_nesting_is_bounded():
    def nested(n: int) -> str:
        return "{% if contact.first_name %}" * n + "x" + "{% endif %}" * n

    assert "inside one another" in mergetags.validate(nested(21))[0]
    assert mergetags.validate(nested(20)) == []


def test_the_sandbox_reaches_no_python_attribute_even_unchecked():
    scope = Scope(Contact(first_name="Ada"), {"event": CART}, {})
    for source in (
        "{{ contact.__class__ }}",
        "{{ contact.save }}",
        "{{ contact.items }}",
        "{{ event.items.__len__ }}",
        "{{ contact.first_name.upper() }}",
        "{{ event.items.append(1) }}",
        "{{ ''.__class__.__mro__ }}",
    ):
        assert mergetags.validate(source), source
        try:
            shown = mergetags.template(source, checked=False).render(scope.variables())
        except Exception as exc:  # the sandbox refuses the call itself
            assert exc.__class__.__name__ == "SecurityError", (source, exc)
        else:
            assert shown == "", (source, shown)


def test_contact_values_are_data_never_templates():
    contact = Contact(first_name="{{ contact.email }}", last_name="{% if 1 %}<b>", email="a@x.org")
    scope = Scope(contact, {}, {})
    assert mergetags.render("{{ contact.first_name }}", scope)[0] == "{{ contact.email }}"
    html, _ = mergetags.render("<p>{{ contact.last_name }}</p>", scope, html=True)
    assert html == "<p>{% if 1 %}&lt;b&gt;</p>"
