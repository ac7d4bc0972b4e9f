"""The edges of the loop checker's graph: every way one scenario can fire another's trigger.

A step causes *effects* for its contact: a Start-scenario step enrols it directly; a Send
step leads to ``email_sent``, ``email_opened``, ``email_clicked`` and ``unsubscribed``
events and, through its links, to ``page_view`` and ``form_submitted`` events; a Notify
step to the events its receiver posts back (``posts_back``, the only ones the app cannot
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

from .plan import Plan, Step

#: Events the engine and the tracking views record for a sent email (all carry the email).
EMAIL_EVENTS = {
    "email_sent": frozenset({"message_id"}),
    "email_opened": frozenset({"message_id"}),
    "email_clicked": frozenset({"message_id", "url"}),
    "unsubscribed": frozenset({"message_id"}),
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


@dataclass(frozen=True)
class Inputs:
    """What can bring a contact into a segment: events (by name, or any but the passive
    ones), and changes of tags, attributes (by key) or contact fields."""

    events: frozenset[str] = frozenset()
    any_event: bool = False
    tags: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()

    def __or__(self, other: Inputs) -> Inputs:
        return Inputs(
            self.events | other.events,
            self.any_event or other.any_event,
            self.tags | other.tags,
            self.attributes | other.attributes,
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
    those it may carry, ``None``: any), or a change to the contact (tags, attributes,
    fields). ``via`` names it in the checker's messages."""

    via: str
    event: str = ""
    known: Mapping[str, Any] = field(default_factory=dict)
    open: frozenset[str] | None = frozenset()
    tags: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()


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
                    out.append(
                        Effect(f"{name} of page {page_id}", name, {"page_id": page_id}, None)
                    )
                continue
            viewed = {"page_id": page_id, "page_type": page.type, "tags": list(page.tags)}
            out.append(Effect(f"page_view of '{page.title}'", "page_view", viewed, PAGE_VIEW_OPEN))
            if page.form:
                posted = {
                    "page_id": page_id,
                    "page_type": page.type,
                    "form": page.slug,
                    "title": page.title,
                }
                via = f"form_submitted of '{page.title}'"
                out.append(Effect(via, "form_submitted", posted, frozenset({"submission_id"})))
        return out
    if step.kind == "notify":
        return [Effect(name, name, {}, None) for name in c.get("posts_back", ())]
    if step.kind == "update_contact":
        tags = frozenset(c.get("add_tags", ())) | frozenset(c.get("remove_tags", ()))
        attributes = frozenset(c.get("attributes") or {})
        if c.get("promo_code_prefix"):
            attributes |= {"promo_code"}
        fields = frozenset({"email_status"}) if c.get("email_status") else frozenset()
        changes = [f"tag {t}" for t in sorted(tags)] + [
            f"attribute {a}" for a in sorted(attributes)
        ]
        changes += [f"{f} {c['email_status']}" for f in fields]
        if changes:
            via = ", ".join(changes)
            return [Effect(via, tags=tags, attributes=attributes, fields=fields)]
    return []


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
            return effect.event in inputs.events or (
                inputs.any_event and effect.event not in PASSIVE_EVENTS
            )
        return bool(
            effect.tags & inputs.tags
            or effect.attributes & inputs.attributes
            or effect.fields & inputs.fields
        )
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


#: rule type -> contact fields it reads
_FIELD_RULES = {
    "civility": {"civility"},
    "locale": {"locale"},
    "birthday": {"birth_date", "timezone"},
    "consent": {"email_status", "sms_opt_in"},
}
#: email engagement rule action -> the event it counts
_ENGAGEMENT = {"sent": "email_sent", "opened": "email_opened", "clicked": "email_clicked"}


def segment_inputs(
    rules: list[dict],
    lookup: Callable[[int], list[dict] | None],
    seen: frozenset[int] = frozenset(),
) -> tuple[Inputs, Inputs]:
    """``(enter, leave)``: what can bring a contact into, and out of, a segment with these
    rules (raw StreamField data). Events only add to counts and totals, so a rule on an
    event is entered by that event, unless negated; "inactive" is left by any event.
    Tags, attributes and fields work both ways. ``lookup`` gives an inner segment's rules
    (``in_segment``); a segment already being read is not read again."""
    enter, leave = Inputs(), Inputs()
    for rule in rules:
        kind, value = rule.get("type"), rule.get("value") or {}
        both = Inputs()
        up = Inputs()  # what makes the rule true by adding events
        if kind == "field":
            both = Inputs(fields=frozenset({value.get("field") or ""}))
        elif kind in _FIELD_RULES:
            both = Inputs(fields=frozenset(_FIELD_RULES[kind]))
        elif kind == "attribute":
            both = Inputs(attributes=frozenset({value.get("key") or ""}))
        elif kind == "tags":
            names = {t.strip() for t in str(value.get("tags") or "").split(",") if t.strip()}
            both = Inputs(tags=frozenset(names))
        elif kind in ("event", "event_total"):
            up = Inputs(events=frozenset({value.get("event") or ""}))
        elif kind == "email_engagement":
            up = Inputs(events=frozenset({_ENGAGEMENT.get(value.get("action"), "")}))
        elif kind == "referral":
            if value.get("source") == "referrer":
                up = Inputs(events=frozenset({"page_view"}))
            else:
                both = Inputs(attributes=frozenset({"referred_by"}))
        elif kind == "inactive":
            name = value.get("event") or ""
            active = Inputs(events=frozenset({name})) if name else Inputs(any_event=True)
            up, down = Inputs(), active
            enter, leave = _add(enter, leave, up, down, value.get("negate"))
            continue
        elif kind == "in_segment":
            inner_id = value.get("segment")
            inner = lookup(inner_id) if inner_id not in seen else None
            if inner is not None:
                inner_enter, inner_leave = segment_inputs(inner, lookup, seen | {inner_id})
                enter, leave = _add(enter, leave, inner_enter, inner_leave, value.get("negate"))
            continue
        enter, leave = _add(enter, leave, up | both, both, value.get("negate"))
    return enter, leave


def _add(enter: Inputs, leave: Inputs, up: Inputs, down: Inputs, negate: Any):
    """Fold one rule in: ``up`` can make it true, ``down`` false (swapped by NOT)."""
    if negate:
        up, down = down, up
    return enter | up, leave | down
