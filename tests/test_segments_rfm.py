"""cxml.segments: RFM scores, segment rules as data, named RFM segments."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cxml
from cxml.exceptions import ConfigError, DataValidationError
from cxml.segments import (
    SegmentRules,
    load_segment_rules,
    quantile_edges,
    quantile_scores,
    rfm_score_edges,
    rfm_scores,
    rfm_segments,
)

REPO = Path(__file__).resolve().parents[1]
NAMES = [
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "Can't Lose Them",
    "At Risk",
    "Hibernating",
    "Lost",
]
# Fader-Hardie-Lee's CDNOW calibration summary (x, t_x, T in weeks, zbar = mean repeat spend)
FHL = {"recency": "t_x", "frequency": "x", "monetary_value": "zbar"}


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    from lifetimes.datasets import load_dataset

    return load_dataset("cdnow_customers_summary_with_transactions.csv", index_col=[0])


# ---------------------------------------------------------------- quantile_scores


def test_quantile_scores_without_ties_are_exact_quintiles():
    assert quantile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    shuffled = np.array([7, 3, 9, 0, 5, 1, 8, 2, 6, 4])
    assert quantile_scores(shuffled).tolist() == [4, 2, 5, 1, 3, 1, 5, 2, 4, 3]
    assert (
        np.bincount(quantile_scores(np.random.default_rng(0).normal(size=1000)))[1:].tolist()
        == [200] * 5
    )


def test_quantile_scores_keep_ties_together():
    # 6 of 10 equal zeros: all score 1; the next value has 6 of 10 below it -> 1 + 3 = 4
    values = [0, 0, 0, 0, 0, 0, 1, 1, 2, 5]
    assert quantile_scores(values).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert quantile_scores([3.0] * 7).tolist() == [1] * 7
    assert quantile_scores([], n_bins=5).tolist() == []
    assert quantile_scores([1, 2, 3], n_bins=3).tolist() == [1, 2, 3]


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 200),
        elements=st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 1)),
    ),
    st.integers(2, 10),
)
def test_quantile_scores_property(values, n_bins):
    scores = quantile_scores(values, n_bins=n_bins)
    assert scores.min() >= 1 and scores.max() <= n_bins
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(scores[order]) >= 0)  # monotone in the value
    assert scores[values == values.min()].tolist() == [1] * int((values == values.min()).sum())
    for v in np.unique(values):  # ties share one score
        assert len(set(scores[values == v])) == 1


# ---------------------------------------------------------------- rfm_scores


def test_rfm_scores_small_example_reverses_recency():
    rfm = pd.DataFrame(
        {
            "recency": [0.0, 10, 30, 35, 20],
            "frequency": [0, 1, 4, 9, 2],
            "monetary_value": [0.0, 15, 40, 22, 18],
            "T": [38.0] * 5,
        },
        index=pd.Index(["a", "b", "c", "d", "e"], name="customer_id"),
    )
    scores = rfm_scores(rfm)
    # time since last purchase T - recency: 38, 28, 8, 3, 18 -> "d" most recent -> r 5
    assert scores["r_score"].tolist() == [1, 2, 4, 5, 3]
    assert scores["f_score"].tolist() == [1, 2, 4, 5, 3]
    assert scores["m_score"].tolist() == [1, 2, 5, 4, 3]
    assert scores.index.equals(rfm.index)
    assert list(scores.columns) == ["r_score", "f_score", "m_score"]
    assert (scores.dtypes == "int64").all()


def test_rfm_scores_recency_is_time_since_last_purchase_not_lifetimes_recency():
    # Same lifetimes-recency, different ages: the younger customer bought more recently.
    rfm = pd.DataFrame(
        {
            "recency": [5.0, 5.0],
            "frequency": [1, 1],
            "monetary_value": [10.0, 10.0],
            "T": [6.0, 30.0],
        }
    )
    assert rfm_scores(rfm, n_bins=2)["r_score"].tolist() == [2, 1]


def test_rfm_scores_on_published_cdnow_summary(cdnow_summary):
    scores = rfm_scores(cdnow_summary, **FHL)
    assert len(scores) == 2357
    # x = 0 for 1,411 customers -> 1; x = 1 (439): 1,411 below -> 1 + floor(5 * 1411/2357) = 3;
    # x = 2 (214): 1,850 below -> 4; x >= 3 (293): 2,064 below -> 5.
    assert scores["f_score"].value_counts().sort_index().to_dict() == {
        1: 1411,
        3: 439,
        4: 214,
        5: 293,
    }
    # One-time buyers have zbar = 0: all share the lowest monetary score.
    assert (scores.loc[cdnow_summary["x"] == 0, "m_score"] == 1).all()
    # Recency has few ties: five nearly equal bins
    assert scores["r_score"].value_counts().sort_index().tolist() == [480, 478, 459, 475, 465]
    since = cdnow_summary["T"] - cdnow_summary["t_x"]
    assert scores.loc[since.idxmax(), "r_score"] == 1
    assert scores.loc[since.idxmin(), "r_score"] == 5


def test_rfm_scores_accepts_lifetimes_summary_output():
    from lifetimes.utils import summary_data_from_transaction_data

    tx = cxml.datasets.load_cdnow("sample")
    summary = summary_data_from_transaction_data(
        tx, "customer_id", "timestamp", "amount", observation_period_end="1997-09-30", freq="D"
    )  # days: lifetimes' freq="W" would merge purchases within a week
    scores = rfm_scores(summary)
    assert scores.index.equals(summary.index)
    assert (scores.loc[summary["frequency"] == 0, "f_score"] == 1).all()
    assert int((summary["frequency"] == 0).sum()) == 1411


def test_rfm_scores_errors():
    good = pd.DataFrame(
        {
            "recency": [1.0, 2, 3],
            "frequency": [1, 2, 3],
            "monetary_value": [5.0, 6, 7],
            "T": [4.0, 4, 4],
        }
    )
    with pytest.raises(DataValidationError, match=r"recency > T for 2 of 3 customers"):
        rfm_scores(good.assign(T=[0.5, 1.5, 4.0]))
    with pytest.raises(DataValidationError, match=r"lacks column\(s\) \['monetary_value'\]"):
        rfm_scores(good.drop(columns="monetary_value"))
    with pytest.raises(DataValidationError, match=r"'frequency' is missing or infinite for 1 of 3"):
        rfm_scores(good.assign(frequency=[1, np.nan, 3]))
    with pytest.raises(DataValidationError, match=r"'T' is negative for 1 of 3"):
        rfm_scores(good.assign(T=[4.0, 4, -1], recency=[1.0, 2, 0]))
    with pytest.raises(DataValidationError, match="'recency' must be numeric"):
        rfm_scores(good.assign(recency=["a", "b", "c"]))
    with pytest.raises(DataValidationError, match="n_bins must be an integer >= 2"):
        rfm_scores(good, n_bins=1)
    with pytest.raises(DataValidationError, match="must be a pandas DataFrame"):
        rfm_scores(good.to_numpy())
    # negative mean spend (net returns) is data, not an error
    assert rfm_scores(good.assign(monetary_value=[-5.0, 0, 5]))["m_score"].tolist() == [1, 2, 4]


# ---------------------------------------------------------------- rules


def test_packaged_rules_equal_the_editable_config():
    packaged = REPO / "src" / "cxml" / "segments" / "_default_rules.yaml"
    assert packaged.read_text() == (REPO / "configs" / "segments.yaml").read_text()
    assert load_segment_rules(REPO / "configs" / "segments.yaml") == load_segment_rules()


def test_default_rules_cover_every_score_combination_exactly_once():
    rules = load_segment_rules()
    assert rules.names == NAMES and rules.n_bins == 5 and rules.default is None
    combos = pd.DataFrame(
        list(itertools.product(range(1, 6), repeat=3)), columns=["r_score", "f_score", "m_score"]
    )
    seg = rfm_segments(combos)  # raises if any of the 125 combinations is unmatched
    assert seg.notna().all() and len(seg) == 125
    assert set(seg) == set(NAMES)  # every named segment is reachable


@pytest.mark.parametrize(
    ("r", "f", "m", "expected"),
    [
        (5, 5, 5, "Champions"),
        (4, 5, 4, "Champions"),
        (4, 4, 4, "Loyal"),
        (3, 5, 5, "Loyal"),
        (5, 3, 3, "Potential Loyalist"),
        (4, 2, 2, "Potential Loyalist"),
        (5, 1, 1, "New"),
        (5, 1, 2, "New"),
        (4, 1, 1, "Promising"),
        (3, 3, 3, "Need Attention"),
        (3, 1, 1, "About to Sleep"),
        (3, 2, 2, "About to Sleep"),
        (1, 5, 5, "Can't Lose Them"),
        (1, 4, 4, "Can't Lose Them"),
        (2, 5, 5, "At Risk"),
        (1, 3, 3, "At Risk"),
        (2, 1, 2, "Hibernating"),
        (1, 1, 1, "Lost"),
        (1, 2, 2, "Lost"),
    ],
)
def test_default_rules_cells(r, f, m, expected):
    seg = rfm_segments(pd.DataFrame({"r_score": [r], "f_score": [f], "m_score": [m]}))
    assert seg.iloc[0] == expected


def test_rfm_segments_on_published_cdnow_summary(cdnow_summary):
    seg = rfm_segments(cdnow_summary, **FHL)
    assert seg.name == "rfm_segment" and seg.index.equals(cdnow_summary.index)
    assert list(seg.cat.categories) == NAMES
    counts = seg.value_counts()
    assert counts.sum() == 2357
    # Nobody in CDNOW is new at the end of the calibration: all first purchases were in
    # Jan-Mar 1997, so one-time buyers are at least 26 weeks past their only purchase.
    assert counts["New"] == 0
    one_timers = seg[cdnow_summary["x"] == 0]
    assert set(one_timers) <= {"Promising", "About to Sleep", "Hibernating", "Lost"}
    # Brute force: apply the rule table customer by customer.
    scores = rfm_scores(cdnow_summary, **FHL)
    rules = load_segment_rules()
    expected = []
    for r, f, m in scores.itertuples(index=False):
        vals = {"r": r, "f": f, "m": m, "fm": (f + m) / 2}
        expected.append(
            next(
                rule.name
                for rule in rules.segments
                if all(lo <= vals[k] <= hi for k, (lo, hi) in rule.conditions().items())
            )
        )
    assert seg.astype(str).tolist() == expected


def test_custom_rules_from_yaml_dict_and_list(tmp_path):
    rfm = pd.DataFrame({"r_score": [5, 1, 3], "f_score": [5, 1, 3], "m_score": [5, 1, 3]})
    path = tmp_path / "rules.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "n_bins": 5,
                "default": "Others",
                "segments": [
                    {"name": "Top", "r": [4, 5], "f": [4, 5]},
                    {"name": "Gone", "r": 1},
                ],
            }
        )
    )
    seg = rfm_segments(rfm, rules=path)
    assert seg.tolist() == ["Top", "Gone", "Others"]
    assert list(seg.cat.categories) == ["Top", "Gone", "Others"]
    assert rfm_segments(rfm, rules=str(path)).tolist() == seg.tolist()
    as_list = [{"name": "Active", "r": [2, 5]}, {"name": "Asleep"}]  # catch-all last
    assert rfm_segments(rfm, rules=as_list).tolist() == ["Active", "Asleep", "Active"]
    three_bins = {"n_bins": 3, "segments": [{"name": "hi", "r": 3}, {"name": "rest"}]}
    raw = pd.DataFrame(
        {
            "recency": [1.0, 2, 3],
            "frequency": [0, 1, 2],
            "monetary_value": [0.0, 1, 2],
            "T": [3.0, 3, 3],
        }
    )
    assert rfm_segments(raw, rules=three_bins).tolist() == ["rest", "rest", "hi"]


def test_unmatched_customers_without_default_is_an_error():
    rfm = pd.DataFrame({"r_score": [5, 1, 1], "f_score": [5, 1, 2], "m_score": [5, 1, 1]})
    with pytest.raises(
        DataValidationError, match=r"no rule matches 2 of 3 customers .*set 'default:'"
    ):
        rfm_segments(rfm, rules=[{"name": "Top", "r": 5}])


def test_rules_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read '.*missing\.yaml'"):
        load_segment_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("segments: [name: x\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_segment_rules(bad)
    with pytest.raises(ConfigError, match=r"segments\.0\.recency: Extra inputs"):
        load_segment_rules({"segments": [{"name": "x", "recency": [1, 2]}]})
    with pytest.raises(ConfigError, match=r"r range \[5, 4\] has low > high"):
        load_segment_rules([{"name": "x", "r": [5, 4]}])
    with pytest.raises(ConfigError, match=r"repeated: \['x'\]"):
        load_segment_rules([{"name": "x"}, {"name": "x"}])
    with pytest.raises(ConfigError, match=r"'x': fm range \[6, 7\] lies outside the scores 1\.\.5"):
        load_segment_rules([{"name": "x", "fm": [6, 7]}])
    with pytest.raises(ConfigError, match="segments: .*should have at least 1 item"):
        load_segment_rules({"segments": []})
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="expected a mapping with a 'segments' list, got str"):
        load_segment_rules(scalar)
    with pytest.raises(ConfigError, match="got int"):
        load_segment_rules(5)
    with pytest.raises(DataValidationError, match=r"not whole numbers in 1\.\.5 for 1 of 2"):
        rfm_segments(pd.DataFrame({"r_score": [5, 6], "f_score": [1, 1], "m_score": [1, 1]}))


def test_rules_are_immutable_and_round_trip_as_plain_data():
    rules = load_segment_rules()
    assert isinstance(rules, SegmentRules)
    with pytest.raises(Exception, match="frozen"):
        rules.n_bins = 4
    rules.value_risk_actions["high"]["low"] = "changed"  # a copy: the default is untouched
    assert load_segment_rules().value_risk_actions["high"]["low"] == "reward"
    # what a model bundle stores (JSON) loads back to the same rules
    import json

    plain = json.loads(json.dumps(load_segment_rules().model_dump(mode="json")))
    assert load_segment_rules(plain) == load_segment_rules()


# ---------------------------------------------------------------- frozen edges


def test_quantile_edges_reproduce_scores_and_score_new_values():
    values = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 5], dtype=float)
    edges = quantile_edges(values)
    assert edges.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert (1 + np.searchsorted(edges, values, side="left")).tolist() == quantile_scores(
        values
    ).tolist()
    with pytest.raises(DataValidationError, match="no values"):
        quantile_edges([])


def test_rfm_score_edges_freeze_the_reference_batch(cdnow_summary):
    edges = rfm_score_edges(cdnow_summary, **FHL)
    assert edges["n_bins"] == 5 and len(edges["since_last"]) == 4
    assert edges["frequency"] == [0.0, 0.0, 1.0, 2.0]  # from the published x distribution
    assert edges["since_last"] == sorted(edges["since_last"], reverse=True)
    full = rfm_scores(cdnow_summary, **FHL)
    pd.testing.assert_frame_equal(rfm_scores(cdnow_summary, edges=edges, **FHL), full)
    # one customer scored alone gets the score it had within the batch
    one = cdnow_summary.iloc[[17]]
    pd.testing.assert_frame_equal(rfm_scores(one, edges=edges, **FHL), full.iloc[[17]])
    assert rfm_scores(one, **FHL).iloc[0].tolist() == [1, 1, 1]  # batch-relative
    seg = rfm_segments(cdnow_summary.iloc[:50], edges=edges, **FHL)
    assert seg.tolist() == rfm_segments(cdnow_summary, **FHL).iloc[:50].tolist()
    with pytest.raises(DataValidationError, match="edges were made for n_bins=5 but n_bins=4"):
        rfm_scores(cdnow_summary, edges=edges, n_bins=4, **FHL)
    with pytest.raises(DataValidationError, match=r"edges lack \['monetary_value'\]"):
        rfm_scores(
            cdnow_summary, edges={k: v for k, v in edges.items() if k != "monetary_value"}, **FHL
        )
    with pytest.raises(DataValidationError, match=r"edges\['frequency'\] must hold 4 finite"):
        rfm_scores(cdnow_summary, edges={**edges, "frequency": [1.0]}, **FHL)


rfm_rows = st.tuples(
    st.floats(0, 50, allow_nan=False),  # recency
    st.floats(0, 30, allow_nan=False),  # extra age beyond recency
    st.integers(0, 30),  # frequency
    st.floats(-50, 500, allow_nan=False),  # monetary value
)


@settings(max_examples=60, deadline=None)
@given(st.lists(rfm_rows, min_size=1, max_size=80))
def test_every_customer_gets_exactly_one_segment(rows):
    rfm = pd.DataFrame(
        {
            "recency": [r for r, _, _, _ in rows],
            "T": [r + extra for r, extra, _, _ in rows],
            "frequency": [f for _, _, f, _ in rows],
            "monetary_value": [m for _, _, _, m in rows],
        },
        index=pd.Index([f"c{i}" for i in range(len(rows))], name="customer_id"),
    )
    seg = rfm_segments(rfm)
    assert seg.index.equals(rfm.index)
    edges = rfm_score_edges(rfm)
    pd.testing.assert_frame_equal(rfm_scores(rfm, edges=edges), rfm_scores(rfm))
    assert seg.notna().all() and set(seg) <= set(NAMES)
    scores = rfm_scores(rfm)
    assert scores.isin(range(1, 6)).all().all()
    # more repeat purchases never lower the frequency score
    order = np.argsort(rfm["frequency"].to_numpy(), kind="stable")
    assert np.all(np.diff(scores["f_score"].to_numpy()[order]) >= 0)


messy = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 50))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(messy, messy, messy, messy), min_size=1, max_size=30))
def test_rfm_segments_fuzz_valid_or_user_error(rows):
    from cxml.exceptions import CxmlUserError

    rfm = pd.DataFrame(rows, columns=["recency", "frequency", "monetary_value", "T"], dtype=float)
    try:
        seg = rfm_segments(rfm)
    except CxmlUserError as exc:
        assert str(exc).startswith("rfm_scores: ")
        assert " of " in str(exc) or "negative" in str(exc)
    else:
        assert len(seg) == len(rfm) and seg.notna().all()


def test_rfm_segments_empty_input_gives_empty_output():
    empty = pd.DataFrame(
        {c: pd.Series([], dtype=float) for c in ["recency", "frequency", "monetary_value", "T"]}
    )
    seg = rfm_segments(empty)
    assert len(seg) == 0 and list(seg.cat.categories) == NAMES
    assert rfm_scores(empty).shape == (0, 3)
