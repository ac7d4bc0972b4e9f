"""The segment editor's form: a new segment saves on the first try without a typed slug.

The slug follows the name as it is typed (Wagtail's ``TitleFieldPanel`` and slug widget,
as on a page's title), only while the segment is new: an existing segment keeps its
slug when renamed. Left empty, the slug is made from the name, like Wagtail does for a
page whose form has no slug field, with a ``-2``, ``-3``… suffix when it is taken.
"""

from __future__ import annotations

from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import TitleFieldPanel

SLUG_HELP = _("Left empty, it is made from the name.")


class NameFieldPanel(TitleFieldPanel):
    """The name, filling the slug as it is typed while the segment is new."""

    class BoundPanel(TitleFieldPanel.BoundPanel):
        def get_should_apply(self):
            return not (self.instance and self.instance.pk)


def unique_slug(model, name: str, exclude_pk=None) -> str:
    """``slugify(name)`` (or the model's name when that is empty), suffixed until free."""
    field = model._meta.get_field("slug")
    base = slugify(name, allow_unicode=field.allow_unicode)[: field.max_length - 6] or slugify(
        str(model._meta.verbose_name)
    )
    taken = model.objects.exclude(pk=exclude_pk)
    candidate, suffix = base, 1
    while taken.filter(slug=candidate).exists():
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


class SegmentForm(WagtailAdminModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = SLUG_HELP

    def clean(self):
        cleaned_data = super().clean()
        if "slug" in self.fields and not cleaned_data.get("slug") and cleaned_data.get("name"):
            cleaned_data["slug"] = unique_slug(
                self._meta.model, cleaned_data["name"], exclude_pk=self.instance.pk
            )
        return cleaned_data
