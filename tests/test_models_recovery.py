"""Parameter recovery through the public path (issue 4, acceptance 7):

    cxml.datasets.simulate(200_000, params=..., seed=...)   transactions with timestamps
      -> cxml.features.rfm(..., time_unit="W")              frequency, recency, T, monetary
      -> BetaGeoModel / ModifiedBetaGeoModel / ParetoNBDModel / GammaGammaModel .fit
      -> every parameter within 5 % of the truth (and within 4 standard errors).

Day granularity. ``rfm`` follows Fader-Hardie-Lee and merges purchases made on the same
day, while ``simulate`` draws purchases in continuous time. The merged purchases come from
the heaviest buyers, to whom the likelihood is most sensitive: with the CDNOW parameters
(0.055 purchases a week on average, r = 0.24, so a long tail of heavy buyers) 1.0 % of
repeat purchases share a day with another one, and alpha comes out 3.3 % to 5.1 % too high
(seeds 1-3; the same transactions summarised in continuous time give -1.2 % to +0.5 %);
see ``test_same_day_merging_biases_alpha_at_cdnow_rates``. The recovery sets below keep
same-day purchases at 0.2-0.35 % of repeat purchases (slower buyers over a 5.5-year
window), where that bias is 0.5-2 % (alpha) and 5 % is an honest tolerance.

Each test simulates, builds features and fits in 1-3 s; all are marked slow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxml
from cxml.models import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel

pytestmark = pytest.mark.slow

N = 200_000
# 52 weeks of acquisition, then observation to mid-2021: T from 234 to 286 weeks.
WINDOW = {"start": "2016-01-01", "observation_end": "2021-06-30", "acquisition_weeks": 52.0}


def _features(model, params, seed, spend_params=None, **window):
    window = {**WINDOW, **window}
    tx = cxml.datasets.simulate(
        N, params=params, seed=seed, model=model, spend_params=spend_params, **window
    )
    rfm = cxml.features.rfm(tx, observation_end=window["observation_end"], time_unit="W")
    assert len(rfm) == N
    return tx, rfm


def _assert_recovered(fitted, truth, label):
    for k, v in truth.items():
        est, se = fitted.params_[k], fitted.standard_errors_[k]
        assert est == pytest.approx(v, rel=0.05), f"{label}: {k} = {est:.4g}, truth {v}"
        assert abs(est - v) < 4 * se, f"{label}: {k} = {est:.4g} +- {se:.2g}, truth {v}"


@pytest.mark.parametrize(
    "params, spend, seed",
    [
        ({"r": 0.8, "alpha": 30.0, "a": 0.8, "b": 2.5}, {"p": 6.0, "q": 4.0, "v": 15.0}, 1),
        ({"r": 2.0, "alpha": 80.0, "a": 0.6, "b": 2.0}, {"p": 3.0, "q": 5.0, "v": 40.0}, 2),
        ({"r": 0.5, "alpha": 20.0, "a": 1.2, "b": 3.0}, {"p": 2.5, "q": 8.0, "v": 100.0}, 3),
    ],
)
def test_bgnbd_and_gamma_gamma_recovered_from_simulated_transactions(params, spend, seed):
    _, rfm = _features("bgnbd", params, seed, spend_params=spend)
    bg = BetaGeoModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    _assert_recovered(bg, params, "BG/NBD")
    rep = rfm[rfm["frequency"] > 0]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])
    _assert_recovered(gg, spend, "Gamma-Gamma")


def test_mbgnbd_recovered_from_simulated_transactions():
    params = {"r": 0.8, "alpha": 30.0, "a": 0.8, "b": 2.5}
    _, rfm = _features("mbgnbd", params, 1)
    m = ModifiedBetaGeoModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    _assert_recovered(m, params, "MBG/NBD")


def test_paretonbd_recovered_from_simulated_transactions():
    params = {"r": 0.8, "alpha": 30.0, "s": 2.0, "beta": 100.0}
    _, rfm = _features("paretonbd", params, 1)
    m = ParetoNBDModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    _assert_recovered(m, params, "Pareto/NBD")


def test_same_day_merging_biases_alpha_at_cdnow_rates():
    # Why the sets above use slow buyers: at the CDNOW rates the day convention, not the
    # estimator, moves alpha by more than a few percent.
    params = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    end = "2021-06-30"
    tx, rfm = _features(
        "bgnbd", params, 1, start="2020-01-01", observation_end=end, acquisition_weeks=12.0
    )
    merged = 1.0 - (rfm["frequency"].sum() + len(rfm)) / len(tx)
    assert 0.005 < merged < 0.02  # measured 1.0 % of all purchases
    daily = BetaGeoModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    # The same purchases in continuous time (no merging): the truth comes back.
    g = tx.groupby("customer_id")["timestamp"]
    first, last, n = g.min(), g.max(), g.size()
    week = pd.Timedelta(days=7)
    cont = BetaGeoModel().fit(n - 1, (last - first) / week, (pd.Timestamp(end) - first) / week)
    _assert_recovered(cont, params, "BG/NBD, continuous time")
    bias = daily.params_["alpha"] / params["alpha"] - 1.0
    assert 0.02 < bias < 0.06  # measured +3.3 %
    assert abs(daily.params_["alpha"] - params["alpha"]) > 3 * daily.standard_errors_["alpha"]
    assert np.isclose(daily.params_["r"], params["r"], rtol=0.05)
