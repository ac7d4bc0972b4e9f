"""The example bookshop: a home page, books tagged by author and genre, and two forms."""

from django.db import models
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.contrib.forms.panels import FormSubmissionsPanel
from wagtail.fields import RichTextField
from wagtail.models import Page


class HomePage(Page):
    intro = RichTextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["shop.BookIndexPage", "shop.FormPage", "wagtail_journeys.EmailIndexPage"]

    def get_context(self, request, *args, **kwargs):
        """The pages a visitor can open: live, public, and served at a URL (the folders
        of emails and scenarios live here too, but only for the admin)."""
        context = super().get_context(request, *args, **kwargs)
        children = self.get_children().live().public().specific()
        context["links"] = [
            (child, url) for child in children if (url := child.get_url(request=request))
        ]
        return context


class BookIndexPage(Page):
    intro = RichTextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["shop.HomePage"]
    subpage_types = ["shop.BookPage"]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["books"] = BookPage.objects.child_of(self).live().order_by("title")
        return context


class BookPageTag(TaggedItemBase):
    content_object = ParentalKey("shop.BookPage", on_delete=models.CASCADE, related_name="tagged")


class BookPage(Page):
    author = models.CharField(max_length=200)
    genre = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    summary = models.TextField(blank=True)
    tags = ClusterTaggableManager(through=BookPageTag, blank=True)

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("author"), FieldPanel("genre"), FieldPanel("price")]),
        FieldPanel("summary"),
        FieldPanel("tags"),
    ]
    parent_page_types = ["shop.BookIndexPage"]
    subpage_types = []


class FormField(AbstractFormField):
    page = ParentalKey("shop.FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    """Newsletter signup, white-paper download: any form with an email field identifies."""

    intro = RichTextField(blank=True)
    thank_you_text = RichTextField(blank=True)

    content_panels = [
        FormSubmissionsPanel(),
        *AbstractEmailForm.content_panels,
        FieldPanel("intro"),
        InlinePanel("form_fields", label="Form fields"),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            "Email",
        ),
    ]
    parent_page_types = ["shop.HomePage"]
    subpage_types = []
