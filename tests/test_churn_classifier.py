"""ChurnClassifier: sklearn conventions, calibration, SHAP, pickle-free round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from cxml.exceptions import DataValidationError, ModelLoadError, NotFittedError
from cxml.models import ChurnClassifier


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n = 4000
    X = pd.DataFrame(
        {
            "recency_days": rng.exponential(60, n),
            "frequency": rng.poisson(3, n).astype(float),
            "noise": rng.normal(size=n),
        }
    )
    X.loc[rng.random(n) < 0.05, "noise"] = np.nan  # LightGBM handles missing values
    logit = 0.03 * X["recency_days"] - 0.6 * X["frequency"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return ChurnClassifier(n_estimators=300, random_state=0).fit(X.iloc[:3000], y[:3000])


def test_learns_signal_and_probabilities_are_calibrated(data, fitted):
    X, y = data
    p = fitted.predict_proba(X.iloc[3000:])[:, 1]
    assert roc_auc_score(y[3000:], p) > 0.8
    # calibration in the large: mean prediction close to the observed rate
    assert abs(p.mean() - y[3000:].mean()) < 0.05
    assert fitted.predict_proba(X.iloc[:5]).shape == (5, 2)
    np.testing.assert_allclose(fitted.predict_proba(X.iloc[:5]).sum(axis=1), 1.0)
    assert fitted.feature_importances_.index[0] in {"recency_days", "frequency"}
    assert fitted.best_iteration_ <= 300


def test_fit_is_deterministic(data, fitted):
    X, y = data
    again = clone(fitted).fit(X.iloc[:3000], y[:3000])
    np.testing.assert_array_equal(again.predict_proba(X)[:, 1], fitted.predict_proba(X)[:, 1])


def test_shap_values_sum_to_raw_score(data, fitted):
    X, _ = data
    shap = fitted.shap_values(X.iloc[:50])
    assert list(shap.columns) == [*X.columns, "expected_value"]
    raw = fitted.booster_.predict(X.iloc[:50], raw_score=True, num_iteration=fitted.best_iteration_)
    np.testing.assert_allclose(shap.sum(axis=1), raw, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic", "none"])
def test_save_load_round_trip_without_pickle(data, tmp_path, calibration):
    X, y = data
    m = ChurnClassifier(n_estimators=100, calibration=calibration).fit(X, y)
    m.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["churn.json", "churn_lgbm.txt"]
    json.loads((tmp_path / "churn.json").read_text())  # plain JSON
    loaded = ChurnClassifier.load(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(X)[:, 1], m.predict_proba(X)[:, 1], rtol=1e-12)
    assert loaded.get_params() == m.get_params()


def test_time_based_split_uses_latest_groups(data):
    X, y = data
    groups = np.repeat([1, 2, 3, 4], len(y) // 4)
    m = ChurnClassifier(n_estimators=50, validation_fraction=0.25)
    fit_idx, es_idx, cal_idx = m._split(y, groups)
    hold = np.concatenate([es_idx, cal_idx])
    # early stopping and calibration on the latest period (half of it; the other half
    # and every earlier period train the booster)
    assert set(groups[hold]) == {4} and len(hold) == 500
    assert set(groups[fit_idx]) == {1, 2, 3, 4}
    assert len(np.intersect1d(fit_idx, hold)) == 0 and len(fit_idx) + len(hold) == len(y)


def test_errors(data, tmp_path):
    X, y = data
    with pytest.raises(NotFittedError, match="not fitted"):
        ChurnClassifier().predict_proba(X)
    with pytest.raises(DataValidationError, match="single class"):
        ChurnClassifier().fit(X, np.zeros(len(X), dtype=int))
    with pytest.raises(DataValidationError, match="non-numeric feature column.*segment"):
        ChurnClassifier().fit(X.assign(segment="a"), y)
    with pytest.raises(DataValidationError, match="y has 10 rows but X has 4000"):
        ChurnClassifier().fit(X, y[:10])
    m = ChurnClassifier(n_estimators=20).fit(X, y)
    with pytest.raises(DataValidationError, match="lacks 1 column.*noise"):
        m.predict_proba(X.drop(columns=["noise"]))
    with pytest.raises(ModelLoadError, match="cannot read churn model"):
        ChurnClassifier.load(tmp_path / "nothing")
