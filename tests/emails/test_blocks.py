"""Blocks that reach outside the email: images (absolute renditions) and the demo seed."""

from __future__ import annotations

from django.core.management import call_command
from lxml import html as lxml_html
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from tests.emails.factories import make_contact, make_email
from wagtail_journeys.emails import render_for
from wagtail_journeys.models import EmailPage, Segment


def test_image_block_uses_an_absolute_rendition_url(email_site, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = Image.objects.create(title="Cover", file=get_test_image_file(size=(1600, 900)))
    page = make_email(
        [{"type": "image", "value": {"image": image.pk, "alt": "A cover", "link": ""}}]
    )
    tree = lxml_html.document_fromstring(render_for(page, make_contact()).html)
    (img,) = [i for i in tree.iter("img") if i.get("alt") == "A cover"]
    assert img.get("src").startswith("http://localhost:8000/media/images/")
    assert ".width-1200" in img.get("src")


def test_demo_emails_are_created_once(bookshop):
    before = (EmailPage.objects.count(), Segment.objects.count())
    call_command("journeys_demo", contacts=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (EmailPage.objects.count(), Segment.objects.count()) == before
    assert before[0] >= 7  # the seven seed emails, plus those only the demo scenarios use
    assert {p.slug for p in EmailPage.objects.live()} >= {"welcome", "birthday", "win-back"}


def test_every_email_block_has_an_icon_of_its_own(db):
    """Each block an editor can insert shows a Wagtail icon that exists (a missing one
    draws nothing) and says what it is; no two of the body's blocks share one."""
    from wagtail import blocks as wagtail_blocks
    from wagtail import hooks

    from wagtail_journeys.emails.blocks import EmailBodyBlock

    icons = []
    for register in hooks.get_hooks("register_icons"):
        icons = register(icons)
    available = {path.rsplit("/", 1)[-1].removesuffix(".svg") for path in icons}

    def insertable(stream):
        for name, block in stream.child_blocks.items():
            yield name, block
            children = getattr(block, "child_blocks", {})
            for child in children.values():
                if isinstance(child, wagtail_blocks.StreamBlock):
                    yield from insertable(child)

    body = EmailBodyBlock()
    seen = dict(insertable(body))
    assert {"heading", "text", "button", "divider", "spacer", "segment"} <= set(seen)
    for name, block in seen.items():
        icon = block.meta.icon
        assert icon != "placeholder", f"{name} has Wagtail's default icon"
        assert icon in available, f"{name}: no icon named {icon}"
    top = [block.meta.icon for block in body.child_blocks.values()]
    assert len(top) == len(set(top))
