"""The figures a report is made of: plain dataclasses, no database.

Counts are what the rollup tables summed over a ``Period``; rates are derived from them
here, once, so the admin, the exports and the API show the same numbers. A rate whose
base is 0 is ``None`` ("no data"), never 0 %: nothing sent is not a 0 % open rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import InvalidInput

#: The longest period a report covers (ten years): beyond it a request is a mistake or an
#: attack (the overview lists every day of its period).
MAX_DAYS = 3660


CENT = Decimal("0.01")


def cents(value: Decimal | int | float | str | None) -> Decimal:
    """A sum of money from the database as a Decimal of cents (SQLite's sums of decimals
    come back with float noise: ``199.800000000000``)."""
    return Decimal(str(value or 0)).quantize(CENT)


def ratio(part: int | Decimal, whole: int) -> float | None:
    """``part / whole`` as a float, or ``None`` when ``whole`` is 0."""
    return float(part) / whole if whole else None


@dataclass(frozen=True)
class Period:
    """Inclusive local dates (``settings.TIME_ZONE``), the days the rollups are keyed by."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start, end)`` as aware datetimes: local midnight of the first day and of the
        day after the last (what raw rows are filtered by)."""
        zone = timezone.get_default_timezone()
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end

    @classmethod
    def last_days(cls, n: int = 30, today: dt.date | None = None) -> Period:
        """The ``n`` days up to and including ``today`` (the local date by default)."""
        today = today or timezone.localdate()
        return cls(today - dt.timedelta(days=n - 1), today)

    @classmethod
    def parse(cls, start: str | None, end: str | None, default_days: int = 30) -> Period:
        """A period from ``from`` / ``to`` query values (``YYYY-MM-DD``, either may be
        missing or empty). Missing ``to``: today; missing ``from``: ``default_days`` up to
        ``to``. Raises ``InvalidInput`` for a value that is no date, ``to`` before
        ``from``, or a span longer than ``MAX_DAYS``."""
        end_date = _date(end, "to") or timezone.localdate()
        start_date = _date(start, "from") or end_date - dt.timedelta(days=default_days - 1)
        if end_date < start_date:
            raise InvalidInput(_("The period ends before it starts."), field="to")
        if (end_date - start_date).days + 1 > MAX_DAYS:
            raise InvalidInput(
                _("A report covers at most %(days)s days.") % {"days": MAX_DAYS}, field="from"
            )
        return cls(start_date, end_date)


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            _("%(name)s must be a date written YYYY-MM-DD.") % {"name": name}, field=name
        ) from None


#: MailFigures' counters, in the order of MailDay's columns.
MAIL_COUNTS = (
    "sent",
    "delivered",
    "bounced",
    "hard_bounced",
    "rejected",
    "complained",
    "unsubscribed",
    "opened",
    "opens",
    "machine_opens",
    "clicked",
    "clicks",
    "machine_clicks",
    "converted",
    "conversions",
)


@dataclass
class MailFigures:
    """What happened to a set of messages: counts (``opened`` and ``clicked`` are unique
    human openers and clickers, ``opens`` and ``clicks`` every human one) and the rates
    derived from them."""

    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    hard_bounced: int = 0
    rejected: int = 0
    complained: int = 0
    unsubscribed: int = 0
    opened: int = 0
    opens: int = 0
    machine_opens: int = 0
    clicked: int = 0
    clicks: int = 0
    machine_clicks: int = 0
    converted: int = 0
    conversions: int = 0
    revenue: Decimal = field(default_factory=lambda: Decimal("0"))

    @classmethod
    def zero(cls) -> MailFigures:
        return cls()

    @classmethod
    def from_row(cls, row: dict) -> MailFigures:
        """From a ``values()`` row of sums (``None`` from an empty aggregate is 0)."""
        counts = {name: int(row.get(name) or 0) for name in MAIL_COUNTS}
        return cls(**counts, revenue=cents(row.get("revenue")))

    def __add__(self, other: MailFigures) -> MailFigures:
        return MailFigures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def delivery_rate(self) -> float | None:
        return ratio(self.delivered, self.sent)

    @property
    def open_rate(self) -> float | None:
        return ratio(self.opened, self.sent)

    @property
    def click_rate(self) -> float | None:
        return ratio(self.clicked, self.sent)

    @property
    def click_to_open(self) -> float | None:
        return ratio(self.clicked, self.opened)

    @property
    def bounce_rate(self) -> float | None:
        return ratio(self.bounced, self.sent)

    @property
    def complaint_rate(self) -> float | None:
        return ratio(self.complained, self.sent)

    @property
    def unsubscribe_rate(self) -> float | None:
        return ratio(self.unsubscribed, self.sent)

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converted, self.sent)

    @property
    def revenue_per_send(self) -> Decimal | None:
        if not self.sent:
            return None
        return (self.revenue / self.sent).quantize(Decimal("0.0001"))


@dataclass
class BranchFigures:
    """One way out of a condition, split or wait: who took it, who converted after."""

    branch_id: int
    label: str
    percent: int
    entered: int
    converted: int
    revenue: Decimal = field(default_factory=lambda: Decimal("0"))

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converted, self.entered)


@dataclass
class Verdict:
    """What an A/B split says so far, in plain words (``stats.verdict``)."""

    enough: bool
    best_branch_id: int | None
    probability: float | None
    text: str


@dataclass
class SplitFigures:
    step_id: int
    title: str
    arms: list[BranchFigures]
    verdict: Verdict


@dataclass
class StepFigures:
    """One step over the period: ``entered`` (contacts who reached it), ``waiting`` (on it
    now), ``passed`` (done or sent), ``skipped``, ``exited``; ``mail`` on send steps;
    ``branches`` on conditions, splits and waits."""

    step_id: int
    title: str
    kind: str
    entered: int = 0
    waiting: int = 0
    passed: int = 0
    skipped: int = 0
    exited: int = 0
    mail: MailFigures | None = None
    branches: list[BranchFigures] = field(default_factory=list)
    depth: int = 0


@dataclass
class FunnelStage:
    label: str
    count: int
    step_id: int | None

    @property
    def key(self) -> str:
        return str(self.step_id) if self.step_id is not None else self.label


@dataclass
class ScenarioReport:
    scenario_id: int
    title: str
    period: Period
    entered: int
    waiting: int
    converted: int
    exited: int
    completed: int
    revenue: Decimal
    mail: MailFigures
    steps: list[StepFigures]
    splits: list[SplitFigures]
    funnel: list[FunnelStage]

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converted, self.entered)

    def step(self, step_id: int) -> StepFigures | None:
        return next((s for s in self.steps if s.step_id == step_id), None)


@dataclass
class LinkFigures:
    """One link of an email: its index in the compiled email, target, human clicks and
    their share of all the email's human link clicks."""

    link: int
    url: str
    clicks: int
    machine_clicks: int
    share: float | None
    clicked: int = 0


@dataclass
class Breakdown:
    """A slice of an email's figures: a scenario (``key`` its id) or a segment variant
    (``key`` the variant string, ``""`` for contacts in none of the email's segments)."""

    key: str
    label: str
    mail: MailFigures


@dataclass
class EmailReport:
    email_id: int
    title: str
    period: Period
    mail: MailFigures
    by_scenario: list[Breakdown]
    by_variant: list[Breakdown]
    links: list[LinkFigures]


@dataclass
class DayFigures:
    day: dt.date
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    revenue: Decimal = field(default_factory=lambda: Decimal("0"))


@dataclass
class Attention:
    """A scenario whose bounce or complaint rate is past its threshold (``why`` says
    which, in words)."""

    scenario_id: int
    title: str
    sent: int
    bounce_rate: float
    complaint_rate: float
    why: str


@dataclass
class Overview:
    period: Period
    days: list[DayFigures]
    totals: MailFigures
    attention: list[Attention]
