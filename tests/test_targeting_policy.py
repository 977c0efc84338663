"""IPW policy value (issue 19, line 5): hand values, the single-arm case, bootstrap CIs."""

from __future__ import annotations

import numpy as np
import pytest

from cxml.exceptions import DataValidationError
from cxml.targeting import policy_value, policy_value_ci


def test_policy_value_by_hand():
    y = [1, 0, 0, 1, 1, 0]
    t = ["a", "b", "a", "b", "c", "c"]
    # Shares 1/3 each; matches: row 0 (a, y=1) and row 3 (b, y=1) and row 5 (c, y=0).
    pi = ["a", "a", "b", "b", "b", "c"]
    assert policy_value(y, t, pi) == pytest.approx((1 * 3 + 1 * 3 + 0) / 6)
    # Everyone the same arm: the mean outcome of that arm.
    assert policy_value(y, t, "a") == pytest.approx(0.5)
    assert policy_value(y, t, "c") == pytest.approx(0.5)


def test_bootstrap_interval_covers_a_known_difference():
    rng = np.random.default_rng(0)
    n = 6000
    t = rng.choice(["none", "mail"], n)
    x = rng.integers(0, 2, n)
    # Mail helps x=1 (+0.2) and hurts x=0 (-0.1): sending only to x=1 beats sending to all
    # by 0.5 * 0.1 = 0.05 in expectation.
    p = 0.3 + np.where(t == "mail", np.where(x == 1, 0.2, -0.1), 0.0)
    y = rng.binomial(1, p)
    pi = np.where(x == 1, "mail", "none")
    res = policy_value_ci(y, t, pi, "mail", n_boot=300, random_state=1)
    assert res["difference"] == pytest.approx(res["value"] - res["baseline_value"])
    low, high = res["difference_ci"]
    assert low < 0.05 < high and low > 0
    assert res["value_ci"][0] < res["value"] < res["value_ci"][1]


def test_policy_errors():
    with pytest.raises(
        DataValidationError,
        match=r"the policy chooses arm\(s\) \['sms'\] that no customer received",
    ):
        policy_value([1, 0], ["a", "b"], ["sms", "a"])
    with pytest.raises(DataValidationError, match="y, treatment and policy have 2, 2 and 3 rows"):
        policy_value([1, 0], ["a", "b"], ["a", "a", "b"])
