"""Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma Model
of Monetary Value", http://www.brucehardie.com/notes/025/; Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers.
Only repeat transactions enter: x is the number of repeat purchases and m their mean value.
The model assumes spend is independent of the purchase process.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.special import digamma, gammaln

from cxml.exceptions import DataValidationError
from cxml.models._base import BTYDModel, compress_rows, dot, unique_inverse
from cxml.models._validation import as_float_array, check_weights

__all__ = ["GammaGammaModel", "gamma_gamma_expected_value"]

logger = logging.getLogger(__name__)

# |Pearson r| between frequency and monetary value above which we warn.
_CORRELATION_WARN = 0.3


class _SpendData:
    """Compressed (x, m, w) with the x-only sums precomputed: the special functions of
    the likelihood depend on x alone and are evaluated once per distinct frequency."""

    def __init__(self, x, m, w):
        (x, m), w = compress_rows(x, m, weights=w)
        self.x, self.m, self.w = x, m, w
        self.W = float(w.sum())
        self.ux, xi = unique_inverse(x)
        self.wx = np.bincount(xi, weights=w, minlength=self.ux.size)
        logm, logx = np.log(m), np.log(x)
        self.wxv = w * x
        self.s_logm = dot(w, logm)
        self.s_xlogm = dot(self.wxv, logm)
        self.s_xlogx = dot(self.wxv, logx)
        self._buf = None

    def buffer(self):
        if self._buf is None:
            self._buf = np.empty(self.x.size)
        return self._buf

    def subsample(self, n_rows):
        if self.x.size <= n_rows:
            return None
        idx = np.random.default_rng(0).choice(self.x.size, n_rows, replace=False)
        return type(self)(self.x[idx], self.m[idx], self.w[idx])


def _check_spend(frequency, monetary_value, *, for_fit: bool):
    x = as_float_array("frequency", frequency)
    m = as_float_array("monetary_value", monetary_value)
    n = x.size
    if m.size != n:
        raise DataValidationError(
            f"frequency and monetary_value must have the same length, got {n:,} and {m.size:,}"
        )
    if n == 0 and for_fit:
        raise DataValidationError("no customers given (frequency is empty)")
    neg = x < 0
    if neg.any():
        raise DataValidationError(f"frequency is negative for {neg.sum():,} of {n:,} customers")
    if for_fit:
        zero = x == 0
        if zero.any():
            raise DataValidationError(
                f"GammaGammaModel.fit needs repeat buyers only: frequency is 0 for "
                f"{zero.sum():,} of {n:,} customers. Fit on customers with frequency > 0 "
                "(e.g. rfm[rfm['frequency'] > 0]); predictions for the others use the "
                "population mean."
            )
        nonpos = m <= 0
        if nonpos.any():
            raise DataValidationError(
                f"monetary_value must be > 0 for repeat buyers; it is <= 0 for "
                f"{nonpos.sum():,} of {n:,} customers. Drop them or net refunds differently."
            )
    else:
        bad = (x > 0) & (m < 0)
        if bad.any():
            raise DataValidationError(
                f"monetary_value is negative for {bad.sum():,} of {n:,} repeat buyers"
            )
    return x, m


def _gg_loglik(params, d: _SpendData, gradient: bool = True):
    """Weighted total log-likelihood, eq. (1a) of the note, and its gradient in (p, q, v).

    l_i = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(v+xm)

    Only ln(v + x m) varies per row; every other term is a per-x special function or a
    precomputed sum.
    """
    p, q, v = params
    ux, wx, W = d.ux, d.wx, d.W
    pu = p * ux
    L = d.buffer()
    np.multiply(d.x, d.m, out=L)
    L += v
    np.log(L, out=L)  # ln(v + x m)
    s_L = dot(d.w, L)
    s_xL = dot(d.wxv, L)
    ll = (
        dot(wx, gammaln(pu + q) - gammaln(pu))
        - W * gammaln(q)
        + W * q * np.log(v)
        + p * d.s_xlogm
        - d.s_logm
        + p * d.s_xlogx
        - p * s_xL
        - q * s_L
    )
    if not gradient:
        return float(ll), None
    dpsi = digamma(pu + q)
    g_p = dot(wx * ux, dpsi - digamma(pu)) + d.s_xlogm + d.s_xlogx - s_xL
    g_q = dot(wx, dpsi) - W * digamma(q) + W * np.log(v) - s_L
    R = L
    np.multiply(d.x, d.m, out=R)
    R += v
    np.reciprocal(R, out=R)  # 1 / (v + x m)
    g_v = W * q / v - p * dot(d.wxv, R) - q * dot(d.w, R)
    return float(ll), np.array([g_p, g_q, g_v])


class GammaGammaModel(BTYDModel):
    """Gamma-Gamma model of average transaction value.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on (p, q, v) added to the mean negative log-likelihood (lifetimes'
        ``penalizer_coef`` convention).

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "v"}``.
    log_likelihood_ : float
        Total (weighted) log-likelihood.
    standard_errors_ : dict
    log_params_covariance_ : numpy.ndarray
    frequency_monetary_correlation_ : float
        Pearson correlation of frequency and monetary value in the training data (the
        model assumes it is near 0).

    Examples
    --------
    >>> import lifetimes.datasets as lds
    >>> from cxml.models import GammaGammaModel
    >>> s = lds.load_cdnow_summary_data_with_monetary_value()
    >>> s = s[s["frequency"] > 0]
    >>> g = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    >>> round(g.params_["p"], 3)
    6.249
    """

    _lifetimes_fitter = "GammaGammaFitter"

    _param_names = ("p", "q", "v")
    _model_label = "Gamma-Gamma"
    _convergence_hint = (
        "check that monetary_value is the mean of the repeat purchases (not a total) and "
        "drop extreme outliers."
    )

    def fit(self, frequency, monetary_value, weights=None):
        """Fit by maximum likelihood on repeat buyers.

        Parameters
        ----------
        frequency : array-like
            Repeat purchases (all must be > 0).
        monetary_value : array-like
            Mean value of the repeat purchases (> 0).
        weights : array-like, optional
            Non-negative weight per customer.

        Returns
        -------
        GammaGammaModel
            ``self``, fitted.

        Raises
        ------
        DataValidationError
            On frequency-0 customers or non-positive monetary values.
        ConvergenceError
            When the optimiser fails.

        Warns
        -----
        UserWarning
            When |corr(frequency, monetary_value)| > 0.3: the model's independence
            assumption is doubtful.
        """
        x, m = _check_spend(frequency, monetary_value, for_fit=True)
        w = check_weights(weights, x.size)
        corr = _weighted_corr(x, m, w)
        self.frequency_monetary_correlation_ = corr
        if np.isfinite(corr) and abs(corr) > _CORRELATION_WARN:
            # logged, as every BTYD fit diagnostic is (the CLI shows it as one line)
            logger.warning(
                "Gamma-Gamma: frequency and monetary_value are correlated (Pearson r = %.2f); "
                "the model assumes they are independent, so its spend predictions may be "
                "biased.",
                corr,
            )
        data = _SpendData(x, m, w)
        summary = {
            "n_customers": int(x.size),
            "total_weight": float(w.sum()),
            "n_distinct_rows": int(data.x.size),
            "frequency_mean": float(np.average(x, weights=w)),
            "monetary_value_mean": float(np.average(m, weights=w)),
            "frequency_monetary_correlation": float(corr) if np.isfinite(corr) else None,
        }
        self._fit_prepared(data, summary)
        if self.params_["q"] <= 1:
            logger.warning(
                "Gamma-Gamma q = %.3g <= 1: the population mean spend p*v/(q-1) is undefined, "
                "so expected values of new customers are infinite. Refit with a penalty, e.g. "
                "GammaGammaModel(penalizer=0.01).",
                self.params_["q"],
            )
        return self

    def _loglik(self, params, data):
        return _gg_loglik(params, data)

    @staticmethod
    def _data_from_lifetimes(df):
        w = df["weights"].to_numpy(float) if "weights" in df else np.ones(len(df))
        x, m = _check_spend(df["frequency"], df["monetary_value"], for_fit=True)
        return _SpendData(x, m, w)

    def _initial_params(self, d):
        # p ~ 1 and a population mean near the observed one: p*v/(q-1) = mean(m).
        mean_m = float(np.average(d.m, weights=d.w))
        return np.array([1.0, 2.0, max(mean_m, 1e-6)])

    def expected_average_value(self, frequency, monetary_value):
        """E[M | x, m]: expected mean transaction value, eq. (5) of the note.

        A credibility-weighted mix of the customer's mean ``m`` and the population mean
        ``p*v/(q-1)``; customers with ``frequency == 0`` get the population mean.

        Parameters
        ----------
        frequency : array-like
            Repeat purchases of each customer.
        monetary_value : array-like
            Mean value of the repeat purchases (ignored when frequency is 0).

        Returns
        -------
        numpy.ndarray
            Expected mean value per transaction of each customer.
        """
        x, m = _check_spend(frequency, monetary_value, for_fit=False)
        return gamma_gamma_expected_value(self._param_array(), x, m)

    def expected_average_value_interval(self, frequency, monetary_value, *, level=0.95):
        """Expected average value with a delta-method interval.

        Parameters
        ----------
        frequency : array-like
            Repeat purchases of each customer.
        monetary_value : array-like
            Mean value of the repeat purchases.
        level : float, default 0.95
            Coverage of the interval.

        Returns
        -------
        estimate : numpy.ndarray
            Point prediction.
        lower : numpy.ndarray
            Lower bound, built on the log scale (always positive).
        upper : numpy.ndarray
            Upper bound.
        """
        x, m = _check_spend(frequency, monetary_value, for_fit=False)
        return self._delta_interval(lambda p: gamma_gamma_expected_value(p, x, m), level)

    def population_mean(self) -> float:
        """Mean spend per transaction of the population, ``p*v/(q-1)``.

        Returns
        -------
        float
            The mean, or inf when q <= 1.
        """
        p, q, v = self._param_array()
        return float(p * v / (q - 1.0)) if q > 1 else float("inf")


def gamma_gamma_expected_value(params, x, m):
    """E[M | x, m] = p (v + x m) / (p x + q - 1), eq. (5) of Fader & Hardie's note 025.

    Parameters
    ----------
    params : sequence of float
        ``(p, q, v)``.
    x, m : numpy.ndarray
        Validated frequency and mean repeat-purchase value (``m`` is ignored where
        ``x == 0``, which gives the population mean ``p v / (q - 1)``).

    Returns
    -------
    numpy.ndarray
        Expected mean transaction value of each customer.
    """
    p, q, v = params
    m = np.where(x > 0, m, 0.0)
    return p * (v + x * m) / (p * x + q - 1.0)


def _weighted_corr(x, m, w):
    if x.size < 3:
        return float("nan")
    mx, mm = np.average(x, weights=w), np.average(m, weights=w)
    cxm = np.average((x - mx) * (m - mm), weights=w)
    vx = np.average((x - mx) ** 2, weights=w)
    vm = np.average((m - mm) ** 2, weights=w)
    if vx <= 0 or vm <= 0:
        return float("nan")
    return float(cxm / np.sqrt(vx * vm))
