"""The walk: every admin URL this app registers, requested as (a) a user who may enter the
admin but holds no journeys permission and (b) an editor who writes and publishes emails
and scenarios and edits segments but has no contact permission. No contact's address or
name appears in any response, nor in any mail sent meanwhile (issue 9, "hunt").

The walk finds its URLs itself, from Django's resolver: every named admin URL of the app
(the namespace of one of its viewsets, or a view from its package), every URL of
Wagtail's page editor for one page of each of the app's page types (edit, every preview
mode, revisions, compare, history…), the URLs of the app's site settings, and every admin
URL without parameters (dashboard, reports, searches), where the app's objects could
surface. A new view is walked without editing this file; an app URL whose parameters
``url_kwargs`` cannot fill fails the walk until it learns them.

Each URL gets a GET (with ``?contact=`` set to a real address, every preview mode of a
preview URL, CSV and XLSX exports of a listing) and, for the app's URLs and the page
editor's, a POST of the object's own form with ``contact``/``preview_contact`` set to a
real address (then the preview is read again, as the editor's preview panel does). Each
URL's requests run in a transaction rolled back afterwards, so a POST that saves,
publishes or deletes leaves the world as it was for the next.

Two kinds of contacts: *hidden* ones, whose addresses and names the requests never
carry, so any appearance is a leak; and one *probed* contact, whose address the requests
carry (a form may echo what was typed), so only its names count as a leak.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.core import mail
from django.db import transaction
from django.forms import CheckboxInput, MultiWidget
from django.test import Client
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
from django.utils import timezone
from wagtail import blocks
from wagtail.admin.views.mixins import SpreadsheetExportMixin
from wagtail.admin.viewsets import viewsets as registered_viewsets
from wagtail.blocks.base import BlockWidget
from wagtail.log_actions import log
from wagtail.models import Page, Site

from tests.emails.factories import email_index, make_email, text
from tests.factories import EventFactory
from tests.scenarios.factories import add, make_scenario, scenario_index
from tests.segments.factories import rule
from tests.users import editor_without_contacts, make_user
from wagtail_journeys.consent import record_consent
from wagtail_journeys.engine.enroll import enroll
from wagtail_journeys.models import (
    Branch,
    BrandSettings,
    ConditionStep,
    ConsentRecord,
    Contact,
    ContactImport,
    EmailPage,
    ExitStep,
    Message,
    NotifyStep,
    ScenarioPage,
    Segment,
    SendEmailStep,
    SendSMSStep,
    SplitStep,
    StartScenarioStep,
    Topic,
    UpdateContactStep,
    WaitStep,
)
from wagtail_journeys.scenarios.guard import publishing_together

APP = "wagtail_journeys"
HIDDEN_FIRST = ["Quillon", "Marrowby", "Thistlewick", "Brambleton", "Fennimore", "Osgoodly"]
HIDDEN_LAST = ["Ashcombe", "Larkspurr", "Wetherell", "Crowhurst", "Pendrake", "Saltmarsh"]
HIDDEN_EMAILS = [f"{name.lower()}.walk@contacts.test" for name in HIDDEN_FIRST]
PROBED = "probed.walk@contacts.test"
PROBED_NAMES = ["Probedina", "Walkerton"]
#: Never in a response to these users, in any spelling a page could use.
NEVER_SHOWN = [
    *HIDDEN_EMAILS,
    *[quote(email) for email in HIDDEN_EMAILS],
    *HIDDEN_FIRST,
    *HIDDEN_LAST,
    *PROBED_NAMES,
]
#: Views the walk does not request: they end the session or are not pages at all.
NOT_WALKED = {
    "wagtailadmin_logout",
    "wagtailadmin_login",
    "wagtailadmin_password_reset",
    "wagtailadmin_password_reset_done",
    "wagtailadmin_password_reset_complete",
    "wagtailadmin_error_test",
    "wagtailadmin_sprite",
    "wagtailadmin_javascript_catalog",
}
#: Wagtail's own failures on hand-made requests, not the app's: route -> why.
WAGTAIL_FAILURES = {
    "wagtailsnippetchoosers_wagtail_journeys_segment:create": "Wagtail's chooser 'create' "
    "view of a snippet without creation form fields answers a POST with a 500",
}
PAGES = "wagtailadmin_pages"
#: The URL parameters of the reports that name a page: name -> its page type.
REPORTED = {"scenario_id": ScenarioPage, "email_id": EmailPage}
#: The page editor's URLs that preview a page (every preview mode is read).
PREVIEW_URL = re.compile(r"preview|view_draft|revisions_view")
#: Those that show an existing page's fields or preview them: walked for every page type.
#: The others show an empty form (add), an older revision's form (revert), or act on a
#: page as a whole (delete, move, lock, history…) and show its title only, the same way for
#: every type: walked for the page types that have previews.
FIELDS_URL = re.compile(r":(edit|preview_on_edit|view_draft|revisions_view|revisions_compare)$")
#: Those that take a page's form: posted to, for the page types that have previews (where
#: posted data reaches a preview).
FORM_URL = re.compile(r"^wagtailadmin_pages:(edit|add|preview_on_edit|preview_on_add)$")


# The URLs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A named admin URL pattern: its full name, namespace, parameters and view."""

    name: str
    namespace: str
    params: tuple[str, ...]
    view: Any


def pattern_params(pattern) -> list[str]:
    converters = getattr(pattern, "converters", None)
    if converters is not None:
        return list(converters)
    return list(pattern.regex.groupindex)


def admin_routes() -> list[Route]:
    """Every named URL pattern under the admin, from Django's resolver."""
    admin = reverse("wagtailadmin_home").lstrip("/")

    def walk(resolver, prefix, namespaces, params):
        for p in resolver.url_patterns:
            route, own = prefix + str(p.pattern), params + tuple(pattern_params(p.pattern))
            if isinstance(p, URLResolver):
                inner = namespaces + ((p.namespace,) if p.namespace else ())
                yield from walk(p, route, inner, own)
            elif p.name and route.startswith(admin):
                yield Route(":".join((*namespaces, p.name)), ":".join(namespaces), own, p.callback)

    return list(walk(get_resolver(), "", (), ()))


def app_viewsets() -> dict[str, Any]:
    """The app's admin viewsets (contacts, segments, their choosers…) by URL namespace."""
    reverse("wagtailadmin_home")  # loading the admin's URLs registers the hooked viewsets
    found = {}
    for viewset in registered_viewsets.viewsets:
        model = getattr(viewset, "model", None)
        if isinstance(model, str):
            model = apps.get_model(model)
        if model is not None and model._meta.app_label == APP:
            found[viewset.url_namespace] = viewset
    return found


def belongs_to_app(route: Route, viewsets: dict[str, Any]) -> bool:
    return route.namespace in viewsets or getattr(route.view, "__module__", "").startswith(APP)


def url_kwargs(params: tuple[str, ...], subject: Any) -> dict | None:
    """The URL parameters that point at ``subject`` (a page, a snippet, a contact, a
    setting), or None when one of them cannot."""
    kwargs: dict[str, Any] = {}
    for name in params:
        if subject is None:
            return None
        parent = subject.get_parent() if isinstance(subject, Page) else None
        if name in ("page_id", "page_to_move_id", "pk"):
            value = subject.pk
        elif name in REPORTED:  # a report names its scenario or email
            value = subject.pk if isinstance(subject, REPORTED[name]) else None
        elif name == "parent_page_id":  # the add views name the parent, add_subpage the page
            value = parent.pk if "content_type_app_name" in params else subject.pk
        elif name == "destination_id":
            value = parent and parent.pk
        elif name in ("content_type_app_name", "app_label", "app_name"):
            value = subject._meta.app_label
        elif name in ("content_type_model_name", "model_name"):
            value = subject._meta.model_name
        elif name == "revision_id":
            value = getattr(subject, "latest_revision_id", None)
        elif name == "revision_id_a":
            value = "earliest"
        elif name == "revision_id_b":
            value = "latest"
        else:
            return None
        if value is None:
            return None
        kwargs[name] = value
    return kwargs


# What a browser posts --------------------------------------------------------------------


def block_data(block, state, prefix: str, data: dict) -> None:
    """Post data of a block from its form state (what the editor's JavaScript posts)."""
    if isinstance(block, (blocks.StreamBlock, blocks.ListBlock)):
        data[f"{prefix}-count"] = len(state or [])
        for i, item in enumerate(state or []):
            data[f"{prefix}-{i}-deleted"] = ""
            data[f"{prefix}-{i}-order"] = i
            data[f"{prefix}-{i}-id"] = item.get("id") or ""
            if isinstance(block, blocks.StreamBlock):
                data[f"{prefix}-{i}-type"] = item["type"]
                child = block.child_blocks[item["type"]]
            else:
                child = block.child_block
            block_data(child, item["value"], f"{prefix}-{i}-value", data)
    elif isinstance(block, blocks.StructBlock):
        for name, child in block.child_blocks.items():
            block_data(child, (state or {}).get(name), f"{prefix}-{name}", data)
    elif state is True:
        data[prefix] = "on"
    elif state is False:
        pass
    elif isinstance(state, dict):  # a chooser: its id
        data[prefix] = state.get("id", "")
    else:
        data[prefix] = "" if state is None else state


def form_data(form) -> dict:
    """What a browser posts back for ``form`` unchanged, formsets included."""
    data: dict[str, Any] = {}
    for bound in form:
        widget, value, name = bound.field.widget, bound.value(), bound.html_name
        if isinstance(widget, BlockWidget):
            block_data(widget.block_def, widget.block_def.get_form_state(value), name, data)
        elif isinstance(widget, CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(widget, MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                data[f"{name}_{i}"] = "" if part is None else part
        else:
            shown = widget.format_value(value)
            data[name] = "" if shown is None else shown
    for formset in getattr(form, "formsets", {}).values():
        data.update(form_data(formset.management_form))
        for child in formset.forms:
            data.update(form_data(child))
    return data


def post_data(subject: Any, viewset: Any, superuser) -> dict:
    """The subject's own edit form, as posted, with a real address in every place an
    address of a contact could be typed. Contacts are posted nothing of their own (their
    data must never be in a request)."""
    probe = {"contact": PROBED, "preview_contact": PROBED, "q": "contacts.test"}
    if isinstance(subject, Page):
        page = subject.get_latest_revision_as_object()
        form_class = page.get_edit_handler().get_form_class()
        form = form_class(instance=page, for_user=superuser, parent_page=subject.get_parent())
    elif subject is None or isinstance(subject, Contact | Message | ConsentRecord):  # read only
        return probe
    elif viewset is not None and hasattr(viewset, "get_form_class"):
        form = viewset.get_form_class(for_update=True)(instance=subject, for_user=superuser)
    else:
        from wagtail.admin.panels import get_edit_handler

        form_class = get_edit_handler(type(subject)).get_form_class()
        form = form_class(instance=subject, for_user=superuser)
    return {**probe, **form_data(form), "preview_contact": PROBED}


# The world -------------------------------------------------------------------------------


@dataclass
class World:
    pages: list[Page]
    objects: dict[type, Any]
    settings: list[Any]
    email: Any
    superuser: Any
    contacts: int


def app_page_models() -> set[type]:
    return {m for m in apps.get_app_config(APP).get_models() if issubclass(m, Page)}


def build_world(django_user_model) -> World:
    superuser = django_user_model.objects.create_superuser("boss", "boss@staff.example", "x")
    contacts = [
        Contact.objects.create(
            email=email,
            first_name=first,
            last_name=last,
            civility="mrs" if i % 2 else "mr",
            phone=f"+3361234567{i}",
            attributes={"nickname": first},
        )
        for i, (email, first, last) in enumerate(
            zip(HIDDEN_EMAILS, HIDDEN_FIRST, HIDDEN_LAST, strict=True)
        )
    ]
    first, last = PROBED_NAMES
    contacts.append(Contact.objects.create(email=PROBED, first_name=first, last_name=last))
    for contact in contacts:
        contact.tags.add("walk")
        EventFactory(contact=contact, name="purchase", properties={"amount": 12})
        log(instance=contact, action="wagtail.create", user=superuser)  # as the admin logs
    segment = Segment.objects.create(
        name="Everyone subscribed",
        slug="everyone-subscribed",
        rules=[rule("consent", email_status=["subscribed"], sms="")],
    )
    segment_block = {
        "type": "segment",
        "value": {
            "segment": segment.pk,
            "body": [text("<p>Dear {{ contact.first_name }}</p>")],
            "everyone_else": [],
        },
    }
    email = make_email(
        [text("<p>Hi {{ contact.full_name }} &lt;{{ contact.email }}&gt;</p>"), segment_block],
        subject="Hello {{ contact.first_name }}",
        preview_contact=HIDDEN_EMAILS[0],
    )
    email.preview_contact = HIDDEN_EMAILS[1]
    email.save_revision()  # a draft after the live version: compare and view_draft differ
    other = make_scenario(title="Other", trigger_event="signup")
    add(other, ExitStep)
    scenario = make_scenario(title="Walk", trigger_event="purchase")
    add(scenario, WaitStep, amount=1, unit="days")
    condition = add(scenario, ConditionStep)
    mrs = add(condition, Branch, rules=[rule("civility", civility=["mrs"])])
    add(mrs, SendEmailStep, email=email)
    add(add(condition, Branch, is_else=True), ExitStep)
    with publishing_together():  # one branch at 50 % alone is refused: both, at once
        split = add(scenario, SplitStep)
        for _ in range(2):
            add(add(split, Branch, percent=50), ExitStep)
    add(scenario, SendSMSStep, text="Hi {{ first_name }}")
    add(scenario, NotifyStep, notify_email="team@staff.example", message="A purchase")
    add(scenario, UpdateContactStep, add_tags="buyer")
    add(scenario, StartScenarioStep, scenario=other)
    add(scenario, ExitStep)
    scenario.save_revision().publish()
    enroll(scenario.pk, [c.pk for c in contacts], now=timezone.now())
    messages = [
        Message.objects.create(contact=contact, email_page=email, subject=contact.first_name)
        for contact in contacts
    ]
    pages = [email_index(), scenario_index(), email, scenario]
    pages += [p.specific for p in scenario.get_descendants()]
    one_of_each = list({type(p): p for p in pages}.values())
    assert {type(p) for p in one_of_each} == app_page_models(), "give the walk a page of each type"
    site = Site.objects.get(is_default_site=True)
    topic = Topic.objects.create(name="Newsletter", slug="newsletter")
    return World(
        pages=one_of_each,
        objects={
            Segment: segment,
            Topic: topic,
            ConsentRecord: record_consent(
                contacts[0], action="granted", source="form", topic=topic, wording="Yes"
            ),
            Contact: contacts[0],
            Message: messages[0],
            ContactImport: ContactImport.objects.create(
                file_name="contacts.csv",
                data=f"email\n{HIDDEN_EMAILS[0]}\n".encode(),
                header=["email"],
                rejects=f"line,reason,email\n2,bad,{HIDDEN_EMAILS[1]}\n",
                rejected=1,
            ),
        },
        settings=[BrandSettings.for_site(site)],
        email=email,
        superuser=superuser,
        contacts=len(contacts),
    )


# The walk --------------------------------------------------------------------------------


def body_of(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if raw[:4] == b"PK\x03\x04":  # XLSX: the text is in the zipped XML parts
        archive = zipfile.ZipFile(io.BytesIO(raw))
        raw = b"".join(archive.read(name) for name in archive.namelist())
    return raw.decode("utf-8", "replace") + response.get("Location", "")


@dataclass
class Walk:
    client: Client
    user: Any
    world: World
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answers: dict[tuple, Any] = field(default_factory=dict)

    def check(self, method: str, route: Route, url: str, subject, params, response) -> None:
        where = f"{method} {url} {params or ''} ({route.name})"
        if response.status_code >= 500 and route.name not in WAGTAIL_FAILURES:
            self.errors.append(f"{response.status_code}: {where}")
        location = response.get("Location", "")
        if location.startswith(reverse("wagtailadmin_login")):
            self.errors.append(f"logged out: {where}")
        text = body_of(response)
        self.leaks += [f"{marker} in {where}" for marker in NEVER_SHOWN if marker in text]
        self.answers.setdefault((method, route.name, type(subject)), (response.status_code, text))

    def request(self, route: Route, subject, url: str, *, post: dict | None) -> None:
        """GET each variant and POST the form (a preview: POST, then read it); roll back."""
        with transaction.atomic():
            if post is None or not PREVIEW_URL.search(route.name):
                for params in get_variants(route, subject):
                    self.check("GET", route, url, subject, params, self.client.get(url, params))
            if post is not None:
                self.check("POST", route, url, subject, None, self.client.post(url, post))
                if PREVIEW_URL.search(route.name):  # the preview panel reads what was posted
                    for params in get_variants(route, subject):
                        response = self.client.get(url, params)
                        self.check("GET", route, url, subject, params, response)
            transaction.set_rollback(True)


def get_variants(route: Route, subject) -> list[dict]:
    variants = [{"contact": PROBED}]
    if route.namespace == PAGES and PREVIEW_URL.search(route.name):
        for mode, _label in getattr(subject, "preview_modes", []):
            variants += [{"mode": mode}, {"mode": mode, "contact": PROBED}]
    view_class = getattr(route.view, "view_class", None)
    if isinstance(view_class, type) and issubclass(view_class, SpreadsheetExportMixin):
        initkwargs = getattr(route.view, "view_initkwargs", {})
        if initkwargs.get("list_export", view_class.list_export):  # it offers downloads
            variants += [{"export": "csv"}, {"export": "xlsx"}]
        variants.append({"q": "contacts.test"})
    return variants


def page_subjects(route: Route, world: World) -> list[Page]:
    """The pages a page editor URL is walked for (see ``FIELDS_URL``)."""
    if FIELDS_URL.search(route.name):
        return world.pages
    return [page for page in world.pages if page.preview_modes]


#: The objects of the app's admin URLs that are not a viewset's, by URL namespace.
OBJECTS_OF = {"journeys_imports": ContactImport}


def walk_admin(client: Client, user, world: World) -> Walk:
    walk = Walk(client, user, world)
    client.raise_request_exception = False  # a 500 is reported with its URL, below
    client.force_login(user)  # outside the rolled-back blocks: the session outlives them
    viewsets = app_viewsets()
    unfilled = []
    for route in admin_routes():
        if route.name in NOT_WALKED:
            continue
        mine = belongs_to_app(route, viewsets)
        viewset = viewsets.get(route.namespace)
        pages = route.namespace == PAGES and bool(route.params)
        if pages or (mine and {"page_id", "parent_page_id", *REPORTED} & set(route.params)):
            subjects = page_subjects(route, world)
        elif mine:
            model = viewset.model if viewset else OBJECTS_OF.get(route.namespace)
            subjects = [world.objects[model] if model else None]
        elif "app_name" in route.params:
            subjects = world.settings
        elif not route.params:
            subjects = [None]
        else:
            continue  # Wagtail's own URLs about other objects (images, users, workflows…)
        filled = False
        for subject in subjects:
            kwargs = url_kwargs(route.params, subject) if route.params else {}
            if kwargs is None:
                continue
            try:
                url = reverse(route.name, kwargs=kwargs)
            except NoReverseMatch:
                continue
            filled = True
            posts = (
                mine
                or "app_name" in route.params
                or (FORM_URL.match(route.name) and subject.preview_modes)
            )
            post = post_data(subject, viewset, world.superuser) if posts else None
            walk.request(route, subject, url, post=post)
        if mine and not filled:
            unfilled.append(f"{route.name} {route.params}")
    assert not unfilled, f"the walk cannot fill these URLs of the app: {unfilled}"
    return walk


def sent_mail_text() -> str:
    return "\n".join(
        f"{m.subject}\n{m.to}\n{m.body}\n{''.join(a[0] for a in m.alternatives)}"
        for m in mail.outbox
    )


@pytest.fixture
def world(db, django_user_model):
    return build_world(django_user_model)


def assert_nothing_leaked(walk: Walk) -> None:
    mailed = [f"{marker} mailed" for marker in NEVER_SHOWN if marker in sent_mail_text()]
    problems = walk.leaks + mailed + walk.errors
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_a_user_without_journeys_permissions_sees_no_contact(client, world):
    user = make_user("outsider")
    walk = walk_admin(client, user, world)
    assert_nothing_leaked(walk)
    assert walk.answers[("GET", "wagtailadmin_home", type(None))][0] == 200


def test_an_editor_without_contact_permissions_sees_no_contact(client, world):
    user = editor_without_contacts(email_index(), scenario_index())
    walk = walk_admin(client, user, world)
    assert_nothing_leaked(walk)
    # The walk reached the doors, and they answered with made-up samples, not refusals.
    email = type(world.email)
    status, draft = walk.answers[("GET", f"{PAGES}:view_draft", email)]
    assert status == 200 and "Alex" in draft
    status, preview = walk.answers[("POST", f"{PAGES}:preview_on_edit", email)]
    assert '"is_valid": true' in preview
    status, sample = walk.answers[
        ("POST", "wagtailsnippets_wagtail_journeys_segment:preview", Segment)
    ]
    assert f'"count": {world.contacts}' in sample and '"sample": []' in sample
    assert walk.answers[("POST", "wagtail_journeys_send_test", email)][0] == 302
    assert any(m.subject.startswith("[Test]") for m in mail.outbox)


def test_a_reader_of_reports_without_contact_permissions_sees_no_contact(client, world):
    from wagtail_journeys.analytics.rollup import rollup_pass

    rollup_pass(settle=dt.timedelta(0))
    user = make_user("reader", "view_reports")
    walk = walk_admin(client, user, world)
    assert_nothing_leaked(walk)
    for name, page in (("scenario", ScenarioPage), ("email", EmailPage), ("index", type(None))):
        assert walk.answers[("GET", f"journeys_reports:{name}", page)][0] == 200
    assert walk.answers[("GET", "journeys_reports:contacts", type(None))][0] == 302  # denied
