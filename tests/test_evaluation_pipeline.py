"""Labels from time, no look-ahead in features, cross-fitting, and cxml.pipelines.evaluate."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cxml.data import validate_transactions
from cxml.datasets import load_cdnow
from cxml.exceptions import CxmlUserError
from cxml.pipelines import EVALUATION_COLUMNS, evaluate
from cxml.pipelines._core import (
    CUTOFF_AGE,
    TrainingSet,
    churn_labels,
    cross_fit_proba,
    fit_calibration,
    snapshot_cutoffs,
    stack_training,
    stacked_snapshots,
)

CLV = {"horizon_months": 12, "annual_discount_rate": 0.1}
FAST = {"n_estimators": 80, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def sample():
    return load_cdnow("sample")


def _alter_future(tx: pd.DataFrame, after: pd.Timestamp, seed: int = 0) -> pd.DataFrame:
    """Change everything after ``after``: drop a third, triple amounts, move dates, add a
    newcomer and a big order for an existing customer."""
    rng = np.random.default_rng(seed)
    past = tx[tx["timestamp"] < after]
    fut = tx[tx["timestamp"] >= after].copy()
    fut = fut[rng.random(len(fut)) > 1 / 3]
    fut["amount"] *= 3
    fut["timestamp"] = fut["timestamp"] + pd.to_timedelta(rng.integers(0, 20, len(fut)), "D")
    fut = fut[fut["timestamp"] <= tx["timestamp"].max()]
    extra = pd.DataFrame(
        {
            "customer_id": [99999, 1],
            "timestamp": [after, after],
            "amount": [50.0, 5000.0],
            "quantity": [1, 40],
        }
    )
    return pd.concat([past, fut, extra], ignore_index=True)


def test_features_never_see_data_after_the_cutoff(sample):
    cut, end = dt.date(1997, 6, 30), dt.date(1998, 6, 30)
    altered = _alter_future(sample, pd.Timestamp(cut) + pd.Timedelta(days=1))
    fits = []
    for tx in (sample, altered):
        t = validate_transactions(tx, observation_end=end)
        fits.append(
            fit_calibration(
                t,
                calibration_end=cut,
                observation_end=end,
                time_unit="W",
                windows_days=(30, 90),
                clv=CLV,
                columns={},
            )
        )
    a, b = fits
    # identical features (BTYD outputs included: the models were refitted on the past only)
    pd.testing.assert_frame_equal(a.X, b.X)
    assert a.bg.params_ == b.bg.params_
    # ... while the labels did change
    assert not np.array_equal(a.holdout_spend, b.holdout_spend)


def test_stacked_snapshots_do_not_look_ahead(sample):
    cutoffs = [dt.date(1997, 5, 31), dt.date(1997, 7, 31)]
    h = 61
    # altering data after the first snapshot's label window leaves that snapshot intact
    after = pd.Timestamp(cutoffs[0]) + pd.Timedelta(days=h + 1)
    altered = _alter_future(sample, after, seed=1)
    sets = [
        stacked_snapshots(
            validate_transactions(tx),
            cutoffs=cutoffs,
            horizon_days=h,
            time_unit="W",
            windows_days=(30, 90),
            clv=CLV,
            columns={},
        )
        for tx in (sample, altered)
    ]
    first = [s.cutoff == np.datetime64(cutoffs[0], "D") for s in sets]
    pd.testing.assert_frame_equal(sets[0].X[first[0]], sets[1].X[first[1]])
    np.testing.assert_array_equal(sets[0].y[first[0]], sets[1].y[first[1]])
    # the second snapshot's labels see the altered window
    assert not np.array_equal(sets[0].spend[~first[0]], sets[1].spend[~first[1]])
    assert len(sets[0]) == int(sum(f.sum() for f in first[:1])) + int((~first[0]).sum())
    assert set(np.unique(sets[0].cutoff)) == {np.datetime64(c, "D") for c in cutoffs}


def test_churn_labels_match_a_direct_count(sample):
    cut, h = dt.date(1997, 9, 30), 90
    y = churn_labels(validate_transactions(sample), cutoff=cut, horizon_days=h)
    c0 = pd.Timestamp(cut) + pd.Timedelta(days=1)
    before = set(sample.loc[sample["timestamp"] < c0, "customer_id"])
    window = sample[(sample["timestamp"] >= c0) & (sample["timestamp"] < c0 + pd.Timedelta(days=h))]
    buyers = set(window["customer_id"]) & before
    assert len(y) == len(before) == 2357
    assert int((y == 0).sum()) == len(buyers)
    assert y.loc[sorted(buyers)].eq(0).all()
    with pytest.raises(CxmlUserError, match="horizon_days must be a positive"):
        churn_labels(validate_transactions(sample), cutoff=cut, horizon_days=0)


def test_snapshot_cutoffs():
    cuts = snapshot_cutoffs(
        dt.date(2011, 6, 9),
        horizon_days=182,
        first_date=dt.date(2009, 12, 1),
        step_days=28,
        max_snapshots=6,
    )
    assert cuts[-1] == dt.date(2010, 12, 9)  # label window ends on calibration_end
    assert cuts[0] == dt.date(2010, 12, 9) - dt.timedelta(days=5 * 28)
    assert np.all(np.diff(cuts) == dt.timedelta(days=28))
    # CDNOW: the 39-week label window leaves no past cut-off with 182 days of history
    assert (
        snapshot_cutoffs(dt.date(1997, 9, 30), horizon_days=273, first_date=dt.date(1997, 1, 1))
        == []
    )


class _Memoriser:
    """Predicts 1 for a row it was trained on at the same cut-off: exposes leaks."""

    def fit(self, X, y, groups=None):
        g = np.full(len(X), "eval") if groups is None else np.asarray(groups).astype(str)
        self.seen_ = set(zip(X.index, g, strict=True))
        self.groups_seen_ = groups is not None
        return self

    def predict_proba(self, X):
        p = np.array(
            [(i, "eval") in self.seen_ or (i, "1997-09-30") in self.seen_ for i in X.index],
            dtype=float,
        )
        return np.column_stack([1 - p, p])


def test_cross_fitting_never_uses_a_customers_own_label():
    idx = pd.Index(np.arange(300), name="customer_id")
    X = pd.DataFrame({"a": np.arange(300.0)}, index=idx)
    y = np.tile([0, 1, 1], 100)
    assert cross_fit_proba(_Memoriser, X, y, folds=5, seed=0).sum() == 0
    # with past snapshots of the same customers (their past labels are allowed)
    extra = TrainingSet(
        X=X,
        y=y,
        cutoff=np.full(300, np.datetime64("1997-06-30")),
        purchases=np.zeros(300),
        spend=np.zeros(300),
    )
    p = cross_fit_proba(_Memoriser, X, y, folds=5, seed=0, extra=extra, cutoff=dt.date(1997, 9, 30))
    assert p.sum() == 0


def test_cross_fitting_with_past_rows_needs_the_cutoff():
    idx = pd.Index(np.arange(30), name="customer_id")
    X = pd.DataFrame({"a": np.arange(30.0)}, index=idx)
    y = np.tile([0, 1, 1], 10)
    extra = TrainingSet(
        X=X,
        y=y,
        cutoff=np.full(30, np.datetime64("1997-06-30")),
        purchases=np.zeros(30),
        spend=np.zeros(30),
    )
    with pytest.raises(ValueError, match="extra .* rows needs cutoff"):
        cross_fit_proba(_Memoriser, X, y, folds=3, seed=0, extra=extra)


def test_stack_training_adds_the_cutoff_age():
    idx = pd.Index([1, 2, 3], name="customer_id")
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]}, index=idx)
    past = TrainingSet(
        X=pd.DataFrame(
            {"b": [7.0, 8.0], "a": [9.0, 10.0], "old": [0.0, 0.0]},
            index=pd.Index([1, 4], name="customer_id"),
        ),
        y=np.array([0, 1]),
        cutoff=np.array(["2011-01-01", "2011-03-01"], dtype="datetime64[D]"),
        purchases=np.zeros(2),
        spend=np.zeros(2),
    )
    rows, groups = stack_training(past, X, dt.date(2011, 6, 9))
    assert list(rows.columns) == ["a", "b", CUTOFF_AGE]  # X's columns; the past's extra dropped
    assert rows[CUTOFF_AGE].tolist() == [159.0, 100.0, 0.0, 0.0, 0.0]
    assert rows["a"].tolist() == [9.0, 10.0, 1.0, 2.0, 3.0]
    assert groups.tolist() == [dt.date(2011, 1, 1), dt.date(2011, 3, 1)] + [dt.date(2011, 6, 9)] * 3
    # rows already carrying the age (cross-fitting adds it to X first) are not duplicated
    again, _ = stack_training(past, rows.iloc[2:], dt.date(2011, 6, 9))
    assert list(again.columns) == ["a", "b", CUTOFF_AGE]


def test_cross_fitting_with_past_cutoffs_scores_at_age_zero():
    seen = {}

    class Spy:
        def fit(self, X, y, groups=None):
            seen.setdefault("fit", []).append(X[CUTOFF_AGE].to_numpy())
            return self

        def predict_proba(self, X):
            seen.setdefault("predict", []).append(X[CUTOFF_AGE].to_numpy())
            return np.column_stack([np.zeros(len(X)), np.zeros(len(X))])

    idx = pd.Index(np.arange(30), name="customer_id")
    X = pd.DataFrame({"a": np.arange(30.0)}, index=idx)
    y = np.tile([0, 1, 1], 10)
    extra = TrainingSet(
        X=X,
        y=y,
        cutoff=np.full(30, np.datetime64("1997-06-30")),
        purchases=np.zeros(30),
        spend=np.zeros(30),
    )
    cross_fit_proba(Spy, X, y, folds=3, seed=0, extra=extra, cutoff=dt.date(1997, 9, 30))
    for ages in seen["fit"]:  # 30 past rows 92 days old, then 20 current rows
        assert ages.tolist() == [92.0] * 30 + [0.0] * 20
    assert all((ages == 0).all() for ages in seen["predict"])
    assert "cutoff_age_days" not in X.columns  # the caller's frame is untouched


@pytest.mark.slow
def test_evaluate_cross_fit_on_cdnow_sample(sample):
    table, scores = evaluate(
        sample,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        folds=3,
        churn_params=FAST,
        value_params=FAST,
        return_scores=True,
    )
    assert table.attrs["training"] == "cross_fit" and table.attrs["snapshots"] == []
    assert list(table.columns[: len(EVALUATION_COLUMNS)]) == EVALUATION_COLUMNS
    assert (table["n_customers"] == 2357).all()
    assert table.loc["cxml", "n_training_rows"] == 2357 * 2 // 3
    # published holdout total (Fader, Hardie & Lee 2005): 1,882 repeat transaction days
    assert table.loc["bgnbd_expected", "purchases_actual_total"] == 1882
    assert scores["holdout_purchases"].sum() == 1882
    # value: the cxml row has its own (LightGBM) predictions, RFM rows have none
    assert table.loc["cxml", "value_spearman"] != table.loc["bgnbd_expected", "value_spearman"]
    assert np.isnan(table.loc["rfm_logistic", "value_gini"])
    assert table.loc["cxml", "churn_auc"] > 0.7
    assert 0 < table.loc["cxml", "churn_brier"] < 0.2
    assert table.loc["cxml", "value_gini"] > 0.5
    assert len(scores) == 2357 and scores["churned"].sum() == round(
        table.loc["cxml", "churn_churn_rate"] * 2357
    )
    with pytest.raises(CxmlUserError, match="training='out_of_time' needs a past cut-off"):
        evaluate(
            sample,
            calibration_end="1997-09-30",
            observation_end="1998-06-30",
            training="out_of_time",
        )
    with pytest.raises(CxmlUserError, match="training must be one of"):
        evaluate(
            sample, calibration_end="1997-09-30", observation_end="1998-06-30", training="magic"
        )


@pytest.mark.slow
def test_evaluate_with_out_of_time_snapshots(sample):
    table = evaluate(
        sample,
        calibration_end="1998-03-31",
        observation_end="1998-06-30",
        folds=3,
        max_snapshots=2,
        min_history_days=150,
        churn_params=FAST,
        value_params=FAST,
    )
    assert table.attrs["training"] == "both"
    assert table.attrs["snapshots"] == ["1997-12-02", "1997-12-30"]  # 1998-03-31 - 91 d, - 28 d
    n = table.loc["cxml", "n_customers"]
    assert table.loc["cxml", "n_training_rows"] > n  # the snapshots add rows
    assert table.loc["cxml", "churn_auc"] > 0.7
    oot = evaluate(
        sample,
        calibration_end="1998-03-31",
        observation_end="1998-06-30",
        folds=3,
        max_snapshots=2,
        min_history_days=150,
        training="out_of_time",
        churn_params=FAST,
        value_params=FAST,
    )
    assert oot.attrs["training"] == "out_of_time"
    assert oot.loc["cxml", "n_training_rows"] < table.loc["cxml", "n_training_rows"]
    assert oot.loc["cxml", "churn_auc"] > 0.7
