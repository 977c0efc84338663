"""cxml.datasets.simulate: data contract, determinism, and parameter recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxml.datasets import simulate
from cxml.datasets._simulate import _simulate_summary
from cxml.exceptions import CxmlUserError
from cxml.models import BetaGeoModel, GammaGammaModel


def _day_rfm(tx, observation_end, unit_days=7.0):
    """Day-granular RFM (same-day purchases merged), as cxml.features defines it."""
    d = tx.assign(day=tx["timestamp"].dt.floor("D"))
    daily = d.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    g = daily.groupby("customer_id")
    first, last, n = g["day"].min(), g["day"].max(), g["day"].size()
    end = pd.Timestamp(observation_end)
    x = (n - 1).to_numpy(float)
    rec = ((last - first).dt.days / unit_days).to_numpy()
    T = ((end - first).dt.days / unit_days).to_numpy()
    # monetary value = mean of the repeat days' amounts (first day excluded)
    daily["rank"] = daily.groupby("customer_id").cumcount()
    rep = daily[daily["rank"] > 0].groupby("customer_id")["amount"].mean()
    m = rep.reindex(n.index).fillna(0.0).to_numpy()
    return x, rec, T, m


def test_transactions_contract():
    tx = simulate(2000, seed=3, start="2020-01-01", observation_end="2021-06-30")
    assert list(tx.columns) == ["customer_id", "timestamp", "amount"]
    assert tx["customer_id"].dtype == "int64"
    assert str(tx["timestamp"].dtype).startswith("datetime64")
    assert tx["amount"].dtype == "float64"
    assert set(tx["customer_id"]) == set(range(1, 2001))  # everyone has a first purchase
    assert tx["timestamp"].min() >= pd.Timestamp("2020-01-01")
    assert tx["timestamp"].max() <= pd.Timestamp("2021-06-30")
    first = tx.groupby("customer_id")["timestamp"].min()
    assert first.max() < pd.Timestamp("2020-01-01") + pd.Timedelta(weeks=12)
    assert (tx["amount"] > 0).all()
    assert tx.sort_values(["customer_id", "timestamp"]).index.equals(tx.index)


def test_seeded_runs_are_identical():
    a = simulate(500, seed=11)
    b = simulate(500, seed=11)
    c = simulate(500, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_events_contract():
    tx, ev = simulate(1000, seed=5, events=True, observation_end="2021-06-30")
    assert list(ev.columns) == ["customer_id", "timestamp", "event_type", "value"]
    assert set(ev["event_type"].unique()) == {"web_session", "email_open", "support_ticket", "nps"}
    assert set(ev["customer_id"]) <= set(tx["customer_id"])
    assert ev["timestamp"].max() <= pd.Timestamp("2021-06-30")
    nps = ev.loc[ev["event_type"] == "nps", "value"]
    assert nps.between(0, 10).all() and (nps == nps.round()).all()
    assert ev.loc[ev["event_type"] == "email_open", "value"].isna().all()


def test_events_carry_churn_signal():
    # Customers still buying in the last 26 weeks open more e-mails than lapsed ones.
    tx, ev = simulate(4000, seed=8, events=True, observation_end="2021-06-30")
    cutoff = pd.Timestamp("2021-06-30") - pd.Timedelta(weeks=26)
    active = set(tx.loc[tx["timestamp"] > cutoff, "customer_id"])
    opens = ev[(ev["event_type"] == "email_open") & (ev["timestamp"] > cutoff)]
    per = opens.groupby("customer_id").size().reindex(range(1, 4001), fill_value=0)
    is_active = per.index.isin(list(active))
    assert per[is_active].mean() > 1.5 * per[~is_active].mean()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_customers": 0}, "n_customers must be a positive integer"),
        ({"n_customers": 10, "time_unit": "M"}, "time_unit must be 'D' or 'W'"),
        ({"n_customers": 10, "params": {"r": 1.0}}, r"missing \['alpha', 'a', 'b'\]"),
        ({"n_customers": 10, "params": {"r": -1, "alpha": 1, "a": 1, "b": 1}}, r"bad: \['r'\]"),
        ({"n_customers": 10, "observation_end": "2020-02-01"}, "must fall after"),
        ({"n_customers": 10, "model": "nbd"}, "model must be one of"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(CxmlUserError, match=match):
        simulate(**kwargs)


def test_day_level_summary_recovers_parameters_roughly():
    # 30k customers through the transaction table and day-level RFM.
    p = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    tx = simulate(30_000, params=p, seed=21, observation_end="2021-06-30")
    x, rec, T, m = _day_rfm(tx, "2021-06-30")
    fit = BetaGeoModel().fit(x, rec, T)
    for k in p:
        assert fit.params_[k] == pytest.approx(p[k], rel=0.15)
    g = GammaGammaModel().fit(x[x > 0], m[x > 0])
    # population mean spend p*v/(q-1) of the default spend parameters
    assert g.population_mean() == pytest.approx(6.2488 * 15.4477 / 2.7446, rel=0.05)


@pytest.mark.slow
@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259},
        {"r": 1.5, "alpha": 10.0, "a": 2.0, "b": 8.0},
        {"r": 0.5, "alpha": 2.0, "a": 0.4, "b": 1.5},
    ],
)
def test_bgnbd_parameter_recovery_200k(params):
    n = 200_000
    T = np.random.default_rng(1).uniform(30, 80, n)
    x, tx, T = _simulate_summary(n, params=params, T=T, seed=7)
    fit = BetaGeoModel().fit(x, tx, T)
    for k, v in params.items():
        assert fit.params_[k] == pytest.approx(v, rel=0.05), k
        # and the truth lies within 4 standard errors
        assert abs(fit.params_[k] - v) < 4 * fit.standard_errors_[k], k
