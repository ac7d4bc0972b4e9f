"""Property-based: the SQL compilation of random rules agrees with the Python reference on
random contacts and events, on SQLite and on PostgreSQL (whichever the run uses): joining
dates, event sources (activity, required trust), decimal amounts whose sums a double gets
wrong, and numbers no input may store any more (rows from before validation)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from taggit.models import Tag

from wagtail_journeys.models import Contact, ContactTag, Event, EventSource, Segment
from wagtail_journeys.segments import contacts_matching, load_facts, reference_matching

from .factories import rule

NOWS = [
    dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC),
    dt.datetime(2027, 2, 28, 23, 30, tzinfo=dt.UTC),  # common year: 29 Feb celebrates on 28
    dt.datetime(2028, 2, 28, 20, 0, tzinfo=dt.UTC),  # leap year: 29 Feb is tomorrow in Tokyo
    dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC),
    dt.datetime(2027, 1, 3, 20, 0, tzinfo=dt.UTC),  # Sunday here, Monday in Tokyo: new week
]
TIMEZONES = ["", "UTC", "Europe/Paris", "Asia/Tokyo", "America/New_York", "Pacific/Kiritimati"]
TIMEZONES_STORED = [*TIMEZONES, "Not/AZone"]  # bad rows fall back to DEFAULT_TIMEZONE
NAMES = ["Ada", "ada", "Bob", "Émile", ""]
LOCALES = ["", "fr", "fr-CA", "FR-ca", "en", "en-GB", "frx"]
WORDS = ["a", "b", "3", "1.5", "true", "x y", "É"]
TAGS = ["horror", "thriller", "classic"]
EVENTS = ["page_view", "purchase", "email_opened", "email_sent"]
SOURCES = list(EventSource)
TRUSTS = ["", "server", "browser"]
KEYS = ["points", "name", "tags", "flag", "referred_by"]

# Numbers come mostly from the rules' thresholds, so that boundaries (equal values) occur.
thresholds = st.sampled_from([0, 3, -4, 150, 1.5, 12.25])
# 0.01 + 130.14 + 69.85 is 200 and 0.7 + 0.1 is 0.8, but not in doubles
money = st.sampled_from([0.01, 130.14, 69.85, 0.7, 0.1, 200])
unstorable = st.sampled_from([10**400, 1e300, -(10**16), 10**15])
json_scalar = st.one_of(
    thresholds,
    thresholds,
    st.sampled_from([7, 0.5, -3.5, None, True, False]),
    st.sampled_from(["", *WORDS]),
    unstorable,
)
amounts = st.one_of(json_scalar, money, money)
json_value = st.one_of(
    json_scalar,
    json_scalar,
    st.lists(st.one_of(st.sampled_from(WORDS), st.integers(0, 5)), max_size=3),
)
birth_dates = st.one_of(
    st.none(),
    st.sampled_from([dt.date(2000, 2, 29), dt.date(1999, 2, 28), dt.date(1990, 3, 1)]),
    # the edges of the weeks, months and years around NOWS
    st.sampled_from([dt.date(1990, 12, 28), dt.date(1980, 1, 3), dt.date(1980, 1, 4)]),
    st.sampled_from([dt.date(1970, 12, 31), dt.date(1970, 1, 1), dt.date(1975, 6, 30)]),
    st.dates(dt.date(1950, 1, 1), dt.date(2010, 12, 31)),
)
contacts = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(NAMES),
        "civility": st.sampled_from(["", "mr", "mrs", "dr"]),
        "locale": st.sampled_from(LOCALES),
        "timezone": st.sampled_from(TIMEZONES_STORED),
        "birth_date": birth_dates,
        "email_status": st.sampled_from(["subscribed", "unsubscribed", "bounced"]),
        "sms_opt_in": st.booleans(),
        "attributes": st.fixed_dictionaries(
            {"points": json_scalar}, optional=dict.fromkeys(KEYS[1:], json_value)
        ),
        "tags": st.sets(st.sampled_from(TAGS), max_size=2),
        "joined_days_ago": st.integers(-2, 400),
        "events": st.lists(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(EVENTS),
                    "source": st.sampled_from(SOURCES),
                    "days_ago": st.integers(-3, 400),
                    "properties": st.fixed_dictionaries(
                        {"amount": amounts},
                        optional=dict.fromkeys(("tags", "referrer", "email_page_id"), json_value),
                    ),
                }
            ),
            max_size=6,
        ),
    }
)

operators = st.sampled_from(["equals", "contains", "greater", "less", "is_empty", "in_list"])
numbers = st.sampled_from(["0", "3", "1.5", "12.25", "-4", "150"])
days = st.one_of(st.none(), st.integers(1, 400))


@st.composite
def json_filter(draw, keys):
    operator = draw(operators)
    if operator in ("greater", "less"):
        value = draw(numbers)
    elif operator == "in_list":
        value = ", ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)))
    elif operator == "is_empty":
        value = ""
    else:
        value = draw(st.sampled_from(WORDS))
    return {"key": draw(st.sampled_from(keys)), "operator": operator, "value": value}


@st.composite
def field_rule(draw):
    field = draw(st.sampled_from(["first_name", "locale", "timezone", "birth_date"]))
    if field == "birth_date":
        operator = draw(st.sampled_from(["equals", "greater", "less", "is_empty"]))
        value = draw(st.sampled_from(["2000-02-29", "1980-06-01", "1999-02-28"]))
    else:
        operator = draw(st.sampled_from(["equals", "contains", "is_empty", "in_list"]))
        pool = {"first_name": NAMES[:-1], "locale": LOCALES[1:], "timezone": TIMEZONES[1:]}
        value = draw(st.sampled_from(pool[field]))
        if field == "first_name" and operator == "contains":
            value = draw(st.sampled_from(["a", "A", "É", "b"]))
    return {"field": field, "operator": operator, "value": value}


RULE_VALUES = {
    "field": field_rule(),
    "attribute": json_filter(["points", *KEYS]),
    "civility": st.fixed_dictionaries(
        {"civility": st.lists(st.sampled_from(["mr", "mrs", "dr"]), min_size=1)}
    ),
    "locale": st.fixed_dictionaries({"locales": st.sampled_from(["fr", "en-gb"])}),
    "tags": st.fixed_dictionaries(
        {"tags": st.sampled_from(["horror", "horror, thriller"]), "require_all": st.booleans()}
    ),
    "birthday": st.fixed_dictionaries(
        {
            "days": st.sampled_from([1, 2, 7, 365]),
            "timezone": st.sampled_from(["", "", "Asia/Tokyo"]),
        },
        # No period: a rule saved before periods existed ("in exactly N days").
        optional={"period": st.sampled_from(["today", "in_days", "week", "month", "next_days"])},
    ),
    "event": st.fixed_dictionaries(
        {
            "event": st.sampled_from(EVENTS),
            "at_least": st.integers(1, 3),
            "days": days,
            "filters": st.lists(json_filter(["amount", "tags", "referrer"]), max_size=2),
            "trust": st.sampled_from(TRUSTS),
        }
    ),
    "event_total": st.fixed_dictionaries(
        {
            "function": st.sampled_from(["sum", "count", "max"]),
            "property": st.just("amount"),
            "event": st.sampled_from(EVENTS),
            "at_least": st.sampled_from([0.0, 2.0, 100.0, -1.0, 12.25, 200.0, 0.8, "200.00"]),
            "days": days,
            "filters": st.lists(json_filter(["tags"]), max_size=1),
            "trust": st.sampled_from(TRUSTS),
        }
    ),
    "inactive": st.fixed_dictionaries(
        {
            "days": st.integers(1, 400),
            "event": st.sampled_from(["", *EVENTS]),
            "trust": st.sampled_from(TRUSTS),
        }
    ),
    "referral": st.one_of(
        st.fixed_dictionaries(
            {
                "source": st.just("referred_by"),
                "value": st.sampled_from(["", "a"]),
                "days": st.none(),
            }
        ),
        st.fixed_dictionaries(
            {
                "source": st.just("referrer"),
                "value": st.sampled_from(["a", "x y"]),
                "days": days,
            }
        ),
    ),
    "email_engagement": st.fixed_dictionaries(
        {"action": st.just("opened"), "email": st.none(), "days": days}
    ),
    "consent": st.fixed_dictionaries(
        {
            "email_status": st.lists(st.sampled_from(["subscribed", "bounced"]), min_size=1),
            "sms": st.sampled_from(["", "yes", "no"]),
        }
    ),
    "sample": st.fixed_dictionaries(
        {
            "percent": st.integers(1, 60),
            "start": st.integers(0, 40),
            "seed": st.integers(0, 99),
        }
    ),
}


@st.composite
def one_rule(draw):
    """A rule of a uniformly chosen type (``st.one_of`` would favour the simplest)."""
    kind = draw(st.sampled_from(sorted(RULE_VALUES)))
    return rule(kind, draw(st.booleans()), **draw(RULE_VALUES[kind]))


def rules_strategy():
    return st.lists(one_rule(), min_size=1, max_size=3)


def store(people: list[dict], now: dt.datetime) -> None:
    Segment.objects.all().delete()
    Contact.objects.all().delete()
    rows = [
        Contact(
            email=f"p{i}@example.com",
            created_at=now - dt.timedelta(days=p["joined_days_ago"], hours=i % 5),
            **{k: v for k, v in p.items() if k not in ("tags", "events", "joined_days_ago")},
        )
        for i, p in enumerate(people)
    ]
    Contact.objects.bulk_create(rows)
    tags = {name: Tag.objects.get_or_create(name=name, slug=name)[0] for name in TAGS}
    ContactTag.objects.bulk_create(
        ContactTag(content_object=c, tag=tags[t])
        for c, p in zip(rows, people, strict=True)
        for t in p["tags"]
    )
    Event.objects.bulk_create(
        Event(
            name=e["name"],
            contact=c,
            properties=e["properties"],
            occurred_at=now - dt.timedelta(days=e["days_ago"], hours=e["days_ago"] % 5),
            source=e["source"],
        )
        for c, p in zip(rows, people, strict=True)
        for e in p["events"]
    )


@pytest.mark.django_db
@settings(
    max_examples=150,  # ≈ 40 s on SQLite, 60 s on PostgreSQL on the 2-core CI machine
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(contacts, min_size=2, max_size=12),
    trees=st.lists(
        st.tuples(rules_strategy(), st.sampled_from(["all", "any"])), min_size=8, max_size=12
    ),
    nested=rules_strategy(),
    now=st.sampled_from(NOWS),
)
def test_sql_agrees_with_python_reference(people, trees, nested, now):
    store(people, now)
    inner = Segment.objects.create(name="Inner", slug="inner", rules=nested, match="any")
    facts = load_facts(Contact.objects.all())
    for rules, match in trees:
        rules = [*rules, rule("in_segment", segment=inner.pk)] if len(rules) == 1 else rules
        # each rule alone (nothing masks a disagreement), then the whole tree
        for checked, how in [*(([r], "all") for r in rules), (rules, match)]:
            sql = set(contacts_matching(checked, how, now=now).values_list("pk", flat=True))
            assert sql == reference_matching(checked, how, facts, now=now), (checked, how)
