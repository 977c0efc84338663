"""BG/NBD: published CDNOW numbers, lifetimes as oracle, numerics, persistence."""

from __future__ import annotations

import json
import re
import warnings

import lifetimes
import lifetimes.datasets as lds
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxml.exceptions import (
    ConvergenceError,
    DataValidationError,
    ModelLoadError,
    NotFittedError,
)
from cxml.models import BetaGeoModel
from cxml.models._bgnbd import bgnbd_log_likelihood


@pytest.fixture(scope="module")
def cdnow():
    return lds.load_cdnow_summary()


@pytest.fixture(scope="module")
def bg(cdnow):
    return BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def lt_bg(cdnow):
    return lifetimes.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_reference_parameters_and_log_likelihood(bg):
    ref = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    for k, v in ref.items():
        assert bg.params_[k] == pytest.approx(v, rel=1e-3)
    assert bg.log_likelihood_ == pytest.approx(-9582.43, abs=0.05)
    assert isinstance(bg.params_["r"], float)
    assert bg.params_at_bound_ == ()


def test_reference_point_values(bg):
    assert bg.expected_purchases(39, 2, 30.43, 38.86)[0] == pytest.approx(1.2259, abs=1e-4)
    assert bg.probability_alive(2, 30.43, 38.86)[0] == pytest.approx(0.7266, abs=1e-4)


def test_standard_errors_match_lifetimes(bg, lt_bg):
    published = {"r": 0.0126, "alpha": 0.378, "a": 0.186, "b": 0.705}
    for k, v in published.items():
        assert bg.standard_errors_[k] == pytest.approx(v, rel=0.01)
        assert bg.standard_errors_[k] == pytest.approx(lt_bg.standard_errors_[k], rel=2e-3)


def test_fit_agrees_with_lifetimes(bg, lt_bg, cdnow):
    for k in bg.params_:
        assert bg.params_[k] == pytest.approx(lt_bg.params_[k], rel=1e-4)
    # lifetimes reports its likelihood in rescaled time; evaluate at its parameters.
    lt_ll = bgnbd_log_likelihood(
        dict(lt_bg.params_), cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ).sum()
    assert bgnbd_log_likelihood(
        bg.params_, cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ).sum() == pytest.approx(bg.log_likelihood_, rel=1e-12)
    assert bg.log_likelihood_ >= lt_ll - 1e-6 * len(cdnow)


def test_holdout_prediction_total(bg, cdnow):
    # Design reference: BG/NBD predicts 1,653.4 repeat transactions in weeks 40-78
    # (39 weeks) for the CDNOW sample. The published summary has T in weeks.
    pred = bg.expected_purchases(39, cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum()
    assert pred == pytest.approx(1653.4, abs=2.0)


def test_predictions_match_lifetimes_on_cdnow(bg, cdnow):
    lt = bg.to_lifetimes()
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    for t in (0.5, 1.0, 10.0, 39.0, 52.0, 200.0):
        np.testing.assert_allclose(
            bg.expected_purchases(t, f, r, T),
            lt.conditional_expected_number_of_purchases_up_to_time(t, f, r, T),
            rtol=1e-8,
        )
    np.testing.assert_allclose(
        bg.probability_alive(f, r, T), lt.conditional_probability_alive(f, r, T), rtol=1e-10
    )
    ts = np.array([1.0, 5.0, 39.0, 78.0, 500.0])
    np.testing.assert_allclose(
        bg.population_expected_purchases(ts),
        lt.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-9,
    )
    for n in range(12):
        assert bg.probability_of_purchases(39.0, n) == pytest.approx(
            lt.probability_of_n_purchases_up_to_time(39.0, n), rel=1e-8
        )


def test_probability_of_purchases_sums_to_one(bg):
    p = bg.probability_of_purchases(52.0, np.arange(0, 400))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(p >= 0)


def test_vector_t_broadcasts(bg):
    t = np.array([1.0, 10.0, 39.0])
    out = bg.expected_purchases(t, [2, 2, 2], [30.43] * 3, [38.86] * 3)
    each = [bg.expected_purchases(v, 2, 30.43, 38.86)[0] for v in t]
    np.testing.assert_allclose(out, each, rtol=1e-12)


def test_weights_and_compression_equal_expanded_data(cdnow):
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    doubled = BetaGeoModel().fit(np.r_[f, f], np.r_[r, r], np.r_[T, T])
    weighted = BetaGeoModel().fit(f, r, T, weights=np.full(len(f), 2.0))
    single = BetaGeoModel().fit(f, r, T)
    for k in single.params_:
        assert doubled.params_[k] == pytest.approx(single.params_[k], rel=1e-5)
        assert weighted.params_[k] == pytest.approx(single.params_[k], rel=1e-5)
    assert doubled.log_likelihood_ == pytest.approx(2 * single.log_likelihood_, rel=1e-9)
    assert weighted.log_likelihood_ == pytest.approx(2 * single.log_likelihood_, rel=1e-9)
    # Identical rows are merged: far fewer distinct rows than customers.
    assert doubled.data_summary_["n_customers"] == 2 * len(f)
    assert doubled.data_summary_["n_distinct_rows"] < len(f)


def test_penalizer_matches_lifetimes(cdnow):
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ours = BetaGeoModel(penalizer=0.01).fit(f, r, T)
    theirs = lifetimes.BetaGeoFitter(penalizer_coef=0.01).fit(f, r, T)
    for k in ours.params_:
        assert ours.params_[k] == pytest.approx(theirs.params_[k], rel=1e-3)


def test_fit_is_deterministic(cdnow):
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    a = BetaGeoModel().fit(f, r, T)
    b = BetaGeoModel().fit(f, r, T)
    assert a.params_ == b.params_
    assert a.standard_errors_ == b.standard_errors_


def test_not_fitted_raises():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BetaGeoModel().probability_alive([1], [1], [2])


@pytest.mark.parametrize(
    ("f", "r", "T", "match"),
    [
        ([1, 2], [3.0, 5.0], [2.0, 6.0], r"recency > T for 1 of 2 customers"),
        ([0, 2], [1.0, 5.0], [2.0, 6.0], r"recency > 0 with frequency 0 for 1 of 2"),
        ([-1, 2], [0.0, 5.0], [2.0, 6.0], r"frequency is negative for 1 of 2"),
        ([1.5, 2], [1.0, 5.0], [2.0, 6.0], r"fractional for 1 of 2"),
        ([1, np.nan], [1.0, 5.0], [2.0, 6.0], r"frequency is NaN or infinite for 1 of 2"),
        ([1, 2], [1.0, 5.0], [2.0, 6.0, 7.0], r"same length, got 2, 2 and 3"),
    ],
)
def test_bad_input_is_refused_with_counts(f, r, T, match):
    with pytest.raises(DataValidationError, match=match):
        BetaGeoModel().fit(f, r, T)


def test_bad_weights_and_penalizer():
    with pytest.raises(DataValidationError, match="weights is negative for 1 of 2"):
        BetaGeoModel().fit([1, 2], [1, 2], [3, 4], weights=[1, -1])
    with pytest.raises(ValueError, match="penalizer must be"):
        BetaGeoModel(penalizer=-1).fit([1, 2], [1, 2], [3, 4])


def test_unidentified_parameters_are_reported(caplog):
    # Nobody repeats: the purchase rate r/alpha -> 0 with alpha running to the bound.
    rng = np.random.default_rng(0)
    T = rng.uniform(1, 50, 500)
    with caplog.at_level("WARNING", logger="cxml.models._base"):
        m = BetaGeoModel().fit(np.zeros(500), np.zeros(500), T)
    assert re.search(
        r"parameter\(s\) alpha reached the optimiser bound .*"
        r"BetaGeoModel\(penalizer=0\.01\)",
        caplog.text,
    )
    assert m.params_at_bound_ == ("alpha",)
    assert m.params_["r"] / m.params_["alpha"] < 1e-9


def test_convergence_failure_raises(monkeypatch, cdnow):
    from cxml.models import _base

    real = _base.optimize.minimize

    def one_step(*args, **kwargs):
        kwargs["options"] = {**kwargs["options"], "maxiter": 1}
        return real(*args, **kwargs)

    monkeypatch.setattr(_base.optimize, "minimize", one_step)
    with pytest.raises(ConvergenceError, match="did not converge.*Try penalizer"):
        BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_save_load_roundtrip(bg, tmp_path, cdnow):
    path = tmp_path / "bg.json"
    bg.save(path)
    d = json.loads(path.read_text())
    assert d["model"] == "BetaGeoModel"
    assert set(d) >= {"params", "standard_errors", "data_summary", "cxml_version", "log_likelihood"}
    assert d["data_summary"]["n_customers"] == 2357
    loaded = BetaGeoModel.load(path)
    assert loaded.params_ == bg.params_
    assert loaded.standard_errors_ == bg.standard_errors_
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    np.testing.assert_array_equal(
        loaded.expected_purchases(10, f, r, T), bg.expected_purchases(10, f, r, T)
    )
    assert BetaGeoModel.from_dict(bg.to_dict()).log_likelihood_ == bg.log_likelihood_


def test_load_errors(tmp_path, bg):
    with pytest.raises(ModelLoadError, match="no saved model"):
        BetaGeoModel.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelLoadError, match="cannot read"):
        BetaGeoModel.load(bad)
    d = bg.to_dict()
    d["model"] = "GammaGammaModel"
    with pytest.raises(ModelLoadError, match="expected a saved BetaGeoModel"):
        BetaGeoModel.from_dict(d)
    d = bg.to_dict()
    del d["params"]["r"]
    with pytest.raises(ModelLoadError, match="incomplete or corrupt"):
        BetaGeoModel.from_dict(d)


def test_from_and_to_lifetimes(lt_bg, bg):
    m = BetaGeoModel.from_lifetimes(lt_bg)
    for k in m.params_:
        assert m.params_[k] == lt_bg.params_[k]
        assert m.standard_errors_[k] == pytest.approx(lt_bg.standard_errors_[k], rel=1e-9)
    assert m.log_likelihood_ == pytest.approx(bg.log_likelihood_, abs=1e-3)
    back = m.to_lifetimes()
    assert back.conditional_probability_alive(2, 30.43, 38.86) == pytest.approx(
        m.probability_alive(2, 30.43, 38.86)[0], rel=1e-12
    )


def test_intervals(bg):
    est, lo, hi = bg.expected_purchases_interval(39, [0, 2, 10], [0, 30.43, 35], [38.86] * 3)
    np.testing.assert_allclose(
        est, bg.expected_purchases(39, [0, 2, 10], [0, 30.43, 35], [38.86] * 3)
    )
    assert np.all(lo < est) and np.all(est < hi)
    _, lo50, hi50 = bg.expected_purchases_interval(39, [2], [30.43], [38.86], level=0.5)
    assert lo[1] < lo50[0] < hi50[0] < hi[1]
    ci = bg.confidence_intervals(0.95)
    assert ci.loc["r", "lower"] < bg.params_["r"] < ci.loc["r", "upper"]
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        bg.confidence_intervals(95)


params_st = st.fixed_dictionaries(
    {
        "r": st.floats(0.01, 50),
        "alpha": st.floats(0.01, 500),
        "a": st.floats(0.05, 50),
        "b": st.floats(0.05, 50),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=params_st,
    x=st.integers(0, 100_000),
    frac=st.floats(0.0, 1.0),
    T=st.floats(0.01, 20_000),
    t=st.floats(0.0, 1e6),
)
def test_predictions_finite_over_valid_domain(params, x, frac, T, t):
    if abs(params["a"] - 1.0) < 1e-6:
        return
    m = BetaGeoModel.from_dict(_as_dict(params))
    tx = frac * T if x > 0 else 0.0
    e = m.expected_purchases(t, x, tx, T)
    pa = m.probability_alive(x, tx, T)
    assert np.all(np.isfinite(e)) and np.all(e >= -1e-12)
    assert np.all(np.isfinite(pa)) and np.all((pa >= 0) & (pa <= 1))
    pop = m.population_expected_purchases(t)
    assert np.isfinite(pop) and pop >= -1e-12


@settings(max_examples=100, deadline=None)
@given(
    params=params_st,
    x=st.integers(0, 60),
    frac=st.floats(0.0, 1.0),
    T=st.floats(0.5, 200),
    t=st.floats(0.01, 200),
)
def test_predictions_match_lifetimes_where_it_is_finite(params, x, frac, T, t):
    if abs(params["a"] - 1.0) < 1e-3:
        return
    m = BetaGeoModel.from_dict(_as_dict(params))
    lt = m.to_lifetimes()
    tx = frac * T if x > 0 else 0.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ref = lt.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T)
    ours = m.expected_purchases(t, x, tx, T)[0]
    if np.isfinite(ref) and ref > 1e-9:
        assert ours == pytest.approx(float(ref), rel=1e-6)


def test_expected_purchases_against_mpmath_at_extremes():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    p = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    m = BetaGeoModel.from_dict(_as_dict(p))
    r, al, a, b = (mpmath.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    for x, tx, T, t in [
        (5000, 900.0, 1000.0, 5000.0),
        (300, 30.0, 39.0, 1e5),
        (0, 0.0, 39.0, 1e-6),
        (2, 30.43, 38.86, 1e-9),
        (20000, 10.0, 10.0, 1.0),
    ]:
        z = t / (al + T + t)
        hyp = mpmath.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1 - hyp * ((al + T) / (al + T + t)) ** (r + x))
        den = 1 + (x > 0) * a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x)
        assert m.expected_purchases(t, x, tx, T)[0] == pytest.approx(float(num / den), rel=1e-9)


@pytest.mark.parametrize("a", [0.2, 0.05, 0.02, 0.01])
def test_quadrature_fallback_matches_mpmath_for_small_a(a):
    """The 2F1 fallback keeps the mass near p = 0 where e^v underflows (a < 0.11)."""
    mpmath = pytest.importorskip("mpmath")
    from cxml.models._hyp2f1 import _by_quadrature

    mpmath.mp.dps = 40
    for A, B, z in [(1.0, 2.0, 0.9), (5.0, 0.5, 0.99), (100.0, 3.0, 0.5)]:
        b1, c = a - 1.0, a - 1.0 + B  # BG/NBD: b1 = a - 1, c - b1 = B
        exact = 1 - (1 - mpmath.mpf(z)) ** A * mpmath.hyp2f1(A, c - b1, c, z)
        q = _by_quadrature(np.array([A]), np.array([b1]), np.array([c]), np.array([z]))[0]
        assert q == pytest.approx(float(exact), rel=1e-12)


def _as_dict(params):
    k = len(params)
    return {
        "model": "BetaGeoModel",
        "params": params,
        "penalizer": 0.0,
        "standard_errors": {n: None for n in params},
        "log_params_covariance": [[0.0] * k for _ in range(k)],
        "log_likelihood": 0.0,
    }


def test_fit_and_predictions_match_lifetimes_on_simulated_data():
    from cxml.datasets._simulate import _simulate_summary

    p = {"r": 0.8, "alpha": 3.0, "a": 0.6, "b": 4.0}
    T = np.random.default_rng(2).uniform(20, 80, 5000)
    x, tx, T = _simulate_summary(5000, params=p, T=T, seed=3)
    ours = BetaGeoModel().fit(x, tx, T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lifetimes.BetaGeoFitter().fit(x, tx, T)
    for k in p:
        assert ours.params_[k] == pytest.approx(theirs.params_[k], rel=1e-4)
    ll_theirs = bgnbd_log_likelihood(dict(theirs.params_), x, tx, T).sum()
    assert ours.log_likelihood_ >= ll_theirs - 1e-6 * x.size
    lt = ours.to_lifetimes()
    assert x.max() > 50  # includes heavy buyers
    for t in (1.0, 26.0, 104.0):
        np.testing.assert_allclose(
            ours.expected_purchases(t, x, tx, T),
            lt.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
            rtol=1e-6,
        )
    np.testing.assert_allclose(
        ours.probability_alive(x, tx, T), lt.conditional_probability_alive(x, tx, T), rtol=1e-9
    )
