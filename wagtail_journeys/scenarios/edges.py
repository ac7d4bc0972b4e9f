"""The edges of the loop checker's graph: every way one scenario can fire another's trigger.

A step causes *effects* for its contact: a Start-scenario step enrols it directly; a Send
step leads to ``email_sent``, ``email_opened``, ``email_clicked`` and ``unsubscribed``
events, to the ESP's ``email_delivered``, ``email_bounced``, ``email_complained`` and
``email_rejected`` and, through its links, to ``page_view`` and ``form_submitted`` events;
a Notify step to the events its receiver posts back (``posts_back``, the only ones the app cannot
see); an Update-contact step changes tags, attributes or the email status, which can bring
the contact into a segment. An effect *fires* a trigger when the trigger could match it:
an event trigger on that name whose filters the event can satisfy, a page-view trigger on
that page, an engagement trigger on that email, a segment-entered trigger whose segment's
rules the effect can make true. Pure: Plans and ``World`` facts in, edges out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from .plan import Plan, Step

#: What every event about a message carries besides the email (``Message.event_properties``).
_MESSAGE = frozenset({"message_id", "message", "scenario_id", "step_id", "variant"})
_ENGAGED = _MESSAGE | {"first", "machine", "why"}
#: Events the engine, the tracking views and ESP feedback record for a sent email (all
#: carry the email), with the properties whose values are not known in advance.
EMAIL_EVENTS = {
    "email_sent": _MESSAGE,
    "email_opened": _ENGAGED,
    "email_clicked": _ENGAGED | {"link", "url"},
    "unsubscribed": _MESSAGE | {"esp"},
    "email_delivered": _MESSAGE | {"esp"},
    "email_bounced": _MESSAGE | {"esp", "bounce", "reason", "detail"},
    "email_complained": _MESSAGE | {"esp", "reason", "detail"},
    "email_rejected": _MESSAGE | {"esp", "reason", "detail"},
}
#: What a page view records besides the page's id, type and tags (unknown in advance).
PAGE_VIEW_OPEN = frozenset({"path", "referrer"})
#: Events the inactivity rule's "any event" leaves out (what we did, not what they did).
PASSIVE_EVENTS = frozenset({"email_sent"})


@dataclass(frozen=True)
class PageFacts:
    """What a page view or form post of a linked page records about the page."""

    type: str
    tags: tuple[str, ...] = ()
    slug: str = ""
    title: str = ""
    form: bool = False


#: A contact's possible email statuses (``Contact.email_status``).
EMAIL_STATUSES = frozenset({"subscribed", "pending", "unsubscribed", "bounced", "complained"})


@dataclass(frozen=True)
class Inputs:
    """What can bring a contact into a segment (or out of it): events (by name, with the
    rule's property filters ``(key, operator, value)``; or any but the passive ones), tags
    added or removed, attributes set (key -> the values that can, ``None``: any), email
    statuses set, and other contact fields (which no step changes)."""

    events: frozenset[tuple[str, tuple[tuple[str, str, str], ...]]] = frozenset()
    any_event: bool = False
    added_tags: frozenset[str] = frozenset()
    removed_tags: frozenset[str] = frozenset()
    attributes: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    statuses: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()

    def __or__(self, other: Inputs) -> Inputs:
        attributes = dict(self.attributes)
        for key, values in other.attributes.items():
            mine = attributes.get(key, frozenset())
            attributes[key] = None if mine is None or values is None else mine | values
        return Inputs(
            self.events | other.events,
            self.any_event or other.any_event,
            self.added_tags | other.added_tags,
            self.removed_tags | other.removed_tags,
            attributes,
            self.statuses | other.statuses,
            self.fields | other.fields,
        )


@dataclass(frozen=True)
class World:
    """Facts about the site the edges depend on: the pages emails link to, and what can
    bring a contact into each segment a segment-entered trigger watches."""

    pages: Mapping[int, PageFacts] = field(default_factory=dict)
    segments: Mapping[int, Inputs] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    """An event a step can cause (``event``, with the properties it is known to carry and
    those it may carry, ``None``: any), or a change to the contact (tags added or
    removed, attributes set to values, ``None``: not known in advance, an email status).
    ``via`` names it in the checker's messages."""

    via: str
    event: str = ""
    known: Mapping[str, Any] = field(default_factory=dict)
    open: frozenset[str] | None = frozenset()
    added_tags: frozenset[str] = frozenset()
    removed_tags: frozenset[str] = frozenset()
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    status: str = ""


@dataclass(frozen=True)
class Edge:
    """``step`` of a scenario can start scenario ``target`` (``via`` an effect, or directly
    when empty); ``guarded`` when the step sits in a branch of a condition."""

    target: int
    guarded: bool
    step: str
    via: str = ""


def effects(step: Step, world: World) -> list[Effect]:
    """What ``step`` can cause for its contact, besides a direct start."""
    c = step.config
    if step.kind == "send_email" and c.get("email_id"):
        email = {"email_page_id": c["email_id"]}
        out = [Effect(name, name, email, open) for name, open in EMAIL_EVENTS.items()]
        for page_id in c.get("links", ()):
            page = world.pages.get(page_id)
            if page is None:  # not known: a view or a form post of that page, at least
                for name in ("page_view", "form_submitted"):
                    via = _("%(event)s of page %(id)s") % {"event": name, "id": page_id}
                    out.append(Effect(via, name, {"page_id": page_id}, None))
                continue
            viewed = {"page_id": page_id, "page_type": page.type, "tags": list(page.tags)}
            via = _("page_view of '%(title)s'") % {"title": page.title}
            out.append(Effect(via, "page_view", viewed, PAGE_VIEW_OPEN))
            if page.form:
                posted = {
                    "page_id": page_id,
                    "page_type": page.type,
                    "form": page.slug,
                    "title": page.title,
                }
                via = _("form_submitted of '%(title)s'") % {"title": page.title}
                out.append(Effect(via, "form_submitted", posted, frozenset({"submission_id"})))
        return out
    if step.kind == "notify":
        return [Effect(name, name, {}, None) for name in c.get("posts_back", ())]
    if step.kind == "update_contact":
        added = frozenset(c.get("add_tags", ()))
        removed = frozenset(c.get("remove_tags", ()))
        attributes = {k: str(v) for k, v in (c.get("attributes") or {}).items()}
        if c.get("promo_code_prefix"):
            attributes["promo_code"] = None
        status = c.get("email_status") or ""
        changes = [_("tag %(tag)s added") % {"tag": t} for t in sorted(added)]
        changes += [_("tag %(tag)s removed") % {"tag": t} for t in sorted(removed)]
        changes += [_("attribute %(key)s") % {"key": a} for a in sorted(attributes)]
        changes += [_("email status %(status)s") % {"status": status}] if status else []
        if changes:
            via = ", ".join(changes)
            return [
                Effect(
                    via,
                    added_tags=added,
                    removed_tags=removed,
                    attributes=attributes,
                    status=status,
                )
            ]
    return []


def _changes_bring_in(effect: Effect, inputs: Inputs) -> bool:
    if effect.added_tags & inputs.added_tags or effect.removed_tags & inputs.removed_tags:
        return True
    if effect.status and effect.status in inputs.statuses:
        return True
    for key, value in effect.attributes.items():
        if key in inputs.attributes:
            values = inputs.attributes[key]
            if values is None or value is None or value in values:
                return True
    return False


def may_match(filters: Mapping[str, Any], effect: Effect) -> bool:
    """Could an event of ``effect`` pass these property filters? (A property it carries
    with an unknown value may; one it never carries only matches a filter for null.)"""
    for key, wanted in filters.items():
        if key in effect.known:
            value = effect.known[key]
        elif effect.open is None or key in effect.open:
            continue
        else:
            value = None
        if isinstance(wanted, list | tuple):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def _filter_may_hold(effect: Effect, key: str, operator: str, value: str) -> bool:
    """Could an event of ``effect`` pass one property filter of a segment rule?"""
    if key not in effect.known:
        return effect.open is None or key in effect.open or operator == "is_empty"
    known = effect.known[key]
    if operator == "equals":
        return str(known) == value
    if operator == "in_list":
        return str(known) in {v.strip() for v in value.split(",")}
    if operator == "contains":
        return value in known if isinstance(known, list) else value in str(known)
    return True


def _page_view_may_match(trigger: Mapping, effect: Effect) -> bool:
    known = effect.known
    for key, wanted in (("page_id", trigger["page_id"]), ("page_type", trigger["page_type"])):
        if wanted and key in known and known[key] != wanted:
            return False
    tag = trigger.get("page_tag")
    if tag and "tags" in known and tag not in known["tags"]:
        return False
    return may_match(trigger["filters"], effect)


def fires(effect: Effect, plan: Plan, world: World) -> bool:
    """Can ``effect`` fire the trigger of ``plan``?"""
    t = plan.trigger
    kind = t["kind"]
    if kind == "segment_entered":
        inputs = world.segments.get(t.get("segment_id"))
        if inputs is None:
            return False
        if effect.event:
            if inputs.any_event and effect.event not in PASSIVE_EVENTS:
                return True
            return any(
                name == effect.event and all(_filter_may_hold(effect, *f) for f in filters)
                for name, filters in inputs.events
            )
        return _changes_bring_in(effect, inputs)
    if not effect.event or effect.event != t.get("event"):
        return False
    if kind == "event":
        return may_match(t["filters"], effect)
    if kind == "page_view":
        return _page_view_may_match(t, effect)
    if kind == "email_engagement":
        email = effect.known.get("email_page_id")
        return email is None or email == t.get("email_id")
    return False


def edges(plan: Plan, plans: Mapping[int, Plan], world: World) -> Iterator[Edge]:
    """Every way a step of ``plan`` can start one of ``plans`` (itself included)."""
    conditions = {s.id for s in plan.steps.values() if s.kind == "condition"}
    for step in plan.steps.values():
        guarded = any(p in conditions for p in step.path)
        if step.kind == "start_scenario" and step.config.get("scenario_id"):
            yield Edge(step.config["scenario_id"], guarded, step.summary)
        for effect in effects(step, world):
            for other in plans.values():
                if fires(effect, other, world):
                    yield Edge(other.scenario_id, guarded, step.summary, effect.via)


#: rule type -> contact fields it reads (no step changes them)
_FIELD_RULES = {"civility": {"civility"}, "locale": {"locale"}, "birthday": {"birth_date"}}
#: email engagement rule action -> the event it counts
_ENGAGEMENT = {"sent": "email_sent", "opened": "email_opened", "clicked": "email_clicked"}


def _events(name: str, *filters: tuple[str, str, str]) -> Inputs:
    return Inputs(events=frozenset({(name, filters)}))


def _rule_inputs(kind: str, value: Mapping[str, Any]) -> tuple[Inputs, Inputs]:
    """``(up, down)``: what can make one rule (not negated) true, and false."""
    if kind in ("event", "event_total"):
        filters = tuple(
            (f.get("key") or "", f.get("operator") or "", str(f.get("value") or ""))
            for f in value.get("filters") or ()
        )
        return _events(value.get("event") or "", *filters), Inputs()
    if kind == "email_engagement":
        name = _ENGAGEMENT.get(value.get("action"), "")
        email = value.get("email")
        if email:
            return _events(name, ("email_page_id", "equals", str(email))), Inputs()
        return _events(name), Inputs()
    if kind == "inactive":  # events end inactivity; only time starts it
        name = value.get("event") or ""
        return Inputs(), _events(name) if name else Inputs(any_event=True)
    if kind == "referral" and value.get("source") == "referrer":
        return _events(
            "page_view", ("referrer", "contains", str(value.get("value") or ""))
        ), Inputs()
    if kind == "referral":
        either = Inputs(attributes={"referred_by": None})
        return either, either
    if kind == "tags":
        names = frozenset(t.strip() for t in str(value.get("tags") or "").split(",") if t.strip())
        return Inputs(added_tags=names), Inputs(removed_tags=names)
    if kind == "attribute":
        key = value.get("key") or ""
        if value.get("operator") == "equals":
            wanted = frozenset({str(value.get("value") or "")})
            return Inputs(attributes={key: wanted}), Inputs(attributes={key: None})
        either = Inputs(attributes={key: None})
        return either, either
    if kind == "consent":
        statuses = frozenset(value.get("email_status") or ())
        if not statuses:
            return Inputs(fields=frozenset({"sms_opt_in"})), Inputs(
                fields=frozenset({"sms_opt_in"})
            )
        return Inputs(statuses=statuses), Inputs(statuses=EMAIL_STATUSES - statuses)
    if kind == "topic":  # topic choices are the contact's own; its status is ours to change
        subscribed = frozenset({"subscribed"})
        return Inputs(statuses=subscribed), Inputs(statuses=EMAIL_STATUSES - subscribed)
    if kind == "field" and value.get("field") == "email_status":
        if value.get("operator") == "equals":
            status = frozenset({str(value.get("value") or "")})
            return Inputs(statuses=status), Inputs(statuses=EMAIL_STATUSES - status)
        return Inputs(statuses=EMAIL_STATUSES), Inputs(statuses=EMAIL_STATUSES)
    if kind == "field" or kind in _FIELD_RULES:
        fields = frozenset(_FIELD_RULES.get(kind, {value.get("field") or ""}))
        return Inputs(fields=fields), Inputs(fields=fields)
    return Inputs(), Inputs()  # sample: nothing a scenario does changes it


def segment_inputs(
    rules: list[dict],
    lookup: Callable[[int], list[dict] | None],
    seen: frozenset[int] = frozenset(),
) -> tuple[Inputs, Inputs]:
    """``(enter, leave)``: what can bring a contact into, and out of, a segment with these
    rules (raw StreamField data), whether they combine with ALL or ANY. Events only add
    to counts and totals, so an event rule is entered by its event (unless negated) and
    "inactive" is left by any event; adding a tag enters a tags rule, removing it leaves.
    ``lookup`` gives an inner segment's rules (``in_segment``); a segment already being
    read is not read again."""
    enter, leave = Inputs(), Inputs()
    for rule in rules:
        kind, value = rule.get("type"), rule.get("value") or {}
        if kind == "in_segment":
            inner_id = value.get("segment")
            inner = lookup(inner_id) if inner_id not in seen else None
            if inner is None:
                continue
            up, down = segment_inputs(inner, lookup, seen | {inner_id})
        else:
            up, down = _rule_inputs(kind, value)
        if value.get("negate"):
            up, down = down, up
        enter, leave = enter | up, leave | down
    return enter, leave
