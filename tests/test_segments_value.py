"""cxml.segments: CLV tiers and the value x churn-risk action matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cxml.exceptions import ConfigError, DataValidationError
from cxml.segments import clv_tiers, load_segment_rules, value_risk_matrix

DEFAULT_ACTIONS = {
    ("high", "low"): "reward",
    ("high", "medium"): "retain",
    ("high", "high"): "win back",
    ("medium", "low"): "grow",
    ("medium", "medium"): "nurture",
    ("medium", "high"): "re-engage",
    ("low", "low"): "develop",
    ("low", "medium"): "monitor",
    ("low", "high"): "let go",
}


def test_clv_tiers_quantiles_split_50_30_20():
    clv = pd.Series(
        np.random.default_rng(1).lognormal(3, 1, size=10_000),
        index=pd.RangeIndex(100, 10_100, name="customer_id"),
    )
    tiers = clv_tiers(clv)
    assert tiers.name == "value_tier" and tiers.index.equals(clv.index)
    assert tiers.value_counts().to_dict() == {"low": 5000, "medium": 3000, "high": 2000}
    assert tiers.cat.ordered and list(tiers.cat.categories) == ["low", "medium", "high"]
    assert clv[tiers == "high"].min() > clv[tiers == "medium"].max()


def test_clv_tiers_thresholds_labels_and_edges():
    clv = [0.0, 99.99, 100.0, 100.01, 499, 500, 501, 10_000]
    tiers = clv_tiers(clv, thresholds=[100, 500])
    # tier k holds (cut[k-1], cut[k]]: a CLV equal to a cut point stays in the lower tier
    assert tiers.tolist() == ["low", "low", "low", "medium", "medium", "medium", "high", "high"]
    four = clv_tiers(clv, quantiles=[0.25, 0.5, 0.75], labels=["D", "C", "B", "A"])
    assert four.tolist() == ["D", "D", "C", "C", "B", "B", "A", "A"]
    assert clv_tiers(clv, quantiles=[0.5]).tolist() == ["low"] * 4 + ["high"] * 4
    assert clv_tiers(clv, thresholds=[1, 2, 3, 4]).cat.categories.tolist() == [
        "tier 1",
        "tier 2",
        "tier 3",
        "tier 4",
        "tier 5",
    ]


def test_clv_tiers_mass_of_zero_clv_stays_low():
    clv = np.r_[np.zeros(70), np.arange(1, 31)]  # 70 % zero CLV: median is 0
    tiers = clv_tiers(clv)
    assert tiers.value_counts().to_dict() == {"low": 70, "medium": 10, "high": 20}


def test_clv_tiers_errors():
    with pytest.raises(DataValidationError, match=r"clv is missing or infinite for 2 of 4"):
        clv_tiers([1.0, np.nan, np.inf, 3])
    with pytest.raises(DataValidationError, match="strictly increasing"):
        clv_tiers([1.0, 2], thresholds=[500, 100])
    with pytest.raises(DataValidationError, match=r"quantiles must lie strictly between 0 and 1"):
        clv_tiers([1.0, 2], quantiles=[0.5, 1.0])
    with pytest.raises(DataValidationError, match=r"needs 3 distinct labels .* got \['a', 'b'\]"):
        clv_tiers([1.0, 2], labels=["a", "b"])
    with pytest.raises(DataValidationError, match="clv must be numeric"):
        clv_tiers(["a", "b"])
    with pytest.raises(DataValidationError, match="clv is empty"):
        clv_tiers([])
    assert clv_tiers([], thresholds=[10]).tolist() == []


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.floats(-1e4, 1e6, allow_nan=False, allow_infinity=False),
    )
)
def test_clv_tiers_monotone_in_clv(values):
    tiers = clv_tiers(values)
    codes = tiers.cat.codes.to_numpy()
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(codes[order]) >= 0)
    for v in np.unique(values):
        assert len(set(codes[values == v])) == 1
    assert len(tiers) == len(values) and (codes >= 0).all()


def test_value_risk_matrix_default_actions_every_cell():
    # one customer per cell: CLV terciles 1..3 x risk below/between/above 0.33 / 0.66
    clv = np.repeat([10.0, 20.0, 30.0], 3)
    risk = np.tile([0.1, 0.5, 0.9], 3)
    m = value_risk_matrix(clv, risk)
    assert list(m.columns) == ["value_tier", "risk_tier", "segment"]
    got = {(v, r): a for v, r, a in m.astype(str).itertuples(index=False)}
    assert got == DEFAULT_ACTIONS
    assert load_segment_rules().value_risk_actions["high"]["high"] == "win back"
    # categories list actions from the high-value row down, for stable plot/report order
    assert m["segment"].cat.categories.tolist()[:3] == ["reward", "retain", "win back"]


def test_value_risk_matrix_risk_boundaries():
    m = value_risk_matrix([1.0] * 4, [0.0, 0.33, 0.3301, 1.0])
    assert m["risk_tier"].tolist() == ["low", "low", "medium", "high"]


def test_value_risk_matrix_aligns_series_by_customer():
    clv = pd.Series([900.0, 10.0, 200.0], index=["a", "b", "c"])
    p = pd.Series([0.9, 0.1, 0.5], index=["b", "a", "c"])  # other order
    m = value_risk_matrix(clv, p)
    assert m.index.tolist() == ["a", "b", "c"]
    assert m["segment"].tolist() == ["reward", "let go", "nurture"]
    m2 = value_risk_matrix(clv.to_numpy(), p.sort_index())
    assert m2.index.tolist() == ["a", "b", "c"]  # ids taken from whichever input has them


def test_value_risk_matrix_custom_actions_and_shapes():
    clv = [1.0, 2, 3, 4]
    p = [0.2, 0.8, 0.2, 0.8]
    actions = {
        ("low", "low"): "A",
        ("low", "high"): "B",
        ("high", "low"): "C",
        ("high", "high"): "D",
    }
    m = value_risk_matrix(
        clv,
        p,
        value_quantiles=[0.5],
        risk_thresholds=[0.5],
        value_labels=["low", "high"],
        risk_labels=["low", "high"],
        actions=actions,
    )
    assert m["segment"].tolist() == ["A", "B", "C", "D"]
    nested = {"low": {"low": "A", "high": "B"}, "high": {"low": "C", "high": "D"}}
    m2 = value_risk_matrix(
        clv,
        p,
        value_thresholds=[2.5],
        risk_thresholds=[0.5],
        value_labels=["low", "high"],
        risk_labels=["low", "high"],
        actions=nested,
    )
    assert m2["segment"].tolist() == ["A", "B", "C", "D"]


def test_value_risk_matrix_errors():
    with pytest.raises(
        DataValidationError,
        match=r"churn_probability is outside 0\.\.1 for "
        r"2 of 3 customers",
    ):
        value_risk_matrix([1.0, 2, 3], [0.5, 1.2, -0.1])
    with pytest.raises(
        DataValidationError, match="clv has 3 customers but churn_probability has 2"
    ):
        value_risk_matrix([1.0, 2, 3], [0.5, 0.2])
    with pytest.raises(
        DataValidationError,
        match=r"1 of 2 customers of clv have no "
        r"churn_probability",
    ):
        value_risk_matrix(
            pd.Series([1.0, 2], index=["a", "b"]), pd.Series([0.1, 0.2], index=["a", "z"])
        )
    with pytest.raises(DataValidationError, match="churn_probability is missing or infinite"):
        value_risk_matrix([1.0], [np.nan])
    with pytest.raises(DataValidationError, match="risk_thresholds must lie strictly between"):
        value_risk_matrix([1.0], [0.5], risk_thresholds=[0.0, 0.5])
    with pytest.raises(
        ConfigError,
        match=r"actions lack 1 of 4 \(value_tier, risk_tier\) cells, "
        r"e\.g\. \('high', 'high'\)",
    ):
        value_risk_matrix(
            [1.0, 2],
            [0.1, 0.9],
            value_quantiles=[0.5],
            risk_thresholds=[0.5],
            value_labels=["low", "high"],
            risk_labels=["low", "high"],
            actions={"low": {"low": "a", "high": "b"}, "high": {"low": "c"}},
        )
    with pytest.raises(
        ConfigError, match=r"actions lack 12 of 12 .*\(.tier 1., .low.\).*4x3 matrix"
    ):
        value_risk_matrix([1.0, 2, 3, 4], [0.1, 0.2, 0.3, 0.4], value_quantiles=[0.25, 0.5, 0.75])


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(st.lists(st.tuples(st.floats(0, 1e5), st.floats(0, 1)), min_size=1, max_size=200))
def test_value_risk_matrix_one_action_per_customer(rows):
    clv = np.array([c for c, _ in rows])
    p = np.array([q for _, q in rows])
    m = value_risk_matrix(clv, p)
    assert len(m) == len(rows) and m.notna().all().all()
    got = {(v, r): a for v, r, a in m.astype(str).itertuples(index=False)}
    assert all(DEFAULT_ACTIONS[k] == a for k, a in got.items())
    risk_codes = m["risk_tier"].cat.codes.to_numpy()
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(risk_codes[order]) >= 0)
