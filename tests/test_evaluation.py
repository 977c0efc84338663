"""cxml.evaluation: churn and value metrics, decile tables and figures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from cxml.evaluation import (
    calibration_curve,
    churn_metrics,
    decile_mape,
    decile_table,
    lift_table,
    normalized_gini,
    plot_calibration,
    plot_decile_value,
    plot_gain,
    plot_lift,
    value_metrics,
)
from cxml.exceptions import CxmlUserError, DataValidationError


@pytest.fixture(scope="module")
def churn_data():
    rng = np.random.default_rng(3)
    n = 1000
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < p).astype(int)
    return y, p


def test_churn_metrics_match_sklearn(churn_data):
    y, p = churn_data
    m = churn_metrics(y, p)
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, p), rel=1e-12)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), rel=1e-12)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
    assert m["log_loss"] == pytest.approx(
        -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-12
    )
    assert m["churn_rate"] == y.mean() and m["n"] == 1000


def test_churn_metrics_ranking_score_has_no_probability_metrics():
    m = churn_metrics([0, 1, 1, 0], [-3.0, 2.0, 5.0, 1.0])
    assert m["auc"] == 1.0
    assert np.isnan(m["brier"]) and np.isnan(m["log_loss"])


def test_churn_metrics_single_class_gives_nan_auc():
    m = churn_metrics([1, 1, 1], [0.2, 0.5, 0.9])
    assert np.isnan(m["auc"]) and np.isnan(m["pr_auc"])
    assert m["brier"] == pytest.approx((0.64 + 0.25 + 0.01) / 3)


def test_calibration_curve_deciles(churn_data):
    y, p = churn_data
    c = calibration_curve(y, p)
    assert list(c["bin"]) == list(range(1, 11))
    assert (c["n"] == 100).all()
    # by hand: the 100 lowest probabilities form bin 1
    order = np.argsort(p, kind="stable")
    assert c.loc[0, "mean_predicted"] == pytest.approx(p[order[:100]].mean())
    assert c.loc[0, "observed_rate"] == pytest.approx(y[order[:100]].mean())
    assert c["mean_predicted"].is_monotonic_increasing
    # the data are calibrated by construction: observed close to predicted in every bin
    assert np.abs(c["observed_rate"] - c["mean_predicted"]).max() < 0.15


def test_calibration_curve_uniform_bins_skip_empty():
    c = calibration_curve([0, 1, 1], [0.05, 0.91, 0.99], n_bins=10, strategy="uniform")
    assert c["bin"].tolist() == [1, 10]
    assert c["n"].tolist() == [1.0, 2.0]


def test_lift_table_exact():
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    s = np.arange(10, 0, -1, dtype=float)  # already sorted by score, highest first
    t = lift_table(y, s, n_bins=5)
    assert t["churners"].tolist() == [2, 1, 1, 0, 0]
    assert t["lift"].tolist() == pytest.approx([2.5, 1.25, 1.25, 0.0, 0.0])
    assert t["cumulative_gain"].tolist() == pytest.approx([0.5, 0.75, 1.0, 1.0, 1.0])
    assert t["cumulative_lift"].iloc[0] == pytest.approx(2.5)
    assert t["cumulative_lift"].iloc[-1] == pytest.approx(1.0)


def test_decile_table_and_mape_by_hand():
    actual = np.array([10.0, 0.0, 5.0, 5.0])
    pred = np.array([8.0, 1.0, 6.0, 4.0])
    t = decile_table(actual, pred, n_bins=2)
    # bin 1 = the two highest predictions (8, 6) -> actual 10 + 5
    assert t["predicted_total"].tolist() == [14.0, 5.0]
    assert t["actual_total"].tolist() == [15.0, 5.0]
    assert decile_mape(actual, pred, n_bins=2) == pytest.approx((1 / 15 + 0) / 2)
    # a bin whose actual total is 0 is left out of the mean
    assert decile_mape([0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 0.5, 0.5], n_bins=2) == pytest.approx(0.875)


def test_normalized_gini_known_values():
    assert normalized_gini([0, 1, 5], [0.1, 0.5, 3.0]) == pytest.approx(1.0)
    # reversed ranking: cumulative shares (0, 1/6, 1) against (5/6, 1, 1) -> -1
    a = np.array([0.0, 1.0, 5.0])
    assert normalized_gini(a, -a) == pytest.approx(-1.0)
    # half right: order (5, 0, 1) -> cumulative (5/6, 5/6, 1): (8/3 / 3 - 2/3) / (5/18)
    assert normalized_gini(a, [0.0, -1.0, 9.0]) == pytest.approx((8 / 9 - 2 / 3) / (5 / 18))
    assert np.isnan(normalized_gini([0, 0, 0], [1, 2, 3]))
    assert np.isnan(normalized_gini([2, 2, 2], [1, 2, 3]))  # nothing to rank


def test_value_metrics_by_hand():
    m = value_metrics([0, 10, 30], [1, 9, 20], prefix="value_")
    assert m["value_mae"] == pytest.approx(4.0)
    assert m["value_rmse"] == pytest.approx(np.sqrt((1 + 1 + 100) / 3))
    assert m["value_spearman"] == pytest.approx(1.0)
    assert m["value_gini"] == pytest.approx(1.0)
    assert m["value_aggregate_error"] == pytest.approx(30 / 40 - 1)
    assert m["value_actual_total"] == 40 and m["value_predicted_total"] == 30
    # a constant prediction has no rank correlation
    assert np.isnan(value_metrics([1, 2, 3], [5, 5, 5])["spearman"])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: churn_metrics([0, 1, 1], [0.1, 0.2]), "churned has 3 values but score has 2"),
        (lambda: churn_metrics([0, 2, 1], [0.1, 0.2, 0.3]), "0 or 1; 1 of 3 values"),
        (lambda: churn_metrics([0, 1], [np.nan, 0.3]), "score is NaN or infinite for 1 of 2"),
        (lambda: value_metrics([], []), "actual is empty"),
        (lambda: value_metrics([1.0, np.inf], [1, 2]), "actual is NaN or infinite for 1 of 2"),
        (lambda: calibration_curve([0, 1], [0.5, 1.5]), "outside \\[0, 1\\] for 1 of 2"),
    ],
)
def test_bad_input_is_named_and_counted(call, match):
    with pytest.raises(DataValidationError, match=match):
        call()


def test_bad_options():
    with pytest.raises(CxmlUserError, match="strategy must be"):
        calibration_curve([0, 1], [0.2, 0.7], strategy="kmeans")
    with pytest.raises(CxmlUserError, match="n_bins must be at least 1"):
        calibration_curve([0, 1], [0.2, 0.7], n_bins=0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=2, max_size=60),
    st.randoms(use_true_random=False),
)
def test_gini_invariants(actual, rnd):
    a = np.asarray(actual)
    perm = np.array(rnd.sample(range(len(a)), len(a)))
    if a.sum() == 0 or np.ptp(a) == 0:
        assert np.isnan(normalized_gini(a, a))
        return
    # the actual values rank themselves perfectly; any ranking is at most as good
    assert normalized_gini(a, a) == pytest.approx(1.0)
    # distinct scores (ties are broken by row order, which a permutation changes)
    scores = np.asarray(rnd.sample(range(len(a)), len(a)), dtype=float) / len(a)
    g = normalized_gini(a, scores)
    assert g <= 1.0 + 1e-9
    # invariant to the order of the rows and to a monotone transform of the scores
    assert normalized_gini(a[perm], scores[perm]) == pytest.approx(g, abs=1e-9)
    assert normalized_gini(a, np.exp(3 * scores)) == pytest.approx(g, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=200),
    st.integers(1, 12),
    st.randoms(use_true_random=False),
)
def test_lift_table_invariants(labels, n_bins, rnd):
    y = np.asarray(labels, dtype=int)
    s = np.asarray([rnd.choice([0.1, 0.5, 0.9, rnd.random()]) for _ in y])  # many ties
    t = lift_table(y, s, n_bins=n_bins)
    assert t["n"].sum() == len(y) and t["churners"].sum() == y.sum()
    # equal-count bins whatever the ties
    assert t["n"].max() - t["n"].min() <= 1
    if y.sum():
        assert t["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
        assert t["cumulative_gain"].is_monotonic_increasing


def test_figures_are_pyplot_free_pngs(churn_data, tmp_path):
    import matplotlib.pyplot as plt

    y, p = churn_data
    before = plt.get_fignums()
    figs = {
        "cal": plot_calibration(y, {"a": p, "b": np.clip(p * 0.5, 0, 1)}),
        "gain": plot_gain(y, p),
        "lift": plot_lift(y, {"a": p, "b": -p}),
        "dec": plot_decile_value(y * 10.0, {"a": p * 10}),
    }
    assert plt.get_fignums() == before  # no pyplot global state
    assert figs["cal"].axes[0].get_title() == "Calibration"
    # perfect-calibration diagonal + one line per model
    assert len(figs["cal"].axes[0].lines) == 3
    assert [line.get_label() for line in figs["gain"].axes[0].lines] == ["random", "model"]
    assert len(figs["lift"].axes[0].patches) == 20  # 10 deciles x 2 models
    for name, fig in figs.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
