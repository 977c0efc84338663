"""Order-free sums (cxml.features._exact): money in fixed point, gap spreads from integer
sums, so the features do not depend on the order an engine adds rows in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.exceptions import DataValidationError
from cxml.features import behaviour, calibration_holdout, rfm

END = "2020-03-31"


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"])
    )


def test_a_day_that_nets_to_zero_is_a_zero_value_day():
    # 0.1 + 0.2 - 0.3 is 5.55e-17 in float64 and -2.8e-17 in another order
    assert (0.1 + 0.2) - 0.3 != 0 and 0.1 + (0.2 - 0.3) != 0
    tx = _tx(
        [
            (1, "2020-01-01", 10.0),
            (1, "2020-02-01", 0.1),
            (1, "2020-02-01", 0.2),
            (1, "2020-02-01", -0.3),
            (2, "2020-01-05", 5.0),
            (2, "2020-02-05", 0.2),
            (2, "2020-02-05", -0.3),
            (2, "2020-02-05", 0.1),
        ]
    )
    s = rfm(tx, observation_end=END, time_unit="D")
    r = s.attrs["report"]
    assert r["zero_value_days"] == 2 and r["negative_value_days_dropped"] == 0
    assert s["frequency"].tolist() == [1, 1]  # the zero day is a purchase day (zero_value="keep")
    assert s["monetary_value"].tolist() == [0.0, 0.0]  # exactly 0, not 5.55e-17
    dropped = rfm(tx, observation_end=END, time_unit="D", zero_value="drop")
    assert dropped["frequency"].tolist() == [0, 0]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=-500, max_value=500, places=2, allow_nan=False),
        min_size=2,
        max_size=12,
    ),
    st.randoms(use_true_random=False),
)
def test_sums_do_not_depend_on_row_order(amounts, rnd):
    """Shuffled rows give bit-identical monetary values (and holdout means)."""
    days = [f"2020-01-{1 + i % 3:02d}" for i in range(len(amounts))]
    days += ["2020-02-10", "2020-02-10"]
    vals = [float(a) for a in amounts] + [12.34, 0.66]
    rows = [(7, d, v) for d, v in zip(days, vals, strict=True)]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    kw = dict(calibration_end="2020-01-31", observation_end=END, time_unit="D")
    a, b = calibration_holdout(_tx(rows), **kw), calibration_holdout(_tx(shuffled), **kw)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # the exact value: the repeat days' mean of the decimal sums
    day_sums = {}
    for d, v in zip(days, amounts + [None, None], strict=True):
        if v is not None and d < "2020-02":
            day_sums[d] = day_sums.get(d, 0) + v
    kept = [day_sums[d] for d in sorted(day_sums) if day_sums[d] >= 0]
    if len(kept) > 1 and len(a):
        assert a["monetary_value_cal"].iloc[0] == float(sum(kept[1:])) / (len(kept) - 1)


def test_gap_spread_is_the_exact_sample_std():
    days = ["2020-01-01", "2020-01-04", "2020-01-11", "2020-01-12", "2020-02-20"]
    tx = _tx([(1, d, 1.0) for d in days] + [(2, "2020-01-01", 1.0), (2, "2020-01-03", 1.0)])
    f = behaviour(tx, cutoff=END, windows_days=(30,))
    gaps = np.diff(pd.to_datetime(days).to_numpy()).astype("timedelta64[D]").astype(float)
    assert f.loc[1, "ipt_mean_days"] == gaps.mean()
    assert f.loc[1, "ipt_std_days"] == pytest.approx(gaps.std(ddof=1), rel=1e-15)
    assert f.loc[2, "ipt_mean_days"] == 2.0 and np.isnan(f.loc[2, "ipt_std_days"])  # one gap


@pytest.mark.parametrize("column", ["amount", "quantity"])
def test_values_too_large_for_exact_sums_are_refused(column):
    tx = _tx([(1, "2020-01-01", 10.0), (2, "2020-01-02", 20.0)]).assign(quantity=[1.0, 2.0])
    tx.loc[1, column] = 2.5e12
    with pytest.raises(
        DataValidationError,
        match=rf"column '{column}': 1 of 2 values are 10\^12 or more in absolute value, "
        r"e.g. '2500000000000.0' .*express them in a larger unit",
    ):
        behaviour(tx, cutoff=END, windows_days=(30,), quantity="quantity")


def test_engagement_sums_and_means_do_not_depend_on_row_order():
    from cxml.features import engagement

    rows = [
        (1, "2020-03-01", "web_session", 0.1),
        (1, "2020-03-02", "web_session", 0.2),
        (1, "2020-03-03", "web_session", 0.3),
        (1, "2020-03-04", "csat", 4.1),
        (1, "2020-03-05", "csat", 4.2),
        (1, "2020-03-06", "csat", 4.3),
        (1, "2020-03-07", "nps", float("nan")),  # no answer: ignored, not a NaN mean
        (1, "2020-03-08", "nps", 9.0),
    ]
    assert 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1  # float64 sums depend on the order
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "event_type", "value"])
    ev["timestamp"] = pd.to_datetime(ev["timestamp"])
    a = engagement(ev, cutoff=END, windows_days=(30,))
    b = engagement(ev.iloc[::-1].reset_index(drop=True), cutoff=END, windows_days=(30,))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.loc[1, "web_session_duration"] == 0.6  # the exact sum, correctly rounded
    assert a.loc[1, "csat_mean"] == 12.6 / 3 and a.loc[1, "nps_mean"] == 9.0
