"""A/B splits and holdouts: which arm converts best, how sure we are, said in words.

The method is Bayesian. Each arm's conversion rate gets a Beta(1 + converted,
1 + entered − converted) posterior (a uniform prior: every rate equally likely before any
contact entered), and the figure shown is the probability that an arm's true rate is the
highest of all arms:

    P(arm k is best) = ∫ f_k(x) · Π_{j≠k} F_j(x) dx

(``f`` the posterior densities, ``F`` their distribution functions), integrated
numerically on a grid dense where each posterior's mass is. For two arms this is
P(p_B > p_A), which has a closed form (Evan Miller, "Formulas for Bayesian A/B Testing",
2015); the tests check the integral against it.

Why not a two-proportion z-test: "B converts better than A: 96 % likely" is a statement
about the arms, which is what a posterior probability is; a p-value is not, and is
routinely misread as one. With a flat prior and large samples the two agree closely
(P(B > A) ≈ 1 − the one-sided p-value).

No winner is named before every arm has ``SPLIT_MIN_SAMPLE`` contacts (peeking at small
samples names winners that are noise), nor below ``target`` (95 %).

Pure functions: counts in, numbers and words out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .figures import Verdict

TARGET = 0.95
_SPREAD = 12  # standard deviations each side of a posterior's mean the grid covers
_POINTS = 800  # grid points per arm


@dataclass(frozen=True)
class Arm:
    """One arm of a split: who entered it and converted; ``holdout``: it sends nothing."""

    branch_id: int
    label: str
    entered: int
    converted: int
    holdout: bool = False

    @property
    def rate(self) -> float | None:
        return self.converted / self.entered if self.entered else None


def _posterior(arm: Arm) -> tuple[float, float]:
    converted = min(max(arm.converted, 0), max(arm.entered, 0))
    return 1.0 + converted, 1.0 + max(arm.entered, 0) - converted


def _grid(params: list[tuple[float, float]]) -> list[float]:
    """Points in (0, 1), dense around each posterior's mass, sorted."""
    points: set[float] = set()
    for a, b in params:
        mean = a / (a + b)
        sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        lo, hi = max(0.0, mean - _SPREAD * sd), min(1.0, mean + _SPREAD * sd)
        step = (hi - lo) / _POINTS
        points.update(lo + step * i for i in range(_POINTS + 1))
    return sorted(points)


def _densities(a: float, b: float, xs: list[float]) -> list[float]:
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    out = []
    for x in xs:
        if x <= 0.0 or x >= 1.0:
            # a, b ≥ 1: the density at the ends is finite (0, or b resp. a when 1)
            edge = (x <= 0.0 and a == 1.0) or (x >= 1.0 and b == 1.0)
            out.append(math.exp(log_norm) if edge else 0.0)
            continue
        out.append(math.exp(log_norm + (a - 1) * math.log(x) + (b - 1) * math.log1p(-x)))
    return out


def _cumulative(xs: list[float], ys: list[float]) -> list[float]:
    """The trapezoid integral of ``ys`` from ``xs[0]`` to each point, scaled to end at 1."""
    total, out = 0.0, [0.0]
    for i in range(1, len(xs)):
        total += (ys[i] + ys[i - 1]) * (xs[i] - xs[i - 1]) / 2
        out.append(total)
    return [v / total for v in out] if total > 0 else out


def chance_to_beat_all(arms: list[Arm]) -> list[float]:
    """For each arm, the posterior probability that its conversion rate is the highest
    (they add up to 1). Two arms with the same counts: 0.5 each."""
    if not arms:
        return []
    if len(arms) == 1:
        return [1.0]
    params = [_posterior(arm) for arm in arms]
    xs = _grid(params)
    pdfs = [_densities(a, b, xs) for a, b in params]
    cdfs = [_cumulative(xs, pdf) for pdf in pdfs]
    # each density normalised on the grid too, so densities and CDFs agree exactly
    norms = [_area(xs, pdf) or 1.0 for pdf in pdfs]
    chances = []
    for k in range(len(arms)):
        ys = []
        for i in range(len(xs)):
            value = pdfs[k][i] / norms[k]
            for j in range(len(arms)):
                if j != k:
                    value *= cdfs[j][i]
            ys.append(value)
        chances.append(_area(xs, ys))
    total = sum(chances)
    return [c / total for c in chances] if total > 0 else [1 / len(arms)] * len(arms)


def _area(xs: list[float], ys: list[float]) -> float:
    return sum((ys[i] + ys[i - 1]) * (xs[i] - xs[i - 1]) / 2 for i in range(1, len(xs)))


def chance_better(better: Arm, than: Arm) -> float:
    """P(rate of ``better`` > rate of ``than``)."""
    return chance_to_beat_all([better, than])[0]


def percent(probability: float) -> str:
    """``0.9649`` → ``"96 %"``: rounded down, so a figure shown as 95 % has reached it."""
    return f"{min(math.floor(probability * 100 + 1e-9), 99 if probability < 1 else 100)} %"


def points(difference: float) -> str:
    """A difference of two rates in percentage points, one decimal: ``0.021`` → ``2.1``."""
    return f"{abs(difference) * 100:.1f}"


def verdict(arms: list[Arm], *, min_sample: int, target: float = TARGET) -> Verdict:
    """The verdict on a split: enough data? which arm is best, how likely, in words.

    ``enough`` is true once every arm has ``min_sample`` contacts; ``best_branch_id`` is
    named only then *and* when its probability reaches ``target``. With a holdout (an arm
    that sends nothing) the words give the lift of sending over doing nothing."""
    if len(arms) < 2:
        return Verdict(False, None, None, _("A split needs two arms to compare."))
    smallest = min(arm.entered for arm in arms)
    if smallest < min_sample:
        text = _("Not enough data yet: %(n)s of %(min)s contacts in the smallest arm.") % {
            "n": smallest,
            "min": min_sample,
        }
        return Verdict(False, None, None, text)
    if not any(arm.converted for arm in arms):
        return Verdict(True, None, None, _("No conversions yet in any arm."))
    holdouts = [arm for arm in arms if arm.holdout]
    senders = [arm for arm in arms if not arm.holdout]
    if len(holdouts) == 1 and senders:
        return _holdout_verdict(holdouts[0], senders, target)
    chances = chance_to_beat_all(arms)
    best = max(range(len(arms)), key=lambda i: chances[i])
    probability = chances[best]
    if len(arms) == 2:
        text = _("%(best)s converts better than %(other)s: %(p)s likely") % {
            "best": arms[best].label,
            "other": arms[1 - best].label,
            "p": percent(probability),
        }
    else:
        text = _("%(best)s converts best of %(n)s arms: %(p)s likely") % {
            "best": arms[best].label,
            "n": len(arms),
            "p": percent(probability),
        }
    return _settled(arms[best].branch_id, probability, text, target)


def _holdout_verdict(holdout: Arm, senders: list[Arm], target: float) -> Verdict:
    """Sending (the best sending arm, by rate) against doing nothing."""
    chances = chance_to_beat_all([*senders, holdout])
    best = max(range(len(senders)), key=lambda i: chances[i])
    sender = senders[best]
    probability = chance_better(sender, holdout)
    lift = (sender.rate or 0.0) - (holdout.rate or 0.0)
    who = _("Sending") if len(senders) == 1 else sender.label
    if probability >= 0.5:
        lifts = _("%(who)s lifts conversions by %(points)s points over the holdout: %(p)s likely")
        text = lifts % {
            "who": who,
            "points": points(lift),
            "p": percent(probability),
        }
        return _settled(sender.branch_id, probability, text, target)
    text = _("The holdout converts %(points)s points better than %(who)s: %(p)s likely") % {
        "who": who.lower() if len(senders) == 1 else who,
        "points": points(lift),
        "p": percent(1 - probability),
    }
    return _settled(holdout.branch_id, 1 - probability, text, target)


def _settled(branch_id: int, probability: float, text: str, target: float) -> Verdict:
    if probability >= target:
        return Verdict(True, branch_id, probability, f"{text}.")
    keep = _("keep collecting until %(p)s") % {"p": percent(target)}
    return Verdict(True, None, probability, f"{text}; {keep}.")
