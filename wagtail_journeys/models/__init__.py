"""All models of the app, one module per feature, under the one ``wagtail_journeys`` label."""

from .analytics import LinkDay, MailDay, StepDay
from .contacts import Contact, ContactTag, EmailStatus, Visitor
from .emails import BrandSettings, EmailIndexPage, EmailPage
from .enrollments import (
    Enrollment,
    EnrollmentStatus,
    ScenarioPlan,
    SegmentTriggerMember,
    StepRun,
)
from .events import TRUST, Event, EventCursor, EventSource, Trust, sources_of
from .imports import ContactImport, ImportStatus
from .messages import Message, MessageStatus
from .privacy import (
    ConsentAction,
    ConsentChannel,
    ConsentRecord,
    ConsentSource,
    Suppression,
    Topic,
    TopicSubscription,
)
from .promo_codes import PromoCode
from .scenarios import Paused, ScenarioIndexPage, ScenarioPage
from .segments import Segment
from .steps import (
    Branch,
    ConditionStep,
    ExitStep,
    NotifyStep,
    SendEmailStep,
    SendSMSStep,
    SplitStep,
    StartScenarioStep,
    UpdateContactStep,
    WaitStep,
)

__all__ = [
    "TopicSubscription",
    "Topic",
    "Suppression",
    "ConsentSource",
    "ConsentRecord",
    "ConsentChannel",
    "ConsentAction",
    "BrandSettings",
    "Branch",
    "ConditionStep",
    "Contact",
    "ContactImport",
    "ContactTag",
    "EmailIndexPage",
    "EmailPage",
    "EmailStatus",
    "Enrollment",
    "EnrollmentStatus",
    "Event",
    "EventCursor",
    "EventSource",
    "ExitStep",
    "ImportStatus",
    "LinkDay",
    "MailDay",
    "Message",
    "MessageStatus",
    "NotifyStep",
    "PromoCode",
    "ScenarioIndexPage",
    "Paused",
    "ScenarioPage",
    "ScenarioPlan",
    "Segment",
    "SegmentTriggerMember",
    "SendEmailStep",
    "SendSMSStep",
    "SplitStep",
    "StartScenarioStep",
    "StepDay",
    "StepRun",
    "TRUST",
    "Trust",
    "sources_of",
    "UpdateContactStep",
    "Visitor",
    "WaitStep",
]
