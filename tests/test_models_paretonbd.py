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
            lt.conditional_expected_number_of_purchases_up_to_time(t, f, r, T),
            rtol=1e-8,
        )
    np.testing.assert_allclose(
        pnbd.probability_alive(f, r, T), lt.conditional_probability_alive(f, r, T), rtol=1e-9
    )
    ts = np.array([1.0, 39.0, 100.0])
    np.testing.assert_allclose(
        pnbd.population_expected_purchases(ts),
        lt.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-10,
    )


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
    # ~10 s (was ~90 s with the central-difference gradient).
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
    return ParetoNBDModel.from_dict(
        {
            "model": "ParetoNBDModel",
            "params": {"r": r, "alpha": alpha, "s": s, "beta": beta},
            "standard_errors": dict.fromkeys(["r", "alpha", "s", "beta"]),
            "log_params_covariance": [[0.0] * 4] * 4,
            "log_likelihood": 0.0,
        }
    )


@settings(max_examples=80, deadline=None)
@given(
    r=st.floats(0.01, 20),
    alpha=st.floats(0.01, 200),
    s=st.floats(0.01, 20),
    beta=st.floats(0.01, 200),
    x=st.integers(0, 5_000),
    frac=st.floats(0, 1),
    T=st.floats(0.1, 2000),
    t=st.floats(0, 1e5),
)
def test_finite_over_domain(r, alpha, s, beta, x, frac, T, t):
    m = _model(r, alpha, s, beta)
    tx = frac * T if x > 0 else 0.0
    pa = m.probability_alive(x, tx, T)
    e = m.expected_purchases(t, x, tx, T)
    assert np.all(np.isfinite(pa)) and np.all((pa >= 0) & (pa <= 1))
    assert np.all(np.isfinite(e)) and np.all(e >= 0)


# -- exact gradient (issue 4, acceptance 1) ---------------------------------------------


def _mp_loglik(r, alpha, s, beta, x, tx, T):
    """Eq. (22) of Fader & Hardie's note 009 in 50-digit arithmetic (closed 2F1 form)."""
    import mpmath as mp

    rsx = r + s + x
    m, tp = (beta, r + x) if alpha < beta else (alpha, s + 1)
    d = abs(alpha - beta)

    def F(y):
        # Euler's transformation 2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z):
        # mpmath's direct 2F1 is wrong at 50 digits for x ~ 1e4 with z near 1.
        z = d / (m + y)
        return (1 - z) ** (1 - tp) * mp.hyp2f1(1, rsx + 1 - tp, rsx + 1, z) / (m + y) ** rsx

    died = (F(tx) - F(T)) / rsx
    return (
        mp.loggamma(r + x)
        - mp.loggamma(r)
        + r * mp.log(alpha)
        + s * mp.log(beta)
        + mp.log((alpha + T) ** -(r + x) * (beta + T) ** -s + s * died)
    )


def _mp_log_gradient(p, x, tx, T):
    """ll and d ll / d log(theta) by mpmath's numerical differentiation (50 digits)."""
    import mpmath as mp

    with mp.workdps(50):
        q = [mp.mpf(v) for v in p]
        x, tx, T = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
        ll = _mp_loglik(*q, x, tx, T)
        g = []
        for j in range(4):

            def f(u, j=j):
                qq = list(q)
                qq[j] = qq[j] * mp.exp(u)
                return _mp_loglik(*qq, x, tx, T)

            g.append(float(mp.diff(f, 0)))
        return float(ll), np.array(g)


def _cxml_log_gradient(p, x, tx, T):
    from cxml.models._paretonbd import _pareto_loglik, _ParetoData

    d = _ParetoData(np.array([float(x)]), np.array([float(tx)]), np.array([float(T)]), np.ones(1))
    ll, g = _pareto_loglik(np.asarray(p, float), d)
    return ll, g * np.asarray(p, float)


@settings(max_examples=60, deadline=None)
@given(
    r=st.floats(0.01, 20),
    alpha=st.floats(0.01, 200),
    s=st.floats(0.01, 20),
    beta=st.floats(0.01, 200),
    x=st.one_of(st.integers(0, 50), st.integers(0, 10_000)),
    frac=st.one_of(st.sampled_from([0.0, 1.0, 1 - 1e-9]), st.floats(0, 1)),
    T=st.floats(0.1, 2000),
)
def test_gradient_matches_mpmath(r, alpha, s, beta, x, frac, T):
    tx = frac * T if x > 0 else 0.0
    p = (r, alpha, s, beta)
    ll, g = _cxml_log_gradient(p, x, tx, T)
    ll_ref, g_ref = _mp_log_gradient(p, x, tx, T)
    assert ll == pytest.approx(ll_ref, rel=1e-10, abs=1e-9)
    # d ll / d log(theta): a unit change of log(theta) moves ll by O(1), hence atol 1e-7.
    np.testing.assert_allclose(g, g_ref, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize(
    "p, x, tx, T",
    [
        ((0.5533, 10.5776, 0.6062, 11.6679), 2, 30.43, 38.86),  # CDNOW customer 1
        ((0.5533, 10.5776, 0.6062, 11.6679), 0, 0.0, 38.86),
        ((0.5, 0.01, 0.5, 200.0), 10_000, 0.0, 2000.0),  # alpha << beta, huge x
        ((0.5, 200.0, 0.5, 0.01), 10_000, 0.0, 2000.0),  # alpha >> beta, huge x
        ((0.01, 0.01, 0.01, 200.0), 0, 0.0, 2000.0),  # T / alpha = 2e5
        ((2.0, 30.0, 0.3, 0.05), 7, 100.0, 100.0),  # t_x = T: no unseen death
        ((0.8, 8.0, 2.0, 40.0), 40, 99.999, 100.0),  # t_x just below T
    ],
)
def test_gradient_corner_cases(p, x, tx, T):
    ll, g = _cxml_log_gradient(p, x, tx, T)
    ll_ref, g_ref = _mp_log_gradient(p, x, tx, T)
    assert ll == pytest.approx(ll_ref, rel=1e-10)
    np.testing.assert_allclose(g, g_ref, rtol=1e-7, atol=1e-7)


def test_total_gradient_is_zero_at_the_cdnow_optimum(pnbd, cdnow):
    from cxml.models._paretonbd import _pareto_loglik, _ParetoData

    x, tx, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    d = _ParetoData(x, tx, T, np.ones(x.size))
    p = np.array([pnbd.params_[k] for k in ("r", "alpha", "s", "beta")])
    ll, g = _pareto_loglik(p, d)
    assert ll == pytest.approx(pnbd.log_likelihood_, rel=1e-12)
    # Mean log-likelihood gradient per unit log-parameter at the optimum.
    assert np.max(np.abs(g * p)) / x.size < 1e-6
    # Away from the optimum it matches central differences of the likelihood value.
    q = p * np.array([1.3, 0.7, 1.2, 1.5])
    _, gq = _pareto_loglik(q, d)
    for j in range(4):
        h = 1e-6
        up, dn = q.copy(), q.copy()
        up[j] *= np.exp(h)
        dn[j] *= np.exp(-h)
        fd = (_pareto_loglik(up, d, False)[0] - _pareto_loglik(dn, d, False)[0]) / (2 * h)
        assert gq[j] * q[j] == pytest.approx(fd, rel=1e-6)


# -- P(X(t) = n) (issue 4, acceptance 3) -------------------------------------------------


def test_probability_of_purchases_matches_lifetimes(pnbd):
    # lifetimes only has the conditional pmf (note 028); a customer with no history
    # (x = t_x = T = 0) turns it into the unconditional P(X(t) = n) of note 012.
    lt = pnbd.to_lifetimes()
    for t in (1.0, 10.0, 39.0, 78.0):
        # At t = 1, n = 10 lifetimes' closed form cancels and is off by 1.25e-6 (relative,
        # against 30-digit mpmath); that point is checked against mpmath below.
        n = np.arange(10 if t == 1.0 else 11)
        ref = [lt.conditional_probability_of_n_purchases_up_to_time(int(k), t, 0, 0, 0) for k in n]
        np.testing.assert_allclose(pnbd.probability_of_purchases(t, n), ref, rtol=1e-6)
    p = tuple(pnbd.params_[k] for k in ("r", "alpha", "s", "beta"))
    assert pnbd.probability_of_purchases(1.0, 10)[()] == pytest.approx(
        _mp_pmf(p, 1.0, 10), rel=1e-12
    )


def _mp_pmf(p, t, n):
    """P(X(t) = n) as alive-at-t NBD term + integral over the death time (30 digits)."""
    import mpmath as mp

    with mp.workdps(30):
        r, a, s, b = (mp.mpf(v) for v in p)

        def nbd(tau):
            return (
                mp.gamma(r + n)
                / (mp.gamma(r) * mp.factorial(n))
                * (a / (a + tau)) ** r
                * (tau / (a + tau)) ** n
            )

        died = mp.quad(lambda tau: nbd(tau) * s * b**s / (b + tau) ** (s + 1), [0, t / 4, t / 2, t])
        return float(nbd(t) * (b / (b + t)) ** s + died)


@pytest.mark.parametrize(
    "p, t, n",
    [
        ((0.5533, 10.5776, 0.6062, 11.6679), 0.1, 10),  # lifetimes' difference cancels here
        ((0.5533, 10.5776, 0.6062, 11.6679), 1.0, 10),
        ((0.5, 0.05, 0.7, 30.0), 100.0, 20),
        ((2.0, 30.0, 0.3, 0.05), 5.0, 3),
        ((0.1, 1.0, 3.0, 1.0), 1.0, 0),
    ],
)
def test_probability_of_purchases_matches_mpmath(p, t, n):
    m = _model(*p)
    assert m.probability_of_purchases(t, n)[()] == pytest.approx(_mp_pmf(p, t, n), rel=1e-10)


def test_probability_of_purchases_shapes_and_errors(pnbd):
    out = pnbd.probability_of_purchases(np.array([[1.0], [39.0]]), np.arange(4))
    assert out.shape == (2, 4)
    assert pnbd.probability_of_purchases(0.0, [0, 1]).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="n must be non-negative whole numbers"):
        pnbd.probability_of_purchases(10, [1.5])
    with pytest.raises(ValueError, match="n must be non-negative whole numbers"):
        pnbd.probability_of_purchases(10, -1)
    with pytest.raises(ValueError, match="t must be finite and >= 0"):
        pnbd.probability_of_purchases(-1.0, 2)


@settings(max_examples=12, deadline=None)
@given(
    r=st.floats(0.05, 5),
    alpha=st.floats(0.5, 100),
    s=st.floats(0.05, 5),
    beta=st.floats(0.05, 100),
    u=st.floats(0.01, 9),
)
def test_probability_of_purchases_sums_to_one_with_the_right_mean(r, alpha, s, beta, u):
    # t <= 9 alpha keeps the NBD tail ratio t / (alpha + t) <= 0.9, so n < 500 holds all
    # but 1e-20 of the mass.
    t = u * alpha
    m = _model(r, alpha, s, beta)
    n = np.arange(500)
    P = m.probability_of_purchases(t, n)
    assert np.all(P >= 0)
    assert P.sum() == pytest.approx(1.0, abs=1e-10)
    assert (n * P).sum() == pytest.approx(m.population_expected_purchases(t), rel=1e-8)


@settings(max_examples=40, deadline=None)
@given(
    r=st.floats(0.01, 20),
    alpha=st.floats(0.01, 200),
    s=st.floats(0.01, 20),
    beta=st.floats(0.01, 200),
    t=st.floats(0, 1e4),
    n=st.integers(0, 300),
)
def test_probability_of_purchases_is_a_probability(r, alpha, s, beta, t, n):
    P = _model(r, alpha, s, beta).probability_of_purchases(t, n)[()]
    assert np.isfinite(P) and 0.0 <= P <= 1.0 + 1e-12
