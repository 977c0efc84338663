"""Pareto/NBD: published CDNOW numbers and lifetimes as oracle."""

from __future__ import annotations

import lifetimes.datasets as lds
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.datasets._simulate import _simulate_summary
from cxml.models import ParetoNBDModel


@pytest.fixture(scope="module")
def cdnow():
    return lds.load_cdnow_summary()


@pytest.fixture(scope="module")
def pnbd(cdnow):
    return ParetoNBDModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_reference_table(pnbd):
    for k, v in {"r": 0.5533, "alpha": 10.5776, "s": 0.6062, "beta": 11.6679}.items():
        assert pnbd.params_[k] == pytest.approx(v, rel=1e-3)
    assert pnbd.log_likelihood_ == pytest.approx(-9594.97, abs=0.05)


def test_holdout_prediction_total(pnbd, cdnow):
    pred = pnbd.expected_purchases(39, cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum()
    assert pred == pytest.approx(1665.5, abs=2.0)


def test_predictions_match_lifetimes(pnbd, cdnow):
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    lt = pnbd.to_lifetimes()
    for t in (1.0, 39.0, 300.0):
        np.testing.assert_allclose(
            pnbd.expected_purchases(t, f, r, T),
            lt.conditional_expected_number_of_purchases_up_to_time(t, f, r, T), rtol=1e-8)
    np.testing.assert_allclose(pnbd.probability_alive(f, r, T),
                               lt.conditional_probability_alive(f, r, T), rtol=1e-9)
    ts = np.array([1.0, 39.0, 100.0])
    np.testing.assert_allclose(pnbd.population_expected_purchases(ts),
                               lt.expected_number_of_purchases_up_to_time(ts), rtol=1e-10)


def test_standard_errors_positive_and_save_load(pnbd, tmp_path):
    assert all(v > 0 for v in pnbd.standard_errors_.values())
    ci = pnbd.confidence_intervals(0.95)
    assert (ci["lower"] < ci["estimate"]).all() and (ci["estimate"] < ci["upper"]).all()
    pnbd.save(tmp_path / "p.json")
    assert ParetoNBDModel.load(tmp_path / "p.json").params_ == pnbd.params_


def test_p_alive_at_recency_equal_T_is_one(pnbd):
    # bought at the very end of the window: certainly alive
    assert pnbd.probability_alive([3], [20.0], [20.0])[0] == pytest.approx(1.0)


@pytest.mark.slow
def test_parameter_recovery_200k():
    # ~90 s: the Pareto/NBD gradient needs extra likelihood passes (see _pareto_loglik).
    # Lifetimes short relative to the window (mean rate s/beta = 0.05 a week) so that
    # s and beta are identified to ~2 % at this size.
    p = {"r": 0.8, "alpha": 8.0, "s": 2.0, "beta": 40.0}
    n = 200_000
    T = np.random.default_rng(5).uniform(80, 160, n)
    x, tx, T = _simulate_summary(n, params=p, model="paretonbd", T=T, seed=10)
    fit = ParetoNBDModel().fit(x, tx, T)
    for k, v in p.items():
        assert fit.params_[k] == pytest.approx(v, rel=0.05), k
        assert abs(fit.params_[k] - v) < 4 * fit.standard_errors_[k], k


def _model(r, alpha, s, beta):
    return ParetoNBDModel.from_dict({
        "model": "ParetoNBDModel", "params": {"r": r, "alpha": alpha, "s": s, "beta": beta},
        "standard_errors": dict.fromkeys(["r", "alpha", "s", "beta"]),
        "log_params_covariance": [[0.0] * 4] * 4, "log_likelihood": 0.0})


@settings(max_examples=80, deadline=None)
@given(r=st.floats(0.01, 20), alpha=st.floats(0.01, 200), s=st.floats(0.01, 20),
       beta=st.floats(0.01, 200), x=st.integers(0, 5_000), frac=st.floats(0, 1),
       T=st.floats(0.1, 2000), t=st.floats(0, 1e5))
def test_finite_over_domain(r, alpha, s, beta, x, frac, T, t):
    m = _model(r, alpha, s, beta)
    tx = frac * T if x > 0 else 0.0
    pa = m.probability_alive(x, tx, T)
    e = m.expected_purchases(t, x, tx, T)
    assert np.all(np.isfinite(pa)) and np.all((pa >= 0) & (pa <= 1))
    assert np.all(np.isfinite(e)) and np.all(e >= 0)
