"""ValueModel (ZILN-style P(buy) x E[spend | buy] on LightGBM) and the shared hold-out split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxml.exceptions import DataValidationError, ModelLoadError, NotFittedError
from cxml.models._churn import ChurnClassifier, holdout_split
from cxml.models._value import ValueModel


@pytest.fixture(scope="module")
def ziln():
    """Zero-inflated lognormal spend with known expected value (Wang et al. 2019, eq. 2-3)."""
    rng = np.random.default_rng(11)
    n = 6000
    X = pd.DataFrame(
        {"f": rng.normal(size=n), "g": rng.normal(size=n), "noise": rng.normal(size=n)}
    )
    p = 1 / (1 + np.exp(-(0.3 + 1.5 * X["f"])))
    mu, sigma = 3.0 + 0.6 * X["g"], 0.7
    buy = rng.random(n) < p
    spend = np.where(buy, rng.lognormal(mu, sigma), 0.0)
    expected = p * np.exp(mu + sigma**2 / 2)
    return X, spend, expected.to_numpy()


@pytest.fixture(scope="module")
def fitted(ziln):
    X, spend, _ = ziln
    return ValueModel(n_estimators=300, learning_rate=0.05).fit(X.iloc[:4000], spend[:4000])


def test_recovers_the_expected_value(ziln, fitted):
    X, spend, expected = ziln
    test = slice(4000, None)
    pred = fitted.predict(X.iloc[test])
    # ranks like the true expected value, and totals close to the realised spend
    assert stats.spearmanr(pred, expected[test]).statistic > 0.9
    assert pred.sum() / spend[test].sum() - 1 == pytest.approx(0, abs=0.08)
    comp = fitted.predict_components(X.iloc[:5])
    assert list(comp.columns) == ["p_buy", "spend_if_buy", "expected_spend"]
    np.testing.assert_allclose(comp["expected_spend"], comp["p_buy"] * comp["spend_if_buy"])
    assert comp["p_buy"].between(0, 1).all()


def test_lognormal_objective_applies_the_mean_correction(ziln):
    X, spend, expected = ziln
    m = ValueModel(spend_objective="lognormal", n_estimators=300, learning_rate=0.05).fit(
        X.iloc[:4000], spend[:4000]
    )
    # residual variance of log spend ~ sigma^2 = 0.49 (plus what the trees miss)
    assert 0.4 < m.sigma2_ < 0.65
    pred = m.predict(X.iloc[4000:])
    assert stats.spearmanr(pred, expected[4000:]).statistic > 0.9
    assert pred.sum() / spend[4000:].sum() - 1 == pytest.approx(0, abs=0.1)


def test_save_load_round_trip_without_pickle(ziln, fitted, tmp_path):
    X, _, _ = ziln
    fitted.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "value.json",
        "value_buy",
        "value_spend_lgbm.txt",
    ]
    assert sorted(p.name for p in (tmp_path / "value_buy").iterdir()) == [
        "churn.json",
        "churn_lgbm.txt",
    ]
    json.loads((tmp_path / "value.json").read_text())
    loaded = ValueModel.load(tmp_path)
    np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), rtol=1e-12)
    assert loaded.get_params() == fitted.get_params()
    with pytest.raises(ModelLoadError, match="cannot read value model"):
        ValueModel.load(tmp_path / "missing")


def test_errors(ziln):
    X, spend, _ = ziln
    with pytest.raises(NotFittedError, match="ValueModel is not fitted"):
        ValueModel().predict(X)
    bad = spend.copy()
    bad[[3, 7]] = np.nan
    with pytest.raises(DataValidationError, match="spend is NaN or infinite for 2 of 6,000"):
        ValueModel().fit(X, bad)
    with pytest.raises(DataValidationError, match="only 5 of 6,000 rows have spend > 0"):
        ValueModel().fit(X, np.r_[np.ones(5), np.zeros(len(X) - 5)])
    with pytest.raises(DataValidationError, match="spend has 10 rows but X has 6000"):
        ValueModel().fit(X, spend[:10])
    with pytest.raises(ValueError, match="spend_objective must be one of"):
        ValueModel(spend_objective="poisson").fit(X, spend)


def test_holdout_split_by_time():
    g = np.repeat(np.array(["2010-01", "2010-02", "2010-03", "2010-04"]), 100)
    fit, hold = holdout_split(400, 0.25, groups=g)
    # at most half of the latest period is held out; the rest of it still trains
    assert set(g[hold]) == {"2010-04"} and len(hold) == 50
    assert len(np.intersect1d(fit, hold)) == 0 and len(fit) + len(hold) == 400
    # a large latest group gives the requested share
    g2 = np.r_[np.repeat(1, 50), np.repeat(2, 350)]
    fit, hold = holdout_split(400, 0.25, groups=g2)
    assert len(hold) == 100 and set(g2[hold]) == {2}
    # a tiny latest period: the latest whole groups are held out instead
    g3 = np.r_[np.repeat(1, 300), np.repeat(2, 90), np.repeat(3, 10)]
    fit, hold = holdout_split(400, 0.25, groups=g3)
    assert set(g3[hold]) == {2, 3} and len(hold) == 100 and set(g3[fit]) == {1}
    # without groups: stratified random split
    y = np.r_[np.zeros(300, int), np.ones(100, int)]
    fit, hold = holdout_split(400, 0.25, y=y)
    assert len(hold) == 100 and y[hold].sum() == 25


def test_churn_classifier_explanations(ziln, tmp_path):
    X, spend, _ = ziln
    m = ChurnClassifier(n_estimators=50).fit(X, (spend == 0).astype(int))
    paths = m.save_explanations(X, tmp_path, max_rows=100)
    imp = pd.read_csv(paths["importance"], index_col=0)
    assert imp.index[0] == "f"  # the feature that drives P(buy)
    shap = pd.read_csv(paths["shap"], index_col=0)
    assert shap.shape == (100, 4) and list(shap.columns)[-1] == "expected_value"
    summary = pd.read_csv(paths["shap_summary"], index_col=0)
    assert summary.index[0] == "f" and summary["mean_abs_shap"].is_monotonic_decreasing


def test_btyd_expected_spend_is_derived_when_available(ziln, tmp_path):
    X, spend, _ = ziln
    Xb = X.assign(expected_purchases=np.exp(X["f"]), expected_average_value=np.exp(X["g"]))
    m = ValueModel(n_estimators=50).fit(Xb, spend)
    assert m.derived_features_ == ["btyd_expected_spend"]
    assert list(m.feature_names_in_) == list(Xb.columns)
    assert "btyd_expected_spend" in m.buy_model_.feature_names_in_
    m.save(tmp_path)
    np.testing.assert_allclose(ValueModel.load(tmp_path).predict(Xb), m.predict(Xb), rtol=1e-12)
    assert ValueModel(n_estimators=50).fit(X, spend).derived_features_ == []
    off = ValueModel(n_estimators=50, btyd_spend_feature=False).fit(Xb, spend)
    assert off.derived_features_ == []
    with pytest.raises(DataValidationError, match="lacks 1 column.*expected_purchases"):
        m.predict(Xb.drop(columns="expected_purchases"))
