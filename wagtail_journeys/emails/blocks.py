"""The email blocks of ``EmailPage.body``.

Each block renders MJML through its own template under
``templates/wagtail_journeys/email_blocks/`` (override one to change a block's look).
Column-level blocks (text, image, button…) render MJML content elements; the compiler wraps
them in a section. Section-level blocks (columns, cards, segment) render whole sections.
Text that editors type is checked for merge tags on save.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

from . import mergetags

TEMPLATES = "wagtail_journeys/email_blocks/"
RICH_TEXT_FEATURES = ["bold", "italic", "link", "ol", "ul", "h3", "h4"]


class MergeTagsMixin:
    """Refuses text whose merge tags are unknown or outside the sandbox."""

    def clean(self, value):
        value = super().clean(value)
        source = value.source if hasattr(value, "source") else value
        problems = mergetags.validate(str(source or ""))
        if problems:
            raise ValidationError(" ".join(problems))
        return value


class TextBlock(MergeTagsMixin, blocks.CharBlock):
    pass


class MultilineBlock(MergeTagsMixin, blocks.TextBlock):
    pass


class RichTextBlock(MergeTagsMixin, blocks.RichTextBlock):
    def __init__(self, **kwargs):
        kwargs.setdefault("features", RICH_TEXT_FEATURES)
        kwargs.setdefault("template", TEMPLATES + "rich_text.mjml")
        kwargs.setdefault("icon", "pilcrow")
        super().__init__(**kwargs)

    class Meta:
        label = _("Text")


class LinkBlock(MergeTagsMixin, blocks.CharBlock):
    """An absolute URL that may hold merge tags (``https://shop/cart?u={{ … }}``)."""

    def clean(self, value):
        value = super().clean(value)
        if value and not value.startswith(("http://", "https://", "mailto:", "{{")):
            raise ValidationError(_("Enter an absolute URL starting with https://."))
        return value


class HeadingBlock(blocks.StructBlock):
    text = TextBlock(max_length=200)
    level = blocks.ChoiceBlock(
        choices=[("h1", _("Title")), ("h2", _("Heading")), ("h3", _("Subheading"))],
        default="h2",
    )

    class Meta:
        icon = "title"
        template = TEMPLATES + "heading.mjml"
        label = _("Heading")


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    alt = TextBlock(required=False, help_text=_("Describes the image for screen readers."))
    link = LinkBlock(required=False)

    class Meta:
        icon = "image"
        template = TEMPLATES + "image.mjml"
        label = _("Image")


class ButtonBlock(blocks.StructBlock):
    text = TextBlock(max_length=80)
    page = blocks.PageChooserBlock(required=False, help_text=_("A page of this site…"))
    url = LinkBlock(required=False, help_text=_("…or any URL (merge tags allowed)."))

    class Meta:
        icon = "link"
        template = TEMPLATES + "button.mjml"
        label = _("Button")

    def clean(self, value):
        value = super().clean(value)
        if not value.get("page") and not value.get("url"):
            raise blocks.StructBlockValidationError(
                {"url": ValidationError(_("Choose a page or enter a URL."))}
            )
        return value


class DividerBlock(blocks.StaticBlock):
    class Meta:
        icon = "minus"
        admin_text = _("A thin line across the email.")
        template = TEMPLATES + "divider.mjml"
        label = _("Divider")


class SpacerBlock(blocks.StructBlock):
    height = blocks.IntegerBlock(min_value=4, max_value=200, default=24)

    class Meta:
        icon = "order"
        template = TEMPLATES + "spacer.mjml"
        label = _("Spacer")


class VoucherBlock(blocks.StructBlock):
    heading = TextBlock(default="Your voucher")
    code = TextBlock(
        help_text=_(
            "A fixed code, or {{ promo_code|required }} for the code the scenario's "
            "Update-contact step issued (required: no code, no email)."
        )
    )
    description = MultilineBlock(required=False)
    expires_on = blocks.DateBlock(required=False)

    class Meta:
        icon = "tag"
        template = TEMPLATES + "voucher.mjml"
        label = _("Voucher")


class ColumnContentBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    text = RichTextBlock()
    image = ImageBlock()
    button = ButtonBlock()
    divider = DividerBlock()
    spacer = SpacerBlock()
    voucher = VoucherBlock()


class TwoColumnsBlock(blocks.StructBlock):
    left = ColumnContentBlock()
    right = ColumnContentBlock()

    section_level = True

    class Meta:
        icon = "grid"
        template = TEMPLATES + "columns.mjml"
        label = _("Two columns")


class ThreeColumnsBlock(blocks.StructBlock):
    left = ColumnContentBlock()
    middle = ColumnContentBlock()
    right = ColumnContentBlock()

    section_level = True

    class Meta:
        icon = "table"
        template = TEMPLATES + "columns.mjml"
        label = _("Three columns")


class CardsBlock(blocks.StructBlock):
    """Chosen pages as cards: image, title, summary and a link to the page."""

    pages = blocks.ListBlock(blocks.PageChooserBlock(), min_num=1, max_num=6)
    button_text = TextBlock(default="Read more", max_length=40)

    section_level = True

    class Meta:
        icon = "doc-full"
        template = TEMPLATES + "cards.mjml"
        label = _("Cards")


class TriggerItemsBlock(blocks.StructBlock):
    """The items of a list in the trigger event (a cart's), one row each: image, name,
    price and a button to the item; a text of its own when there is none."""

    list_name = blocks.RegexBlock(
        regex=r"^[a-z][a-z0-9_]*$",
        default="items",
        label=_("Event property"),
        help_text=_(
            "The list in the trigger event's properties, e.g. items: each item may have "
            "a name, image (URL), price and url."
        ),
        error_messages={"invalid": _("Letters a–z, digits and _ only.")},
    )
    currency = blocks.RegexBlock(
        regex=r"^[A-Z]{3}$",
        default="EUR",
        help_text=_("The prices' currency (EUR, USD, GBP…)."),
        error_messages={"invalid": _("A three-letter currency code such as EUR.")},
    )
    button_text = TextBlock(default="View", max_length=40)
    empty_text = TextBlock(
        required=False,
        default="",
        help_text=_("Shown when the event has no items (nothing is shown when empty)."),
    )

    section_level = True

    class Meta:
        icon = "list-ul"
        template = TEMPLATES + "trigger_items.mjml"
        label = _("Items from the trigger event")


class ConditionBlock(blocks.CharBlock):
    """A condition in the merge-tag language, without ``{% %}``: ``contact.attributes.vip``,
    ``event.total > 50``."""

    def clean(self, value):
        value = super().clean(value)
        if any(c in value for c in "{}%"):
            raise ValidationError(_("Write the condition without {% %} or {{ }}."))
        problems = mergetags.validate(f"{{% if {value} %}}{{% endif %}}")
        if problems:
            raise ValidationError(" ".join(problems))
        return value


def content_blocks() -> list[tuple[str, blocks.Block]]:
    """The blocks allowed at the top of an email and inside a segment block."""
    return [
        ("heading", HeadingBlock()),
        ("text", RichTextBlock()),
        ("image", ImageBlock()),
        ("button", ButtonBlock()),
        ("divider", DividerBlock()),
        ("spacer", SpacerBlock()),
        ("two_columns", TwoColumnsBlock()),
        ("three_columns", ThreeColumnsBlock()),
        ("cards", CardsBlock()),
        ("voucher", VoucherBlock()),
        ("trigger_items", TriggerItemsBlock()),
    ]


class SegmentContentBlock(blocks.StreamBlock):
    def __init__(self, **kwargs):
        super().__init__(content_blocks(), **kwargs)


class SegmentBlock(blocks.StructBlock):
    """Blocks shown only to contacts in a segment, with an optional alternative for
    everyone else. Each combination of segments is compiled once (a "variant")."""

    segment = SnippetChooserBlock("wagtail_journeys.Segment")
    body = SegmentContentBlock(help_text=_("Shown to contacts in the segment."))
    everyone_else = SegmentContentBlock(
        required=False, help_text=_("Shown to everyone else (optional).")
    )

    section_level = True

    class Meta:
        icon = "group"
        template = TEMPLATES + "segment.mjml"
        label = _("Segment-specific content")


class ShowIfBlock(blocks.StructBlock):
    """Blocks shown only when a condition on merge values holds for the contact, with an
    optional alternative (decided per contact when the email is filled: one compiled
    email serves everyone)."""

    condition = ConditionBlock(
        max_length=300,
        label=_("Show if"),
        help_text=_(
            "A merge value, or a comparison: contact.attributes.vip, event.total > 50, "
            'contact.locale == "fr".'
        ),
    )
    body = SegmentContentBlock(help_text=_("Shown when the condition holds."))
    otherwise = SegmentContentBlock(required=False, help_text=_("Shown otherwise (optional)."))

    section_level = True

    class Meta:
        icon = "help"
        template = TEMPLATES + "show_if.mjml"
        label = _("Show if…")


class EmailBodyBlock(blocks.StreamBlock):
    """Everything an email's body can hold."""

    def __init__(self, **kwargs):
        super().__init__(
            [*content_blocks(), ("segment", SegmentBlock()), ("show_if", ShowIfBlock())],
            **kwargs,
        )

    class Meta:
        label = _("Body")


def _label_children(block_class, **labels) -> None:
    """Translatable labels for the fields of a struct block, set on its declared children
    rather than passed to them: a block's constructor arguments go into migrations, and a
    label is only words for the editor."""
    for name, label in labels.items():
        block_class.base_blocks[name].label = label


_label_children(HeadingBlock, text=_("Text"), level=_("Level"))
_label_children(ImageBlock, image=_("Image"), alt=_("Alt"), link=_("Link"))
_label_children(ButtonBlock, text=_("Text"), page=_("Page"), url=_("Url"))
_label_children(SpacerBlock, height=_("Height"))
_label_children(
    VoucherBlock,
    heading=_("Heading"),
    code=_("Code"),
    description=_("Description"),
    expires_on=_("Expires on"),
)
_label_children(TwoColumnsBlock, left=_("Left"), right=_("Right"))
_label_children(ThreeColumnsBlock, left=_("Left"), middle=_("Middle"), right=_("Right"))
_label_children(CardsBlock, pages=_("Pages"), button_text=_("Button text"))
_label_children(
    SegmentBlock, segment=_("Segment"), body=_("Body"), everyone_else=_("Everyone else")
)
_label_children(
    TriggerItemsBlock,
    currency=_("Currency"),
    button_text=_("Button text"),
    empty_text=_("Empty text"),
)
_label_children(ShowIfBlock, body=_("Body"), otherwise=_("Otherwise"))
