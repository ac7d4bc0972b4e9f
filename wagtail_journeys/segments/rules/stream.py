"""``RulesBlock``: the StreamBlock of every rule type, reusable by any model."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from .events import (
    EmailEngagementRuleBlock,
    EventAggregateRuleBlock,
    EventCountRuleBlock,
    InactivityRuleBlock,
    ReferralRuleBlock,
)
from .profile import (
    AttributeRuleBlock,
    CivilityRuleBlock,
    ConsentRuleBlock,
    FieldRuleBlock,
    LocaleRuleBlock,
    TagsRuleBlock,
    TopicRuleBlock,
)
from .special import BirthdayRuleBlock, InSegmentRuleBlock, SampleRuleBlock


class RulesBlock(blocks.StreamBlock):
    """A list of rules, combined with ALL or ANY by the model that holds them.

    Use it as ``rules = StreamField(RulesBlock(), blank=True)`` and evaluate the value with
    :func:`wagtail_journeys.segments.compile_rules` and friends.
    """

    field = FieldRuleBlock()
    attribute = AttributeRuleBlock()
    civility = CivilityRuleBlock()
    locale = LocaleRuleBlock()
    tags = TagsRuleBlock()
    birthday = BirthdayRuleBlock()
    event = EventCountRuleBlock()
    event_total = EventAggregateRuleBlock()
    inactive = InactivityRuleBlock()
    referral = ReferralRuleBlock()
    email_engagement = EmailEngagementRuleBlock()
    consent = ConsentRuleBlock()
    topic = TopicRuleBlock()
    sample = SampleRuleBlock()
    in_segment = InSegmentRuleBlock()

    class Meta:
        label = _("Rules")
        required = False
