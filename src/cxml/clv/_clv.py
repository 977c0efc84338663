"""Discounted customer lifetime value from a purchase model and a spend model.

CLV over a horizon of H months is

    CLV = E[M | x, m] * sum_{k=1..H} (E[Y(k L)] - E[Y((k-1) L)]) / (1 + d)^(k/12)

with L the length of a month in the purchase model's time unit (365.25 / 12 days; weeks
= 7 days) and d the *annual* discount rate, i.e. monthly discounting as in lifetimes'
``customer_lifetime_value`` (Fader, Hardie & Lee 2005, "RFM and CLV") but with every unit
explicit: lifetimes counts a month as 30 days or 4.345 weeks and takes a monthly rate.
"""

from __future__ import annotations

import numpy as np

from cxml.exceptions import CxmlUserError
from cxml.models import check_rfm, log_gradient, z_quantile

__all__ = ["customer_lifetime_value", "customer_lifetime_value_interval", "DAYS_PER_MONTH"]

#: Average Gregorian month in days.
DAYS_PER_MONTH = 365.25 / 12
_DAYS_PER_UNIT = {"D": 1.0, "W": 7.0}


def _check_args(time_unit, horizon_months, annual_discount_rate):
    if time_unit not in _DAYS_PER_UNIT:
        raise CxmlUserError(
            f"time_unit must be 'D' or 'W' (the unit recency and T were measured in), "
            f"got {time_unit!r}"
        )
    if (
        isinstance(horizon_months, bool)
        or not isinstance(horizon_months, (int, np.integer))
        or horizon_months < 0
    ):
        raise CxmlUserError(
            f"horizon_months must be a whole number of months >= 0, got {horizon_months!r}"
        )
    rate = annual_discount_rate
    if not (isinstance(rate, (int, float, np.floating)) and np.isfinite(rate) and rate > -1):
        raise CxmlUserError(
            f"annual_discount_rate must be a number > -1 (0.10 means 10 % a year), got {rate!r}"
        )
    if rate > 1:
        # 12 meaning "12 %" is a classic slip; refuse rather than silently discount 1200 %.
        raise CxmlUserError(
            f"annual_discount_rate={rate!r} means more than 100 % a year; pass a fraction "
            "(0.12 for 12 %)"
        )
    return DAYS_PER_MONTH / _DAYS_PER_UNIT[time_unit], (1.0 + float(rate)) ** (1.0 / 12) - 1.0


def _weighted_purchases(purchase_model, params, ts, coefs, x, tx, T, covariates=None):
    """sum_j coefs[j] E[Y(ts[j])] per customer, without an (len(ts), n) matrix."""
    if getattr(purchase_model, "coefficients_", None) is not None:
        # Its parameters are per customer (Fader & Hardie note 019): the baseline alone
        # would be silently wrong, so the customers' covariates are required.
        if covariates is None:
            raise CxmlUserError(
                f"{type(purchase_model).__name__} was fitted with covariates; pass the "
                "customers' covariates= (one row per customer, in the order of frequency)"
            )
        if params is not None:
            raise CxmlUserError(
                "the CLV interval does not take covariate models yet; use "
                "customer_lifetime_value(..., covariates=) and expected_purchases_interval"
            )
        params = purchase_model._params_for(covariates, x.size)
    elif covariates is not None:
        purchase_model._params_for(covariates, x.size)  # refuses covariates= (one line)
    path_fn = getattr(purchase_model, "_expected_purchases_path", None)
    if path_fn is not None:
        p = purchase_model._param_array() if params is None else params
        return path_fn(p, ts, x, tx, T, coefs)
    acc = np.zeros(x.size)
    for cj, t in zip(coefs, ts, strict=True):
        acc += cj * np.asarray(purchase_model.expected_purchases(t, x, tx, T), dtype=float)
    return acc


def _clv_core(
    purchase_model,
    spend_model,
    x,
    tx,
    T,
    m,
    *,
    unit_per_month,
    monthly_rate,
    horizon_months,
    purchase_params=None,
    spend_params=None,
    covariates=None,
):
    """CLV with explicit month length (in model time units) and monthly discount rate."""
    n = x.size
    if horizon_months == 0 or n == 0:
        return np.zeros(n)
    months = np.arange(1, horizon_months + 1)
    disc = (1.0 + monthly_rate) ** (-months.astype(float))
    # sum_k disc_k (E_k - E_{k-1}) = sum_k (disc_k - disc_{k+1}) E_k  (E_0 = 0, disc_{H+1} = 0)
    coefs = disc - np.append(disc[1:], 0.0)
    discounted = _weighted_purchases(
        purchase_model, purchase_params, unit_per_month * months, coefs, x, tx, T, covariates
    )
    if spend_params is not None:
        from cxml.models import gamma_gamma_expected_value

        value = gamma_gamma_expected_value(spend_params, x, m)
    else:
        value = np.asarray(spend_model.expected_average_value(x, m), dtype=float)
    return value * discounted


def _prepare(purchase_model, spend_model, frequency, recency, T, monetary_value):
    for name, model in (("purchase_model", purchase_model), ("spend_model", spend_model)):
        check = getattr(model, "_check_fitted", None)
        if check is not None:
            check()
        elif not hasattr(model, "params_"):
            raise CxmlUserError(f"{name} must be a fitted cxml model")
    x, tx, T = check_rfm(frequency, recency, T, require_data=False)
    m = np.asarray(monetary_value, dtype=float)
    if m.ndim == 0:
        m = np.full(x.size, float(m))
    if m.shape != x.shape:
        raise CxmlUserError(
            f"monetary_value has {m.size:,} values but there are {x.size:,} customers"
        )
    return x, tx, T, m


def customer_lifetime_value(
    purchase_model,
    spend_model,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    time_unit="W",
    horizon_months=12,
    annual_discount_rate=0.10,
    covariates=None,
):
    """Discounted expected value of each customer's purchases over the next months.

    Parameters
    ----------
    purchase_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted on (frequency, recency, T) measured in ``time_unit``.
    spend_model : GammaGammaModel
        Fitted spend model; customers with frequency 0 get its population mean.
    frequency, recency, T : array-like
        The customers' RFM statistics, in ``time_unit``.
    monetary_value : array-like
        Mean value of the repeat purchases (any value for frequency-0 customers).
    time_unit : {"W", "D"}, default "W"
        Unit of recency and T (and hence of the purchase model's alpha / beta).
    horizon_months : int, default 12
        Horizon in months of 365.25 / 12 days.
    annual_discount_rate : float, default 0.10
        Yearly rate as a fraction (0.10 = 10 %); cash flows are discounted monthly at
        ``(1 + rate)^(1/12) - 1``.
    covariates : pandas.DataFrame, optional
        For a purchase model fitted with covariates (required then): the customers'
        covariates, one row each in the order of ``frequency``. E[Y(t)] is then the
        model's prediction with each customer's own parameters (Fader & Hardie note 019),
        as ``purchase_model.expected_purchases(t, ..., covariates=)`` gives it.

    Returns
    -------
    numpy.ndarray
        CLV per customer, in the currency of ``monetary_value``.

    Raises
    ------
    CxmlUserError
        On an unknown time unit, a negative or fractional horizon, a rate given in
        percent, or a purchase model fitted with covariates but no ``covariates``.

    Examples
    --------
    >>> import lifetimes.datasets as lds
    >>> from cxml.models import BetaGeoModel, GammaGammaModel
    >>> from cxml.clv import customer_lifetime_value
    >>> s = lds.load_cdnow_summary_data_with_monetary_value()
    >>> bg = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    >>> rb = s[s["frequency"] > 0]
    >>> gg = GammaGammaModel().fit(rb["frequency"], rb["monetary_value"])
    >>> clv = customer_lifetime_value(
    ...     bg,
    ...     gg,
    ...     s["frequency"],
    ...     s["recency"],
    ...     s["T"],
    ...     s["monetary_value"],
    ...     time_unit="W",
    ...     horizon_months=12,
    ... )
    >>> clv.shape
    (2357,)
    """
    unit_per_month, monthly = _check_args(time_unit, horizon_months, annual_discount_rate)
    x, tx, T, m = _prepare(purchase_model, spend_model, frequency, recency, T, monetary_value)
    return _clv_core(
        purchase_model,
        spend_model,
        x,
        tx,
        T,
        m,
        unit_per_month=unit_per_month,
        monthly_rate=monthly,
        horizon_months=int(horizon_months),
        covariates=covariates,
    )


def customer_lifetime_value_interval(
    purchase_model,
    spend_model,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    time_unit="W",
    horizon_months=12,
    annual_discount_rate=0.10,
    level=0.95,
):
    """CLV with a delta-method interval reflecting parameter uncertainty of both models.

    The two models are fitted on separate likelihoods, so their parameter covariances are
    combined block-diagonally; the interval is built on the log scale (positive bounds).

    Parameters
    ----------
    purchase_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted on (frequency, recency, T) measured in ``time_unit``.
    spend_model : GammaGammaModel
        Fitted spend model.
    frequency : array-like
        Repeat purchases of each customer.
    recency : array-like
        Time from first to last purchase, in ``time_unit``.
    T : array-like
        Time from first purchase to the end of observation, in ``time_unit``.
    monetary_value : array-like
        Mean value of the repeat purchases.
    time_unit : {"W", "D"}, default "W"
        Unit of recency and T.
    horizon_months : int, default 12
        Horizon in months of 365.25 / 12 days.
    annual_discount_rate : float, default 0.10
        Yearly rate as a fraction.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    estimate : numpy.ndarray
        CLV per customer (as :func:`customer_lifetime_value`).
    lower : numpy.ndarray
        Lower bound, built on the log scale (always positive).
    upper : numpy.ndarray
        Upper bound.
    """
    unit_per_month, monthly = _check_args(time_unit, horizon_months, annual_discount_rate)
    x, tx, T, m = _prepare(purchase_model, spend_model, frequency, recency, T, monetary_value)
    pp = purchase_model._param_array()
    sp = spend_model._param_array()
    kw = dict(
        unit_per_month=unit_per_month, monthly_rate=monthly, horizon_months=int(horizon_months)
    )

    def f_purchase(p):
        return _clv_core(
            purchase_model, spend_model, x, tx, T, m, purchase_params=p, spend_params=sp, **kw
        )

    def f_spend(p):
        return _clv_core(
            purchase_model, spend_model, x, tx, T, m, purchase_params=pp, spend_params=p, **kw
        )

    est = f_purchase(pp)
    g1 = log_gradient(f_purchase, pp)
    g2 = log_gradient(f_spend, sp)
    var = np.einsum("in,ij,jn->n", g1, purchase_model.log_params_covariance_, g1) + np.einsum(
        "in,ij,jn->n", g2, spend_model.log_params_covariance_, g2
    )
    zq = z_quantile(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum(var, 0.0)) / est
    lower = np.where(est > 0, est * np.exp(-zq * sd), 0.0)
    upper = np.where(est > 0, est * np.exp(zq * sd), 0.0)
    return est, lower, upper
