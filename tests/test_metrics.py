"""cxml.metrics: survey KPIs, customer-base rates and their grouped variants."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxml
from cxml.exceptions import CxmlUserError, DataValidationError
from cxml.metrics import (
    ces,
    churn_rate,
    csat,
    customer_flows,
    metric_by,
    nps,
    repeat_purchase_rate,
    retention_rate,
)

# ---------------------------------------------------------------- NPS / CSAT / CES


def test_nps_standard_definition():
    # 3 promoters (9, 10, 10), 2 passives (7, 8), 5 detractors (0..6) -> (3 - 5) / 10 = -20
    assert nps([10, 10, 9, 8, 7, 6, 5, 3, 1, 0]) == -20.0
    assert nps([9, 10]) == 100.0
    assert nps([0, 6]) == -100.0
    assert nps([7, 8, 7]) == 0.0
    # boundaries: 6 is a detractor, 7 a passive, 9 a promoter
    assert nps([6]) == -100.0 and nps([7]) == 0.0 and nps([9]) == 100.0


def test_nps_accepts_series_numpy_and_float_whole_numbers():
    s = pd.Series([10, 3, 9, 9], index=["a", "b", "c", "d"])
    assert nps(s) == 50.0
    assert nps(np.array([10.0, 3.0, 9.0, 9.0])) == 50.0
    assert isinstance(nps(s), float)


def test_nps_errors_count_bad_answers():
    scores = list(range(11)) * 10 + [11, -1, 12] + [5] * 7  # 120 answers, 3 out of range
    with pytest.raises(DataValidationError, match=r"nps: 3 of 120 scores are outside 0\.\.10"):
        nps(scores)
    with pytest.raises(DataValidationError, match=r"nps: 2 of 4 scores are missing \(NaN\)"):
        nps([1, None, np.nan, 9])
    with pytest.raises(DataValidationError, match=r"nps: 1 of 3 scores are not whole numbers"):
        nps([1, 7.5, 9])
    with pytest.raises(DataValidationError, match=r"nps: no scores given"):
        nps([])
    with pytest.raises(DataValidationError, match=r"nps: 1 of 2 scores are not numbers.*'ten'"):
        nps(["ten", 9])
    with pytest.raises(DataValidationError, match="got a DataFrame"):
        nps(pd.DataFrame({"x": [1]}))
    with pytest.raises(DataValidationError, match="booleans"):
        nps([True, False])
    # user errors are ValueErrors, so `except ValueError` callers still work
    with pytest.raises(ValueError):
        nps([42])


def test_csat_default_and_custom_scale():
    assert csat([5, 4, 3, 2, 1]) == 40.0
    assert csat([5, 5, 4, 4]) == 100.0
    assert csat([1, 2, 3]) == 0.0
    assert csat([7, 6, 5, 4], scale=(1, 7), satisfied_min=6) == 50.0
    assert csat([10, 9, 0, 8], scale=(0, 10), satisfied_min=9) == 50.0
    with pytest.raises(DataValidationError, match=r"csat: 2 of 5 scores are outside 1\.\.5"):
        csat([0, 1, 2, 6, 5])
    with pytest.raises(DataValidationError, match=r"satisfied_min=6 must lie in \(1, 5\]"):
        csat([5], satisfied_min=6)
    with pytest.raises(DataValidationError, match="low < high"):
        csat([5], scale=(5, 1))
    with pytest.raises(DataValidationError, match="pair of numbers"):
        csat([5], scale=5)


def test_ces_mean_effort():
    assert ces([7, 5, 6]) == 6.0
    assert ces([1, 2], scale=(1, 5)) == 1.5
    with pytest.raises(DataValidationError, match=r"ces: 1 of 3 scores are outside 1\.\.7"):
        ces([1, 8, 3])


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(st.lists(st.integers(0, 10), min_size=1, max_size=300))
def test_nps_property_range_and_brute_force(scores):
    value = nps(scores)
    assert -100.0 <= value <= 100.0
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    assert value == pytest.approx(100 * (promoters - detractors) / len(scores))
    assert nps(list(reversed(scores))) == value  # order-free


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(st.lists(st.integers(1, 5), min_size=1, max_size=200))
def test_csat_ces_property(scores):
    value = csat(scores)
    assert 0.0 <= value <= 100.0
    assert value == pytest.approx(100 * sum(s >= 4 for s in scores) / len(scores))
    assert 1.0 <= ces(scores, scale=(1, 5)) <= 5.0


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(st.lists(st.one_of(st.integers(-5, 20), st.floats(allow_nan=True)), min_size=1, max_size=50))
def test_nps_fuzz_either_valid_or_user_error(scores):
    try:
        value = nps(scores)
    except CxmlUserError as exc:
        assert str(exc).startswith("nps: ")
    else:
        assert -100.0 <= value <= 100.0


# ---------------------------------------------------------------- rates


def test_churn_and_retention_with_counts():
    assert churn_rate(start=200, lost=30) == 0.15
    assert churn_rate(start=200, end=210, new=40) == 0.15
    assert retention_rate(start=200, end=210, new=40) == 0.85
    assert retention_rate(start=np.int64(10), end=10, new=0) == 1.0


def test_churn_and_retention_with_ids():
    start, end = ["a", "b", "c", "d"], ["a", "b", "x", "y"]
    assert churn_rate(start=start, end=end) == 0.5
    assert retention_rate(start=start, end=end) == 0.5
    assert retention_rate(start={1, 2, 3}, end=np.array([1, 2, 3, 4])) == 1.0


def test_rate_errors():
    with pytest.raises(DataValidationError, match="start is 0 customers"):
        churn_rate(start=0, lost=0)
    with pytest.raises(DataValidationError, match=r"lost \(31\) exceeds customers at start \(30\)"):
        churn_rate(start=30, lost=31)
    with pytest.raises(DataValidationError, match=r"new \(50\) exceeds customers at end \(40\)"):
        retention_rate(start=30, end=40, new=50)
    with pytest.raises(
        DataValidationError, match="end - new = 35 returning customers exceed the 30 at start"
    ):
        retention_rate(start=30, end=40, new=5)
    with pytest.raises(DataValidationError, match="non-negative whole count"):
        churn_rate(start=10.5, lost=1)
    with pytest.raises(DataValidationError, match="non-negative whole count"):
        churn_rate(start=10, lost=-1)
    with pytest.raises(DataValidationError, match="pass end= and new="):
        retention_rate(start=10, end=8)
    with pytest.raises(DataValidationError, match="either lost=, or end= and new="):
        churn_rate(start=10, lost=1, end=9, new=0)
    with pytest.raises(DataValidationError, match="end is a count"):
        churn_rate(start=[1, 2], end=2)
    with pytest.raises(DataValidationError, match="start= and end= only"):
        retention_rate(start=[1, 2], end=[1], new=[3])
    with pytest.raises(DataValidationError, match=r"1 of 3 customer ids in start are missing"):
        churn_rate(start=[1, None, 3], end=[1])


@settings(deadline=None)  # shared CI machines: no per-example timing
@given(st.sets(st.integers(0, 50), min_size=1), st.sets(st.integers(0, 80)))
def test_rates_property_ids_match_counts(start, end):
    churn = churn_rate(start=start, end=end)
    retention = retention_rate(start=start, end=end)
    assert 0.0 <= churn <= 1.0 and churn + retention == pytest.approx(1.0)
    # the count formula agrees with sets when no reactivation is possible: new = end - start
    new = len(end - start)
    assert retention_rate(start=len(start), end=len(end), new=new) == pytest.approx(retention)


def test_repeat_purchase_rate_cdnow_calibration_matches_published_946_repeaters():
    tx = cxml.datasets.load_cdnow("sample")
    cal = tx[tx["timestamp"] <= "1997-09-30"]
    # Fader-Hardie-Lee: 946 of the 2,357 sample customers repeat-buy in the 39 weeks
    assert repeat_purchase_rate(cal) == pytest.approx(946 / 2357)


def test_repeat_purchase_rate_same_day_orders_count_once_and_frequency_input():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3],
            "timestamp": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:00",
                    "2024-01-01 00:00",
                    "2024-01-03 00:00",
                    "2024-01-02 00:00",
                ]
            ),
        }
    )
    assert repeat_purchase_rate(tx) == pytest.approx(1 / 3)
    assert repeat_purchase_rate(pd.Series([0, 0, 2, 1])) == 0.5
    with pytest.raises(DataValidationError, match=r"1 of 3 frequencies are missing"):
        repeat_purchase_rate([0, np.nan, 1])
    with pytest.raises(DataValidationError, match=r"lack column\(s\) \['timestamp'\]"):
        repeat_purchase_rate(tx.rename(columns={"timestamp": "ts"}))
    assert repeat_purchase_rate(
        tx.rename(columns={"timestamp": "ts"}), timestamp="ts"
    ) == pytest.approx(1 / 3)


# ---------------------------------------------------------------- flows and grouped


def _brute_flows(tx: pd.DataFrame) -> pd.DataFrame:
    month = tx["timestamp"].dt.to_period("M")
    active = {p: set(tx.loc[month == p, "customer_id"]) for p in month.unique()}
    first = tx.groupby("customer_id")["timestamp"].min().dt.to_period("M")
    periods = pd.period_range(month.min(), month.max(), freq="M")
    rows, prev = [], set()
    for p in periods:
        cur = active.get(p, set())
        new = set(first[first == p].index)
        rows.append(
            {
                "period": p,
                "start": len(prev),
                "end": len(cur),
                "new": len(new),
                "retained": len(prev & cur),
                "lost": len(prev - cur),
                "reactivated": len(cur - prev - new),
            }
        )
        prev = cur
    return pd.DataFrame(rows)


def test_customer_flows_cdnow_matches_brute_force_sets():
    tx = cxml.datasets.load_cdnow("sample")
    flows = customer_flows(tx)
    expected = _brute_flows(tx)
    cols = ["start", "end", "new", "retained", "lost", "reactivated"]
    assert flows["period"].astype(str).tolist() == expected["period"].astype(str).tolist()
    pd.testing.assert_frame_equal(flows[cols], expected[cols], check_dtype=False)
    assert len(flows) == 18  # 1997-01 .. 1998-06
    assert flows["new"].sum() == 2357  # every customer is new exactly once
    assert flows.loc[0, "end"] == 781  # January 1997 buyers
    assert np.isnan(flows.loc[0, "churn_rate"])  # nobody at the start of the first month
    np.testing.assert_allclose((flows["churn_rate"] + flows["retention_rate"])[1:], 1.0)


def test_customer_flows_by_cohort_sums_to_whole_base():
    tx = cxml.datasets.load_cdnow("sample")
    total = customer_flows(tx).set_index("period")
    coh = customer_flows(tx, by_cohort=True)
    assert coh["cohort"].astype(str).unique().tolist() == ["1997-01", "1997-02", "1997-03"]
    summed = coh.groupby("period")[["start", "end", "new", "retained", "lost"]].sum()
    pd.testing.assert_frame_equal(
        summed, total[summed.columns], check_dtype=False, check_names=False
    )
    first_rows = coh[coh["cohort"] == coh["period"]]
    assert (first_rows["active_share"] == 1.0).all()
    assert first_rows["cohort_size"].sum() == 2357


def test_customer_flows_keeps_empty_months():
    tx = pd.DataFrame(
        {"customer_id": ["a", "a"], "timestamp": pd.to_datetime(["2024-01-10", "2024-04-02"])}
    )
    flows = customer_flows(tx)
    assert flows["period"].astype(str).tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert flows["lost"].tolist() == [0, 1, 0, 0]
    assert flows["reactivated"].tolist() == [0, 0, 0, 1]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 15), st.integers(0, 200)), min_size=1, max_size=60))
def test_customer_flows_property_matches_sets(rows):
    tx = pd.DataFrame(
        {
            "customer_id": [c for c, _ in rows],
            "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta([d for _, d in rows], "D"),
        }
    )
    flows = customer_flows(tx)
    expected = _brute_flows(tx)
    cols = ["start", "end", "new", "retained", "lost", "reactivated"]
    pd.testing.assert_frame_equal(flows[cols], expected[cols], check_dtype=False)
    assert (flows["end"] == flows["retained"] + flows["new"] + flows["reactivated"]).all()


def _events():
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 1, 2, 5, 9],
            "timestamp": pd.to_datetime(
                [
                    "2024-01-02",
                    "2024-01-20",
                    "2024-02-03",
                    "2024-02-10",
                    "2024-01-05",
                    "2024-02-05",
                    "2024-02-06",
                    "2024-02-07",
                ]
            ),
            "event_type": ["nps", "NPS", "nps", "nps", "csat", "csat", "web_session", "nps"],
            "value": [10, 3, 9, 9, 5, 2, 300, 0],
        }
    )


def test_metric_by_month_and_segment():
    ev = _events()
    by_month = metric_by(ev, metric="nps", by="month")
    # Jan: 10, 3 -> 0; Feb: 9, 9, 0 -> 33.3
    assert by_month["month"].astype(str).tolist() == ["2024-01", "2024-02"]
    assert by_month["nps"].tolist() == pytest.approx([0.0, 100 / 3])
    assert by_month["responses"].tolist() == [2, 3]

    segments = pd.Series(
        pd.Categorical(["A", "B", "A", "B"], categories=["A", "B", "C"]), index=[1, 2, 3, 4]
    )
    by_seg = metric_by(ev, metric="nps", by="segment", segments=segments)
    assert by_seg["segment"].astype(str).tolist() == ["A", "B", "C"]
    assert by_seg["nps"].tolist()[:2] == [100.0, 0.0] and np.isnan(by_seg["nps"].iloc[2])
    assert by_seg["responses"].tolist() == [2, 2, 0]
    csat_seg = metric_by(ev, metric="csat", by="segment", segments=segments)
    assert csat_seg["csat"].tolist()[:2] == [100.0, 0.0]


def test_metric_by_logs_events_of_unknown_customers(caplog):
    segments = pd.Series(["A", "B", "A", "B"], index=[1, 2, 3, 4])
    with caplog.at_level(logging.WARNING, logger="cxml.metrics._grouped"):
        out = metric_by(_events(), metric="nps", by="segment", segments=segments)
    assert out["responses"].sum() == 4
    assert "1 of 5 rows belong to customers without a segment" in caplog.text


def test_metric_by_cohort_survey_uses_first_purchase_month():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 9],
            "timestamp": pd.to_datetime(
                ["2023-12-01", "2023-12-15", "2024-01-04", "2024-01-30", "2024-01-01"]
            ),
        }
    )
    out = metric_by(_events(), metric="nps", by="cohort", transactions=tx)
    assert out["cohort"].astype(str).tolist() == ["2023-12", "2024-01"]
    # Dec cohort: 10, 3 -> 0; Jan cohort: 9, 9, 0 -> 33.3
    assert out["nps"].tolist() == pytest.approx([0.0, 100 / 3])
    with pytest.raises(DataValidationError, match="needs transactions="):
        metric_by(_events(), metric="nps", by="cohort")


def test_metric_by_base_rates():
    tx = cxml.datasets.load_cdnow("sample")
    by_month = metric_by(tx, metric="churn_rate", by="month")
    flows = customer_flows(tx)
    np.testing.assert_allclose(by_month["churn_rate"], flows["churn_rate"])
    assert by_month["customers"].tolist() == flows["start"].tolist()
    coh = metric_by(tx, metric="retention_rate", by="cohort")
    assert list(coh.columns) == ["cohort", "month", "retention_rate", "customers"]
    rep_coh = metric_by(tx, metric="repeat_purchase_rate", by="cohort")
    assert rep_coh["cohort"].astype(str).tolist() == ["1997-01", "1997-02", "1997-03"]
    assert rep_coh["customers"].tolist() == [781, 857, 719]  # first buyers per month
    assert (rep_coh["repeat_purchase_rate"] * rep_coh["customers"]).sum() == pytest.approx(
        repeat_purchase_rate(tx) * 2357
    )
    rep_cal = metric_by(
        tx, metric="repeat_purchase_rate", by="cohort", period=("1997-09-30", "1998-06-30")
    )
    assert round(float((rep_cal["repeat_purchase_rate"] * rep_cal["customers"]).sum())) == 946

    rfm_like = tx.groupby("customer_id")["amount"].sum()
    segments = pd.Series(np.where(rfm_like > 50, "big", "small"), index=rfm_like.index)
    period = ("1997-09-30", "1998-06-30")
    seg = metric_by(
        tx, metric="churn_rate", by="segment", segments=segments, period=period
    ).set_index("segment")
    cal_end = pd.Timestamp(period[0])
    buyers = set(tx.loc[tx["timestamp"] > cal_end, "customer_id"])
    for name, grp in segments.groupby(segments):
        expected = np.mean([c not in buyers for c in grp.index])
        assert seg.loc[name, "churn_rate"] == pytest.approx(expected)
        assert seg.loc[name, "customers"] == len(grp)
    ret = metric_by(tx, metric="retention_rate", by="segment", segments=segments, period=period)
    np.testing.assert_allclose(ret["retention_rate"] + seg["churn_rate"].to_numpy(), 1.0)
    rep = metric_by(
        tx, metric="repeat_purchase_rate", by="segment", segments=segments, period=period
    )
    cal = tx[tx["timestamp"] <= cal_end]
    assert (
        rep["customers"].sum(),
        round(float((rep["repeat_purchase_rate"] * rep["customers"]).sum())),
    ) == (2357, 946)
    assert repeat_purchase_rate(cal) == pytest.approx(946 / 2357)


def test_metric_by_errors():
    ev = _events()
    with pytest.raises(DataValidationError, match="unknown metric 'mps'"):
        metric_by(ev, metric="mps", by="month")
    with pytest.raises(DataValidationError, match="unknown by='week'"):
        metric_by(ev, metric="nps", by="week")
    with pytest.raises(DataValidationError, match="needs segments="):
        metric_by(ev, metric="nps", by="segment")
    with pytest.raises(DataValidationError, match="needs period="):
        metric_by(
            pd.DataFrame({"customer_id": [1], "timestamp": [pd.Timestamp("2024-01-01")]}),
            metric="churn_rate",
            by="segment",
            segments=pd.Series(["a"], index=[1]),
        )
    with pytest.raises(DataValidationError, match=r"lack column\(s\) \['value'\]"):
        metric_by(ev.drop(columns="value"), metric="nps", by="month")
    bad = ev.assign(value=[10, 3, 11, 9, 5, 2, 300, 0])
    with pytest.raises(DataValidationError, match=r"nps: 1 of 5 scores are outside 0\.\.10"):
        metric_by(bad, metric="nps", by="month")
    with pytest.raises(DataValidationError, match="duplicated customer ids"):
        metric_by(ev, metric="nps", by="segment", segments=pd.Series(["a", "b"], index=[1, 1]))
    with pytest.raises(
        DataValidationError,
        match=r"1 of 2 rows of transactions have a missing "
        r"'timestamp'",
    ):
        customer_flows(pd.DataFrame({"customer_id": [1, 2], "timestamp": [pd.NaT, "2024-01-01"]}))
