"""MBG/NBD: the modified BG/NBD of Batislam, Denizel & Filiztekin (2007), "Empirical
validation and comparison of models for customer base analysis", IJRM 24(3), 201-209.

As BG/NBD, except that a customer may also drop out right after her first purchase, so a
customer without repeat purchases is not certainly alive.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaln, expit, gammaln

from cxml.models._base import PurchaseModel
from cxml.models._bgnbd import (
    RFMData,
    bg_expected_purchases_path,
    bgnbd_row_log_likelihood,
    bgnbd_total_log_likelihood,
    nonzero,
)
from cxml.models._hyp2f1 import one_minus_scaled_hyp2f1
from cxml.models._validation import check_horizon, check_rfm, check_weights

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(PurchaseModel):
    """MBG/NBD model of repeat purchasing.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty, lifetimes' ``penalizer_coef`` convention (see :class:`BetaGeoModel`).
    purchase_covariates, dropout_covariates : list of str, optional
        Static covariates of the purchase (alpha) and dropout (a, b) processes, in BG/NBD's
        form (see :class:`BetaGeoModel`).

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``.
    log_likelihood_ : float
    standard_errors_ : dict
    log_params_covariance_ : numpy.ndarray
    params_at_bound_ : tuple of str
    data_summary_ : dict

    Examples
    --------
    >>> import lifetimes.datasets as lds
    >>> from cxml.models import ModifiedBetaGeoModel
    >>> s = lds.load_cdnow_summary()
    >>> m = ModifiedBetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    >>> round(m.params_["r"], 3)
    0.525
    """

    _lifetimes_fitter = "ModifiedBetaGeoFitter"
    _data_class = RFMData

    @staticmethod
    def _expected(params, t, x, tx, T):
        return _mbg_expected(params, t, x, tx, T)

    _param_names = ("r", "alpha", "a", "b")
    _model_label = "MBG/NBD"

    _covariate_params = {"alpha": ("purchase", -1.0), "a": ("dropout", 1.0), "b": ("dropout", 1.0)}

    def fit(self, frequency, recency, T, weights=None, covariates=None):
        """Fit by maximum likelihood.

        The likelihood is BG/NBD's eq. (6) of Fader, Hardie & Lee (2005) with the MBG/NBD
        shift b + x - 1 -> b + x and no delta_{x>0} (Batislam et al. 2007).

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
        covariates : pandas.DataFrame, optional
            One row per customer with the covariate columns (see :class:`BetaGeoModel`).

        Returns
        -------
        ModifiedBetaGeoModel
            ``self``, fitted.

        Raises
        ------
        DataValidationError, ConvergenceError
        """
        x, tx, T = check_rfm(frequency, recency, T)
        w = check_weights(weights, x.size)
        return self._fit_rfm(x, tx, T, w, covariates, index=getattr(frequency, "index", None))

    def _loglik(self, params, data):
        return bgnbd_total_log_likelihood(params, data, modified=True)

    def _row_kernel(self, P, data):
        return bgnbd_row_log_likelihood(P, data, modified=True)

    def _row_hessian(self, P, data):
        return bgnbd_row_log_likelihood(P, data, modified=True, hessian=True)

    @staticmethod
    def _expected_purchases_path(params, ts, x, tx, T, coefs=None):
        return _mbg_path(params, ts, x, tx, T, coefs)

    def _initial_params(self, d):
        rate = max(float(np.sum(d.w * d.x)) / max(float(np.sum(d.w * d.T)), 1e-12), 1e-6)
        return np.array([1.0, 1.0 / rate, 1.0, 1.0])

    def probability_alive(self, frequency, recency, T, covariates=None):
        """Probability that each customer is still alive at T.

        P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)): eq. (2) of Fader,
        Hardie & Lee's 2008 BG/NBD P(alive) note with the MBG/NBD shift b + x - 1 -> b + x
        and no delta_{x>0} (Batislam et al. 2007).

        Parameters
        ----------
        frequency : array-like
            Repeat purchases of each customer.
        recency : array-like
            Time from first to last purchase, in the unit of the fit.
        T : array-like
            Time from first purchase to the end of observation, same unit.
        covariates : pandas.DataFrame, optional
            The customers' covariates, for a model fitted with covariates.

        Returns
        -------
        numpy.ndarray
            Probabilities in (0, 1).
        """
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        params = self._params_for(covariates, x.size, getattr(frequency, "index", None))
        return _mbg_p_alive(params, x, tx, T)

    def expected_purchases(self, t, frequency, recency, T, covariates=None):
        """Conditional expected number of repeat purchases in (T, T + t].

        Eq. (10) of Fader, Hardie & Lee (2005) with the MBG/NBD shift: a + b + x - 1 ->
        a + b + x, b + x -> b + x + 1 (Batislam et al. 2007).

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
        covariates : pandas.DataFrame, optional
            The customers' covariates, for a model fitted with covariates.

        Returns
        -------
        numpy.ndarray
            Expected purchases of each customer.
        """
        t = check_horizon("t", t)
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        p = self._params_for(covariates, x.size, getattr(frequency, "index", None))
        if np.ndim(t) == 0:
            return _mbg_path(p, np.atleast_1d(t), x, tx, T)[0]
        return _mbg_expected(p, t, x, tx, T)

    def population_expected_purchases(self, t, covariates=None):
        """Expected repeat purchases E[X(t)] in (0, t] of a new customer.

        Eq. (9) of Fader, Hardie & Lee (2005) with the MBG/NBD shift:
        b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))].

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the unit of the fit.
        covariates : pandas.DataFrame, optional
            The customers' covariates, for a model fitted with covariates.

        Returns
        -------
        numpy.ndarray
            E[X(t)] for each ``t``.
        """
        t = check_horizon("t", t)
        n_cov = 0 if covariates is None else len(covariates)
        r, alpha, a, b = self._params_for(covariates, n_cov)
        q = one_minus_scaled_hyp2f1(r, a - 1.0, a + b, t / (alpha + t))
        return np.asarray(b / (a - 1.0) * q)

    def probability_of_purchases(self, t, n, covariates=None):
        """Probability P(X(t) = n) of exactly n repeat purchases in (0, t].

        Eq. (8) of Fader, Hardie & Lee (2005) with the MBG/NBD shift (B(a, b+n) ->
        B(a, b+n+1), B(a+1, b+n-1) -> B(a+1, b+n), second term also at n = 0), for a new
        customer; the negative-binomial tail is a regularized incomplete beta function.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the unit of the fit.
        n : int or array-like of int
            Number of repeat purchases.
        covariates : pandas.DataFrame, optional
            The customers' covariates, for a model fitted with covariates.

        Returns
        -------
        numpy.ndarray
            The probabilities, broadcast over ``t`` and ``n``.
        """
        t = check_horizon("t", t)
        n = np.asarray(n, dtype=float)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError(f"n must be non-negative whole numbers, got {n!r}")
        n_cov = 0 if covariates is None else len(covariates)
        r, alpha, a, b = self._params_for(covariates, n_cov)
        lq = np.log(alpha) - np.log(alpha + t)
        with np.errstate(divide="ignore"):
            lpt = np.log(t) - np.log(alpha + t)
            first = np.exp(
                betaln(a, b + n + 1)
                - betaln(a, b)
                + gammaln(r + n)
                - gammaln(r)
                - gammaln(n + 1)
                + r * lq
                + np.where(n > 0, n * lpt, 0.0)
            )
        tail = np.where(n > 0, betainc(np.maximum(n, 1), r, t / (alpha + t)), 1.0)
        second = np.exp(betaln(a + 1, b + n) - betaln(a, b)) * tail
        return np.asarray(first + second)


def _mbg_p_alive(params, x, tx, T):
    r, alpha, a, b = params
    log_div = (r + x) * (np.log(alpha + T) - np.log(alpha + tx)) + np.log(a) - np.log(b + x)
    return expit(-log_div)


def _mbg_expected(params, t, x, tx, T):
    r, alpha, a, b = params
    t, x, tx, T = np.broadcast_arrays(t, x, tx, T)
    c = nonzero(a + b + x)
    q = one_minus_scaled_hyp2f1(r + x, a - 1.0, c, t / (alpha + T + t))
    return c / (a - 1.0) * q * _mbg_p_alive(params, x, tx, T)


def _mbg_path(params, ts, x, tx, T, coefs=None):
    return bg_expected_purchases_path(params, ts, x, tx, T, coefs, _mbg_p_alive, shift=0.0)
