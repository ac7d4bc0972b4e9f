"""EmailPage in Wagtail: never public, validated on save, previewed per mode, test-sent."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from tests.emails.factories import email_index, make_contact, make_email, text
from wagtail_journeys.models import EmailIndexPage, EmailPage, Message, Segment

XSS = "<script>alert(1)</script>"


@pytest.fixture
def editor(client, email_site):
    user = get_user_model().objects.create_superuser("editor", "editor@bookshop.example", "x")
    client.force_login(user)
    return client


def test_emails_are_never_served_publicly(client, email_site):
    page = make_email()
    assert client.get("/emails/").status_code == 404
    assert client.get(page.url or "/emails/email/").status_code == 404
    assert client.get(f"/emails/{page.slug}/").status_code == 404


def test_private_pages_have_no_url_but_know_their_site(email_site):
    """No "View live" link, yet an email still finds its site, hence its brand settings:
    the footer and postal address every marketing mail must carry."""
    from wagtail.models import Site

    from wagtail_journeys.models import BrandSettings

    site = Site.objects.get(is_default_site=True)
    brand = BrandSettings.for_site(site)
    brand.postal_address = "1 Test Street, 75001 Paris"
    brand.save()
    email = make_email([text("Hello")])
    assert email.url is None
    assert email.get_site() == site
    assert email_index().get_site() == site
    from wagtail_journeys.emails.render import render_for

    received = render_for(email.specific, make_contact())  # as a contact receives it
    assert "1 Test Street, 75001 Paris" in received.html


def test_page_type_rules(email_site):
    index = email_index()
    assert EmailPage.allowed_parent_page_models() == [EmailIndexPage]
    assert index.specific.can_create_at(index.get_parent()) is False  # one folder per parent


def edit_data(page, **fields):
    data = {
        "title": page.title,
        "slug": page.slug,
        "subject": page.subject,
        "preheader": "",
        "from_name": "",
        "from_email": "",
        "preview_contact": "",
        "body": streamfield([("text", rich_text("<p>Hello</p>"))]),
    }
    data.update(fields)
    return nested_form_data(data)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subject", "Hi {{ contact.__class__ }}", "is not a merge tag"),
        ("subject", "Hi {{ contact.firstname }}", "Did you mean"),
        ("preheader", "{% include 'secret.html' %}", "template tags"),
        ("subject", "{{ contact.first_name|attr('__class__') }}", "Unknown filter"),
        ("subject", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "merge tag"),
        ("subject", "{% for x in event.items %}{{ x.name }}", "cannot be read"),
        ("subject", "{{ ((((((((((((((((((((( }}", "cannot be read"),
        ("preheader", "{% raw %}{{ x }}{% endraw %}", "template tags"),
        ("preheader", "{{ event.total + 1 }}", "merge tag"),
    ],
)
def test_bad_merge_tags_are_reported_on_save(editor, field, value, message):
    page = make_email()
    response = editor.post(f"/admin/pages/{page.pk}/edit/", edit_data(page, **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert EmailPage.objects.get(pk=page.pk).latest_revision.content[field] != value


def test_bad_merge_tags_in_body_blocks_are_reported_on_save(editor):
    page = make_email()
    data = edit_data(
        page, body=streamfield([("text", rich_text("<p>{{ contact.__class__ }}</p>"))])
    )
    response = editor.post(f"/admin/pages/{page.pk}/edit/", data)
    assert response.status_code == 200
    assert "is not a merge tag" in response.content.decode()


def test_preview_shows_subject_preheader_and_escapes(editor):
    make_contact(email="xss@example.com", first_name=XSS)
    page = make_email(
        [text("<p>Hi {{ contact.first_name }}</p>")],
        subject="Hello {{ contact.first_name }}",
        preheader="Pre {{ contact.first_name }}",
    )
    response = editor.get(
        f"/admin/pages/{page.pk}/view_draft/?mode=contact&contact=xss@example.com"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert XSS not in html
    assert "Hello &lt;script&gt;" in html and "Pre &lt;script&gt;" in html
    text_mode = editor.get(f"/admin/pages/{page.pk}/view_draft/?mode=text&contact=xss@example.com")
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;" in text_mode.content.decode()


def test_preview_modes_list_segments(bookshop_emails):
    welcome = EmailPage.objects.get(slug="welcome")
    modes = dict(welcome.preview_modes)
    for segment in Segment.objects.filter(slug__in=["mr", "mrs"]):
        assert modes[f"segment-{segment.pk}"] == f"Segment: {segment.name}"
    assert {"", "contact", "text"} <= set(modes)


def test_mjml_error_is_shown_in_preview(editor, monkeypatch):
    page = make_email()
    from wagtail_journeys.emails import compiler

    monkeypatch.setattr(compiler, "render_mjml", lambda *a, **k: "<mjml><mj-body>")
    response = editor.get(f"/admin/pages/{page.pk}/view_draft/")
    assert "This email cannot be rendered" in response.content.decode()
    assert "MJML error" in response.content.decode()


def test_send_test_goes_to_the_editor_personalised(editor):
    contact = make_contact(email="bob@example.com", first_name="Bob")
    page = make_email(subject="Hello {{ contact.first_name }}")
    edit = editor.get(f"/admin/pages/{page.pk}/edit/")
    assert f"/admin/journeys/emails/{page.pk}/send-test/" in edit.content.decode()
    response = editor.post(
        f"/admin/journeys/emails/{page.pk}/send-test/", {"contact": contact.email}
    )
    assert response.status_code == 302
    (sent,) = mail.outbox
    assert sent.to == ["editor@bookshop.example"] and sent.subject == "[Test] Hello Bob"
    assert not Message.objects.exists()
    unknown = editor.post(f"/admin/journeys/emails/{page.pk}/send-test/", {"contact": "no@x.org"})
    assert "No contact has this email address" in unknown.content.decode()


def test_preview_fills_a_scenarios_values_from_a_realistic_sample(editor):
    from tests.scenarios.factories import add, make_scenario
    from wagtail_journeys.models import SendEmailStep, UpdateContactStep

    page = make_email(
        [text("<p>Code {{ promo_code }} / {{ voucher_code }} for {{ event.title }}</p>")],
        subject="Your {{ event.amount }} order",
    )
    scenario = make_scenario(trigger_filters={"title": "Dune"})
    add(scenario, UpdateContactStep, promo_code_prefix="WELCOME")
    add(scenario, SendEmailStep, email=page)
    html = editor.get(f"/admin/pages/{page.pk}/view_draft/").content.decode()
    assert "[promo_code]" not in html and "[voucher_code]" not in html
    assert "Code WELCOME-7F3A9C21D0 / WELCOME-7F3A9C21D0 for Dune" in html
    assert "Your 42.50 order" in html
    samples = html[html.index('data-testid="preview-samples"') :].split("</p>")[0]
    assert "<code>event.title</code> = <code>Dune</code>" in samples
    assert "<code>promo_code</code>" in samples and "cart_url" not in samples
    assert "would be held" not in html


def test_preview_and_test_send_warn_when_a_required_tag_would_be_empty(editor):
    page = make_email(
        [text("<p>Tier: {{ contact.attributes.tier|required }}</p>")], subject="Hello"
    )
    html = editor.get(f"/admin/pages/{page.pk}/view_draft/?mode=contact").content.decode()
    assert "would be held, not mailed: required merge tag {{ contact.attributes.tier }}" in html
    response = editor.post(f"/admin/journeys/emails/{page.pk}/send-test/", {"contact": ""})
    assert response.status_code == 302
    (sent,) = mail.outbox
    assert sent.subject.startswith("[Test, would be held: required merge tag")
    warnings = [str(m) for m in response.wsgi_request._messages]
    assert any("would be held" in w for w in warnings)
    make_contact(email="gold@example.com", attributes={"tier": "gold"})
    html = editor.get(
        f"/admin/pages/{page.pk}/view_draft/?mode=contact&contact=gold@example.com"
    ).content.decode()
    assert "Tier: gold" in html and "would be held" not in html


def test_send_test_to_several_addresses(editor):
    """Commas, semicolons and new lines separate addresses; each gets a mail of its own;
    the same address twice gets one; those who may see contacts are told plainly which
    addresses are not contacts."""
    make_contact(email="ann@example.com", first_name="Ann")
    page = make_email(subject="Hello {{ contact.first_name }}")
    url = f"/admin/journeys/emails/{page.pk}/send-test/"
    form = editor.get(url).content.decode()
    assert 'name="to"' in form and "editor@bookshop.example" in form
    response = editor.post(
        url, {"to": "ann@example.com, Bob@Team.example;\nann@example.com\ncarl@team.example"}
    )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == [
        "Bob@Team.example",
        "ann@example.com",
        "carl@team.example",
    ]
    assert all(len(m.to) == 1 and m.subject == "[Test] Hello Alex" for m in mail.outbox)
    notes = [str(m) for m in response.wsgi_request._messages]
    assert "Bob@Team.example, carl@team.example are not contacts." in notes


@pytest.mark.parametrize(
    "to, error",
    [
        ("ann@example.com, not-an-address", "This is not an email address: not-an-address."),
        (", ".join(f"p{i}@team.example" for i in range(11)), "at most 10 addresses at once"),
        (f"a@team.example {XSS}", "&lt;script&gt;"),
    ],
)
def test_send_test_refuses_bad_or_too_many_addresses(editor, to, error):
    page = make_email()
    response = editor.post(f"/admin/journeys/emails/{page.pk}/send-test/", {"to": to})
    assert response.status_code == 200
    assert error in response.content.decode() and XSS not in response.content.decode()
    assert mail.outbox == []


def test_send_test_says_nothing_about_contacts_to_those_who_may_not_see_them(client, email_site):
    from tests.users import editor_without_contacts

    client.force_login(editor_without_contacts(email_index()))
    page = make_email()
    response = client.post(
        f"/admin/journeys/emails/{page.pk}/send-test/", {"to": "editor@staff.example, x@y.example"}
    )
    assert response.status_code == 302 and len(mail.outbox) == 2
    notes = " ".join(str(m) for m in response.wsgi_request._messages)
    assert "not a contact" not in notes and "not contacts" not in notes


def test_a_test_for_a_real_contact_goes_to_the_editor_only(editor):
    contact = make_contact(email="bob@example.com", first_name="Bob")
    page = make_email()
    response = editor.post(
        f"/admin/journeys/emails/{page.pk}/send-test/",
        {"contact": contact.email, "to": "editor@bookshop.example, friend@elsewhere.example"},
    )
    assert "goes to your own address only" in response.content.decode()
    assert mail.outbox == []


def test_preview_with_images_off_shows_their_alt_text(editor, settings, tmp_path):
    from wagtail.images.models import Image
    from wagtail.images.tests.utils import get_test_image_file

    settings.MEDIA_ROOT = str(tmp_path)
    image = Image.objects.create(title="Cover", file=get_test_image_file(size=(800, 400)))
    page = make_email(
        [{"type": "image", "value": {"image": image.pk, "alt": "The summer covers", "link": ""}}]
    )
    modes = dict(page.preview_modes)
    assert modes["no-images"] == "Images off" and "dark" in modes
    normal = editor.get(f"/admin/pages/{page.pk}/view_draft/").content.decode()
    off = editor.get(f"/admin/pages/{page.pk}/view_draft/?mode=no-images").content.decode()
    assert "/media/images/" in normal
    assert "/media/images/" not in off and "The summer covers" in off
    assert "&lt;img" in off  # the image is still there, with its alt text and no source


def test_preview_in_dark_mode_inverts_the_email_but_not_its_images(editor):
    page = make_email([text("<p>Night reading</p>")])
    dark = editor.get(f"/admin/pages/{page.pk}/view_draft/?mode=dark").content.decode()
    normal = editor.get(f"/admin/pages/{page.pk}/view_draft/").content.decode()
    assert "Night reading" in dark
    assert "filter:invert(1) hue-rotate(180deg)" in dark
    assert "invert(1)" not in normal


def test_preview_warns_when_gmail_would_clip_the_email(editor):
    small = make_email([text("<p>Short and sweet</p>")])
    paragraphs = "".join(f"<p>Chapter {i}: {'words ' * 40}</p>" for i in range(500))
    big = make_email([text(paragraphs)])
    warning = "Gmail clips emails over 102 KB"
    assert warning not in editor.get(f"/admin/pages/{small.pk}/view_draft/").content.decode()
    html = editor.get(f"/admin/pages/{big.pk}/view_draft/").content.decode()
    assert warning in html
    import re

    assert int(re.search(r"HTML weighs (\d+) KB", html)[1]) > 102


def test_brand_colours_have_a_colour_picker_and_refuse_what_is_not_hex(editor):
    from lxml import html as lxml_html
    from wagtail.models import Site

    from wagtail_journeys.models import BrandSettings

    site = Site.objects.get(is_default_site=True)
    url = f"/admin/settings/wagtail_journeys/brandsettings/{site.pk}/"
    tree = lxml_html.fromstring(editor.get(url).content)
    (picker,) = tree.xpath("//input[@type='color'][@id='id_primary_color-picker']")
    assert picker.get("value") == "#1d4ed8"
    assert picker.get("data-w-sync-target-value") == "#id_primary_color"
    text_input = tree.get_element_by_id("id_primary_color")
    assert text_input.get("data-w-sync-target-value") == "#id_primary_color-picker"
    assert len(tree.xpath("//input[@type='color']")) == 7

    brand = BrandSettings.for_site(site)
    data = {
        f.name: getattr(brand, f.name)
        for f in BrandSettings._meta.fields
        if f.name.endswith(("_color", "family"))
    }
    data.update(primary_color="red;}a{", footer_text="", postal_address="")
    response = editor.post(url, data)
    assert "Enter a colour such as #1d4ed8." in response.content.decode()
    assert 'value="red;}a{"' in response.content.decode()  # kept for correcting
    data["primary_color"] = "#7C2D12"
    assert editor.post(url, data).status_code == 302
    assert BrandSettings.for_site(site).primary_color == "#7C2D12"


def test_preview_warns_about_tags_that_are_empty_for_the_contact(editor):
    page = make_email(
        [text("<p>Hi {{ contact.first_name }}, {{ contact.attributes.tier }}!</p>")],
        subject='For {{ contact.last_name|default("you") }} {{ event.title }}',
    )
    make_contact(email="nameless@example.com", first_name="", last_name="")
    html = editor.get(
        f"/admin/pages/{page.pk}/view_draft/?mode=contact&contact=nameless@example.com"
    ).content.decode()
    warning = html[html.index('data-testid="preview-empty"') :].split("</p>")[0]
    assert 'Empty for this contact (add a fallback such as default("there"))' in warning
    assert "<code>{{ contact.first_name }}</code>" in warning
    assert "<code>{{ contact.attributes.tier }}</code>" in warning
    assert "last_name" not in warning  # it has a fallback
    assert "event.title" not in warning  # the preview's sample fills it
    make_contact(email="full@example.com", first_name="Ada", attributes={"tier": "gold"})
    html = editor.get(
        f"/admin/pages/{page.pk}/view_draft/?mode=contact&contact=full@example.com"
    ).content.decode()
    assert "Hi Ada, gold!" in html and 'data-testid="preview-empty"' not in html
