"""One check for every way a scenario's live tree changes.

Publishing, unpublishing, moving, copying or deleting pages of a scenario all end in
Wagtail's signals (``page_published``, ``page_unpublished``, ``post_page_move``), whose
receivers (``scenarios.publishing``) call ``changed``. Inside ``publishing_together`` the
scenarios changed are collected, and checked once at its end: if a live one fails the
checker, everything rolls back and ``ScenarioInvalid`` is raised. The scenario pages'
own ``publish``, ``unpublish``, ``move``, ``copy`` and ``delete`` run inside it (so
``revision.publish()`` from code is checked), and so do the admin's bulk actions.
Outside it (the admin's edit view, which has checked before through
``before_publish_page``, or its copy view), the new Plan is stored at once with the checker's
errors, and the engine does not run it (``Plan.errors``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from ..exceptions import ScenarioInvalid


@dataclass
class _Change:
    """Scenarios changed so far by the change in progress, bound to its transaction."""

    block: Any
    checked: set[int] = field(default_factory=set)  # their tree changed: must pass
    refreshed: set[int] = field(default_factory=set)  # what they depend on changed
    draft: bool = False  # ``editing_draft``: trees change, running Plans stay


_change: contextvars.ContextVar[_Change | None] = contextvars.ContextVar(
    "wagtail_journeys_change", default=None
)


def _current() -> _Change | None:
    """The change in progress, if its transaction is still open on this connection (a
    change whose transaction ended, even by an error, is over)."""
    change = _change.get()
    if change is not None and any(b is change.block for b in connection.atomic_blocks):
        return change
    return None


def begin() -> contextvars.Token | None:
    """Start collecting changes in the current transaction (for hooks that cannot wrap
    the change: the admin's bulk actions). ``None`` if a change is already in progress."""
    if _current() is not None or not connection.in_atomic_block:
        return None
    return _change.set(_Change(connection.atomic_blocks[-1]))


def finish(token: contextvars.Token | None) -> None:
    """Store the Plans of the scenarios changed since ``begin``; raise ``ScenarioInvalid``
    if a live scenario whose tree changed fails the checker (the caller rolls back)."""
    if token is None:
        return
    change = _change.get()
    _change.reset(token)
    if change is not None:
        _settle(change)


@contextmanager
def publishing_together() -> Iterator[None]:
    """Publish, unpublish, move, copy or delete pages of scenarios as one change, in one
    transaction: the scenarios it touches are checked once, at the end. If a live one
    fails the checker, nothing is changed and ``ScenarioInvalid`` is raised. Nested uses
    join the outer one. Build a scenario from code inside one, top-down as in the admin::

        with publishing_together():
            scenario.save_revision().publish()
            ...
    """
    with transaction.atomic():
        token = begin()
        try:
            yield
        except BaseException:
            if token is not None:
                _change.reset(token)
            raise
        finish(token)


@contextmanager
def editing_draft() -> Iterator[None]:
    """Move or delete pages of live scenarios as a draft change, in one transaction: the
    pages move (or go) at once, but the scenarios keep running the Plans stored before
    (contacts inside are undisturbed) until their changes are published together
    (``switching.publish_changes``, which checks them). The admin's move and delete views
    of steps of a live scenario run in one; so can the canvas's::

        with editing_draft():
            MovePageAction(step, target, pos="left", user=user).execute()
    """
    with transaction.atomic():
        if _current() is not None:
            yield  # inside another change: it decides
            return
        token = _change.set(_Change(connection.atomic_blocks[-1], draft=True))
        try:
            yield
        finally:
            _change.reset(token)


def begin_draft() -> None:
    """Make the rest of the current transaction a draft change (as ``editing_draft``),
    for hooks that cannot wrap the change: the admin's delete view, which runs in one
    transaction. It ends with that transaction."""
    if _current() is None and connection.in_atomic_block:
        _change.set(_Change(connection.atomic_blocks[-1], draft=True))


def changed(scenario_id: int, *, checked: bool = True, without: Any = None) -> None:
    """A scenario's live tree changed (``checked``), or something it depends on did (an
    email it sends, a scenario it starts, a segment it watches): store its new Plan now,
    or at the end of the change in progress. ``without``: a page about to be deleted."""
    change = _current()
    if change is not None and change.draft:
        if not checked:  # an email or scenario it depends on changed: that is no draft
            _store_later(scenario_id)
        return
    if change is not None:
        (change.checked if checked else change.refreshed).add(scenario_id)
        return
    from .publishing import refresh_plan, store_plan

    store = store_plan if checked else refresh_plan
    if without is not None:  # a delete: the page is still there until the commit
        transaction.on_commit(lambda: store(scenario_id))
        return
    store(scenario_id)


def _store_later(scenario_id: int) -> None:
    from .publishing import refresh_plan

    transaction.on_commit(lambda: refresh_plan(scenario_id))


def _settle(change: _Change) -> None:
    from .publishing import refresh_plan, store_plan

    refused = []
    for scenario_id in sorted(change.checked | change.refreshed):
        store = store_plan if scenario_id in change.checked else refresh_plan
        plan = store(scenario_id)
        if plan is not None and plan.errors and scenario_id in change.checked:
            refused += [(plan.title, error) for error in plan.errors]
    if refused:
        raise ScenarioInvalid(refused)
