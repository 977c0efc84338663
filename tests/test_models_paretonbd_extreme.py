"""Pareto/NBD predictions for any parameters (issue 16, acceptance 7): vectorised, and exact
against mpmath when s and beta are huge, as on Online Retail II; degenerate fits say so."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.datasets._simulate import _simulate_summary
from cxml.models import ParetoNBDModel

# The unpenalised fit on Online Retail II (public split, weeks) with this code, and the one
# quoted in issue 16 (s 81,711, beta 3.3e7).
OR_FIT = (0.7421, 10.562, 1.079e5, 4.146e7)
ISSUE_FIT = (0.74, 10.5, 81_711.0, 3.3e7)


def _model(r, alpha, s, beta):
    return ParetoNBDModel.from_dict(
        {
            "model": "ParetoNBDModel",
            "params": {"r": r, "alpha": alpha, "s": s, "beta": beta},
            "standard_errors": dict.fromkeys(["r", "alpha", "s", "beta"]),
            "log_params_covariance": [[0.0] * 4] * 4,
            "log_likelihood": 0.0,
        }
    )


def _mp_died_odds(p, x, tx, T, mu=None):
    """s I / [(alpha+T)^-(r+x) (beta+T)^-s] of note 009 by mpmath.quad (40 digits); with
    ``mu`` the limit s, beta -> inf, s / beta = mu (exponential lifetime of rate mu)."""
    import mpmath as mp

    with mp.workdps(40):
        r, a, s, b = (mp.mpf(v) for v in p)
        x, tx, T = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
        if tx == T:
            return mp.mpf(0)
        if mu is None:

            def f(tau):
                return s * ((a + T) / (a + tau)) ** (r + x) * ((b + T) / (b + tau)) ** s / (b + tau)
        else:
            m = mp.mpf(mu)

            def f(tau):
                return m * ((a + T) / (a + tau)) ** (r + x) * mp.exp(m * (T - tau))

        # The integrand falls from tau = t_x; points cluster there.
        pts = [tx + (T - tx) * u for u in (0, 1e-6, 1e-4, 1e-2, 0.1, 0.5, 1)]
        return mp.quad(f, pts)


def _mp_p_alive(p, x, tx, T, mu=None):
    return float(1 / (1 + _mp_died_odds(p, x, tx, T, mu)))


def _mp_expected(p, t, x, tx, T):
    """Note 009's conditional expectation, P(alive) times the alive-at-T factor (40 digits)."""
    import mpmath as mp

    with mp.workdps(40):
        r, a, s, b = (mp.mpf(v) for v in p)
        x, T, t = mp.mpf(x), mp.mpf(T), mp.mpf(t)
        ly = -mp.log1p(t / (b + T))
        bracket = -ly if s == 1 else -mp.expm1((s - 1) * ly) / (s - 1)
        alive = (r + x) * (b + T) / (a + T) * bracket
        return float(alive / (1 + _mp_died_odds(p, x, tx, T)))


def _mp_pmf(p, t, n):
    """P(X(t) = n): the alive-at-t NBD term plus note 012's death-time integral (40 digits)."""
    import mpmath as mp

    with mp.workdps(40):
        r, a, s, b = (mp.mpf(v) for v in p)
        t = mp.mpf(t)

        def nbd(tau):
            return (
                mp.gamma(r + n)
                / (mp.gamma(r) * mp.factorial(n))
                * (a / (a + tau)) ** r
                * (tau / (a + tau)) ** n
            )

        died = mp.quad(
            lambda tau: nbd(tau) * (s / b) * (1 + tau / b) ** -(s + 1), [0, t / 8, t / 4, t / 2, t]
        )
        return float(nbd(t) * (1 + t / b) ** -s + died)


# -- extreme parameters against mpmath ---------------------------------------------------

CUSTOMERS = [  # (x, t_x, T) in weeks, Online Retail-like, plus corners
    (7, 57.14, 77.43),
    (0, 0.0, 18.14),
    (2, 26.0, 58.0),
    (3, 27.14, 36.43),
    (120, 76.0, 77.43),
    (1, 0.14, 77.43),
    (4, 31.57, 31.57),
    (40, 2.0, 77.43),
]


@pytest.mark.parametrize(
    "p", [OR_FIT, ISSUE_FIT, (0.5, 5.0, 1e5, 1e7), (2.0, 30.0, 1e5, 3e7), (0.3, 0.05, 3e5, 1e6)]
)
def test_extreme_parameters_match_mpmath(p):
    m = _model(*p)
    x, tx, T = (np.array(c, dtype=float) for c in zip(*CUSTOMERS, strict=True))
    pa = m.probability_alive(x, tx, T)
    e = m.expected_purchases(26.0, x, tx, T)
    for i in range(x.size):
        assert pa[i] == pytest.approx(_mp_p_alive(p, x[i], tx[i], T[i]), rel=1e-10)
        assert e[i] == pytest.approx(_mp_expected(p, 26.0, x[i], tx[i], T[i]), rel=1e-10)
    n = np.array([0, 1, 2, 5, 20, 60])
    ref = [_mp_pmf(p, 26.0, int(k)) for k in n]
    np.testing.assert_allclose(m.probability_of_purchases(26.0, n), ref, rtol=1e-10)


def test_moderate_parameters_match_mpmath():
    p = (0.5533, 10.5776, 0.6062, 11.6679)  # CDNOW (Fader & Hardie's note 009)
    m = _model(*p)
    for x, tx, T in [(2, 30.43, 38.86), (0, 0.0, 38.86), (20, 5.0, 39.0), (1, 38.85, 38.86)]:
        assert m.probability_alive(x, tx, T)[()] == pytest.approx(
            _mp_p_alive(p, x, tx, T), rel=1e-10
        )
        assert m.expected_purchases(39.0, x, tx, T)[()] == pytest.approx(
            _mp_expected(p, 39.0, x, tx, T), rel=1e-10
        )


# -- invariants over a wide range, including s and beta both huge --------------------------

params = dict(
    r=st.floats(0.01, 20),
    alpha=st.floats(0.01, 200),
    log_s=st.floats(-2, 6.5),
    log_mu=st.floats(-4, 0.5),
)


@settings(max_examples=30, deadline=None)
@given(
    **params,
    x=st.integers(0, 200),
    frac=st.floats(0, 1),
    T=st.floats(0.1, 500),
    t=st.floats(0, 500),
)
def test_predictions_finite_in_range_and_exact(r, alpha, log_s, log_mu, x, frac, T, t):
    s = 10.0**log_s
    p = (r, alpha, s, s / 10.0**log_mu)
    m = _model(*p)
    tx = frac * T if x > 0 else 0.0
    pa = m.probability_alive(x, tx, T)[()]
    e = m.expected_purchases(t, x, tx, T)[()]
    assert np.isfinite(pa) and 0.0 <= pa <= 1.0
    assert np.isfinite(e) and e >= 0.0
    # abs: below 1e-300 (e^-700: an early, short-lived cohort) double precision underflows.
    assert pa == pytest.approx(_mp_p_alive(p, x, tx, T), rel=1e-9, abs=1e-300)
    assert e == pytest.approx(_mp_expected(p, t, x, tx, T), rel=1e-9, abs=1e-300)


@settings(max_examples=25, deadline=None)
@given(**params, u=st.floats(0.01, 9))
def test_pmf_sums_to_one_for_any_s_and_beta(r, alpha, log_s, log_mu, u):
    # t <= 9 alpha keeps the NBD tail ratio t / (alpha + t) <= 0.9, so with r <= 20
    # (mean <= 180) n < 3000 holds all but 1e-30 of the mass.
    s = 10.0**log_s
    m = _model(r, alpha, s, s / 10.0**log_mu)
    t = u * alpha
    n = np.arange(3000)
    P = m.probability_of_purchases(t, n)
    assert np.all(np.isfinite(P)) and np.all(P >= 0)
    assert P.sum() == pytest.approx(1.0, abs=1e-10)
    assert (n * P).sum() == pytest.approx(m.population_expected_purchases(t), rel=1e-8)


def test_continuous_as_s_and_beta_grow_with_s_over_beta_fixed():
    # s, beta -> inf with s / beta = mu: the Gamma(s, beta) dropout rate collapses on mu and
    # the predictions tend to those of an exponential lifetime of rate mu, at rate O(1/s).
    r, alpha, mu = 0.74, 10.5, 0.0025
    x, tx, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 26.0, 57.14]), np.array([18.0, 58.0, 77.4])
    limit = np.array(
        [_mp_p_alive((r, alpha, 1.0, 1.0), *c, mu=mu) for c in zip(x, tx, T, strict=True)]
    )
    errors = []
    for s in 10.0 ** np.arange(1, 10):
        pa = _model(r, alpha, s, s / mu).probability_alive(x, tx, T)
        errors.append(np.max(np.abs(pa - limit)))
    errors = np.array(errors)
    assert np.all(np.diff(errors) < 0)  # monotone approach, no jump as s grows
    np.testing.assert_allclose(
        errors[2:-2] * 10.0 ** np.arange(3, 8), errors[4] * 1e5, rtol=0.05
    )  # O(1/s)
    assert errors[-1] < 1e-8


def test_vectorised_over_many_customers():
    # One call, many rows: same values as row-by-row calls.
    m = _model(*OR_FIT)
    rng = np.random.default_rng(3)
    T = rng.uniform(1, 80, 2000)
    x = rng.poisson(3, T.size).astype(float)
    tx = np.where(x > 0, rng.uniform(0, 1, T.size) * T, 0.0)
    pa = m.probability_alive(x, tx, T)
    idx = rng.choice(T.size, 5, replace=False)
    for i in idx:
        assert pa[i] == m.probability_alive(x[i], tx[i], T[i])[()]
    n = rng.poisson(2, T.size)
    P = m.probability_of_purchases(26.0, n)
    assert P[idx].tolist() == m.probability_of_purchases(26.0, n[idx]).tolist()


# -- a fit that runs off to the bounds says so --------------------------------------------


def test_divergent_fit_is_reported_with_the_remedy(caplog):
    # Every customer drops out at the same rate (s / beta = 0.05, s huge): the likelihood
    # rises towards s, beta -> inf and the fit stops far out on that ridge.
    p = {"r": 0.8, "alpha": 8.0, "s": 1e7, "beta": 2e8}
    T = np.random.default_rng(5).uniform(20, 80, 4000)
    x, tx, T = _simulate_summary(T.size, params=p, model="paretonbd", T=T, seed=4)
    with caplog.at_level(logging.WARNING, logger="cxml.models._base"):
        m = ParetoNBDModel().fit(x, tx, T)
    assert m.params_at_bound_ == ("s", "beta")
    assert "Pareto/NBD: parameter(s) s, beta reached" in caplog.text
    assert "ParetoNBDModel(penalizer=0.01)" in caplog.text
    assert ParetoNBDModel.from_dict(m.to_dict()).params_at_bound_ == ("s", "beta")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cxml.models._base"):
        pen = ParetoNBDModel(penalizer=0.01).fit(x, tx, T)
    assert pen.params_at_bound_ == () and "penalizer" not in caplog.text
    assert pen.params_["s"] < 100


def test_identified_fit_reports_nothing(caplog):
    p = {"r": 0.8, "alpha": 8.0, "s": 2.0, "beta": 40.0}
    T = np.random.default_rng(5).uniform(80, 160, 4000)
    x, tx, T = _simulate_summary(T.size, params=p, model="paretonbd", T=T, seed=10)
    with caplog.at_level(logging.WARNING, logger="cxml.models._base"):
        m = ParetoNBDModel().fit(x, tx, T)
    assert m.params_at_bound_ == () and caplog.text == ""


@pytest.mark.realdata
@pytest.mark.slow
def test_online_retail_fit_is_flagged_and_predicted(caplog):
    import cxml

    path = cxml.datasets.online_retail_path()
    if path is None:
        pytest.skip("Online Retail II not found (set CXML_DATA_DIR or ../shared/data)")
    ch = cxml.features.calibration_holdout(
        cxml.datasets.load_online_retail(path),
        calibration_end="2011-06-09",
        observation_end="2011-12-09",
        time_unit="W",
    )
    x, tx, T = (ch[c].to_numpy(float) for c in ("frequency_cal", "recency_cal", "T_cal"))
    with caplog.at_level(logging.WARNING, logger="cxml.models._base"):
        m = ParetoNBDModel().fit(x, tx, T)
    assert set(m.params_at_bound_) == {"s", "beta"} and m.params_["s"] > 1e4
    assert "ParetoNBDModel(penalizer=0.01)" in caplog.text
    pa = m.probability_alive(x, tx, T)
    assert np.all((pa >= 0) & (pa <= 1)) and np.isfinite(pa).all()
    pen = ParetoNBDModel(penalizer=0.01).fit(x, tx, T)
    assert pen.params_at_bound_ == ()
    # The penalised model predicts the 26-week holdout within 2 % (7,797 purchase days).
    pred = pen.expected_purchases(26.0, x, tx, T).sum()
    assert pred == pytest.approx(ch["frequency_holdout"].sum(), rel=0.02)
