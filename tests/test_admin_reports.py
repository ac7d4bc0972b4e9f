"""Reports in the Wagtail admin: who may read them and follow their numbers to contacts,
what hostile query strings get (4xx, never 500), the exports, the dashboard panel, the
menu and the page header's links, and every number on a report equal to a count made
here from raw rows (messages, events, step runs, enrolments)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from urllib.parse import parse_qs, quote, urlparse

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.emails.factories import make_contact, make_email, text
from tests.scenarios.factories import add, make_scenario
from tests.tracking.test_emails import BROWSER
from tests.users import make_user
from wagtail_journeys.engine.advance import advance_due
from wagtail_journeys.engine.triggers import match_events
from wagtail_journeys.events import record_event
from wagtail_journeys.models import (
    Branch,
    Contact,
    EmailPage,
    Enrollment,
    Event,
    ExitStep,
    Message,
    ScenarioPage,
    SendEmailStep,
    SplitStep,
    StepRun,
)
from wagtail_journeys.scenarios.guard import publishing_together

XSS = "<script>alert(1)</script>"
LINKS = (
    "<p>Hello {{ contact.first_name }}</p>"
    "<p><a href='https://shop.example/books'>Books</a> "
    "<a href='https://shop.example/sale'>Sale</a></p>"
)


@pytest.fixture(autouse=True)
def no_caps(settings):
    settings.WAGTAIL_JOURNEYS = {"QUIET_HOURS": None, "FREQUENCY_CAP": None}


def url(name: str, *args, **query) -> str:
    found = reverse(f"journeys_reports:{name}", args=args)
    if query:
        found += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return found


def assert_denied(response) -> None:
    """Wagtail's permission-denied answer to a page request: back to the dashboard with
    "Sorry, you do not have permission to access this area"."""
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def boss(email_site):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "x")


def analyst(name: str = "analyst"):
    """May read reports, may not see contacts."""
    return make_user(name, "view_reports")


def marketer(name: str = "marketer"):
    """May read reports and see contacts."""
    return make_user(name, "view_reports", "view_contact")


# A scenario that ran: sends through the engine, opens and clicks through the tracking
# views, the rollup pass.


def run_world(first_names=("Ada", "Bob", "Cyd", "Dee")) -> dict:
    """A published scenario (send, then a 50/50 split) run for one contact per name; the
    first two open the email and the first clicks its "Books" link (``books``: its index);
    then the rollup pass."""
    email = make_email([text(LINKS)], title="Welcome email", subject="Welcome")
    scenario = make_scenario(title="Welcome series", trigger_event="signup")
    send = add(scenario, SendEmailStep, email=email, title="Send the welcome")
    with publishing_together():
        split = add(scenario, SplitStep, title="Test the follow-up")
        arm_a = add(split, Branch, title="A", percent=50)
        add(arm_a, ExitStep, title="Exit A")
        arm_b = add(split, Branch, title="B", percent=50)
        add(arm_b, ExitStep, title="Exit B")
    contacts = [make_contact(f"{n.lower()}@example.com", first_name=n) for n in first_names]
    now = timezone.now()
    for contact in contacts:
        event, _ = record_event("signup", contact=contact, occurred_at=now)
        match_events([event], now=now)
    advance_due(now=now)
    messages = list(Message.objects.filter(email_page=email).order_by("contact__email"))
    # The tracking views tell people from scanners by timing: these were sent an hour ago.
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(
        sent_at=now - dt.timedelta(hours=1)
    )
    person = Client(headers={"User-Agent": BROWSER})
    by_contact = {m.to[0]: m for m in mail.outbox}
    for message in messages[:2]:
        html = by_contact[message.contact.email].alternatives[0].content
        pixel = re.search(r'http://localhost:8000(/journeys/o/[^"]+)"', html)[1]
        assert person.get(pixel).status_code == 200
    html = by_contact[messages[0].contact.email].alternatives[0].content
    books = re.search(r'http://localhost:8000(/journeys/c/[^"]+)"[^>]*>Books</a>', html)[1]
    assert person.get(books)["Location"] == "https://shop.example/books"
    roll_up()
    return {
        "email": email,
        "scenario": scenario,
        "send": send,
        "split": split,
        "arms": (arm_a, arm_b),
        "contacts": contacts,
        "messages": messages,
        "books": Event.objects.get(name="email_clicked").properties["link"],
    }


def roll_up() -> None:
    """The rollup pass (``analytics.rollup``), as the scheduled task runs it."""
    from wagtail_journeys.analytics.rollup import rollup_pass

    rollup_pass(settle=dt.timedelta(0))


def contacts_of(client: Client, link: str) -> list[str]:
    """The addresses a drill-down link lists (every page of it)."""
    response = client.get(link)
    assert response.status_code == 200, link
    return re.findall(r"<td[^>]*>\s*([\w.+-]+@[\w.-]+)\s*</td>", response.content.decode())


def figure_links(page: str) -> dict[tuple, str]:
    """The diagram's numbers: ``(metric, step, branch)`` → the drill-down URL."""
    found = {}
    for href, attrs in re.findall(r'<a href="([^"]+)"[^>]*><tspan ([^>]*)>', page):
        metric = re.search(r'data-metric="(\w+)"', attrs)[1]
        step = re.search(r'data-step="(\d+)"', attrs)[1]
        branch = re.search(r'data-branch="(\d+)"', attrs)
        found[(metric, int(step), int(branch[1]) if branch else None)] = href.replace("&amp;", "&")
    return found


# Permissions ---------------------------------------------------------------------------


def test_without_view_reports_every_report_url_is_denied(client, email_site):
    scenario, email = make_scenario(title="S"), make_email(title="E")
    login(client, make_user("nobody", "view_contact"))
    for target in (
        url("index"),
        url("scenario", scenario.pk),
        url("email", email.pk),
        url("contacts", metric="sent", email=email.pk),
        url("export", report="scenario", id=scenario.pk, format="csv"),
    ):
        assert_denied(client.get(target))
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "journeys-reports" not in home and url("index") not in home


def test_a_reader_without_contact_permission_sees_figures_but_no_drill_down(client, email_site):
    world = run_world()
    login(client, analyst())
    page = client.get(url("scenario", world["scenario"].pk)).content.decode()
    assert 'data-metric="sent"' in page
    assert url("contacts") not in page and not figure_links(page)
    assert "needs the permission to see contacts" in page
    email_page = client.get(url("email", world["email"].pk)).content.decode()
    assert url("contacts") not in email_page
    drill = url("contacts", metric="sent", scenario=world["scenario"].pk)
    assert_denied(client.get(drill))


# Every number from raw rows ------------------------------------------------------------


def test_the_scenario_report_draws_each_steps_raw_counts_and_each_links_to_its_contacts(
    client, email_site
):
    world = run_world()
    login(client, marketer())
    response = client.get(url("scenario", world["scenario"].pk))
    assert response.status_code == 200
    page = response.content.decode()
    links = figure_links(page)
    send, split = world["send"].pk, world["split"].pk
    sent = Message.objects.filter(step_id=send, status="sent")
    opened = Event.objects.filter(name="email_opened", properties__first=True)
    clicked = Event.objects.filter(name="email_clicked", properties__first=True)
    assert sent.count() == 4 and opened.count() == 2 and clicked.count() == 1
    expected = {
        ("sent", send, None): {m.contact.email for m in sent},
        ("opened", send, None): {e.contact.email for e in opened},
        ("clicked", send, None): {e.contact.email for e in clicked},
    }
    for arm in world["arms"]:
        took = StepRun.objects.filter(step_id=split, branch_id=arm.pk)
        expected[("passed", split, arm.pk)] = {
            r.enrollment.contact.email for r in took.select_related("enrollment__contact")
        }
    for key, emails in expected.items():
        branch = f' data-branch="{key[2]}"' if key[2] else ""
        number = re.search(rf'data-metric="{key[0]}" data-step="{key[1]}"{branch}>([\d,]+)<', page)
        assert number and int(number[1].replace(",", "")) == len(emails), key
        assert set(contacts_of(client, links[key])) == emails, key
    entered = Enrollment.objects.filter(scenario_id=world["scenario"].pk).count()
    totals = re.search(r'data-testid="scenario-totals".*?</table>', page, re.S)[0]
    assert f">{entered}</a>" in totals


def test_the_email_report_counts_per_scenario_and_per_link(client, email_site):
    world = run_world()
    login(client, marketer())
    page = client.get(url("email", world["email"].pk)).content.decode()
    rows = re.search(r'data-testid="email-rows".*?</table>', page, re.S)[0]
    first = re.search(r'<tr data-kind="all">.*?</tr>', rows, re.S)[0]
    sent = Message.objects.filter(email_page=world["email"], status="sent").count()
    opened = Message.objects.filter(email_page=world["email"], opened_at__isnull=False).count()
    assert re.search(rf'data-metric="sent"><a href="[^"]+">{sent}</a>', first)
    assert re.search(rf'data-metric="opened"><a href="[^"]+">{opened}</a>', first)
    assert "Welcome series" in rows
    links = re.search(r'data-testid="links".*?</table>', page, re.S)[0]
    books = world["books"]
    clicks = Event.objects.filter(name="email_clicked", properties__link=books).count()
    assert re.search(
        rf"<td>{books}</td><td[^>]*>https://shop.example/books</td><td>{clicks}<", links
    )
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', page)[1])
    badge = re.search(rf'data-link-badge="{books}"[^>]*>([^<]+)<', srcdoc)
    word = "click" if clicks == 1 else "clicks"
    assert badge and badge[1] == f"{clicks} {word} · 100%"


# Hostile query strings -----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"to": "2026-01-01", "from": "2026-02-01"},
        {"from": "1900-01-01", "to": "2026-01-01"},
        {"from": "2026-01-01\x00"},
        {"to": "９９９９-01-01"},
    ],
)
def test_bad_dates_get_a_400_page_with_the_reason(client, boss, query):
    scenario, email = make_scenario(title="S"), make_email(title="E")
    login(client, boss)
    for target in (url("index"), url("scenario", scenario.pk), url("email", email.pk)):
        response = client.get(target, query)
        assert response.status_code == 400, (target, query)
        assert 'data-testid="bad-request"' in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"metric": "salary"},
        {"metric": "sent\x00"},
        {"metric": "sent", "scenario": "99999999999999999999999"},
        {"metric": "sent", "step": "-1"},
        {"metric": "sent", "email": "1e3"},
        {"metric": "sent", "step": "\x00"},
        {"metric": "sent", "link": "٣"},
        {"metric": "sent", "variant": "\x00"},
        {"metric": "sent", "variant": "x" * 5000},
        {"metric": "sent", "from": "2026-02-30"},
    ],
)
def test_the_drill_down_refuses_what_it_cannot_read_with_a_400(client, boss, query):
    login(client, boss)
    response = client.get(url("contacts"), query)
    assert response.status_code == 400, query
    assert 'data-testid="bad-request"' in response.content.decode()


def test_huge_and_unknown_ids_are_not_found(client, boss):
    login(client, boss)
    for name in ("scenario", "email"):
        assert client.get(url(name, 2**70)).status_code == 404
        assert client.get(url(name, 2**31 + 7)).status_code == 404
    export = {"report": "email", "format": "csv"}
    assert client.get(url("export"), {**export, "id": 2**31 + 7}).status_code == 404
    assert client.get(url("export"), {**export, "id": 2**70}).status_code == 400
    assert client.get(url("export"), {**export, "id": "x"}).status_code == 400
    assert client.get(url("export"), {**export, "report": "contacts"}).status_code == 400
    assert client.get(url("export"), {**export, "format": "pdf"}).status_code == 400


# Exports ---------------------------------------------------------------------------------


def test_exports_open_and_keep_formulas_as_text(client, boss):
    email = make_email([text(LINKS)], title='=HYPERLINK("http://evil","x")')
    scenario = make_scenario(title="@SUM(1+1)", trigger_event="signup")
    add(scenario, SendEmailStep, email=email, title="+cmd|' /C calc'!A0")
    login(client, boss)
    for report, page in (("scenario", scenario), ("email", email)):
        query = {"report": report, "id": page.pk}
        response = client.get(url("export"), {**query, "format": "csv"})
        assert response.status_code == 200
        assert response["Content-Disposition"].endswith('.csv"')
        cells = [c for row in csv.reader(io.StringIO(response.content.decode())) for c in row]
        assert page.title not in cells and f"'{page.title}" in cells
        assert not [c for c in cells if re.match(r"[=+@]|-\D", c)]
        response = client.get(url("export"), {**query, "format": "xlsx"})
        assert response.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        cells = [c for row in sheet.iter_rows() for c in row]
        (title,) = [c for c in cells if c.value == page.title]
        assert title.data_type == "s" and title.quotePrefix


# Contacts are escaped -------------------------------------------------------------------


def test_the_drill_down_lists_contacts_escaped_and_linked_to_their_pages(client, email_site):
    world = run_world(first_names=(XSS, "Bob"))
    login(client, marketer())
    response = client.get(
        url("contacts", metric="sent", scenario=world["scenario"].pk, step=world["send"].pk)
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for contact in Contact.objects.all():
        assert reverse("journeys_contacts:inspect", args=[contact.pk]) in page


# Dashboard, menu, page header ----------------------------------------------------------


def test_the_dashboard_panel_and_the_menu_are_for_readers_of_reports(client, email_site):
    run_world()
    login(client, analyst())
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert 'data-testid="dashboard-chart"' in home and "<svg" in home
    assert url("index") in home  # the panel's link and the Reports menu's entry
    sent = Message.objects.filter(status="sent").count()
    assert f"{sent} sent" in home
    index = client.get(url("index")).content.decode()
    assert "Welcome series" in index and "Welcome email" in index


def test_email_and_scenario_edit_views_link_to_their_reports(client, boss):
    scenario, email = make_scenario(title="S"), make_email(title="E")
    login(client, boss)
    for page, name in ((scenario, "scenario"), (email, "email")):
        edit = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk])).content.decode()
        assert url(name, page.pk) in edit
        parent = page.get_parent().pk
        listing = client.get(reverse("wagtailadmin_explore", args=[parent])).content.decode()
        assert url(name, page.pk) in listing


def test_report_links_keep_the_period(client, email_site):
    world = run_world()
    login(client, marketer())
    today = timezone.localdate().isoformat()
    page = client.get(url("scenario", world["scenario"].pk), {"from": today, "to": today})
    for href in figure_links(page.content.decode()).values():
        query = parse_qs(urlparse(href).query)
        assert query["from"] == [today] and query["to"] == [today]


def test_view_reports_can_be_given_in_the_group_editor(client, boss):
    login(client, boss)
    page = client.get(reverse("wagtailusers_groups:add")).content.decode()
    assert "Can view reports" in page


QUERY_KEYS = ("metric", "scenario", "step", "email", "branch", "link", "variant", "from", "to")
query_values = st.one_of(
    strategies.hostile_text(),
    strategies.hostile_numbers().map(str),
    st.sampled_from(["sent", "clicked", "2026-01-01", "-", "0", "1,2"]),
)


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=st.dictionaries(st.sampled_from(QUERY_KEYS), query_values, max_size=6))
def test_any_query_string_gets_an_answer_not_a_500(client, boss, query):
    """Any values (NUL, lone surrogates sent as the bytes a browser could send, huge
    numbers) on every report URL: a page, a 400 or a 404, never a server error."""
    client.raise_request_exception = False
    login(client, boss)
    raw = "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in query.items()
    )
    scenario = ScenarioPage.objects.first() or make_scenario(title="S")
    email = EmailPage.objects.first() or make_email([text(LINKS)], title="E")
    paths = (url("contacts"), url("index"), url("scenario", scenario.pk), url("email", email.pk))
    for path in paths:
        response = client.get(f"{path}?{raw}")
        assert response.status_code in (200, 400), (path, query, response.status_code)
    for report, page in (("scenario", scenario), ("email", email)):
        response = client.get(f"{url('export')}?report={report}&id={page.pk}&{raw}")
        assert response.status_code in (200, 400), (report, query)


def test_the_exports_carry_the_raw_counts(client, email_site):
    world = run_world()
    login(client, analyst())
    query = {"report": "scenario", "id": world["scenario"].pk, "format": "xlsx"}
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(url("export"), query).content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    head = rows[0]
    (send,) = [r for r in rows if r[0] == "Step" and r[2] == "send_email"]
    sent = Message.objects.filter(step_id=world["send"].pk, status="sent").count()
    opened = Message.objects.filter(step_id=world["send"].pk, opened_at__isnull=False).count()
    assert send[head.index("Sent")] == sent == 4
    assert send[head.index("Opened")] == opened == 2
    assert send[head.index("Open rate")] == opened / sent
    query = {"report": "email", "id": world["email"].pk, "format": "csv"}
    lines = list(csv.reader(io.StringIO(client.get(url("export"), query).content.decode())))
    links = lines[lines.index(["Link", "URL", "Clicks", "Machine clicks", "Share of clicks"]) :]
    clicks = Event.objects.filter(name="email_clicked", properties__machine=False).count()
    assert [str(world["books"]), "https://shop.example/books", str(clicks), "0", "1.0"] in links
