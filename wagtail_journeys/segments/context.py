"""What a compilation or an evaluation needs besides the rules: the clock and the data
that shapes the SQL (timezones present), and the chain of segments being expanded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import InvalidRule

MAX_DEPTH = 20


@dataclass
class RuleContext:
    """The clock (``now``) and the chain of segments being expanded (cycle guard).

    ``timezones`` is the set of timezone names stored on contacts, loaded on first use
    by the compiler (birthday rules need it) and given directly by tests.
    """

    now: dt.datetime = field(default_factory=timezone.now)
    default_timezone: str = "UTC"
    timezones: frozenset[str] | None = None
    chain: tuple[int, ...] = ()

    def within(self, segment_id: int, name: str) -> RuleContext:
        """The context inside segment ``segment_id``; refuses a cycle or a runaway depth."""
        if segment_id in self.chain:
            raise InvalidRule(
                _("Segment “%(name)s” includes itself through other segments.") % {"name": name},
                field="rules",
            )
        if len(self.chain) >= MAX_DEPTH:
            raise InvalidRule(_("Segments are nested too deeply."), field="rules")
        inner = RuleContext(
            now=self.now,
            default_timezone=self.default_timezone,
            timezones=self.timezones,
            chain=(*self.chain, segment_id),
        )
        inner.outer = self
        return inner

    def contact_timezones(self) -> frozenset[str]:
        """The timezone names stored on contacts (one query per compilation, shared with
        the contexts of nested segments)."""
        if self.timezones is None:
            outer = getattr(self, "outer", None)
            if outer is not None:
                self.timezones = outer.contact_timezones()
            else:
                from ..models import Contact

                rows = Contact.objects.order_by().values_list("timezone", flat=True).distinct()
                self.timezones = frozenset(rows)
        return self.timezones
