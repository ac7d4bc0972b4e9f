"""Who fetched a tracking URL (pure rules, no database): Apple's proxy, Gmail's, link
scanners and prefetchers, and people."""

from __future__ import annotations

import datetime as dt

import pytest

from wagtail_journeys.tracking.machines import (
    HUMAN,
    Verdict,
    classify_click,
    classify_open,
    from_settings,
)

SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
APPLE_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
T = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def rules():
    return from_settings()


@pytest.mark.parametrize(
    ("method", "agent", "ip", "verdict"),
    [
        ("GET", SAFARI, "203.0.113.9", HUMAN),
        ("GET", APPLE_MAIL, "203.0.113.9", HUMAN),  # Apple Mail without Privacy Protection
        ("GET", GMAIL_PROXY, "66.249.84.1", HUMAN),  # fetched when the person opens it
        ("GET", "Mozilla/5.0", "203.0.113.9", Verdict(True, "apple_mpp")),
        ("GET", "Mozilla/5.0 ", None, Verdict(True, "apple_mpp")),
        ("GET", APPLE_MAIL, "17.58.1.2", Verdict(True, "apple_mpp")),  # Apple's network
        ("GET", GMAIL_PROXY, "17.58.1.2", HUMAN),
        ("HEAD", SAFARI, "203.0.113.9", Verdict(True, "head")),
        ("GET", "", "203.0.113.9", Verdict(True, "no_user_agent")),
        ("GET", "Barracuda Sentinel (EE)", "203.0.113.9", Verdict(True, "scanner")),
        ("GET", "python-requests/2.32", "2001:db8::1", Verdict(True, "scanner")),
        ("GET", SAFARI, "not an address", HUMAN),
    ],
)
def test_opens(rules, method, agent, ip, verdict):
    assert classify_open(method, agent, ip, rules) == verdict


def click(rules, *, agent=SAFARI, method="GET", sent=T - dt.timedelta(hours=1), last=None):
    return classify_click(method, agent, now=T, sent_at=sent, last_click_at=last, rules=rules)


def test_a_person_clicking_later(rules):
    assert click(rules) == HUMAN
    assert click(rules, last=T - dt.timedelta(minutes=2)) == HUMAN
    assert click(rules, sent=None) == HUMAN


def test_link_scanners_and_prefetchers(rules):
    assert click(rules, sent=T - dt.timedelta(seconds=4)) == Verdict(True, "prefetch")
    assert click(rules, last=T - dt.timedelta(milliseconds=300)) == Verdict(True, "burst")
    assert click(rules, method="HEAD") == Verdict(True, "head")
    assert click(rules, agent="Mozilla/5.0 (compatible; proofpoint)") == Verdict(True, "scanner")
    assert click(rules, agent="") == Verdict(True, "no_user_agent")


def test_the_rules_follow_the_settings(settings):
    settings.WAGTAIL_JOURNEYS = {
        "MACHINE_USER_AGENTS": "",
        "MACHINE_OPEN_NETWORKS": ["198.51.100.0/24"],
        "MACHINE_CLICK_SECONDS": 0,
        "MACHINE_BURST_SECONDS": 0,
    }
    rules = from_settings()
    assert classify_open("GET", "python-requests/2.32", "17.1.1.1", rules) == HUMAN
    assert classify_open("GET", SAFARI, "198.51.100.7", rules) == Verdict(True, "apple_mpp")
    assert click(rules, sent=T, last=T) == HUMAN
