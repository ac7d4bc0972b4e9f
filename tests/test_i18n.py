"""French: the shipped catalog is complete and current, the admin's main screens speak
French to a French-speaking editor, and emails' own words follow the contact's locale."""

from __future__ import annotations

import datetime as dt
import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from lxml import html as lxml_html

import wagtail_journeys
from tests.emails.factories import make_contact, make_email, text
from tests.factories import EventFactory
from tests.scenarios.factories import add, make_scenario, site_root
from wagtail_journeys.delivery import send_email
from wagtail_journeys.emails.languages import language_of
from wagtail_journeys.emails.render import compiled_for
from wagtail_journeys.models import (
    Branch,
    ConditionStep,
    EmailIndexPage,
    ExitStep,
    Message,
    ScenarioIndexPage,
    Segment,
    SendEmailStep,
    WaitStep,
)

PACKAGE = Path(wagtail_journeys.__file__).parent
CATALOG = PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "django.po"


@dataclass
class Entry:
    msgid: str
    plural: str
    context: str
    strings: list[str]
    fuzzy: bool


def _unquote(lines: list[str]) -> str:
    return "".join(
        bytes(line.strip()[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode()
        for line in lines
    )


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (its header left out): enough of the format for
    ``makemessages``' output."""
    entries: list[Entry] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, list[str]] = {}
        current = None
        for line in lines:
            if line.startswith("#"):
                continue
            match = re.match(r"(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) (\".*\")$", line)
            if match:
                current = match[1]
                fields[current] = [match[2]]
            elif current and line.startswith('"'):
                fields[current].append(line)
        if "msgid" not in fields:
            continue
        msgid = _unquote(fields["msgid"])
        if not msgid:
            continue
        strings = [_unquote(v) for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        plural = _unquote(fields.get("msgid_plural", ['""']))
        context = _unquote(fields.get("msgctxt", ['""']))
        entries.append(Entry(msgid, plural, context, strings, fuzzy))
    return entries


def test_the_french_catalog_is_complete():
    entries = read_po(CATALOG)
    assert len(entries) > 800
    untranslated = [e.msgid for e in entries if not all(e.strings) or e.fuzzy]
    assert not untranslated, f"untranslated or fuzzy: {untranslated[:20]}"
    assert all(len(e.strings) == 2 for e in entries if e.plural)  # French has two forms


def test_the_shipped_mo_is_compiled_from_the_po():
    """A .po edited without ``make messages`` would ship its old translations."""
    with open(CATALOG.with_suffix(".mo"), "rb") as file:
        compiled = gettext.GNUTranslations(file)
    stale = []
    for entry in read_po(CATALOG):
        if entry.plural:
            got = [compiled.ngettext(entry.msgid, entry.plural, n) for n in (1, 2)]
        elif entry.context:
            got = [compiled.pgettext(entry.context, entry.msgid)]
        else:
            got = [compiled.gettext(entry.msgid)]
        if got != entry.strings:
            stale.append(entry.msgid)
    assert not stale, f"run `make messages`: the .mo is stale for {stale[:10]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext")
def test_makemessages_leaves_nothing_new_to_translate(tmp_path):
    """Every marked string of the app is in the shipped catalog, and nothing else: run
    ``makemessages`` over a copy of the package and compare."""
    copy = tmp_path / "wagtail_journeys"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "fr", "--add-location", "file"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    shipped = {(e.context, e.msgid, e.plural) for e in read_po(CATALOG)}
    fresh = read_po(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    new = sorted(e.msgid for e in fresh if (e.context, e.msgid, e.plural) not in shipped)
    assert not new, f"run `make messages` and translate: {new[:20]}"
    gone = sorted(m for _c, m, _p in shipped - {(e.context, e.msgid, e.plural) for e in fresh})
    assert not gone, f"run `make messages`: no longer in the code: {gone[:20]}"
    assert not [e.msgid for e in fresh if e.fuzzy or not all(e.strings)]


# --- The admin in French ------------------------------------------------------------------

#: Attributes whose text a person reads (or hears).
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-unavailable")


def _english_left(entries: list[Entry]) -> tuple[set[str], set[str]]:
    """The app's English strings that should not appear on a French page: phrases (several
    words, matched anywhere in a text) and single words (matched as a whole text). Strings
    with placeholders cannot appear verbatim; those French keeps as they are are left out."""
    phrases, words = set(), set()
    for entry in entries:
        for english, french in ((entry.msgid, entry.strings[0]), (entry.plural, None)):
            if not english or "%" in english or "{" in english or english == french:
                continue
            if entry.plural and english in entry.strings:
                continue
            (phrases if len(english.split()) > 1 else words).add(english)
    return phrases, words


def _block_words(data):
    """The labels and help texts in a StreamField's block definitions."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("label", "helpText") and isinstance(value, str):
                yield " ".join(value.split())
            else:
                yield from _block_words(value)
    elif isinstance(data, list):
        for item in data:
            yield from _block_words(item)


def untranslated(html: str) -> list[str]:
    """The app's English strings a page shows (its text, titles, labels, dialogs)."""
    phrases, words = _english_left(read_po(CATALOG))
    root = lxml_html.document_fromstring(html)
    # Raw data is marked as not for translation (a mail's header names), as HTML allows.
    for bad in root.xpath("//script|//style|//*[@translate='no']"):
        bad.drop_tree()
    texts = [" ".join(t.split()) for t in root.itertext()]
    for name in READ_ATTRIBUTES:
        texts += [" ".join(v.split()) for v in root.xpath(f"//@{name}")]
    for data in root.xpath("//@data-w-block-data-value"):  # a StreamField's block labels
        texts += list(_block_words(json.loads(data)))
    texts = [t for t in texts if t]
    found = {w for w in words if w in texts}
    joined = "\n".join(texts)
    found |= {p for p in phrases if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", joined)}
    return sorted(found)


@pytest.fixture
def french_editor(db):
    """A superuser who chose French in their account; the site's language is French too."""
    from django.contrib.auth import get_user_model
    from wagtail.users.models import UserProfile

    user = get_user_model().objects.create_superuser("amelie", "amelie@staff.example", "x")
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "fr"
    profile.save()
    client = Client()
    client.force_login(user)
    with override_settings(LANGUAGE_CODE="fr"):
        yield client


@pytest.fixture
def journey(db):
    """A contact with events and a message, a segment, an email and a scenario with a
    condition, as an editor meets them, in folders a French team named."""
    root = site_root()
    for folder in (
        EmailIndexPage(title="Courriels", slug="courriels"),
        ScenarioIndexPage(title="Parcours", slug="parcours"),
    ):
        root.add_child(instance=folder)
        folder.save_revision().publish()
    contact = make_contact("lea@example.com", first_name="Léa", locale="fr")
    EventFactory(contact=contact, name="page_view", properties={"url": "/livres/"})
    email = make_email([text("<p>Bonjour {{ contact.first_name }}</p>")], title="Bienvenue")
    message = send_email(email, contact)
    segment = Segment.objects.create(name="Lecteurs", slug="lecteurs")
    scenario = make_scenario(title="Lecteurs fidèles")
    add(scenario, WaitStep, title="Attendre", amount=3, unit="days")
    condition = add(scenario, ConditionStep, title="A ouvert ?")
    branch = add(condition, Branch, title="Oui")
    add(branch, SendEmailStep, title="Envoyer", email=email)
    add(condition, Branch, title="Non", is_else=True)
    add(scenario, ExitStep, title="Fin")
    return {
        "contact": contact,
        "email": email,
        "segment": segment,
        "scenario": scenario,
        "message": message,
    }


def _screens(journey) -> dict[str, str]:
    contact, email, scenario = journey["contact"], journey["email"], journey["scenario"]
    segment = journey["segment"]
    return {
        "contacts list": reverse("journeys_contacts:index"),
        "contact profile": reverse("journeys_contacts:inspect", args=[contact.pk]),
        "contact edit": reverse("journeys_contacts:edit", args=[contact.pk]),
        "segments list": reverse("wagtailsnippets_wagtail_journeys_segment:list"),
        "segment editor": reverse("wagtailsnippets_wagtail_journeys_segment:add"),
        "segment edit": reverse("wagtailsnippets_wagtail_journeys_segment:edit", args=[segment.pk]),
        "email editor": f"/admin/pages/{email.pk}/edit/",
        "email preview": f"/admin/pages/{email.pk}/view_draft/",
        "email preview as text": f"/admin/pages/{email.pk}/view_draft/?mode=text",
        "send test": reverse("wagtail_journeys_send_test", args=[email.pk]),
        "scenario editor": f"/admin/pages/{scenario.pk}/edit/",
        "canvas": reverse("journeys_scenarios:canvas", args=[scenario.pk]),
        "step editor": f"/admin/pages/add/wagtail_journeys/waitstep/{scenario.pk}/",
        "pause": reverse("wagtail_journeys_pause", args=[scenario.pk]),
        "publish changes": reverse("wagtail_journeys_publish_changes", args=[scenario.pk]),
        "rehearse": reverse("wagtail_journeys_rehearse", args=[scenario.pk]),
        "messages": reverse("journeys_messages:index"),
        "message": reverse("journeys_messages:inspect", args=[journey["message"].pk]),
        "reports": reverse("journeys_reports:index"),
        "scenario report": reverse("journeys_reports:scenario", args=[scenario.pk]),
        "email report": reverse("journeys_reports:email", args=[email.pk]),
        "scenario library": reverse("journeys_library:choose", args=[scenario.get_parent().pk]),
    }


def test_the_admins_main_screens_show_no_untranslated_string(french_editor, journey):
    found = {}
    for name, url in _screens(journey).items():
        response = french_editor.get(url)
        assert response.status_code == 200, (name, response.status_code)
        left = untranslated(response.content.decode())
        if left:
            found[name] = left
    assert not found, found


def test_the_check_finds_an_english_string_on_a_page(french_editor, journey):
    """The check can fail: the same screens read in English are full of the app's words."""
    with translation.override("en"):
        from wagtail.users.models import UserProfile

        for profile in UserProfile.objects.all():
            profile.preferred_language = "en"
            profile.save()
        html = french_editor.get(reverse("journeys_contacts:index")).content.decode()
    assert "Email status" in untranslated(html)
    assert "Contacts" not in untranslated(html)  # identical in French: not counted


# --- Emails and the unsubscribe page in the contact's language ---------------------------


@pytest.mark.parametrize(
    ("locale", "language"),
    [("fr", "fr"), ("fr-FR", "fr"), ("fr_CA", "fr"), ("en", "en"), ("", "en-us"), ("xx", "en-us")],
)
def test_a_contacts_language_comes_from_their_locale(db, locale, language):
    assert language_of(make_contact(locale=locale)) == language


def test_the_footer_follows_the_contacts_locale_from_one_compiled_email(email_site):
    page = make_email([text("<p>Bonjour</p>")])
    french = make_contact("zoe@example.com", locale="fr-FR")
    english = make_contact("ann@example.com", locale="en")
    send_email(page, french)
    send_email(page, english)
    fr_mail, en_mail = mail.outbox
    fr_html, en_html = fr_mail.alternatives[0].content, en_mail.alternatives[0].content
    assert ">Se désinscrire</a>" in fr_html and ">Préférences e-mail</a>" in fr_html
    assert "Unsubscribe" not in fr_html and "Email preferences" not in fr_html
    assert ">Unsubscribe</a>" in en_html and ">Email preferences</a>" in en_html
    assert "Se désinscrire (http" in fr_mail.body and "Unsubscribe (http" in en_mail.body
    # One compiled email for both languages: its words are holes, not text.
    compiled = compiled_for(page)
    literal = "".join(part for part in compiled.html if isinstance(part, str))
    assert "Unsubscribe" not in literal and "désinscrire" not in literal


def test_a_contact_without_locale_gets_the_sites_language(email_site):
    page = make_email([text("<p>Hi</p>")])
    send_email(page, make_contact("nobody@example.com"))
    assert ">Unsubscribe</a>" in mail.outbox[0].alternatives[0].content
    with override_settings(LANGUAGE_CODE="fr"):
        send_email(page, make_contact("personne@example.com"))
    assert ">Se désinscrire</a>" in mail.outbox[1].alternatives[0].content


@pytest.mark.parametrize(
    ("locale", "words", "absent"),
    [
        ("fr", ["Préférences e-mail", "Vous recevez nos e-mails", "Se désinscrire"], "Unsubscribe"),
        ("en", ["Email preferences", "You receive our emails", "Unsubscribe"], "désinscrire"),
    ],
)
def test_the_unsubscribe_page_speaks_the_contacts_language(email_site, locale, words, absent):
    page = make_email([text("<p>Bonjour</p>")])
    contact = make_contact(locale=locale)
    message = send_email(page, contact)
    Message.objects.filter(pk=message.pk).update(sent_at=timezone.now() - dt.timedelta(hours=1))
    url = re.search(
        r'http://localhost:8000(/journeys/u/[^"]+)"', mail.outbox[0].alternatives[0].content
    )[1]
    html = Client().get(url).content.decode()
    assert all(word in html for word in words) and absent not in html
    assert f'<html lang="{locale}">' in html
    if locale == "fr":
        assert not untranslated(html)
        done = Client().post(url).content.decode()  # RFC 8058 one-click
        assert "Vous êtes désinscrit" in done and not untranslated(done)


# --- The scenario library in the editor's language ----------------------------------------


def test_a_template_used_in_french_writes_its_scenario_and_emails_in_french(email_site):
    from tests.scenarios.factories import scenario_index
    from wagtail_journeys.emails.render import render_for
    from wagtail_journeys.models import EmailPage
    from wagtail_journeys.scenarios.library import create_from_template

    with translation.override("fr"):
        (scenario,) = create_from_template("welcome", scenario_index())
    assert scenario.title == "Série de bienvenue"
    email = EmailPage.objects.get(
        title="Bienvenue + bon de réduction"
    ).get_latest_revision_as_object()
    assert email.subject == "Bienvenue\u00a0! Voici votre bon de réduction"
    rendered = render_for(email, make_contact(first_name="Léa", locale="fr"), tracked=False)
    assert "Bonjour Léa," in rendered.text and "Voici 10 % de réduction" in rendered.text
    assert "Se désinscrire" in rendered.text
    with translation.override("en"):
        (english,) = create_from_template("welcome", scenario_index())
    assert english.title == "Welcome series"


def test_an_import_is_refused_in_the_language_active_for_it():
    from wagtail_journeys.contact_rows import InvalidHeader, parse_header

    for language, reason in (("fr", "L'en-tête n'a pas de colonne"), ("en", "no 'email' column")):
        with translation.override(language), pytest.raises(InvalidHeader) as refused:
            parse_header(["first_name"])
        assert reason in str(refused.value)
