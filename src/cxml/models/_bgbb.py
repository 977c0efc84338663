"""BG/BB: the beta-geometric / beta-binomial model for discrete-time (non-contractual)
purchase opportunities, Fader, Hardie & Shang (2010), "Customer-Base Analysis in a
Discrete-Time Noncontractual Setting", Marketing Science 29(6), 1086-1108.

At each of n purchase opportunities an alive customer transacts with probability
p ~ Beta(alpha, beta) and, at the start of each period, drops out with probability
theta ~ Beta(gamma, delta). Sufficient statistics: frequency x (transactions),
recency t_x (period of the last one, 0 if none) and n (opportunities).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln

from cxml.exceptions import DataValidationError
from cxml.models._base import BTYDModel, compress_rows
from cxml.models._validation import as_float_array, check_weights

__all__ = ["BetaGeoBetaBinomModel"]


def _check_bgbb(frequency, recency, n_periods):
    x = as_float_array("frequency", frequency)
    tx = as_float_array("recency", recency)
    n = as_float_array("n_periods", n_periods)
    if n.size == 1 and x.size > 1:
        n = np.full(x.size, n[0])
    if not (tx.size == x.size == n.size):
        raise DataValidationError(
            f"frequency, recency and n_periods must have the same length, got {x.size:,}, "
            f"{tx.size:,} and {n.size:,}"
        )
    N = x.size
    for name, arr in (("frequency", x), ("recency", tx), ("n_periods", n)):
        bad = (arr < 0) | (arr != np.round(arr))
        if bad.any():
            raise DataValidationError(
                f"{name} must be whole numbers >= 0; it is not for {bad.sum():,} of {N:,} customers"
            )
    checks = (
        (tx > n, "recency > n_periods"),
        (x > tx, "frequency > recency (each transaction takes one period up to recency)"),
        ((x == 0) & (tx > 0), "recency > 0 with frequency 0"),
    )
    for mask, what in checks:
        if mask.any():
            raise DataValidationError(f"{what} for {mask.sum():,} of {N:,} customers")
    return x, tx, n


class _BGBBData:
    def __init__(self, x, tx, n, w):
        (x, tx, n), w = compress_rows(x, tx, n, weights=w)
        self.x, self.tx, self.n, self.w = x, tx, n, w
        self.W = float(w.sum())
        self.J = int((n - tx).max())  # number of "dropped out after t_x" terms


def _components(params, x, tx, n, J):
    """Log of each likelihood component (column 0: alive through n; column j+1: dropped
    out at the start of period t_x + j + 1) of the BG/BB likelihood of Fader, Hardie &
    Shang (2010): B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta) +
    sum_j B(alpha+x, beta+t_x-x+j)/B(alpha, beta) B(gamma+1, delta+t_x+j)/B(gamma, delta)."""
    a, b, g, d = params
    base = betaln(a, b) + betaln(g, d)
    j = np.arange(J)[None, :]
    comp = np.full((x.size, J + 1), -np.inf)
    comp[:, 0] = betaln(a + x, b + n - x) + betaln(g, d + n) - base
    valid = j < (n - tx)[:, None]
    jt = tx[:, None] + j
    with np.errstate(invalid="ignore"):
        terms = betaln(a + x[:, None], b + jt - x[:, None]) + betaln(g + 1, d + jt) - base
    comp[:, 1:] = np.where(valid, terms, -np.inf)
    return comp


def _bgbb_loglik(params, data: _BGBBData, gradient=True):
    a, b, g, d = params
    x, tx, n, w = data.x, data.tx, data.n, data.w
    comp = _components(params, x, tx, n, data.J)
    mx = comp.max(axis=1, keepdims=True)
    ex = np.exp(comp - mx)
    tot = ex.sum(axis=1)
    ll_rows = mx[:, 0] + np.log(tot)
    ll = float(np.sum(w * ll_rows))
    if not gradient:
        return ll, None
    pi = ex / tot[:, None]  # posterior weight of each component
    j = np.arange(data.J)[None, :]
    jt = tx[:, None] + j
    dab0, dgd0 = digamma(a + b), digamma(g + d)
    # d/d(alpha, beta, gamma, delta) of each component (digamma differences of betaln)
    ga = np.empty_like(comp)
    gb = np.empty_like(comp)
    gg = np.empty_like(comp)
    gd = np.empty_like(comp)
    ga[:, 0] = digamma(a + x) - digamma(a + b + n) - digamma(a) + dab0
    gb[:, 0] = digamma(b + n - x) - digamma(a + b + n) - digamma(b) + dab0
    gg[:, 0] = digamma(g) - digamma(g + d + n) - digamma(g) + dgd0
    gd[:, 0] = digamma(d + n) - digamma(g + d + n) - digamma(d) + dgd0
    ga[:, 1:] = digamma(a + x)[:, None] - digamma(a + b + jt) - digamma(a) + dab0
    gb[:, 1:] = digamma(b + jt - x[:, None]) - digamma(a + b + jt) - digamma(b) + dab0
    gg[:, 1:] = digamma(g + 1) - digamma(g + d + 1 + jt) - digamma(g) + dgd0
    gd[:, 1:] = digamma(d + jt) - digamma(g + d + 1 + jt) - digamma(d) + dgd0
    grad = np.array([np.sum(w * np.nansum(pi * G, axis=1)) for G in (ga, gb, gg, gd)])
    return ll, grad


class BetaGeoBetaBinomModel(BTYDModel):
    """BG/BB model for discrete purchase opportunities (e.g. yearly donations).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters, added to the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``{"alpha", "beta", "gamma", "delta"}``.
    log_likelihood_ : float
    standard_errors_ : dict
    log_params_covariance_ : numpy.ndarray

    Examples
    --------
    >>> import lifetimes.datasets as lds
    >>> from cxml.models import BetaGeoBetaBinomModel
    >>> d = lds.load_donations()
    >>> m = BetaGeoBetaBinomModel().fit(
    ...     d["frequency"], d["recency"], d["periods"], weights=d["weights"]
    ... )
    >>> round(m.params_["alpha"], 3)
    1.204
    """

    _lifetimes_fitter = "BetaGeoBetaBinomFitter"

    _param_names = ("alpha", "beta", "gamma", "delta")
    _model_label = "BG/BB"

    def fit(self, frequency, recency, n_periods, weights=None):
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : array-like of int
            Transactions of each customer.
        recency : array-like of int
            Period of the last transaction (0 if none).
        n_periods : array-like of int
            Number of purchase opportunities observed.
        weights : array-like, optional
            Non-negative weight per row, e.g. the number of customers sharing each
            (x, t_x, n) pattern.

        Returns
        -------
        BetaGeoBetaBinomModel
            ``self``, fitted.
        """
        x, tx, n = _check_bgbb(frequency, recency, n_periods)
        w = check_weights(weights, x.size)
        data = _BGBBData(x, tx, n, w)
        summary = {
            "n_customers": float(w.sum()),
            "total_weight": float(w.sum()),
            "n_distinct_rows": int(data.x.size),
            "frequency_mean": float(np.average(x, weights=w)),
            "n_periods_max": float(n.max()),
        }
        return self._fit_prepared(data, summary)

    def _loglik(self, params, data):
        return _bgbb_loglik(params, data)

    @staticmethod
    def _data_from_lifetimes(df):
        w = df["weights"].to_numpy(float) if "weights" in df else np.ones(len(df))
        x, tx, n = _check_bgbb(df["frequency"], df["recency"], df["n_periods"])
        return _BGBBData(x, tx, n, w)

    def _initial_params(self, data):
        return np.ones(4)

    def _row_loglik(self, x, tx, n):
        params = self._param_array()
        comp = _components(params, x, tx, n, int((n - tx).max()) if x.size else 0)
        mx = comp.max(axis=1, keepdims=True)
        return mx[:, 0] + np.log(np.exp(comp - mx).sum(axis=1))

    def probability_alive(self, frequency, recency, n_periods, m_periods_in_future=0):
        """Probability of being alive at period n + m given (x, t_x, n).

        Eq. (A10) in the appendix of Fader, Hardie & Shang (2010).

        Parameters
        ----------
        frequency : array-like of int
            Transactions of each customer.
        recency : array-like of int
            Period of the last transaction (0 if none).
        n_periods : array-like of int
            Number of purchase opportunities observed.
        m_periods_in_future : int, default 0
            Periods after n at which to evaluate.

        Returns
        -------
        numpy.ndarray
            Probabilities in (0, 1].
        """
        x, tx, n = _check_bgbb(frequency, recency, n_periods)
        a, b, g, d = self._param_array()
        m = float(m_periods_in_future)
        num = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + m) - betaln(g, d)
        return np.exp(num - self._row_loglik(x, tx, n))

    def expected_purchases(self, m_periods_in_future, frequency, recency, n_periods):
        """Expected transactions in the next m periods, given (x, t_x, n).

        Eq. (13) of Fader, Hardie & Shang (2010).

        Parameters
        ----------
        m_periods_in_future : int
            Number of future purchase opportunities.
        frequency : array-like of int
            Transactions of each customer.
        recency : array-like of int
            Period of the last transaction (0 if none).
        n_periods : array-like of int
            Number of purchase opportunities observed.

        Returns
        -------
        numpy.ndarray
            Expected transactions of each customer.
        """
        x, tx, n = _check_bgbb(frequency, recency, n_periods)
        a, b, g, d = self._param_array()
        m = float(m_periods_in_future)
        l2 = betaln(a + x + 1, b + n - x) - betaln(a, b)
        # delta/(gamma-1) and the bracket change sign together at gamma = 1.
        p3 = d / (g - 1.0) * np.exp(gammaln(g + d) - gammaln(1 + d))
        diff = np.exp(gammaln(1 + d + n) - gammaln(g + d + n)) - np.exp(
            gammaln(1 + d + n + m) - gammaln(g + d + n + m)
        )
        return np.exp(l2 - self._row_loglik(x, tx, n)) * p3 * diff
