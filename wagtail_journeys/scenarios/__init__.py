"""Scenarios: the compiler from a live page tree to a ``Plan``, and the checker."""
