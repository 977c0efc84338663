"""cxml.segments: segment summary table and the two figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import cxml
from cxml.exceptions import DataValidationError
from cxml.metrics import csat, nps
from cxml.segments import (
    plot_segment_sizes,
    plot_value_risk_heatmap,
    rfm_segments,
    segment_summary,
    value_risk_matrix,
)

FHL = {"recency": "t_x", "frequency": "x", "monetary_value": "zbar"}


@pytest.fixture(scope="module")
def cdnow_scores() -> pd.DataFrame:
    """CDNOW sample scored with lifetimes (the oracle models) and segmented by RFM.

    CLV here is a simple 52-week value (BG/NBD expected purchases x Gamma-Gamma spend),
    enough to exercise the summary; churn probability is 1 - P(alive).
    """
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.datasets import load_dataset

    summary = load_dataset("cdnow_customers_summary_with_transactions.csv", index_col=[0])
    bg = BetaGeoFitter().fit(summary["x"], summary["t_x"], summary["T"])
    rep = summary[summary["x"] > 0]
    gg = GammaGammaFitter().fit(rep["x"], rep["zbar"])
    spend = gg.conditional_expected_average_profit(summary["x"], summary["zbar"])
    purchases = bg.conditional_expected_number_of_purchases_up_to_time(
        52, summary["x"], summary["t_x"], summary["T"]
    )
    tx = cxml.datasets.load_cdnow("sample")
    holdout_buyers = set(tx.loc[tx["timestamp"] > "1997-09-30", "customer_id"])
    scores = pd.DataFrame(
        {
            "segment": rfm_segments(summary, **FHL),
            "clv": purchases * spend,
            "churn_probability": 1
            - bg.conditional_probability_alive(summary["x"], summary["t_x"], summary["T"]),
            "churned": ~summary.index.isin(list(holdout_buyers)),
        },
        index=summary.index.rename("customer_id"),
    )
    return scores


def test_segment_summary_small_example_exact():
    scores = pd.DataFrame(
        {
            "segment": ["a", "a", "b", "c"],
            "clv": [10.0, 30.0, 60.0, 0.0],
            "churn_probability": [0.2, 0.4, 0.9, 0.5],
            "churned": [False, True, True, False],
        }
    )
    out = segment_summary(scores, churned="churned")
    assert out["segment"].tolist() == ["b", "a", "c"]  # by total CLV
    assert out["customers"].tolist() == [1, 2, 1]
    assert out["share"].tolist() == [0.25, 0.5, 0.25]
    assert out["clv_total"].tolist() == [60.0, 40.0, 0.0]
    assert out["clv_mean"].tolist() == [60.0, 20.0, 0.0]
    assert out["clv_share"].tolist() == [0.6, 0.4, 0.0]
    assert out["churn_probability_mean"].tolist() == pytest.approx([0.9, 0.3, 0.5])
    assert out["churn_actual"].tolist() == [1.0, 0.5, 0.0]
    assert list(out.columns) == [
        "segment",
        "customers",
        "share",
        "clv_total",
        "clv_mean",
        "clv_share",
        "churn_probability_mean",
        "churn_actual",
    ]
    only_size = segment_summary(scores, clv=None, churn_probability=None)
    assert list(only_size.columns) == ["segment", "customers", "share"]
    assert only_size["segment"].tolist() == ["a", "b", "c"]  # by size


def test_segment_summary_keeps_category_order_and_empty_segments():
    seg = pd.Categorical(["x", "x", "z"], categories=["x", "y", "z"])
    scores = pd.DataFrame(
        {"segment": seg, "clv": [1.0, 2.0, 3.0], "churn_probability": [0.1, 0.2, 0.3]}
    )
    out = segment_summary(scores)
    assert out["segment"].astype(str).tolist() == ["x", "y", "z"]
    assert out["customers"].tolist() == [2, 0, 1]
    assert out["clv_total"].tolist() == [3.0, 0.0, 3.0]
    assert np.isnan(out.loc[1, "clv_mean"]) and np.isnan(out.loc[1, "churn_probability_mean"])


def test_segment_summary_on_cdnow(cdnow_scores):
    out = segment_summary(cdnow_scores, churned="churned").set_index("segment")
    assert out["customers"].sum() == 2357
    assert out["share"].sum() == pytest.approx(1.0)
    assert out["clv_total"].sum() == pytest.approx(cdnow_scores["clv"].sum())
    assert out["clv_share"].sum() == pytest.approx(1.0)
    # weighted actual churn = the sample's holdout churn (no purchase in weeks 40-78)
    overall = float(cdnow_scores["churned"].mean())
    assert (out["churn_actual"] * out["customers"]).sum() / 2357 == pytest.approx(overall)
    assert round(overall * 2357) == int(cdnow_scores["churned"].sum())
    # segments behave as their names say, in both predicted and actual churn
    assert out.loc["Champions", "churn_actual"] < out.loc["Lost", "churn_actual"]
    # ... but not in BG/NBD's churn probability: "Lost" holds only one-time buyers, and
    # BG/NBD's P(alive | x = 0) is 1 (the known quirk the churn classifier corrects)
    assert out.loc["Lost", "churn_probability_mean"] == 0.0
    assert (
        out.loc["At Risk", "churn_probability_mean"]
        > out.loc["Champions", "churn_probability_mean"]
    )
    assert out.loc["Champions", "clv_mean"] > out.loc["Lost", "clv_mean"]
    # churned given as a Series (by customer id) and as an aligned array: same result
    from_series = segment_summary(
        cdnow_scores, churned=cdnow_scores["churned"].sample(frac=1, random_state=0)
    )
    from_array = segment_summary(cdnow_scores, churned=cdnow_scores["churned"].to_numpy())
    np.testing.assert_allclose(from_series["churn_actual"], from_array["churn_actual"])
    np.testing.assert_allclose(
        from_array["churn_actual"].to_numpy(), out["churn_actual"].to_numpy()
    )


def test_segment_summary_with_survey_events(cdnow_scores):
    rng = np.random.default_rng(7)
    ids = rng.choice(cdnow_scores.index.to_numpy(), size=600)
    events = pd.DataFrame(
        {
            "customer_id": np.r_[ids, ids[:300], [99_999]],  # one respondent without a segment
            "timestamp": pd.Timestamp("1998-01-01"),
            "event_type": ["nps"] * 600 + ["csat"] * 300 + ["nps"],
            "value": np.r_[rng.integers(0, 11, 600), rng.integers(1, 6, 300), [10]],
        }
    )
    out = segment_summary(cdnow_scores, events=events).set_index("segment")
    seg_of = cdnow_scores["segment"]
    for name in ["Champions", "Lost", "Hibernating"]:
        members = set(seg_of.index[seg_of == name])
        nps_answers = events[(events.event_type == "nps") & events.customer_id.isin(members)]
        csat_answers = events[(events.event_type == "csat") & events.customer_id.isin(members)]
        assert out.loc[name, "nps"] == pytest.approx(nps(nps_answers["value"]))
        assert out.loc[name, "nps_responses"] == len(nps_answers)
        assert out.loc[name, "csat"] == pytest.approx(csat(csat_answers["value"]))
        assert out.loc[name, "csat_responses"] == len(csat_answers)
    assert out["nps_responses"].sum() == 600  # the unknown respondent is left out (logged)
    assert out["ces_responses"].sum() == 0 and out["ces"].isna().all()
    assert np.isnan(out.loc["New", "nps"])  # no customers, no answers


def test_segment_summary_errors():
    scores = pd.DataFrame(
        {"segment": ["a", None, None], "clv": [1.0, 2, 3], "churn_probability": [0.1, 0.2, 0.3]}
    )
    with pytest.raises(DataValidationError, match=r"2 of 3 customers have no segment in 'segment'"):
        segment_summary(scores)
    ok = scores.assign(segment=["a", "b", "b"])
    with pytest.raises(DataValidationError, match=r"lack the segment column 'rfm_segment'"):
        segment_summary(ok, segment="rfm_segment")
    with pytest.raises(DataValidationError, match=r"lack the clv column 'clv_52w'.*clv=None"):
        segment_summary(ok, clv="clv_52w")
    with pytest.raises(
        DataValidationError, match=r"'churn_probability' is outside 0\.\.1 for 1 of 3"
    ):
        segment_summary(ok.assign(churn_probability=[0.1, 2.0, 0.3]))
    with pytest.raises(DataValidationError, match=r"'clv' is missing or infinite for 1 of 3"):
        segment_summary(ok.assign(clv=[1.0, np.nan, 3]))
    with pytest.raises(DataValidationError, match=r"churned must be True/False .* 1 of 3 values"):
        segment_summary(ok, churned=[True, False, 2])
    with pytest.raises(DataValidationError, match=r"churned has 2 values for 3 customers"):
        segment_summary(ok, churned=[True, False])
    with pytest.raises(DataValidationError, match=r"churned has no value for 1 of 3 customers"):
        segment_summary(ok, churned=pd.Series([True, False], index=[0, 1]))
    events = pd.DataFrame({"customer_id": [0, 1], "event_type": "nps", "value": [10, 12]})
    with pytest.raises(DataValidationError, match=r"nps: 1 of 2 scores are outside 0\.\.10"):
        segment_summary(ok, events=events)


def test_plot_segment_sizes(cdnow_scores, tmp_path):
    summary = segment_summary(cdnow_scores)
    fig = plot_segment_sizes(summary)
    assert isinstance(fig, Figure)
    ax_customers, ax_value = fig.axes
    assert [t.get_text() for t in ax_customers.get_yticklabels()] == summary["segment"].astype(
        str
    ).tolist()
    heights = [p.get_width() for p in ax_customers.patches]
    assert heights == summary["customers"].astype(float).tolist()
    assert [p.get_width() for p in ax_value.patches] == pytest.approx(summary["clv_total"].tolist())
    path = tmp_path / "sizes.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(plot_segment_sizes(summary[["segment", "customers", "share"]]).axes) == 1
    with pytest.raises(DataValidationError, match=r"summary lacks column\(s\) \['customers'\]"):
        plot_segment_sizes(summary.drop(columns="customers"))


def test_plot_value_risk_heatmap(cdnow_scores, tmp_path):
    matrix = value_risk_matrix(cdnow_scores["clv"], cdnow_scores["churn_probability"])
    fig = plot_value_risk_heatmap(matrix)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["high", "medium", "low"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["low", "medium", "high"]
    texts = [t.get_text() for t in ax.texts]
    n_high_low = int(((matrix["value_tier"] == "high") & (matrix["risk_tier"] == "low")).sum())
    assert texts[0].startswith(f"{n_high_low:,}\n") and texts[0].endswith("\nreward")
    total = sum(int(t.split("\n")[0].replace(",", "")) for t in texts)
    assert total == 2357
    # from scores directly: same picture
    fig2 = plot_value_risk_heatmap(cdnow_scores)
    assert [t.get_text() for t in fig2.axes[0].texts] == texts
    # tiers stored as plain strings (e.g. read back from CSV) keep low < medium < high
    fig3 = plot_value_risk_heatmap(matrix.astype(str))
    assert [t.get_text() for t in fig3.axes[0].get_yticklabels()] == ["high", "medium", "low"]
    assert [t.get_text() for t in fig3.axes[0].texts] == texts
    fig.savefig(tmp_path / "heat.png")
    assert (tmp_path / "heat.png").stat().st_size > 1000
    with pytest.raises(DataValidationError, match="needs value_tier and risk_tier columns"):
        plot_value_risk_heatmap(cdnow_scores[["segment"]])


def test_plots_leave_no_pyplot_state():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    summary = pd.DataFrame({"segment": ["a"], "customers": [1], "share": [1.0]})
    plot_segment_sizes(summary)
    plot_value_risk_heatmap(value_risk_matrix([1.0], [0.5]))
    assert plt.get_fignums() == before
