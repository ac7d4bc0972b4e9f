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
