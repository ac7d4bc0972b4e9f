"""Rule blocks: each compiles itself to a ``Q`` over ``Contact`` and evaluates itself on a
:class:`~wagtail_journeys.segments.facts.ContactFacts` snapshot, with the same meaning."""
