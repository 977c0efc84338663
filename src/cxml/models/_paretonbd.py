"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), with the likelihood, P(alive) and
conditional expectation of Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model
and Related Expressions", http://brucehardie.com/notes/009/.

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); her lifetime is
exponential with rate mu ~ Gamma(s, beta).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from cxml.models._base import BTYDModel, _dot, compress_rows
from cxml.models._bgnbd import _from_lifetimes, _summary, _to_lifetimes
from cxml.models._validation import check_horizon, check_rfm, check_weights

__all__ = ["ParetoNBDModel"]


class _ParetoData:
    def __init__(self, x, tx, T, w):
        (x, tx, T), w = compress_rows(x, tx, T, weights=w)
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.W = float(w.sum())
        # lifetimes penalises alpha and beta in time rescaled to max(T) = 1.
        sc = 1.0 / max(float(T.max()), 1e-12)
        self.penalty_scale = np.array([1.0, sc, 1.0, sc])

    def subsample(self, n_rows):
        if self.x.size <= n_rows:
            return None
        idx = np.random.default_rng(0).choice(self.x.size, n_rows, replace=False)
        return type(self)(self.x[idx], self.tx[idx], self.T[idx], self.w[idx])


def _log_A0(params, x, tx, T):
    """ln A_0 of eqs. (19)-(20) of the note:

    A_0 = [2F1(r+s+x, t'; r+s+x+1; |alpha-beta|/(m+t_x)) / (m+t_x)^(r+s+x)
           - 2F1(..., |alpha-beta|/(m+T)) / (m+T)^(r+s+x)],   m = max(alpha, beta),

    with t' = r+x if alpha < beta else s+1. Euler's transformation
    2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z) keeps the series parameters
    small; the difference is taken in log space.
    """
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha < beta:
        m, tp = beta, r + x
    else:
        m, tp = alpha, s + 1.0
    d = abs(alpha - beta)

    def log_term(age):
        z = d / (m + age)
        F = _hyp2f1_one(rsx + 1.0 - tp, rsx + 1.0, z)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (1.0 - tp) * np.log1p(-z) + np.log(F) - rsx * np.log(m + age)

    l1 = log_term(tx)
    l2 = log_term(T)
    with np.errstate(divide="ignore"):
        # l2 <= l1 (the bracket is an integral over (t_x, T)); equal when t_x = T.
        return l1 + np.log(-np.expm1(np.minimum(l2 - l1, 0.0)))


def _hyp2f1_one(b, c, z):
    """2F1(1, b; c; z) = sum_k (b)_k / (c)_k z^k for b, c > 0 and 0 <= z < 1 (>= 1).

    scipy returns NaN for some integer (b, c) with z near 1 (c - 1 - b = 0, a degenerate
    branch of its transformation); those rare entries are summed directly (all terms are
    positive, so the sum is accurate).
    """
    b, c, z = np.broadcast_arrays(np.asarray(b, float), np.asarray(c, float),
                                  np.asarray(z, float))
    with np.errstate(all="ignore"):
        F = np.array(hyp2f1(1.0, b, c, z), dtype=float, ndmin=1)
        bad = ~(np.isfinite(F) & (F >= 1.0 - 1e-12))
    for i in np.flatnonzero(bad):
        term, total, k = 1.0, 1.0, 0
        while k < 1_000_000:
            term *= (b.flat[i] + k) / (c.flat[i] + k) * z.flat[i]
            total += term
            k += 1
            if term < 1e-17 * total:
                break
        F[i] = total
    return F.reshape(b.shape)


def _pareto_rows(params, x, tx, T):
    """Per-customer log-likelihood, eq. (22) of the note."""
    r, alpha, s, beta = params
    A1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    lA0 = _log_A0(params, x, tx, T)
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    second = np.log(s) + lA0 - np.log(r + s + x)
    return A1 + np.logaddexp(first, second)


def _pareto_loglik(params, d: _ParetoData, gradient: bool = True):
    """Weighted total log-likelihood and its gradient.

    The 2F1 in A_0 depends on r and s through its parameters, whose derivatives have no
    closed form; the gradient is taken by central differences in the log-parameters (four
    extra vectorised passes), which is accurate to ~1e-9 relative here.
    """
    ll = _dot(d.w, _pareto_rows(params, d.x, d.tx, d.T))
    if not gradient:
        return ll, None
    g = np.empty(4)
    h = 1e-6
    for j in range(4):
        up, dn = params.copy(), params.copy()
        up[j] *= np.exp(h)
        dn[j] *= np.exp(-h)
        lu = _dot(d.w, _pareto_rows(up, d.x, d.tx, d.T))
        ld = _dot(d.w, _pareto_rows(dn, d.x, d.tx, d.T))
        g[j] = (lu - ld) / (2 * h) / params[j]  # d/dtheta = (d/dlog theta) / theta
    return ll, g


class ParetoNBDModel(BTYDModel):
    """Pareto/NBD model of repeat purchasing.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty, lifetimes' ``penalizer_coef`` convention (alpha and beta in time
        rescaled to max(T) = 1).

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}``.
    log_likelihood_ : float
    standard_errors_ : dict
    log_params_covariance_ : numpy.ndarray
    params_at_bound_ : tuple of str
    data_summary_ : dict

    Examples
    --------
    >>> import lifetimes.datasets as lds
    >>> from cxml.models import ParetoNBDModel
    >>> s = lds.load_cdnow_summary()
    >>> m = ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])
    >>> round(m.params_["r"], 3)
    0.553
    """

    _param_names = ("r", "alpha", "s", "beta")
    _model_label = "Pareto/NBD"

    def fit(self, frequency, recency, T, weights=None):
        """Fit by maximum likelihood (L-BFGS-B on log-parameters).

        Parameters
        ----------
        frequency : array-like
            Repeat purchases of each customer.
        recency : array-like
            Time from first to last purchase, in the unit of the fit.
        T : array-like
            Time from first purchase to the end of observation, same unit.
        weights : array-like, optional
            Non-negative weight per customer.

        Returns
        -------
        ParetoNBDModel
            ``self``, fitted.

        Raises
        ------
        DataValidationError, ConvergenceError
        """
        x, tx, T = check_rfm(frequency, recency, T)
        w = check_weights(weights, x.size)
        data = _ParetoData(x, tx, T, w)
        return self._fit_prepared(data, data.W, _summary(x, tx, T, w, data.x.size))

    def _loglik(self, params, data):
        return _pareto_loglik(params, data)

    @staticmethod
    def _data_from_lifetimes(df):
        w = df["weights"].to_numpy(float) if "weights" in df else np.ones(len(df))
        x, tx, T = check_rfm(df["frequency"], df["recency"], df["T"])
        return _ParetoData(x, tx, T, w)

    def _initial_params(self, d):
        rate = max(float(np.sum(d.w * d.x)) / max(float(np.sum(d.w * d.T)), 1e-12), 1e-6)
        Tm = float(np.average(d.T, weights=d.w))
        return np.array([1.0, 1.0 / rate, 1.0, max(Tm, 1e-3)])

    @staticmethod
    def _expected_purchases_path(params, ts, x, tx, T, coefs=None):
        pa = _pareto_p_alive(params, x, tx, T)
        if coefs is not None:
            acc = np.zeros(x.size)
            for cj, t in zip(coefs, ts):
                acc += cj * _pareto_alive_expected(params, t, x, T)
            return acc * pa
        return np.stack([_pareto_alive_expected(params, t, x, T) * pa for t in ts])

    def probability_alive(self, frequency, recency, T):
        """Probability that each customer is still alive at T.

        Eq. (18) of Fader & Hardie's 2005 Pareto/NBD note.

        Parameters
        ----------
        frequency : array-like
            Repeat purchases of each customer.
        recency : array-like
            Time from first to last purchase, in the unit of the fit.
        T : array-like
            Time from first purchase to the end of observation, same unit.

        Returns
        -------
        numpy.ndarray
            Probabilities in (0, 1].
        """
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        return _pareto_p_alive(self._param_array(), x, tx, T)

    def expected_purchases(self, t, frequency, recency, T):
        """Conditional expected number of repeat purchases in (T, T + t].

        Eq. (41) of Fader & Hardie's 2005 Pareto/NBD note.

        Parameters
        ----------
        t : float or array-like
            Horizon, in the time unit of ``recency`` and ``T``.
        frequency : array-like
            Repeat purchases of each customer.
        recency : array-like
            Time from first to last purchase, in the unit of the fit.
        T : array-like
            Time from first purchase to the end of observation, same unit.

        Returns
        -------
        numpy.ndarray
            Expected purchases of each customer.
        """
        t = check_horizon("t", t)
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        return _pareto_expected(self._param_array(), t, x, tx, T)

    def expected_purchases_interval(self, t, frequency, recency, T, *, level=0.95):
        """Expected purchases with a delta-method interval.

        Parameters
        ----------
        t : float or array-like
            Horizon, in the time unit of ``recency`` and ``T``.
        frequency : array-like
            Repeat purchases of each customer.
        recency : array-like
            Time from first to last purchase, in the unit of the fit.
        T : array-like
            Time from first purchase to the end of observation, same unit.
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
        t = check_horizon("t", t)
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        return self._delta_interval(lambda p: _pareto_expected(p, t, x, tx, T), level)

    def population_expected_purchases(self, t):
        """Expected repeat purchases E[X(t)] in (0, t] of a new customer.

        E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)], eq. (17) of the note.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the unit of the fit.

        Returns
        -------
        numpy.ndarray
            E[X(t)] for each ``t``.
        """
        t = check_horizon("t", t)
        r, alpha, s, beta = self._param_array()
        return np.asarray(r * beta / alpha * _one_minus_pow_over(s - 1.0, beta / (beta + t)))

    @classmethod
    def from_lifetimes(cls, fitter):
        """Build a fitted model from a fitted ``lifetimes.ParetoNBDFitter``.

        Parameters
        ----------
        fitter : lifetimes.ParetoNBDFitter
            A fitted lifetimes model.

        Returns
        -------
        ParetoNBDModel
            A fitted cxml model with the same parameters.
        """
        return _from_lifetimes(cls, fitter)

    def to_lifetimes(self):
        """Return a ``lifetimes.ParetoNBDFitter`` carrying these parameters.

        Returns
        -------
        lifetimes.ParetoNBDFitter
            Usable with lifetimes' plots and helpers.
        """
        from lifetimes import ParetoNBDFitter

        return _to_lifetimes(self, ParetoNBDFitter)


def _one_minus_pow_over(k, y):
    """(1 - y^k) / k, with its limit -ln(y) at k = 0."""
    ly = np.log(y)
    if abs(k) < 1e-12:
        return -ly
    return -np.expm1(k * ly) / k


def _pareto_p_alive(params, x, tx, T):
    r, alpha, s, beta = params
    lA0 = _log_A0(params, x, tx, T)
    z = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
         + lA0)
    return expit(-z)


def _pareto_alive_expected(params, t, x, T):
    """E[Y(t) | alive at T] = (r+x)(beta+T) / (alpha+T) * (1 - ((beta+T)/(beta+T+t))^(s-1))
    / (s-1)."""
    r, alpha, s, beta = params
    return ((r + x) * (beta + T) / (alpha + T)
            * _one_minus_pow_over(s - 1.0, (beta + T) / (beta + T + t)))


def _pareto_expected(params, t, x, tx, T):
    t, x, tx, T = np.broadcast_arrays(t, x, tx, T)
    return _pareto_alive_expected(params, t, x, T) * _pareto_p_alive(params, x, tx, T)
