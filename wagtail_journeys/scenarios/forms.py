"""The page forms of scenarios and steps (``base_form_class``): property filters as rows,
weekdays as checkboxes, page types from a list, and step titles that may be left empty
(the step's summary, "Wait 3 days", becomes its title, and follows the step's settings for
as long as nobody types a title of their own). Widgets with suggestions are set on the
panels: a panel's widget replaces a form's ``Meta.widgets`` in Wagtail."""

from __future__ import annotations

import copy

from django import forms
from django.forms.models import construct_instance
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminPageForm

from .fields import PropertyFiltersField, WeekdaysField, page_type_choices

PRIVATE_TITLE_HELP = _("A name for editors: contacts and the public never see it.")
STEP_TITLE_HELP = _("Optional: left empty, the step is named after what it does, e.g. Wait 3 days.")


class PrivatePageForm(WagtailAdminPageForm):
    """Admin-only pages: the title is a name for editors, not a public headline."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "title" in self.fields:
            self.fields["title"].help_text = PRIVATE_TITLE_HELP


class ScenarioPageForm(PrivatePageForm):
    class Meta:
        field_classes = {
            "trigger_filters": PropertyFiltersField,
            "goal_filters": PropertyFiltersField,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "trigger_page_type" in self.fields:
            current = self.instance.trigger_page_type
            self.fields["trigger_page_type"].widget = forms.Select(
                choices=page_type_choices(current)
            )
            self.fields["trigger_page_type"].help_text = ""


class StepPageForm(PrivatePageForm):
    """Steps whose summary says what they do: the title may stay empty."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.automatic_title = not self.instance.pk or self.instance.title == self._summary(
            self.instance
        )
        if "title" in self.fields:
            self.fields["title"].required = False
            self.fields["title"].help_text = STEP_TITLE_HELP
            if self.automatic_title and not self.is_bound:
                self.initial["title"] = ""

    @staticmethod
    def _summary(step) -> str:
        from .summaries import summarize_step

        try:
            return summarize_step(step)[:255]
        except (ValueError, TypeError, AttributeError):
            return ""

    def clean(self):
        cleaned_data = super().clean()
        title = (cleaned_data.get("title") or "").strip()
        if "title" in self.fields and not title:
            step = construct_instance(self, copy.copy(self.instance))
            cleaned_data["title"] = self._summary(step) or str(type(step)._meta.verbose_name)
        return cleaned_data


class WaitStepForm(StepPageForm):
    class Meta:
        field_classes = {"event_filters": PropertyFiltersField, "weekdays": WeekdaysField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "weekdays" in self.fields:
            self.fields["weekdays"].help_text = ""


#: A branch's fields by the kind of step it leaves (its parent's model name); the rest
#: mean nothing there and are left out of its form.
BRANCH_FIELDS = {
    "conditionstep": {"rules", "match", "is_else"},
    "splitstep": {"percent"},
    "waitstep": {"outcome"},
}


class BranchForm(PrivatePageForm):
    """A branch asks only what its parent uses: a condition's rules (or "else"), a
    split's share, an event wait's outcome."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parent = self.parent_page or (self.instance.get_parent() if self.instance.pk else None)
        keep = BRANCH_FIELDS.get(type(parent.specific).__name__.lower()) if parent else None
        if keep is not None:
            for name in set().union(*BRANCH_FIELDS.values()) - keep:
                self.fields.pop(name, None)
