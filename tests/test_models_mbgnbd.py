"""MBG/NBD: published CDNOW numbers and lifetimes as oracle."""

from __future__ import annotations

import lifetimes
import lifetimes.datasets as lds
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.datasets._simulate import _simulate_summary
from cxml.models import ModifiedBetaGeoModel


@pytest.fixture(scope="module")
def cdnow():
    return lds.load_cdnow_summary()


@pytest.fixture(scope="module")
def mbg(cdnow):
    return ModifiedBetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_reference_table(mbg):
    for k, v in {"r": 0.5248, "alpha": 6.1830, "a": 0.8914, "b": 1.6140}.items():
        assert mbg.params_[k] == pytest.approx(v, rel=1e-3)
    assert mbg.log_likelihood_ == pytest.approx(-9582.13, abs=0.05)


def test_matches_lifetimes(mbg, cdnow):
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    lt_fit = lifetimes.ModifiedBetaGeoFitter().fit(f, r, T)
    for k in mbg.params_:
        assert mbg.params_[k] == pytest.approx(lt_fit.params_[k], rel=1e-4)
        assert mbg.standard_errors_[k] == pytest.approx(lt_fit.standard_errors_[k], rel=2e-3)
    lt = mbg.to_lifetimes()
    for t in (1.0, 39.0, 300.0):
        np.testing.assert_allclose(
            mbg.expected_purchases(t, f, r, T),
            lt.conditional_expected_number_of_purchases_up_to_time(t, f, r, T),
            rtol=1e-8,
        )
    np.testing.assert_allclose(
        mbg.probability_alive(f, r, T), lt.conditional_probability_alive(f, r, T), rtol=1e-10
    )
    ts = np.array([1.0, 39.0, 100.0])
    np.testing.assert_allclose(
        mbg.population_expected_purchases(ts),
        lt.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-9,
    )
    for n in range(8):
        assert mbg.probability_of_purchases(39.0, n) == pytest.approx(
            lt.probability_of_n_purchases_up_to_time(39.0, n), rel=1e-8
        )


def test_customers_without_repeats_may_be_dead(mbg):
    # unlike BG/NBD, P(alive) < 1 at frequency 0
    pa = mbg.probability_alive([0, 0], [0.0, 0.0], [1.0, 50.0])
    assert 0 < pa[1] < pa[0] < 1


def test_probabilities_sum_to_one(mbg):
    assert mbg.probability_of_purchases(52.0, np.arange(400)).sum() == pytest.approx(1, abs=1e-9)


def test_save_load(mbg, tmp_path):
    mbg.save(tmp_path / "m.json")
    back = ModifiedBetaGeoModel.load(tmp_path / "m.json")
    assert back.params_ == mbg.params_


@settings(max_examples=60, deadline=None)
@given(
    r=st.floats(0.01, 20),
    alpha=st.floats(0.01, 200),
    a=st.floats(0.05, 20),
    b=st.floats(0.05, 20),
    x=st.integers(0, 50_000),
    frac=st.floats(0, 1),
    T=st.floats(0.1, 5000),
    t=st.floats(0, 1e5),
)
def test_finite_over_domain(r, alpha, a, b, x, frac, T, t):
    if abs(a - 1) < 1e-6:
        return
    m = ModifiedBetaGeoModel.from_dict(
        {
            "model": "ModifiedBetaGeoModel",
            "params": {"r": r, "alpha": alpha, "a": a, "b": b},
            "standard_errors": dict.fromkeys("r alpha a b".split()),
            "log_params_covariance": [[0.0] * 4] * 4,
            "log_likelihood": 0.0,
        }
    )
    tx = frac * T if x > 0 else 0.0
    e = m.expected_purchases(t, x, tx, T)
    assert np.all(np.isfinite(e)) and np.all(e >= -1e-12)


@pytest.mark.slow
def test_parameter_recovery_200k():
    p = {"r": 0.8, "alpha": 6.0, "a": 1.2, "b": 3.0}
    n = 200_000
    T = np.random.default_rng(4).uniform(40, 80, n)
    x, tx, T = _simulate_summary(n, params=p, model="mbgnbd", T=T, seed=9)
    fit = ModifiedBetaGeoModel().fit(x, tx, T)
    for k, v in p.items():
        assert fit.params_[k] == pytest.approx(v, rel=0.05), k
