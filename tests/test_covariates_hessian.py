"""The exact Hessian of the BG/NBD and MBG/NBD covariate fits (issue 21, speed).

With covariates these fits polish by Newton steps and take their standard errors from an
analytic Hessian instead of L-BFGS-B alone and forward differences of the gradient. Checked
here: the row kernel's Hessian and the total's against central differences of the analytic
gradients, and the fit (estimates and standard errors) against the gradient-only method
the models used before, which stays the path of Pareto/NBD.
"""

from __future__ import annotations

from types import SimpleNamespace

import lifetimes.datasets as lds
import numpy as np
import pandas as pd
import pytest

import cxml.models._base as base_module
from cxml.models import BetaGeoModel, ModifiedBetaGeoModel
from cxml.models._bgnbd import bgnbd_row_log_likelihood
from cxml.models._covariates import CovariateData

HESSIAN_MODELS = [BetaGeoModel, ModifiedBetaGeoModel]


@pytest.fixture(scope="module")
def cdnow():
    s = lds.load_cdnow_summary()
    n = len(s)
    rng = np.random.default_rng(0)
    cov = pd.DataFrame(
        {
            "channel": np.where(rng.uniform(size=n) < 0.4, "web", "store"),
            "age": rng.standard_normal(n),
            "region": rng.choice(["north", "south", "west"], n),
        }
    )
    return s, cov


def _fit(cls, s, cov, penalizer=0.0):
    return cls(
        purchase_covariates=["channel", "age"],
        dropout_covariates=["channel", "region"],
        penalizer=penalizer,
    ).fit(s["frequency"], s["recency"], s["T"], covariates=cov)


@pytest.mark.parametrize("modified", [False, True])
def test_row_hessian_matches_finite_differences(modified):
    rng = np.random.default_rng(1)
    n = 500
    x = rng.integers(0, 6, n).astype(float)
    T = rng.uniform(5.0, 40.0, n)
    tx = np.where(x > 0, rng.uniform(size=n) * T, 0.0)
    tx[:5] = 0.0  # x > 0 with t_x = 0 too
    P = np.vstack(
        [np.full(n, 0.3), rng.uniform(2, 6, n), rng.uniform(0.5, 1.5, n), rng.uniform(1, 4, n)]
    )
    d = SimpleNamespace(x=x, tx=tx, T=T)
    ll, G, H = bgnbd_row_log_likelihood(P, d, modified=modified, hessian=True)
    ll0, G0 = bgnbd_row_log_likelihood(P, d, modified=modified)
    np.testing.assert_array_equal(ll, ll0)
    np.testing.assert_array_equal(G, G0)
    np.testing.assert_array_equal(H, H.transpose(1, 0, 2))
    for j in range(4):
        h = 1e-6 * P[j]
        up, dn = P.copy(), P.copy()
        up[j] += h
        dn[j] -= h
        fd = (
            bgnbd_row_log_likelihood(up, d, modified=modified)[1]
            - bgnbd_row_log_likelihood(dn, d, modified=modified)[1]
        ) / (2 * h)
        np.testing.assert_allclose(H[:, j], fd, rtol=1e-5, atol=1e-7 * np.abs(fd).max())


@pytest.mark.parametrize("cls", HESSIAN_MODELS)
def test_total_hessian_matches_finite_differences(cls, cdnow):
    s, cov = cdnow
    m = _fit(cls, s, cov)
    design = m.covariate_design_
    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    designs = {
        p: (sign, design.matrix(cov, x.size, g)) for p, (g, sign) in cls._covariate_params.items()
    }
    free = {p: np.ones(d[1].shape[1], bool) for p, d in designs.items()}
    d = CovariateData(
        x,
        tx,
        T,
        np.ones(x.size),
        designs,
        cls._param_names,
        m._row_kernel,
        np.ones(4),
        free,
        hessian_kernel=m._row_hessian,
    )
    # Off the optimum, so the diagonal term theta G of the chain rule counts.
    u = m.theta_ + np.linspace(-0.1, 0.1, m.theta_.size)
    ll, g, H = d.loglik_hessian(np.exp(u))
    ll1, g1 = d.covariate_loglik(np.exp(u))  # the same point: the stored evaluation
    assert ll1 == ll
    np.testing.assert_allclose(g1 * np.exp(u), g, rtol=1e-12)

    def grad_u(v):
        d._last = (None, None)
        return d.covariate_loglik(np.exp(v))[1] * np.exp(v)

    np.testing.assert_allclose(grad_u(u), g, rtol=1e-10, atol=1e-9)
    for j in range(u.size):
        e = np.zeros(u.size)
        e[j] = 1e-5
        fd = (grad_u(u + e) - grad_u(u - e)) / 2e-5
        np.testing.assert_allclose(H[:, j], fd, rtol=1e-5, atol=1e-6 * np.abs(H).max())


def _assert_same_fit(new, old):
    se_old = np.sqrt(np.diag(old.theta_covariance_))
    se_new = np.sqrt(np.diag(new.theta_covariance_))
    np.testing.assert_array_less(np.abs(new.theta_ - old.theta_), 1e-4 * se_old)
    np.testing.assert_allclose(se_new, se_old, rtol=1e-4)
    for k, v in old.standard_errors_.items():
        assert new.standard_errors_[k] == pytest.approx(v, rel=1e-4), k
    for p, ses in old.coefficient_standard_errors_.items():
        for c, v in ses.items():
            assert new.coefficient_standard_errors_[p][c] == pytest.approx(v, rel=1e-4), (p, c)
    assert new.params_at_bound_ == old.params_at_bound_ == ()


# 1500 rows: a warm start on a subsample; 300: that subsample's fit runs off (too few
# customers per level) and the fit falls back to the plain models' warm-start size.
@pytest.mark.parametrize("warm_start_rows", [None, 1500, 300])
@pytest.mark.parametrize("cls", HESSIAN_MODELS)
def test_newton_fit_equals_gradient_only_fit(cls, cdnow, warm_start_rows, monkeypatch):
    """Estimates agree to the gradient-only optimizer's precision (1e-4 standard errors;
    the Newton optimum is the better one), standard errors to the forward differences'."""
    s, cov = cdnow
    if warm_start_rows:
        monkeypatch.setattr(base_module, "_NEWTON_WARM_START_ROWS", warm_start_rows)
    new = _fit(cls, s, cov)
    with monkeypatch.context() as mp:
        # No row Hessian: L-BFGS-B only, covariance by forward differences (the old path).
        mp.setattr(cls, "_row_hessian", None)
        old = _fit(cls, s, cov)
    _assert_same_fit(new, old)
    assert new.log_likelihood_ >= old.log_likelihood_ - 1e-9


@pytest.mark.parametrize("cls", HESSIAN_MODELS)
def test_newton_fit_with_penalty_equals_gradient_only_fit(cls, cdnow, monkeypatch):
    """The penalty's Hessian (4 penalizer theta_j^2 scale_j^2 on the log scale) counts."""
    s, cov = cdnow
    monkeypatch.setattr(base_module, "_NEWTON_WARM_START_ROWS", 1500)
    new = _fit(cls, s, cov, penalizer=0.05)
    assert new.params_["a"] != pytest.approx(_fit(cls, s, cov).params_["a"], rel=1e-3)
    monkeypatch.setattr(cls, "_row_hessian", None)
    _assert_same_fit(new, _fit(cls, s, cov, penalizer=0.05))


@pytest.mark.slow
@pytest.mark.parametrize("n", [20_000, 20_001])
def test_newton_never_starts_cold_and_finds_the_gradient_only_optimum(n, monkeypatch):
    """benchmarks/bench_covariates_pymc.py's data: Newton from the plain model's point (no
    warm start at 20,000 rows) settled on a local optimum 453 log-likelihood units below
    L-BFGS-B's, with a: web = +0.55 against a true -0.6. Newton now only polishes a warm
    start (20,001 rows: a 20,000-row subsample first)."""
    from cxml.datasets._simulate import _simulate_summary

    rng = np.random.default_rng(3)
    cov = pd.DataFrame(
        {"web": (rng.uniform(size=n) < 0.4).astype(float), "age": rng.standard_normal(n)}
    )
    T = 52.0 + rng.integers(0, 26, n).astype(float)
    true = {
        "alpha": {"web": 0.5, "age": -0.3},
        "a": {"web": -0.6, "age": 0.2},
        "b": {"web": 0.3, "age": 0.4},
    }
    x, tx, T, _ = _simulate_summary(
        n,
        params={"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0},
        T=T,
        seed=4,
        coefficients=true,
        covariates=cov,
    )
    cols = ["web", "age"]
    new = BetaGeoModel(purchase_covariates=cols, dropout_covariates=cols).fit(
        x, tx, T, covariates=cov
    )
    monkeypatch.setattr(BetaGeoModel, "_row_hessian", None)
    old = BetaGeoModel(purchase_covariates=cols, dropout_covariates=cols).fit(
        x, tx, T, covariates=cov
    )
    assert new.log_likelihood_ >= old.log_likelihood_ - 1e-6
    for p, coefs in true.items():
        for c, g in coefs.items():
            assert new.coefficients_[p][c] == pytest.approx(old.coefficients_[p][c], abs=1e-4)
            assert abs(new.coefficients_[p][c] - g) < 4 * new.coefficient_standard_errors_[p][c]
