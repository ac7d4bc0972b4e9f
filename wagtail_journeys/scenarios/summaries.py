"""One-line summaries of triggers, steps and branches, as the explorer shows them."""

from __future__ import annotations

from typing import Any

DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _amount(amount: int, unit: str) -> str:
    return f"{amount} {unit[:-1] if amount == 1 else unit}"


def _hhmm(value: Any) -> str:
    return value.strftime("%H:%M") if value else "?"


def _title_of(page: Any) -> str:
    if page is None:
        return "(none)"
    return getattr(page, "title", None) or str(page)


def _from(scenario: Any) -> str:
    """The source an event trigger requires, as a suffix: ``" from a server"``."""
    return {"server": " from a server", "browser": " from a browser"}.get(
        scenario.trigger_source, ""
    )


def summarize_trigger(scenario: Any) -> str:
    """``"When purchase"``, ``"Birthday at 09:00 local"``, ``"Broadcast every week"``…"""
    kind = scenario.trigger_kind
    if kind == "event":
        return f"When {scenario.trigger_event or '?'}{_from(scenario)}"
    if kind == "page_view":
        what = (
            _title_of(scenario.trigger_page)
            if scenario.trigger_page_id
            else f"tag {scenario.trigger_page_tag}"
            if scenario.trigger_page_tag
            else scenario.trigger_page_type or "any page"
        )
        times = f" {scenario.trigger_min_views}×" if scenario.trigger_min_views > 1 else ""
        within = f" in {scenario.trigger_view_days} days" if scenario.trigger_view_days else ""
        return f"Views {what}{times}{within}{_from(scenario)}"
    if kind == "segment_entered":
        segment = scenario.trigger_segment if scenario.trigger_segment_id else None
        return f"Enters {_title_of(segment)}"
    if kind in ("birthday", "anniversary"):
        return f"{kind.title()} at {_hhmm(scenario.trigger_time)} local"
    if kind == "broadcast":
        return f"Broadcast {scenario.get_broadcast_every_display()}"
    if kind == "email_engagement":
        email = _title_of(scenario.engagement_email) if scenario.engagement_email_id else "?"
        if scenario.engagement_kind == "not_opened":
            return f"Did not open {email} in {scenario.engagement_days} days"
        return f"{scenario.get_engagement_kind_display().capitalize()} {email}"
    return "Started by API or scenario"


def summarize_step(step: Any) -> str:
    """``"Wait 3 days"``, ``"Send: Welcome + voucher"``, ``"Condition (2 branches)"``…"""
    name = type(step).__name__
    if name == "SendEmailStep":
        email = _title_of(step.email) if step.email_id else "(no email)"
        return f"Send: {email}" + (" [transactional]" if step.transactional else "")
    if name == "SendSMSStep":
        text = step.text if len(step.text) <= 40 else step.text[:39] + "…"
        return f"SMS: {text}"
    if name == "NotifyStep":
        return f"Notify {step.notify_email or step.webhook_url or '?'}"
    if name == "WaitStep":
        if step.mode == "duration":
            return f"Wait {_amount(step.amount, step.unit)}"
        if step.mode == "until":
            return f"Wait until {step.until:%Y-%m-%d %H:%M}" if step.until else "Wait until ?"
        if step.mode == "window":
            days = ",".join(DAY_NAMES[int(d)] for d in parse_weekdays(step.weekdays))
            return f"Wait for {days} {_hhmm(step.window_start)}–{_hhmm(step.window_end)} local"
        return f"Wait for {step.event_name or '?'} (up to {_amount(step.amount, step.unit)})"
    if name in ("ConditionStep", "SplitStep"):
        return f"{'Condition' if name == 'ConditionStep' else 'A/B split'}: {step.title}"
    if name == "UpdateContactStep":
        parts = []
        if step.add_tags:
            parts.append(f"+{step.add_tags}")
        if step.remove_tags:
            parts.append(f"-{step.remove_tags}")
        if step.attributes:
            parts.append(", ".join(sorted(step.attributes)))
        if step.email_status:
            parts.append(step.email_status)
        if step.promo_code_prefix:
            parts.append(f"promo code {step.promo_code_prefix}-…")
        return "Update contact: " + ("; ".join(parts) or "nothing")
    if name == "StartScenarioStep":
        return f"Start: {_title_of(step.scenario) if step.scenario_id else '?'}"
    if name == "ExitStep":
        return "Exit"
    return step.title


def summarize_branch(branch: Any) -> str:
    if branch.outcome:
        return f"If {branch.get_outcome_display().lower()}: {branch.title}"
    if branch.is_else:
        return f"Else: {branch.title}"
    if branch.percent:
        return f"{branch.percent}%: {branch.title}"
    if branch.title.strip().lower() in UNNAMED and branch.rules:
        joiner = " or " if branch.match == "any" else " and "
        return "If " + joiner.join(r.block.describe(r.value) for r in branch.rules)
    return f"If {branch.title}"


#: The title a branch gets when the canvas inserts it: its rules describe it better.
UNNAMED = {"branch", ""}


def parse_weekdays(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``; anything not a weekday number is ignored."""
    days = []
    for part in (text or "").split(","):
        part = part.strip()
        if part.isdigit() and 0 <= int(part) <= 6:
            days.append(int(part))
    return sorted(set(days))
