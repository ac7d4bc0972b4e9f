"""Hostile input to the merge-tag engine (bounded, derandomized Hypothesis runs): NUL, lone
surrogates, CRLF, huge text, deep ``{{``/``}}`` nesting, unknown filters. Validation
raises nothing but ``MergeTagError``; filling never raises, gives text that can be mailed,
and escapes every value in HTML. Pure code, no database."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from tests import strategies
from wagtail_journeys.emails import mergetags
from wagtail_journeys.emails.compiler import compile_source
from wagtail_journeys.emails.mergetags import MergeTagError, Scope
from wagtail_journeys.emails.render import fill
from wagtail_journeys.models import Contact

#: Merge-tag syntax, names and filters, among the text no database can store.
PIECES = (
    *("{{", "}}", "{%", "%}", "{#", "|", "(", '"'),
    *("contact.first_name", "event.title", "promo_code"),
    *("required", "upper", "nosuchfilter", 'default("x")', 'date("H")'),
    *strategies.UNSTORABLE_PIECES,
    *("\r\n", "<script>", "&", " "),
)
hostile = strategies.hostile_text(PIECES, max_pieces=60)
huge = st.builds(lambda piece, n: piece * n, st.sampled_from(PIECES), st.integers(0, 3000))
BOUNDED = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@BOUNDED
@given(text=st.one_of(hostile, huge, st.tuples(hostile, huge, hostile).map("".join)))
def test_validation_raises_only_merge_tag_errors(text):
    problems = mergetags.validate(text)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    try:
        value, _ = mergetags.render(text, Scope(None, {}, {}))  # what validates can be filled
    except MergeTagError:
        assert problems
        return
    assert not problems
    value.encode("utf-8")


values = st.one_of(
    hostile, huge, strategies.hostile_numbers(), st.booleans(), st.none(), strategies.hostile_json()
)
TEMPLATE = """<mjml><mj-body><mj-section><mj-column><mj-text>
<p>{{ contact.first_name }} {{ contact.attributes.note|upper }} {{ event.title|title }}</p>
<p>{{ promo_code|required }} {{ contact.last_name|default("there") }}</p>
<a href="https://shop.example/?e={{ contact.email|urlencode }}">go</a>
</mj-text></mj-column></mj-section></mj-body></mjml>"""


@pytest.fixture(scope="module")
def compiled():
    return compile_source("Hi {{ contact.first_name }} {{ event.title }}", "", TEMPLATE)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(name=hostile, last=values, note=values, title=values, code=values, email=hostile)
def test_filling_never_raises_and_escapes_every_value_in_html(
    compiled, name, last, note, title, code, email
):
    contact = Contact(first_name=name, last_name="", email=email, attributes={"note": note})
    contact.last_name = last if isinstance(last, str) else ""
    context = {"promo_code": code, "event": {"title": title}}
    for tracked in (True, False):
        rendered = fill(compiled, contact, context=context, tracked=tracked)
        for part in (rendered.subject, rendered.html, rendered.text):
            part.encode("utf-8")
            assert "\x00" not in part
        assert "\n" not in rendered.subject and "\r" not in rendered.subject
        assert "<script>" not in rendered.html
        shown = mergetags._text(name)
        assert str(escape(shown)) in rendered.html
        assert shown.replace("\r\n", "\n").strip()[:20] in rendered.text.replace("\r\n", "\n")


#: The template language's own syntax, and the ways out of a Jinja sandbox people try.
LANGUAGE = (
    *("{{ ", " }}", "{% ", " %}", "{# ", " #}", "if ", "elif ", "else", "endif"),
    *("for ", "endfor", " in ", "item", "loop", "loop.index", "contact", "event", "."),
    *("first_name", "items", "name", "total", "attributes", "secret", "key", "__class__"),
    *("__globals__", "__mro__", "__subclasses__", "__dict__", "mro", "_", "self", "config"),
    *("cycler", "namespace", "lipsum", "range", "joiner", "dict", "|", "attr(", "safe"),
    *('default("x")', 'money("EUR")', "number(2)", 'date("Y")', "required", "(", ")"),
    *("[", "]", "0", "1", "'__class__'", '"x"', " > ", " == ", " and ", " not ", "~", "+"),
    *("*", ",", ":", "{% set x = ", "{% include ", "{% import ", "{% macro m() %}"),
    *("{% call ", "{% raw %}", "{% endraw %}", "{% with %}", "{% filter upper %}"),
)
NAMES = ("contact.first_name", "contact.attributes.tier", "event.title", "promo_code", "today")
FILTER_PIECES = ("|upper", '|default("x")', '|money("EUR")', "|number(2)", '|date("j F")')
output_tags = st.builds(
    lambda name, filters: "{{ " + name + "".join(filters) + " }}",
    st.sampled_from(NAMES),
    st.lists(st.sampled_from(FILTER_PIECES), max_size=3),
)
valid = st.builds(
    lambda tag, test, literal: (
        f"{{% if {test} %}}{tag}{{% else %}}{literal}{{% endif %}}"
        f"{{% for item in event.items %}}{{{{ item.name }}}}{tag}{{% endfor %}}"
    ),
    output_tags,
    st.sampled_from(("event.title", "event.title > 3", 'contact.first_name == "x"', "not today")),
    hostile,
)
#: Mostly broken templates from the language's pieces, and valid ones to fill.
templates = st.one_of(strategies.hostile_text(LANGUAGE, max_pieces=40), valid)
LEAKS = ("<class", "object at 0x", "<bound", "<function", "<built-in", "jinja2", "Undefined")


class Secret:
    """An object a template must never reach into (our variables hold none, but a
    sandbox is judged by what it refuses)."""

    key = "S3CRET-KEY"

    def __repr__(self):
        return "S3CRET-REPR"


def hostile_variables(name, title, items) -> dict:
    contact = Contact(first_name=name, attributes={"secret": Secret(), "tier": title})
    scope = Scope(contact, {"event": {"title": title, "items": items}}, {})
    variables = scope.variables()
    variables["secret"] = Secret()
    variables["contact"]["secret"] = Secret()
    return variables


@BOUNDED
@given(text=templates, name=hostile, title=values, items=strategies.hostile_json())
def test_hostile_templates_are_refused_or_filled_without_leaking(text, name, title, items):
    problems = mergetags.validate(text)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    if problems:
        return
    contact = Contact(first_name=name, attributes={"tier": title})
    scope = Scope(contact, {"event": {"title": title, "items": items}}, {})
    for html in (False, True):
        shown, _ = mergetags.render(text, scope, html=html)  # never raises once valid
        shown.encode("utf-8")
        assert not any(leak in shown for leak in LEAKS), shown


@BOUNDED
@given(text=templates, name=hostile, title=values, items=strategies.hostile_json())
def test_the_sandbox_itself_never_reaches_a_python_attribute(text, name, title, items):
    """Without the save-time checks, a template that compiles still cannot read an
    object's attributes, call anything or show a Python object."""
    try:
        compiled = mergetags.template(text, checked=False)
    except MergeTagError:
        return
    try:
        shown = compiled.render(hostile_variables(name, title, items))
    except Exception as exc:  # noqa: BLE001 — refused at run time: what counts is no leak
        assert "S3CRET" not in str(exc)
        return
    assert "S3CRET" not in shown
    assert not any(leak in shown for leak in LEAKS), shown
