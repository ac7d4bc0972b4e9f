"""The A/B verdict: probabilities checked against closed forms, and the words a marketer
reads for splits and holdouts. Pure functions: no database."""

from __future__ import annotations

from fractions import Fraction
from math import exp, lgamma, log

import pytest

from wagtail_journeys.analytics.stats import (
    Arm,
    chance_better,
    chance_to_beat_all,
    percent,
    verdict,
)


def miller(conv_a: int, n_a: int, conv_b: int, n_b: int) -> float:
    """P(p_B > p_A) with Beta(1 + conversions, 1 + failures) posteriors, in closed form
    (Evan Miller, "Formulas for Bayesian A/B Testing", 2015)."""
    a_a, b_a, a_b, b_b = 1 + conv_a, 1 + n_a - conv_a, 1 + conv_b, 1 + n_b - conv_b

    def log_beta(x: float, y: float) -> float:
        return lgamma(x) + lgamma(y) - lgamma(x + y)

    return sum(
        exp(log_beta(a_a + i, b_a + b_b) - log(b_b + i) - log_beta(1 + i, b_b) - log_beta(a_a, b_a))
        for i in range(a_b)
    )


def arm(branch_id: int, entered: int, converted: int, label: str = "", holdout=False) -> Arm:
    return Arm(branch_id, label or "AB"[branch_id - 1], entered, converted, holdout)


def test_exact_small_cases():
    # Beta(2, 1) (one conversion of one) against a uniform prior: ∫ 2x · x dx = 2/3
    assert chance_better(arm(2, 1, 1), arm(1, 0, 0)) == pytest.approx(float(Fraction(2, 3)))
    # equal counts: a coin toss
    assert chance_better(arm(2, 50, 5), arm(1, 50, 5)) == pytest.approx(0.5, abs=1e-9)
    # Beta(1, 2) (one failure) vs Beta(2, 1) (one success): ∫ 2x · (1 − (1 − x)²) dx = 5/6
    assert chance_better(arm(2, 1, 1), arm(1, 1, 0)) == pytest.approx(5 / 6, abs=1e-6)


@pytest.mark.parametrize(
    "counts",
    [
        (20, 200, 35, 200),
        (1, 100, 3, 100),
        (0, 120, 2, 130),
        (500, 10_000, 560, 10_000),
        (40, 1_000, 30, 1_000),
        (12_000, 500_000, 12_300, 500_000),
    ],
)
def test_two_arms_match_the_closed_form(counts):
    conv_a, n_a, conv_b, n_b = counts
    got = chance_better(arm(2, n_b, conv_b), arm(1, n_a, conv_a))
    assert got == pytest.approx(miller(conv_a, n_a, conv_b, n_b), abs=1e-5)


def test_many_arms_add_up_to_one_and_agree_with_pairs():
    arms = [arm(1, 1000, 100, "A"), arm(2, 1000, 125, "B"), arm(3, 1000, 110, "C")]
    chances = chance_to_beat_all(arms)
    assert sum(chances) == pytest.approx(1.0)
    assert max(chances) == chances[1]
    # being best of three is harder than beating each one alone
    assert chances[1] < chance_better(arms[1], arms[0])
    assert chances[1] < chance_better(arms[1], arms[2])


def test_percent_rounds_down():
    assert percent(0.9649) == "96 %"
    assert percent(0.9499) == "94 %"
    assert percent(0.95) == "95 %"
    assert percent(0.999999) == "99 %"
    assert percent(1.0) == "100 %"


def test_no_winner_below_the_minimum_sample():
    result = verdict([arm(1, 37, 30), arm(2, 5000, 10)], min_sample=100)
    assert not result.enough
    assert result.best_branch_id is None and result.probability is None
    assert result.text == "Not enough data yet: 37 of 100 contacts in the smallest arm."


def test_a_likely_winner_below_the_target_keeps_collecting():
    # 100 of 1000 against 125 of 1000
    expected = miller(100, 1000, 125, 1000)
    assert 0.95 < expected < 0.97
    result = verdict([arm(1, 1000, 100), arm(2, 1000, 125)], min_sample=100, target=0.97)
    assert result.enough and result.best_branch_id is None
    assert result.probability == pytest.approx(expected, abs=1e-5)
    assert result.text == "B converts better than A: 96 % likely; keep collecting until 97 %."


def test_a_winner_is_named_at_the_target():
    result = verdict([arm(1, 1000, 100), arm(2, 1000, 125)], min_sample=100)
    assert result.best_branch_id == 2
    assert result.text == "B converts better than A: 96 % likely."
    result = verdict([arm(1, 1000, 150), arm(2, 1000, 100)], min_sample=100)
    assert result.best_branch_id == 1
    assert result.text.startswith("A converts better than B: 99 % likely")


def test_three_arms():
    arms = [arm(1, 1000, 100, "A"), arm(2, 1000, 125, "B"), arm(3, 1000, 110, "C")]
    result = verdict(arms, min_sample=100)
    assert result.best_branch_id is None
    assert result.text == "B converts best of 3 arms: 83 % likely; keep collecting until 95 %."


def test_holdout_lift():
    send, hold = arm(1, 4000, 484, "Send"), arm(2, 4000, 400, "Nothing", holdout=True)
    expected = miller(400, 4000, 484, 4000)
    result = verdict([send, hold], min_sample=100)
    assert result.probability == pytest.approx(expected, abs=1e-5)
    assert result.best_branch_id == 1
    points = (484 - 400) / 4000 * 100
    assert f"{points:.1f}" == "2.1"
    assert result.text == (
        f"Sending lifts conversions by 2.1 points over the holdout: {percent(expected)} likely."
    )


def test_holdout_doing_better_than_sending():
    send, hold = arm(1, 1000, 90, "Send"), arm(2, 1000, 100, "Nothing", holdout=True)
    result = verdict([send, hold], min_sample=100)
    assert result.best_branch_id is None
    assert result.text.startswith("The holdout converts 1.0 points better than sending: ")
    assert result.text.endswith("keep collecting until 95 %.")


def test_no_conversions_and_single_arm():
    assert verdict([arm(1, 500, 0), arm(2, 500, 0)], min_sample=100).text == (
        "No conversions yet in any arm."
    )
    assert not verdict([arm(1, 500, 5)], min_sample=100).enough
