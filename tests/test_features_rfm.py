"""cxml.features.rfm / calibration_holdout against the published CDNOW summaries and lifetimes."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cxml
from cxml.data import validate_transactions
from cxml.exceptions import CxmlUserError, DataValidationError
from cxml.features import calibration_holdout, rfm

CAL_END = "1997-09-30"
OBS_END = "1998-06-30"


def _lifetimes_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(str(resources.files("lifetimes.datasets").joinpath(name)), index_col=0)


@pytest.fixture(scope="module")
def sample():
    return cxml.datasets.load_cdnow("sample")


@pytest.fixture(scope="module")
def cal_holdout(sample):
    return calibration_holdout(sample, calibration_end=CAL_END, observation_end=OBS_END)


def test_rfm_reproduces_published_cdnow_summary(sample):
    published = _lifetimes_csv("cdnow_customers_summary.csv")
    cal = sample[sample["timestamp"] <= CAL_END]
    got = rfm(cal, observation_end=CAL_END)
    assert len(got) == len(published) == 2357
    got = got.reindex(published.index)
    np.testing.assert_array_equal(got["frequency"].to_numpy(), published["frequency"].to_numpy())
    assert np.abs(got["recency"] - published["recency"]).max() <= 0.005
    assert np.abs(got["T"] - published["T"]).max() <= 0.005
    assert got.loc[1, "T"] == pytest.approx(272 / 7)
    assert got.loc[1, "recency"] == pytest.approx(213 / 7)


def test_calibration_holdout_reproduces_published_zbar(cal_holdout):
    published = _lifetimes_csv("cdnow_customers_summary_with_transactions.csv")
    got = cal_holdout.reindex(published.index)
    np.testing.assert_array_equal(got["frequency_cal"].to_numpy(), published["x"].to_numpy())
    assert np.abs(got["recency_cal"] - published["t_x"]).max() <= 0.005
    assert np.abs(got["T_cal"] - published["T"]).max() <= 0.005
    assert np.abs(got["monetary_value_cal"] - published["zbar"]).max() <= 0.005 + 1e-9
    assert got.loc[1, "monetary_value_cal"] == pytest.approx((29.73 + 14.96) / 2)


def test_calibration_holdout_published_counts(cal_holdout):
    # 946 repeat buyers (Gamma-Gamma), 1,882 holdout repeat transactions (DESIGN reference)
    assert (cal_holdout["frequency_cal"] > 0).sum() == 946
    assert cal_holdout["frequency_holdout"].sum() == 1882
    assert cal_holdout["duration_holdout"].unique().tolist() == [273 / 7]
    assert cal_holdout["frequency_cal"].dtype == np.int64
    assert cal_holdout["frequency_holdout"].dtype == np.int64
    report = cal_holdout.attrs["report"]
    assert report["n_rows"] == 6919
    assert report["duplicate_rows"] == 21 and report["duplicate_rows_dropped"] == 0
    assert report["zero_value_days"] == 8
    assert report["customers_excluded"]["first_purchase_after_calibration_end"] == 0


def test_matches_lifetimes_calibration_and_holdout(sample, cal_holdout):
    from lifetimes.utils import calibration_and_holdout_data

    ref = calibration_and_holdout_data(
        sample,
        "customer_id",
        "timestamp",
        calibration_period_end=CAL_END,
        observation_period_end=OBS_END,
        freq="D",
        freq_multiplier=7,
        monetary_value_col="amount",
    )  # freq="W" in lifetimes would merge same-*week* purchases; FHL merge same-day ones
    ref = ref.reindex(cal_holdout.index)
    for col in [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "duration_holdout",
    ]:
        np.testing.assert_allclose(
            cal_holdout[col].to_numpy(), ref[col].to_numpy(), rtol=0, atol=1e-9, err_msg=col
        )
    # lifetimes averages the raw holdout *rows*; cxml averages holdout purchase *days*, as in
    # the calibration period (same-day purchases merged). Oracle: plain pandas.
    hold = sample[sample["timestamp"] > CAL_END]
    per_day = hold.groupby(["customer_id", "timestamp"])["amount"].sum()
    expected = per_day.groupby(level="customer_id").mean().reindex(cal_holdout.index).fillna(0)
    np.testing.assert_allclose(
        cal_holdout["monetary_value_holdout"].to_numpy(), expected.to_numpy(), atol=1e-9
    )
    differs = ~np.isclose(cal_holdout["monetary_value_holdout"], ref["monetary_value_holdout"])
    assert differs.sum() == 49  # customers with several holdout rows on one day


def test_matches_lifetimes_summary_master_in_days():
    from lifetimes.utils import summary_data_from_transaction_data

    tx = cxml.datasets.load_cdnow("master")
    got = rfm(tx, observation_end=OBS_END, time_unit="D")
    ref = summary_data_from_transaction_data(
        tx,
        "customer_id",
        "timestamp",
        monetary_value_col="amount",
        observation_period_end=OBS_END,
        freq="D",
    ).reindex(got.index)
    assert len(got) == 23570
    for col in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(got[col].to_numpy(), ref[col].to_numpy(), atol=1e-9, err_msg=col)


def test_customer_first_buying_after_calibration_end_is_excluded_and_counted():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "timestamp": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-05", "2020-01-10"]),
            "amount": [10.0, 20.0, 5.0, 7.0],
        }
    )
    ch = calibration_holdout(
        tx, calibration_end="2020-01-31", observation_end="2020-03-31", time_unit="D"
    )
    assert ch.index.tolist() == [1, 3]
    assert ch.loc[1, "frequency_cal"] == 0 and ch.loc[1, "frequency_holdout"] == 1
    assert ch.loc[1, "monetary_value_holdout"] == 20.0
    assert ch.loc[1, "T_cal"] == 30.0 and ch.loc[1, "duration_holdout"] == 60.0
    excluded = ch.attrs["report"]["customers_excluded"]
    assert excluded == {"no_purchase_day": 0, "first_purchase_after_calibration_end": 1}


def test_end_dates_include_their_whole_day():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "timestamp": pd.to_datetime(
                ["2020-01-01 08:00", "2020-01-31 23:59", "2020-02-01 00:00"]
            ),
            "amount": [1.0, 2.0, 4.0],
        }
    )
    ch = calibration_holdout(
        tx,
        calibration_end=dt.date(2020, 1, 31),
        observation_end=pd.Timestamp("2020-02-01"),
        time_unit="D",
    )
    assert ch.loc["a", "frequency_cal"] == 1
    assert ch.loc["a", "recency_cal"] == 30.0 and ch.loc["a", "T_cal"] == 30.0
    assert ch.loc["a", "frequency_holdout"] == 1


def _returns_frame():
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 1, 2, 2],
            "timestamp": pd.to_datetime(
                [
                    "2020-01-01",
                    "2020-01-05",
                    "2020-01-05",
                    "2020-01-09",
                    "2020-01-12",
                    "2020-01-02",
                    "2020-01-03",
                ]
            ),
            "amount": [10.0, 30.0, -10.0, -5.0, 0.0, -3.0, 0.0],
        }
    )


def test_returns_net_policy_nets_same_day_and_drops_negative_days():
    got = rfm(_returns_frame(), observation_end="2020-01-31", time_unit="D")
    # customer 1: days 01 (10), 05 (30-10=20), 09 (-5: no purchase), 12 (0: zero-value, kept)
    assert got.loc[1, "frequency"] == 2
    assert got.loc[1, "monetary_value"] == pytest.approx(10.0)
    assert got.loc[1, "recency"] == 11.0
    # customer 2: a pure-return day and a zero day -> only the zero day remains
    assert got.loc[2, "frequency"] == 0 and got.loc[2, "T"] == 28.0
    r = got.attrs["report"]
    assert r["return_rows"] == 3 and r["return_rows_netted"] == 3
    assert r["negative_value_days_dropped"] == 2
    assert r["zero_value_days"] == 2


def test_returns_ignore_and_zero_value_drop():
    got = rfm(
        _returns_frame(),
        observation_end="2020-01-31",
        time_unit="D",
        returns="ignore",
        zero_value="drop",
    )
    # customer 1: days 01 (10), 05 (30) -> 12 (0) dropped; customer 2 has no purchase day
    assert got.index.tolist() == [1]
    assert got.loc[1, "frequency"] == 1 and got.loc[1, "monetary_value"] == 30.0
    r = got.attrs["report"]
    assert r["return_rows_dropped"] == 3
    assert r["zero_value_days_dropped"] == r["zero_value_days"] == 2
    assert r["customers_excluded"] == {"no_purchase_day": 1}


def test_returns_error_policy():
    with pytest.raises(DataValidationError, match=r"'amount': 3 of 7 rows are negative"):
        rfm(_returns_frame(), observation_end="2020-01-31", returns="error")


def test_duplicates_auto_drops_only_with_order_line_identity():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-02"]),
            "amount": [10.0, 6.0, 6.0],
            "order": ["o1", "o2", "o2"],
            "sku": ["a", "b", "b"],
        }
    )
    # order id alone: two lines of one order at the same price may be different products
    only_order = rfm(tx, observation_end="2020-01-31", order_id="order")
    assert only_order.loc[1, "monetary_value"] == 12.0
    assert only_order.attrs["report"]["duplicate_rows_dropped"] == 0
    kept = rfm(tx, observation_end="2020-01-31")
    assert kept.loc[1, "monetary_value"] == 12.0
    assert kept.attrs["report"]["duplicate_rows"] == 1
    assert kept.attrs["report"]["duplicate_rows_dropped"] == 0
    dropped = rfm(tx, observation_end="2020-01-31", order_id="order", product="sku")
    assert dropped.loc[1, "monetary_value"] == 6.0
    assert dropped.attrs["report"]["duplicate_rows_dropped"] == 1
    assert rfm(tx, observation_end="2020-01-31", duplicates="drop").loc[1, "monetary_value"] == 6
    fast = rfm(tx, observation_end="2020-01-31", duplicates="keep")
    assert fast.loc[1, "monetary_value"] == 12.0
    assert fast.attrs["report"]["duplicate_rows"] is None  # "keep" does not count them
    assert fast.attrs["report"]["n_rows"] == 3


_rows = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.integers(0, 3),
        st.integers(0, 2),
        st.sampled_from([5.0, 7.5, -2.0, 0.0]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None)
@given(_rows)
def test_duplicate_count_equals_pandas(rows):
    """The deferred count (only customers with more rows than days are grouped) is exact."""
    tx = pd.DataFrame(rows, columns=["customer_id", "day", "hour", "amount"])
    tx["timestamp"] = (
        pd.Timestamp("2020-01-01")
        + pd.to_timedelta(tx["day"], unit="D")
        + pd.to_timedelta(tx["hour"], unit="h")
    )
    tx = tx[["customer_id", "timestamp", "amount"]]
    expected = int(tx.duplicated().sum())
    for build in (
        lambda: rfm(tx, observation_end="2020-01-31"),
        lambda: calibration_holdout(tx, calibration_end="2020-01-02", observation_end="2020-01-31"),
        lambda: cxml.features.behaviour(tx, cutoff="2020-01-31"),
    ):
        report = build().attrs["report"]
        assert report["duplicate_rows"] == expected
        assert report["duplicate_rows_dropped"] == 0
        assert report["n_rows"] == len(tx)
    dropped = rfm(tx, observation_end="2020-01-31", duplicates="drop").attrs["report"]
    assert dropped["duplicate_rows"] == dropped["duplicate_rows_dropped"] == expected


def test_ibis_input_returns_ibis_table(sample):
    t = validate_transactions(sample)
    out = rfm(t.filter(t.timestamp <= pd.Timestamp("1997-09-30 23:59:59")), observation_end=CAL_END)
    assert isinstance(out, ibis.Table)
    df = out.to_pandas().set_index("customer_id")
    ref = rfm(sample[sample["timestamp"] <= CAL_END], observation_end=CAL_END)
    pd.testing.assert_frame_equal(df, ref, check_like=True, check_names=False)
    forced = rfm(t, observation_end=OBS_END, output="pandas")
    assert isinstance(forced, pd.DataFrame) and forced.index.name == "customer_id"


def test_validated_table_is_not_revalidated_but_still_checked_against_end(sample):
    t = validate_transactions(sample)
    with pytest.raises(DataValidationError, match=r"1,959 of 6,919 rows are after"):
        rfm(t, observation_end=CAL_END)


def test_after_observation_end_is_an_error(sample):
    with pytest.raises(
        DataValidationError,
        match=r"'timestamp': 1,959 of 6,919 rows are after observation_end 1997",
    ):
        rfm(sample, observation_end=CAL_END)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"time_unit": "M"}, "time_unit must be 'D'"),
        ({"returns": "subtract"}, "returns must be one of"),
        ({"output": "arrow"}, "output must be one of"),
        ({"customer": "x"}, r"unknown keyword argument\(s\) \['customer'\]"),
        ({"observation_end": "not a date"}, "observation_end='not a date' is not a date"),
    ],
)
def test_bad_arguments(sample, kwargs, match):
    kw = {"observation_end": OBS_END, **kwargs}
    with pytest.raises(CxmlUserError, match=match):
        rfm(sample, **kw)


def test_calibration_end_must_precede_observation_end(sample):
    with pytest.raises(CxmlUserError, match="must be before observation_end"):
        calibration_holdout(sample, calibration_end=OBS_END, observation_end=CAL_END)


def test_input_types_agree(sample, tmp_path):
    import polars as pl
    import pyarrow as pa

    ref = rfm(sample, observation_end=OBS_END)
    csv = tmp_path / "tx.csv"
    parquet = tmp_path / "tx.parquet"
    sample.to_csv(csv, index=False)
    sample.to_parquet(parquet)
    for src in (pl.from_pandas(sample), pa.Table.from_pandas(sample), csv, str(parquet)):
        got = rfm(src, observation_end=OBS_END)
        pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12)


# --- invariants -----------------------------------------------------------------------------

_tx_rows = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 60),
        st.floats(-50, 200, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None)
@given(_tx_rows)
def test_rfm_invariants_and_pandas_oracle(rows):
    base = pd.Timestamp("2021-01-01")
    tx = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": [base + pd.Timedelta(days=r[1], hours=3) for r in rows],
            "amount": [r[2] for r in rows],
        }
    )
    got = rfm(tx, observation_end="2021-03-15", time_unit="D")
    assert (got["recency"] <= got["T"]).all()
    assert (got["frequency"] >= 0).all() and (got["recency"] >= 0).all()
    assert (got.loc[got["frequency"] == 0, "monetary_value"] == 0).all()
    # plain pandas oracle of the "net" policy
    day = tx["timestamp"].dt.normalize()
    days = tx.assign(day=day).groupby(["customer_id", "day"])["amount"].sum()
    days = days[days >= 0].reset_index()
    assert set(got.index) == set(days["customer_id"])
    for cid, grp in days.groupby("customer_id"):
        grp = grp.sort_values("day")
        assert got.loc[cid, "frequency"] == len(grp) - 1
        assert got.loc[cid, "recency"] == (grp["day"].iloc[-1] - grp["day"].iloc[0]).days
        if len(grp) > 1:
            assert got.loc[cid, "monetary_value"] == pytest.approx(grp["amount"].iloc[1:].mean())


def test_matches_lifetimes_on_simulated_data_with_times_of_day():
    from lifetimes.utils import summary_data_from_transaction_data

    tx = cxml.datasets.simulate(3000, seed=7, start="2020-01-01", observation_end="2021-06-30")
    assert (tx["timestamp"].dt.normalize() != tx["timestamp"]).any()  # real times of day
    got = rfm(tx, observation_end="2021-06-30", time_unit="D")
    ref = summary_data_from_transaction_data(
        tx,
        "customer_id",
        "timestamp",
        monetary_value_col="amount",
        observation_period_end="2021-06-30",
        freq="D",
    ).reindex(got.index)
    assert len(got) == 3000
    for col in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(got[col].to_numpy(), ref[col].to_numpy(), atol=1e-9, err_msg=col)


@pytest.mark.parametrize("ids", ["int", "str"])
def test_customer_buckets_give_the_same_result(sample, monkeypatch, caplog, ids):
    """Large inputs run bucket by bucket of customers: same rows, same report."""
    import cxml.features._daily as daily_mod

    tx = sample.copy()
    tx.loc[tx.index[:40], "amount"] *= -1
    tx = pd.concat([tx, tx.iloc[100:130]], ignore_index=True)  # 30 exact duplicates
    if ids == "str":
        tx["customer_id"] = "c" + tx["customer_id"].astype(str)
    kw = dict(calibration_end=CAL_END, observation_end=OBS_END)
    whole = (
        rfm(tx, observation_end=OBS_END),
        calibration_holdout(tx, **kw),
        cxml.features.behaviour(tx, cutoff=OBS_END),
    )
    monkeypatch.setattr(daily_mod, "BUCKET_ROWS", 1_000)  # 6,949 rows -> 7 buckets
    with caplog.at_level("DEBUG", logger="cxml.features._daily"):
        parts = (
            rfm(tx, observation_end=OBS_END),
            calibration_holdout(tx, **kw),
            cxml.features.behaviour(tx, cutoff=OBS_END),
        )
    assert caplog.text.count("executed in 7 customer buckets") == 3
    for a, b in zip(whole, parts, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
        assert a.attrs["report"] == b.attrs["report"]
        assert b.attrs["report"]["duplicate_rows"] == 30 + 21  # 21 in the published sample


def test_only_memory_and_parquet_are_scanned_per_bucket(tmp_path, sample):
    from cxml.features._daily import rescannable

    t = validate_transactions(sample)
    assert rescannable(sample, t)
    assert rescannable(str(tmp_path / "tx.parquet"), t)
    assert not rescannable(tmp_path / "tx.csv", t)  # parsed once per scan: one query
