"""Segments: rules that editors compose, compiled to one SQL condition.

Public interface::

    compile_rules(rules, match="all", *, now=None) -> Q
    contacts_matching(rules, match="all", *, now=None) -> QuerySet[Contact]
    matches(contact, rules, match="all", *, now=None) -> bool
    evaluate_rules(rules, match, facts, *, now=None) -> bool   # plain-Python reference
    RulesBlock                                                # StreamBlock of every rule

``rules`` is a ``StreamValue`` of :class:`RulesBlock` or its raw JSON list.
"""

from .compiler import (
    compile_rules,
    contacts_matching,
    evaluate_rules,
    matches,
    reference_matching,
    rules_problems,
)
from .context import RuleContext
from .facts import ContactFacts, EventFact, load_facts
from .rules.stream import RulesBlock

__all__ = [
    "ContactFacts",
    "EventFact",
    "RuleContext",
    "RulesBlock",
    "compile_rules",
    "contacts_matching",
    "evaluate_rules",
    "load_facts",
    "matches",
    "reference_matching",
    "rules_problems",
]
