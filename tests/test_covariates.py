"""Static customer covariates in BG/NBD, MBG/NBD and Pareto/NBD (issue 21).

The form is Fader & Hardie's note 019. Checked here: the plain model is reproduced with no
covariates or an all-zero column; the analytic gradient (coefficients included) against
central differences; the encoding rule (reference level, frozen levels, unseen level
refused); save/load; the scikit-learn contract; and recovery of known effects from data
simulated by ``cxml.datasets.simulate`` through ``cxml.features.rfm``.
"""

from __future__ import annotations

import logging

import lifetimes.datasets as lds
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from cxml.datasets import simulate
from cxml.exceptions import CxmlUserError, DataValidationError
from cxml.features import rfm
from cxml.models import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel
from cxml.models._covariates import CovariateData

COVARIATE_MODELS = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel]


@pytest.fixture(scope="module")
def cdnow():
    s = lds.load_cdnow_summary()
    n = len(s)
    rng = np.random.default_rng(0)
    cov = pd.DataFrame(
        {
            "zero": np.zeros(n),
            "channel": np.where(rng.uniform(size=n) < 0.4, "web", "store"),
            "age": rng.standard_normal(n),
        }
    )
    return s, cov


def _fit(cls, s, cov=None, **kw):
    return cls(**kw).fit(s["frequency"], s["recency"], s["T"], covariates=cov)


@pytest.mark.parametrize("cls", COVARIATE_MODELS)
def test_all_zero_column_equals_plain_model(cls, cdnow, caplog):
    s, cov = cdnow
    plain = _fit(cls, s)
    with caplog.at_level(logging.WARNING):
        m = _fit(cls, s, cov, purchase_covariates=["zero"], dropout_covariates=["zero"])
    assert "'zero' is constant" in caplog.text
    # Pareto/NBD's (s, beta) lie along a flat ridge: optimizer precision is ~1e-6 there.
    rel = 1e-5 if cls is ParetoNBDModel else 1e-6
    for k, v in plain.params_.items():
        assert m.params_[k] == pytest.approx(v, rel=rel)
    assert m.log_likelihood_ == pytest.approx(plain.log_likelihood_, abs=1e-6)
    for p, d in m.coefficients_.items():
        assert d == {"zero": 0.0}
        assert np.isnan(m.coefficient_standard_errors_[p]["zero"])
    assert plain.coefficients_ is None
    x = s["frequency"][:50], s["recency"][:50], s["T"][:50]
    np.testing.assert_allclose(
        m.expected_purchases(10, *x, covariates=cov[:50]),
        plain.expected_purchases(10, *x),
        rtol=1e-5,
    )


@pytest.mark.parametrize("cls", COVARIATE_MODELS)
def test_gradient_matches_finite_differences(cls, cdnow):
    s, cov = cdnow
    m = _fit(
        cls, s, cov, purchase_covariates=["channel", "age"], dropout_covariates=["age", "channel"]
    )
    # The prepared data of the fit, rebuilt; gradient checked at the optimum and off it.
    design = m.covariate_design_
    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    designs = {
        p: (sign, design.matrix(cov, x.size, g)) for p, (g, sign) in cls._covariate_params.items()
    }
    free = {p: np.ones(d[1].shape[1], bool) for p, d in designs.items()}
    d = CovariateData(
        x, tx, T, np.ones(x.size), designs, cls._param_names, m._row_kernel, np.ones(4), free
    )
    theta = np.exp(m.theta_) * np.exp(np.linspace(-0.1, 0.1, m.theta_.size))
    _, g = d.covariate_loglik(theta)
    for j in range(theta.size):
        h = 1e-6 * theta[j]
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        fd = (d.covariate_loglik(up)[0] - d.covariate_loglik(dn)[0]) / (2 * h)
        assert g[j] == pytest.approx(fd, rel=1e-5, abs=1e-4), j


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_row_kernel_sums_to_plain_likelihood(cls, cdnow):
    """With equal parameters for every row the row kernel is the published likelihood."""
    s, _ = cdnow
    plain = _fit(cls, s)
    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))

    class Rows:
        pass

    d = Rows()
    d.x, d.tx, d.T = x, tx, T
    P = np.repeat(plain._param_array()[:, None], x.size, axis=1)
    ll, _ = m_kernel(cls)(P, d)
    assert ll.sum() == pytest.approx(plain.log_likelihood_, rel=1e-10)


def m_kernel(cls):
    return cls(purchase_covariates=["c"])._row_kernel


def test_categorical_encoding_reference_level_and_unseen_level(cdnow):
    s, cov = cdnow
    m = _fit(BetaGeoModel, s, cov, purchase_covariates=["channel"])
    assert m.covariate_design_.encoding["channel"] == {
        "kind": "categorical",
        "levels": ["store", "web"],
    }
    assert set(m.coefficients_["alpha"]) == {"channel=web"}
    assert m.coefficients_["a"] == {} and m.coefficients_["b"] == {}
    bad = cov[:3].assign(channel=["web", "phone", "phone"])
    with pytest.raises(
        DataValidationError,
        match=r"'channel' has 2 rows with a level not seen at fit "
        r"\(e.g. 'phone'\); known levels: \['store', 'web'\]",
    ):
        m.probability_alive(s["frequency"][:3], s["recency"][:3], s["T"][:3], covariates=bad)


def test_covariate_input_errors(cdnow):
    s, cov = cdnow
    with pytest.raises(CxmlUserError, match="has no purchase_covariates"):
        _fit(BetaGeoModel, s, cov)
    with pytest.raises(CxmlUserError, match="pass covariates="):
        _fit(BetaGeoModel, s, None, purchase_covariates=["age"])
    with pytest.raises(DataValidationError, match=r"lack the column\(s\) \['nope'\]"):
        _fit(BetaGeoModel, s, cov, purchase_covariates=["nope"])
    with pytest.raises(DataValidationError, match="covariates has 10 rows but there are 2,357"):
        _fit(BetaGeoModel, s, cov[:10], purchase_covariates=["age"])
    holes = cov.assign(age=cov["age"].where(cov.index % 100 != 5))
    with pytest.raises(DataValidationError, match=r"'age' is missing in 24 rows \(e.g. row 5\)"):
        _fit(BetaGeoModel, s, holes, purchase_covariates=["age"])
    with pytest.raises(CxmlUserError, match="must be a list of column names"):
        _fit(BetaGeoModel, s, cov, purchase_covariates="age")
    m = _fit(BetaGeoModel, s, cov, dropout_covariates=["age"])
    with pytest.raises(CxmlUserError, match="pass covariates="):
        m.expected_purchases(5, s["frequency"], s["recency"], s["T"])


def test_far_from_standardised_numeric_is_logged(cdnow, caplog):
    s, cov = cdnow
    with caplog.at_level(logging.WARNING):
        _fit(BetaGeoModel, s, cov.assign(age=cov["age"] * 5 + 40), purchase_covariates=["age"])
    assert "'age' is far from standardised" in caplog.text


@pytest.mark.parametrize("cls", COVARIATE_MODELS)
def test_save_load_round_trip_and_sklearn_contract(cls, cdnow, tmp_path):
    s, cov = cdnow
    m = _fit(cls, s, cov, purchase_covariates=["channel"], dropout_covariates=["age"])
    assert clone(m).get_params() == {
        "penalizer": 0.0,
        "purchase_covariates": ["channel"],
        "dropout_covariates": ["age"],
    }
    m.save(tmp_path / "m.json")
    back = cls.load(tmp_path / "m.json")
    assert back.coefficients_ == m.coefficients_
    assert back.get_params() == m.get_params()
    args = (s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(
        back.expected_purchases(12, *args, covariates=cov),
        m.expected_purchases(12, *args, covariates=cov),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        back.probability_alive(*args, covariates=cov),
        m.probability_alive(*args, covariates=cov),
        rtol=1e-12,
    )
    table = back.summary()
    assert table.attrs["n_params"] == 4 + sum(len(d) for d in m.coefficients_.values())
    assert list(table.index[4:]) == [f"{p}: {c}" for p, d in m.coefficients_.items() for c in d]
    row = table.iloc[4]
    assert row["multiplier"] == pytest.approx(np.exp(row["estimate"]))
    assert row["multiplier_lower"] < row["multiplier"] < row["multiplier_upper"]
    est, lo, hi = back.expected_purchases_interval(12, *args, covariates=cov)
    np.testing.assert_allclose(est, m.expected_purchases(12, *args, covariates=cov))
    assert np.all(lo < est) and np.all(est < hi)


# -- recovery on simulated data: simulate -> rfm -> fit -------------------------------------

RECOVERY = [
    (
        "bgnbd",
        BetaGeoModel,
        {"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0},
        {"alpha": {"web": 0.5, "age": -0.3}, "a": {"web": -0.6}, "b": {"age": 0.4}},
        11,
    ),
    (
        "bgnbd",
        BetaGeoModel,
        {"r": 1.5, "alpha": 10.0, "a": 0.5, "b": 1.5},
        {"alpha": {"web": -0.4, "age": 0.2}, "a": {"age": 0.5}, "b": {"web": -0.5}},
        12,
    ),
    (
        "mbgnbd",
        ModifiedBetaGeoModel,
        {"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0},
        {"alpha": {"web": 0.5, "age": -0.3}, "a": {"web": -0.6}, "b": {"age": 0.4}},
        13,
    ),
    (
        "paretonbd",
        ParetoNBDModel,
        {"r": 0.8, "alpha": 6.0, "s": 0.8, "beta": 20.0},
        {"alpha": {"web": 0.5, "age": -0.3}, "beta": {"web": -0.7, "age": 0.3}},
        14,
    ),
]


@pytest.mark.parametrize(
    "model,cls,params,coefs,seed", RECOVERY, ids=[f"{r[0]}-{r[4]}" for r in RECOVERY]
)
def test_recovery_of_known_effects(model, cls, params, coefs, seed):
    rng = np.random.default_rng(seed)
    n = 6000
    covariates = pd.DataFrame(
        {"web": (rng.uniform(size=n) < 0.4).astype(float), "age": rng.standard_normal(n)}
    )
    tx, customers = simulate(
        n,
        params=params,
        coefficients=coefs,
        covariates=covariates,
        model=model,
        seed=seed,
        start="2020-01-01",
        observation_end="2021-12-31",
        acquisition_weeks=26,
    )
    feats = rfm(tx, observation_end="2021-12-31")
    customers = customers.set_index("customer_id").loc[feats.index]
    purchase = list(coefs["alpha"])
    dropout = sorted({c for p, d in coefs.items() if p != "alpha" for c in d})
    m = cls(purchase_covariates=purchase, dropout_covariates=dropout).fit(
        feats["frequency"], feats["recency"], feats["T"], covariates=customers
    )
    for p, d in m.coefficients_.items():
        for c, est in d.items():
            true = coefs.get(p, {}).get(c, 0.0)
            se = m.coefficient_standard_errors_[p][c]
            assert 0 < se < 0.5
            assert abs(est - true) < 4 * se, (p, c, est, true, se)
    for k, true in params.items():
        se = m.standard_errors_[k]
        assert abs(m.params_[k] - true) < 4 * se, (k, m.params_[k], true, se)


def test_clv_refuses_a_covariate_model_without_covariates(cdnow):
    from cxml.clv import customer_lifetime_value
    from cxml.models import GammaGammaModel

    s, cov = cdnow
    m = _fit(BetaGeoModel, s, cov, purchase_covariates=["channel"])
    rep = lds.load_cdnow_summary_data_with_monetary_value()
    rep = rep[rep["frequency"] > 0]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    with pytest.raises(CxmlUserError, match="fitted with covariates; pass the customers'"):
        customer_lifetime_value(
            m, gg, s["frequency"], s["recency"], s["T"], np.full(len(s), 30.0), time_unit="W"
        )


def test_covariates_in_another_row_order_are_refused(cdnow):
    s, cov = cdnow
    freq = s["frequency"]  # indexed 0 .. n-1 by lifetimes
    shuffled = cov.iloc[::-1]
    with pytest.raises(
        DataValidationError,
        match=r"covariates' index differs from frequency's in 2,356 rows "
        r"\(e.g. row 0: 2356 vs 0\)",
    ):
        BetaGeoModel(purchase_covariates=["age"]).fit(
            freq, s["recency"], s["T"], covariates=shuffled
        )
    m = _fit(BetaGeoModel, s, cov, purchase_covariates=["age"])
    with pytest.raises(DataValidationError, match="align them first"):
        m.probability_alive(freq, s["recency"], s["T"], covariates=shuffled)
    # Plain arrays are matched by position.
    p = m.probability_alive(
        freq.to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy(), covariates=shuffled
    )
    assert p.shape == (len(s),)
