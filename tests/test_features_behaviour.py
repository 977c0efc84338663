"""cxml.features.behaviour: hand-computed values, a pandas oracle on CDNOW and bad input."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.exceptions import CxmlUserError
from cxml.features import behaviour

CUT = "2020-12-31"


@pytest.fixture(scope="module")
def small():
    rows = [
        # customer 1: purchases on 06-01, 11-15, 12-10 (+ a return the same day), 12-20
        (1, "2020-06-01 10:00", 100.0, 2, "o1", "A", "x"),
        (1, "2020-11-15 09:00", 40.0, 1, "o2", "B", "x"),
        (1, "2020-12-10 12:00", 60.0, 3, "o3", "C", "y"),
        (1, "2020-12-10 18:00", -20.0, -1, "o4", "C", "y"),
        (1, "2020-12-20 08:00", 20.0, 1, "o5", "A", "x"),
        (1, "2021-01-05 08:00", 999.0, 9, "o6", "D", "z"),  # after the cut-off: ignored
        # customer 2: one purchase, then a pure return day
        (2, "2020-12-01 10:00", 50.0, 1, "p1", "A", "x"),
        (2, "2020-12-05 10:00", -10.0, -1, "p2", "A", "x"),
        # customer 3: only after the cut-off -> not in the output
        (3, "2021-02-01 10:00", 10.0, 1, "q1", "A", "x"),
    ]
    return pd.DataFrame(rows, columns=["cid", "ts", "amt", "qty", "order", "sku", "cat"]).assign(
        ts=lambda d: pd.to_datetime(d["ts"])
    )


@pytest.fixture(scope="module")
def small_features(small):
    return behaviour(
        small,
        cutoff=CUT,
        windows_days=[30, 60],
        customer_id="cid",
        timestamp="ts",
        amount="amt",
        quantity="qty",
        order_id="order",
        product="sku",
        category="cat",
    )


def test_hand_computed_values(small_features):
    f = small_features
    assert f.index.tolist() == [1, 2]
    c1 = f.loc[1]
    # 30d window (12-01, 12-31]: days 12-10 (net 40) and 12-20 (20); before: (11-01, 12-01]
    assert c1["transactions_30d"] == 2 and c1["value_30d"] == pytest.approx(60.0)
    assert c1["trend_transactions_30d"] == pytest.approx((2 - 1) / 3)
    assert c1["trend_value_30d"] == pytest.approx((60 - 40) / 100)
    # 60d window (11-01, 12-31]: 3 purchase days; before (09-02, 11-01]: none
    assert c1["transactions_60d"] == 3 and c1["trend_transactions_60d"] == 1.0
    assert c1["transactions_total"] == 4 and c1["value_total"] == pytest.approx(200.0)
    assert c1["days_since_last_purchase"] == 11.0
    assert c1["tenure_days"] == 213.0
    gaps = np.array([167.0, 25.0, 10.0])
    assert c1["ipt_mean_days"] == pytest.approx(gaps.mean())
    assert c1["ipt_std_days"] == pytest.approx(gaps.std(ddof=1))
    assert c1["ipt_cv"] == pytest.approx(gaps.std(ddof=1) / gaps.mean())
    assert c1["avg_basket_value"] == pytest.approx(200.0 / 4)
    assert c1["avg_basket_quantity"] == pytest.approx(6 / 4)
    assert c1["returned_value_share"] == pytest.approx(20 / 220)
    assert (c1["n_orders"], c1["n_products"], c1["n_categories"]) == (4, 3, 2)


def test_single_purchase_customer(small_features):
    c2 = small_features.loc[2]
    assert c2["transactions_total"] == 1  # the pure-return day is no purchase
    # 12-01 is 30 days before the cut-off: outside (12-01, 12-31]; the return is inside
    assert c2["transactions_30d"] == 0 and c2["value_30d"] == pytest.approx(-10.0)
    assert c2["transactions_60d"] == 1 and c2["value_60d"] == pytest.approx(40.0)
    assert c2["days_since_last_purchase"] == 30.0
    assert np.isnan(c2["ipt_mean_days"]) and np.isnan(c2["ipt_std_days"])
    assert np.isnan(c2["ipt_cv"])
    assert c2["returned_value_share"] == pytest.approx(0.2)


def test_report_and_dtypes(small_features):
    r = small_features.attrs["report"]
    assert r["n_rows"] == 7 and r["return_rows"] == 2  # rows after the cut-off not counted
    assert r["negative_value_days_dropped"] == 1
    assert small_features["transactions_30d"].dtype == np.int64
    assert small_features["n_products"].dtype == np.int64
    assert small_features["trend_transactions_30d"].dtype == np.float64


def test_without_optional_columns_has_no_optional_features(small):
    f = behaviour(
        small, cutoff=CUT, windows_days=[30], customer_id="cid", timestamp="ts", amount="amt"
    )
    assert not {"avg_basket_quantity", "n_orders", "n_products", "n_categories"} & set(f.columns)
    assert list(f.columns[:4]) == [
        "transactions_30d",
        "value_30d",
        "trend_transactions_30d",
        "trend_value_30d",
    ]


def test_cdnow_against_pandas_oracle():
    tx = cxml.datasets.load_cdnow("sample")
    cut = pd.Timestamp("1997-09-30")
    f = behaviour(tx, cutoff=cut, windows_days=(30, 90))
    before = tx[tx["timestamp"] <= cut]
    days = before.groupby(["customer_id", "timestamp"])["amount"].sum().reset_index()
    assert len(f) == days["customer_id"].nunique() == 2357
    in30 = days[days["timestamp"] > cut - pd.Timedelta(days=30)]
    expected30 = in30.groupby("customer_id").size().reindex(f.index, fill_value=0)
    np.testing.assert_array_equal(f["transactions_30d"].to_numpy(), expected30.to_numpy())
    last = days.groupby("customer_id")["timestamp"].max()
    np.testing.assert_array_equal(
        f["days_since_last_purchase"].to_numpy(), (cut - last).dt.days.reindex(f.index).to_numpy()
    )
    gaps = days.sort_values("timestamp").groupby("customer_id")["timestamp"].diff().dt.days
    std = gaps.groupby(days["customer_id"]).std().reindex(f.index)
    np.testing.assert_allclose(f["ipt_std_days"].to_numpy(), std.to_numpy(), equal_nan=True)


def test_ibis_input_gives_ibis_output(small):
    t = ibis.memtable(small)
    out = behaviour(
        t, cutoff=CUT, windows_days=[30], customer_id="cid", timestamp="ts", amount="amt"
    )
    assert isinstance(out, ibis.Table)
    df = out.to_pandas()
    assert df["customer_id"].tolist() == [1, 2]
    assert df["transactions_30d"].tolist() == [2, 0]


@pytest.mark.parametrize("windows", [[], [0, 30], [-5], ["a"], [1.5]])
def test_bad_windows(small, windows):
    with pytest.raises(CxmlUserError, match="windows_days must be a non-empty list"):
        behaviour(
            small, cutoff=CUT, windows_days=windows, customer_id="cid", timestamp="ts", amount="amt"
        )


def test_cutoff_required(small):
    with pytest.raises(CxmlUserError, match="cutoff is required"):
        behaviour(small, cutoff=None, customer_id="cid", timestamp="ts", amount="amt")


@pytest.mark.parametrize(
    "policies",
    [{}, {"returns": "ignore"}, {"zero_value": "drop"}, {"duplicates": "drop"}, {"time_unit": "D"}],
)
def test_behaviour_with_rfm_equals_rfm_joined_with_behaviour(policies):
    """The one-query path of training and scoring gives rfm() + behaviour() exactly."""
    from cxml.data import validate_transactions
    from cxml.features import rfm
    from cxml.features._behaviour import behaviour_with_rfm

    tx = cxml.datasets.load_cdnow("master")
    rng = np.random.default_rng(0)
    tx.loc[rng.choice(len(tx), 500, replace=False), "amount"] *= -1  # returns
    tx.loc[rng.choice(len(tx), 300, replace=False), "amount"] = 0.0  # zero-value rows
    tx = pd.concat([tx, tx.iloc[:200]], ignore_index=True)  # exact duplicates
    policies = dict(policies)
    unit = policies.pop("time_unit", "W")
    got = behaviour_with_rfm(
        validate_transactions(tx),
        cutoff="1997-09-30",
        windows_days=(30, 90),
        time_unit=unit,
        **policies,
    )
    cal = tx[tx["timestamp"] < "1997-10-01"]
    expected = pd.concat(
        [
            rfm(cal, observation_end="1997-09-30", time_unit=unit, **policies),
            behaviour(tx, cutoff="1997-09-30", windows_days=(30, 90), **policies),
        ],
        axis=1,
    )
    assert len(got) == len(expected) > 23_000
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
