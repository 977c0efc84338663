"""BG/BB on the donations data: published numbers and lifetimes as oracle."""

from __future__ import annotations

import lifetimes
import lifetimes.datasets as lds
import numpy as np
import pytest

from cxml.exceptions import DataValidationError
from cxml.models import BetaGeoBetaBinomModel


@pytest.fixture(scope="module")
def donations():
    return lds.load_donations()


@pytest.fixture(scope="module")
def bgbb(donations):
    d = donations
    return BetaGeoBetaBinomModel().fit(
        d["frequency"], d["recency"], d["periods"], weights=d["weights"]
    )


def test_reference_values(bgbb):
    ref = {"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834}
    for k, v in ref.items():
        assert bgbb.params_[k] == pytest.approx(v, rel=1e-3)
    assert bgbb.log_likelihood_ == pytest.approx(-33225.58, abs=0.05)


def test_predictions_match_lifetimes(bgbb, donations):
    d = donations
    lt = bgbb.to_lifetimes()
    for m in (1, 5, 10):
        np.testing.assert_allclose(
            bgbb.expected_purchases(m, d["frequency"], d["recency"], d["periods"]),
            lt.conditional_expected_number_of_purchases_up_to_time(
                m, d["frequency"], d["recency"], d["periods"]
            ),
            rtol=1e-9,
        )
        np.testing.assert_allclose(
            bgbb.probability_alive(d["frequency"], d["recency"], d["periods"], m),
            lt.conditional_probability_alive(m, d["frequency"], d["recency"], d["periods"]),
            rtol=1e-9,
        )


def test_fit_matches_lifetimes(bgbb, donations):
    d = donations
    lt = lifetimes.BetaGeoBetaBinomFitter().fit(
        d["frequency"], d["recency"], d["periods"], weights=d["weights"]
    )
    for k in bgbb.params_:
        assert bgbb.params_[k] == pytest.approx(lt.params_[k], rel=1e-4)


def test_bad_input():
    with pytest.raises(DataValidationError, match=r"frequency > recency .* for 1 of 2"):
        BetaGeoBetaBinomModel().fit([3, 1], [2, 1], [6, 6])
    with pytest.raises(DataValidationError, match=r"recency > n_periods for 1 of 2"):
        BetaGeoBetaBinomModel().fit([1, 1], [7, 1], [6, 6])
