"""Who fetched a tracking URL: the contact, or a machine acting before (or instead of) them.

Pure: request facts and the message's times in, a ``Verdict`` out; no query, no network
lookup. Opens and clicks a machine made are recorded, flagged ``machine`` with ``why``,
and counted apart: never as engagement (first open or click, rates) nor as the contact's
activity (``models.events.is_activity``), never firing triggers or goals.

Opens (the 1×1 pixel):

- ``apple_mpp``: Apple Mail Privacy Protection fetches every image of a message through
  Apple's proxies when the message reaches the device, whether or not it is read. Those
  fetches say ``User-Agent: Mozilla/5.0`` and nothing more (Apple Mail itself, fetching
  directly, gives a full ``Mozilla/5.0 (Macintosh; …) AppleWebKit/…`` string), and come
  from Apple's network (``MACHINE_OPEN_NETWORKS``, by default ``17.0.0.0/8``).
- ``head``, ``scanner``, ``no_user_agent``: as for clicks (below).
- Gmail's and Yahoo's image proxies (``GoogleImageProxy``, ``YahooMailProxy``) fetch the
  pixel when the person opens the message: *human* opens, whatever else matches.

Clicks (the signed redirect):

- ``head``: a ``HEAD`` request checks the link without following it (browsers ``GET``).
- ``scanner``: a user agent of a link scanner, a preview or an HTTP library
  (``MACHINE_USER_AGENTS``, a regular expression).
- ``no_user_agent``: browsers always send one.
- ``prefetch``: within ``MACHINE_CLICK_SECONDS`` of the send: security gateways follow
  every link seconds after delivery, before anyone could have read the message.
- ``burst``: within ``MACHINE_BURST_SECONDS`` of the message's previous click: a scanner
  following all links one after the other (the first of a burst is flagged only if
  another rule catches it).

Limits: a proxy or scanner that presents a browser's user agent from an unknown network,
after the prefetch window, one link at a time, passes as human; an Apple device whose
proxy uses another network (iCloud Private Relay's egress ranges are published by Apple
and can be added to ``MACHINE_OPEN_NETWORKS``) does too. A human open through Apple's
proxy is flagged: with Mail Privacy Protection on, opens cannot be told apart at all.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from .. import conf

#: Image proxies that fetch when the person opens the message: human opens.
HUMAN_PROXIES = re.compile(r"GoogleImageProxy|YahooMailProxy", re.IGNORECASE)
#: What Apple's Mail Privacy Protection proxies send, exactly.
APPLE_MPP_AGENT = "Mozilla/5.0"


@dataclass(frozen=True)
class Verdict:
    """``machine`` and why (``""`` for a human)."""

    machine: bool
    why: str = ""


HUMAN = Verdict(False)


@dataclass(frozen=True)
class Rules:
    """The settings the classification reads (``from_settings``)."""

    user_agents: re.Pattern | None
    open_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    click_seconds: int
    burst_seconds: int


@lru_cache(maxsize=4)
def _rules(agents: str, networks: tuple[str, ...], click: int, burst: int) -> Rules:
    return Rules(
        user_agents=re.compile(agents, re.IGNORECASE) if agents else None,
        open_networks=tuple(ipaddress.ip_network(n, strict=False) for n in networks),
        click_seconds=click,
        burst_seconds=burst,
    )


def from_settings() -> Rules:
    """The rules of ``MACHINE_USER_AGENTS``, ``MACHINE_OPEN_NETWORKS``,
    ``MACHINE_CLICK_SECONDS`` and ``MACHINE_BURST_SECONDS`` (compiled once)."""
    return _rules(
        conf.get("MACHINE_USER_AGENTS") or "",
        tuple(conf.get("MACHINE_OPEN_NETWORKS") or ()),
        conf.get("MACHINE_CLICK_SECONDS"),
        conf.get("MACHINE_BURST_SECONDS"),
    )


def _in(ip: str | None, networks) -> bool:
    if not ip or not networks:
        return False
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return any(address.version == n.version and address in n for n in networks)


def _request_verdict(method: str, user_agent: str, rules: Rules) -> Verdict:
    if method.upper() == "HEAD":
        return Verdict(True, "head")
    if not user_agent.strip():
        return Verdict(True, "no_user_agent")
    if rules.user_agents is not None and rules.user_agents.search(user_agent):
        return Verdict(True, "scanner")
    return HUMAN


def classify_open(method: str, user_agent: str, ip: str | None, rules: Rules) -> Verdict:
    """Was this fetch of the open pixel a person opening the message?"""
    user_agent = user_agent or ""
    if method.upper() != "HEAD" and HUMAN_PROXIES.search(user_agent):
        return HUMAN
    if user_agent.strip() == APPLE_MPP_AGENT or _in(ip, rules.open_networks):
        return Verdict(True, "apple_mpp")
    return _request_verdict(method, user_agent, rules)


def classify_click(
    method: str,
    user_agent: str,
    *,
    now: dt.datetime,
    sent_at: dt.datetime | None,
    last_click_at: dt.datetime | None,
    rules: Rules,
) -> Verdict:
    """Was this click on a tracked link a person following it?"""
    verdict = _request_verdict(method, user_agent or "", rules)
    if verdict.machine:
        return verdict
    if sent_at is not None and now - sent_at < dt.timedelta(seconds=rules.click_seconds):
        return Verdict(True, "prefetch")
    if last_click_at is not None and abs(now - last_click_at) < dt.timedelta(
        seconds=rules.burst_seconds
    ):
        return Verdict(True, "burst")
    return HUMAN
