"""Discounted CLV: lifetimes as oracle, explicit units, intervals."""

from __future__ import annotations

import lifetimes.datasets as lds
import numpy as np
import pytest
from lifetimes.utils import _customer_lifetime_value

from cxml.clv import DAYS_PER_MONTH, customer_lifetime_value, customer_lifetime_value_interval
from cxml.clv._clv import _clv_core
from cxml.exceptions import CxmlUserError, NotFittedError
from cxml.models import BetaGeoModel, GammaGammaModel


@pytest.fixture(scope="module")
def s():
    return lds.load_cdnow_summary_data_with_monetary_value()


@pytest.fixture(scope="module")
def models(s):
    bg = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    rb = s[s["frequency"] > 0]
    gg = GammaGammaModel().fit(rb["frequency"], rb["monetary_value"])
    return bg, gg


def _arrays(s):
    return (
        s["frequency"].to_numpy(float),
        s["recency"].to_numpy(float),
        s["T"].to_numpy(float),
        s["monetary_value"].to_numpy(float),
    )


def test_core_matches_lifetimes_clv(models, s):
    bg, gg = models
    x, tx, T, m = _arrays(s)
    value = gg.to_lifetimes().conditional_expected_average_profit(
        s["frequency"], s["monetary_value"]
    )
    ref = _customer_lifetime_value(
        bg.to_lifetimes(),
        s["frequency"],
        s["recency"],
        s["T"],
        value,
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    # lifetimes: a month is 4.345 weeks and the rate is monthly.
    ours = _clv_core(
        bg, gg, x, tx, T, m, unit_per_month=4.345, monthly_rate=0.01, horizon_months=12
    )
    np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-9)


def test_public_function_uses_explicit_units(models, s):
    bg, gg = models
    x, tx, T, m = _arrays(s)
    clv = customer_lifetime_value(
        bg, gg, x, tx, T, m, time_unit="W", horizon_months=24, annual_discount_rate=0.10
    )
    L = DAYS_PER_MONTH / 7
    monthly = 1.10 ** (1 / 12) - 1
    manual = np.zeros(x.size)
    for k in range(1, 25):
        inc = bg.expected_purchases(k * L, x, tx, T) - bg.expected_purchases((k - 1) * L, x, tx, T)
        manual += inc / (1 + monthly) ** k
    manual *= gg.expected_average_value(x, m)
    np.testing.assert_allclose(clv, manual, rtol=1e-10)
    assert clv[0] == pytest.approx(
        gg.expected_average_value([2], [m[0]])[0]
        * sum(
            (
                bg.expected_purchases(k * L, 2, 30.43, 38.86)[0]
                - bg.expected_purchases((k - 1) * L, 2, 30.43, 38.86)[0]
            )
            / 1.1 ** (k / 12)
            for k in range(1, 25)
        ),
        rel=1e-10,
    )


def test_same_clv_in_days_and_weeks(models, s):
    bg_w, gg = models
    x, tx, T, m = _arrays(s)
    bg_d = BetaGeoModel().fit(x, tx * 7, T * 7)
    assert bg_d.params_["alpha"] == pytest.approx(7 * bg_w.params_["alpha"], rel=1e-5)
    w = customer_lifetime_value(bg_w, gg, x, tx, T, m, time_unit="W")
    d = customer_lifetime_value(bg_d, gg, x, tx * 7, T * 7, m, time_unit="D")
    np.testing.assert_allclose(d, w, rtol=1e-4)


def test_zero_horizon_and_zero_discount(models, s):
    bg, gg = models
    x, tx, T, m = _arrays(s)
    assert np.all(customer_lifetime_value(bg, gg, x, tx, T, m, horizon_months=0) == 0)
    undiscounted = customer_lifetime_value(
        bg, gg, x, tx, T, m, horizon_months=12, annual_discount_rate=0.0
    )
    expected = gg.expected_average_value(x, m) * bg.expected_purchases(
        12 * DAYS_PER_MONTH / 7, x, tx, T
    )
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_unit": "M"}, r"time_unit must be 'D' or 'W'"),
        ({"horizon_months": -1}, r"horizon_months must be a whole number"),
        ({"horizon_months": 1.5}, r"horizon_months must be a whole number"),
        ({"annual_discount_rate": 10}, r"more than 100 % a year; pass a fraction"),
        ({"annual_discount_rate": float("nan")}, r"annual_discount_rate must be a number"),
    ],
)
def test_bad_arguments(models, kwargs, match):
    bg, gg = models
    with pytest.raises(CxmlUserError, match=match):
        customer_lifetime_value(bg, gg, [1], [1.0], [2.0], [10.0], **kwargs)


def test_unfitted_model(models):
    _, gg = models
    with pytest.raises(NotFittedError):
        customer_lifetime_value(BetaGeoModel(), gg, [1], [1.0], [2.0], [10.0])


def test_interval(models, s):
    bg, gg = models
    x, tx, T, m = _arrays(s)
    est, lo, hi = customer_lifetime_value_interval(
        bg, gg, x[:50], tx[:50], T[:50], m[:50], level=0.9
    )
    np.testing.assert_allclose(
        est, customer_lifetime_value(bg, gg, x[:50], tx[:50], T[:50], m[:50]), rtol=1e-12
    )
    assert np.all(lo < est) and np.all(est < hi)
    _, lo8, hi8 = customer_lifetime_value_interval(
        bg, gg, x[:50], tx[:50], T[:50], m[:50], level=0.8
    )
    assert np.all(lo < lo8) and np.all(hi8 < hi)
