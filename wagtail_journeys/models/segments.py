"""``Segment``: a named set of contacts defined by rules (a snippet)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField

from ..exceptions import InvalidRule
from ..segments import compiler
from ..segments.context import RuleContext
from ..segments.rules.stream import RulesBlock


class Match(models.TextChoices):
    ALL = "all", _("all rules (AND)")
    ANY = "any", _("any rule (OR)")


class Segment(models.Model):
    """Contacts matching ``rules`` combined with ALL or ANY.

    ``contacts()``, ``count()`` and ``contains()`` all filter with the one ``Q`` from
    :meth:`compile`, so a list, a count and a membership test never disagree. A segment
    may include other segments; a cycle is refused by ``clean()`` (and, for rows saved
    around it, by the compiler with :class:`~wagtail_journeys.exceptions.InvalidRule`).
    """

    name = models.CharField(_("name"), max_length=255)
    slug = models.SlugField(_("slug"), max_length=255, unique=True)
    description = models.TextField(_("description"), blank=True)
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    rules = StreamField(RulesBlock(), blank=True, verbose_name=_("rules"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        FieldPanel("match"),
        FieldPanel("rules"),
    ]

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def compile(self, *, now: dt.datetime | None = None, ctx: RuleContext | None = None) -> Q:
        """The ``Q`` over ``Contact`` of this segment's members.

        With an explicit ``now`` the result is remembered on this instance (for as long as
        its rules and match are unchanged), so a batch that asks ``contains`` for many
        contacts at one ``now`` compiles once.
        """
        if ctx is not None:
            return compiler.compile_rules(self.rules, self.match, ctx=ctx)
        key = (now, self.match, id(self.rules))
        memo = self.__dict__.get("_compiled")
        if now is not None and memo and memo[0] == key:
            return memo[1]
        ctx = compiler.make_context(now)
        if self.pk:
            ctx = ctx.within(self.pk, self.name)
        q = compiler.compile_rules(self.rules, self.match, ctx=ctx)
        if now is not None:
            self._compiled = (key, q)
        return q

    def contacts(self, *, now: dt.datetime | None = None) -> QuerySet:
        """The members, as an unevaluated ``Contact`` queryset."""
        from .contacts import Contact

        return Contact.objects.filter(self.compile(now=now))

    def count(self, *, now: dt.datetime | None = None) -> int:
        """How many contacts are members (one COUNT query)."""
        return self.contacts(now=now).count()

    def contains(self, contact, *, now: dt.datetime | None = None) -> bool:
        """Is ``contact`` a member? One query, restricted to that contact's row."""
        from .contacts import Contact

        return Contact.objects.filter(pk=contact.pk).filter(self.compile(now=now)).exists()

    def clean(self) -> None:
        super().clean()
        problems = compiler.rules_problems(self.rules)
        if problems:
            raise ValidationError({"rules": problems})
        cycle = self.find_cycle()
        if cycle:
            raise ValidationError(
                {
                    "rules": _(
                        "These rules would make the segment include itself: %(path)s. "
                        "Remove the “In segment” rule that closes the loop."
                    )
                    % {"path": " → ".join(cycle)}
                }
            )
        try:
            self.compile()
        except InvalidRule as exc:
            raise ValidationError({"rules": str(exc)}) from exc

    def find_cycle(self) -> list[str] | None:
        """Names along a path from this segment back to itself through "In segment" rules,
        or ``None``. Reads the other segments' saved rules; this one's unsaved ones."""
        if not self.pk:
            return None
        graph: dict[int, set[int]] = {self.pk: compiler.referenced_segment_ids(self.rules)}
        names = {self.pk: self.name}
        pending = set(graph[self.pk])
        while pending:
            rows = Segment.objects.filter(pk__in=pending - graph.keys())
            pending = set()
            for pk, name, rules in rows.values_list("pk", "name", "rules"):
                names[pk] = name
                graph[pk] = compiler.referenced_segment_ids(rules)
                pending |= graph[pk] - graph.keys()
        path = _path_back(graph, self.pk)
        return [names.get(pk, f"#{pk}") for pk in path] if path else None


def _path_back(graph: dict[int, set[int]], start: int) -> list[int] | None:
    """A path start → … → start in ``graph``, depth first."""
    stack = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None
