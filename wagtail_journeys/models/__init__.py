"""All models of the app, one module per feature, under the one ``wagtail_journeys`` label."""

from .contacts import Contact, ContactTag, EmailStatus, Visitor
from .emails import BrandSettings, EmailIndexPage, EmailPage
from .enrollments import Enrollment, EnrollmentStatus, ScenarioPlan, StepRun
from .events import Event, EventCursor, EventSource
from .messages import Message, MessageStatus
from .scenarios import (
    Branch,
    ConditionStep,
    ExitStep,
    NotifyStep,
    ScenarioIndexPage,
    ScenarioPage,
    SendEmailStep,
    SendSMSStep,
    SplitStep,
    StartScenarioStep,
    UpdateContactStep,
    WaitStep,
)
from .segments import Segment

__all__ = [
    "BrandSettings",
    "Branch",
    "ConditionStep",
    "Contact",
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
    "Message",
    "MessageStatus",
    "NotifyStep",
    "ScenarioIndexPage",
    "ScenarioPage",
    "ScenarioPlan",
    "Segment",
    "SendEmailStep",
    "SendSMSStep",
    "SplitStep",
    "StartScenarioStep",
    "StepRun",
    "UpdateContactStep",
    "Visitor",
    "WaitStep",
]
