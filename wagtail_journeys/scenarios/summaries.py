"""One-line summaries of triggers, steps and branches, as the explorer shows them, in the
language active when they are made (the editor's in the admin)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

DAY_NAMES = [
    pgettext_lazy("short weekday", "Mon"),
    pgettext_lazy("short weekday", "Tue"),
    pgettext_lazy("short weekday", "Wed"),
    pgettext_lazy("short weekday", "Thu"),
    pgettext_lazy("short weekday", "Fri"),
    pgettext_lazy("short weekday", "Sat"),
    pgettext_lazy("short weekday", "Sun"),
]


def _day_name(day: int) -> str:
    return str(DAY_NAMES[day])


def _amount(amount: int, unit: str) -> str:
    forms = {
        "minutes": ngettext("%(n)s minute", "%(n)s minutes", amount),
        "hours": ngettext("%(n)s hour", "%(n)s hours", amount),
        "days": ngettext("%(n)s day", "%(n)s days", amount),
        "weeks": ngettext("%(n)s week", "%(n)s weeks", amount),
    }
    if unit not in forms:
        return f"{amount} {unit[:-1] if amount == 1 else unit}"
    return forms[unit] % {"n": amount}


def _hhmm(value: Any) -> str:
    return value.strftime("%H:%M") if value else "?"


def _title_of(page: Any) -> str:
    if page is None:
        return _("(none)")
    return getattr(page, "title", None) or str(page)


def _from(scenario: Any) -> str:
    """The source an event trigger requires, as a suffix: ``" from a server"``."""
    return {"server": _(" from a server"), "browser": _(" from a browser")}.get(
        scenario.trigger_source, ""
    )


def summarize_trigger(scenario: Any) -> str:
    """``"When purchase"``, ``"Birthday at 09:00 local"``, ``"Broadcast every week"``…"""
    kind = scenario.trigger_kind
    if kind == "event":
        return _("When %(event)s") % {"event": scenario.trigger_event or "?"} + _from(scenario)
    if kind == "page_view":
        what = (
            _title_of(scenario.trigger_page)
            if scenario.trigger_page_id
            else _("tag %(tag)s") % {"tag": scenario.trigger_page_tag}
            if scenario.trigger_page_tag
            else scenario.trigger_page_type or _("any page")
        )
        times = f" {scenario.trigger_min_views}×" if scenario.trigger_min_views > 1 else ""
        days = scenario.trigger_view_days
        within = _(" in %(days)s days") % {"days": days} if days else ""
        return _("Views %(what)s") % {"what": what} + times + within + _from(scenario)
    if kind == "segment_entered":
        segment = scenario.trigger_segment if scenario.trigger_segment_id else None
        return _("Enters %(segment)s") % {"segment": _title_of(segment)}
    if kind in ("birthday", "anniversary"):
        at = {"time": _hhmm(scenario.trigger_time)}
        if kind == "birthday":
            return _("Birthday at %(time)s local") % at
        return _("Anniversary at %(time)s local") % at
    if kind == "broadcast":
        return _("Broadcast %(every)s") % {"every": scenario.get_broadcast_every_display()}
    if kind == "email_engagement":
        email = _title_of(scenario.engagement_email) if scenario.engagement_email_id else "?"
        if scenario.engagement_kind == "not_opened":
            named = {"email": email, "days": scenario.engagement_days}
            return _("Did not open %(email)s in %(days)s days") % named
        return f"{scenario.get_engagement_kind_display().capitalize()} {email}"
    return _("Started by API or scenario")


def summarize_step(step: Any) -> str:
    """``"Wait 3 days"``, ``"Send: Welcome + voucher"``, ``"Condition (2 branches)"``…"""
    name = type(step).__name__
    if name == "SendEmailStep":
        email = _title_of(step.email) if step.email_id else _("(no email)")
        send = _("Send: %(email)s") % {"email": email}
        return send + (_(" [transactional]") if step.transactional else "")
    if name == "SendSMSStep":
        text = step.text if len(step.text) <= 40 else step.text[:39] + "…"
        return f"SMS: {text}"
    if name == "NotifyStep":
        return _("Notify %(target)s") % {"target": step.notify_email or step.webhook_url or "?"}
    if name == "WaitStep":
        if step.mode == "duration":
            return _("Wait %(duration)s") % {"duration": _amount(step.amount, step.unit)}
        if step.mode == "until":
            until = f"{step.until:%Y-%m-%d %H:%M}" if step.until else "?"
            return _("Wait until %(until)s") % {"until": until}
        if step.mode == "window":
            days = ",".join(_day_name(int(d)) for d in parse_weekdays(step.weekdays))
            window = f"{_hhmm(step.window_start)}–{_hhmm(step.window_end)}"
            return _("Wait for %(days)s %(window)s local") % {"days": days, "window": window}
        named = {"event": step.event_name or "?", "duration": _amount(step.amount, step.unit)}
        return _("Wait for %(event)s (up to %(duration)s)") % named
    if name == "ConditionStep":
        return _("Condition: %(title)s") % {"title": step.title}
    if name == "SplitStep":
        return _("A/B split: %(title)s") % {"title": step.title}
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
            parts.append(_("promo code %(prefix)s-…") % {"prefix": step.promo_code_prefix})
        return _("Update contact: %(changes)s") % {"changes": "; ".join(parts) or _("nothing")}
    if name == "StartScenarioStep":
        scenario = _title_of(step.scenario) if step.scenario_id else "?"
        return _("Start: %(scenario)s") % {"scenario": scenario}
    if name == "ExitStep":
        return _("Exit")
    return step.title


def summarize_branch(branch: Any) -> str:
    if branch.outcome:
        outcome = branch.get_outcome_display().lower()
        return _("If %(outcome)s: %(title)s") % {"outcome": outcome, "title": branch.title}
    if branch.is_else:
        return _("Else: %(title)s") % {"title": branch.title}
    if branch.percent:
        return f"{branch.percent}%: {branch.title}"
    unnamed = UNNAMED | {str(type(branch)._meta.verbose_name).lower()}
    if branch.title.strip().lower() in unnamed and branch.rules:
        joiner = _(" or ") if branch.match == "any" else _(" and ")
        rules = joiner.join(r.block.describe(r.value) for r in branch.rules)
        return _("If %(title)s") % {"title": rules}
    return _("If %(title)s") % {"title": branch.title}


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
