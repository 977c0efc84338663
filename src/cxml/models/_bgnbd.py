"""BG/NBD: the beta-geometric / negative-binomial model of Fader, Hardie & Lee (2005),
"Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
Marketing Science 24(2), 275-284.

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each repeat
purchase she drops out with probability p ~ Beta(a, b). The sufficient statistics are
frequency x (repeat purchases), recency t_x (time of the last purchase) and age T, all
measured from the first purchase in one time unit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaln, digamma, expit, gammaln, polygamma

from cxml.models._base import (
    PurchaseModel,
    compress_rows,
    dot,
    first_index,
    row_codes,
    unique_inverse,
)
from cxml.models._hyp2f1 import one_minus_scaled_hyp2f1
from cxml.models._validation import check_horizon, check_rfm, check_weights

# The BG/NBD kernels below serve MBG/NBD too (a shift of b + x by one), hence the public
# names beyond the estimator.
__all__ = [
    "BetaGeoModel",
    "RFMData",
    "bg_expected_purchases_path",
    "bgnbd_log_likelihood",
    "bgnbd_row_log_likelihood",
    "bgnbd_total_log_likelihood",
    "nonzero",
]


class RFMData:
    """Compressed (x, t_x, T, w) with the distinct frequencies pre-indexed, so terms that
    depend on x only (gammaln, digamma) are evaluated once per distinct x.

    The prepared data of BG/NBD and MBG/NBD fits.

    Parameters
    ----------
    x, tx, T : numpy.ndarray
        Validated frequency, recency and T.
    w : numpy.ndarray
        Weight of each customer.
    """

    def __init__(self, x, tx, T, w):
        (x, tx, T), w = compress_rows(x, tx, T, weights=w)
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.ux, self.xi = unique_inverse(x)
        self.wx = np.bincount(self.xi, weights=w, minlength=self.ux.size)
        self.pos = x > 0
        self.W = float(w.sum())
        # lifetimes' _scale_time: alpha is penalised as alpha / max(T).
        self.penalty_scale = np.array([1.0, 1.0 / max(float(T.max()), 1e-12), 1.0, 1.0])
        self.unit_weights = bool(np.all(w == 1.0))
        self._buffers = None

    def buffers(self, k):
        """k scratch arrays of the data's length, allocated once per fit."""
        if self._buffers is None or len(self._buffers) < k:
            self._buffers = [np.empty(self.x.size) for _ in range(k)]
        return self._buffers[:k]

    def subsample(self, n_rows):
        """Weighted subsample of ``n_rows`` rows (None if the data are small)."""
        if self.x.size <= n_rows:
            return None
        idx = np.random.default_rng(0).choice(self.x.size, n_rows, replace=False)
        return type(self)(self.x[idx], self.tx[idx], self.T[idx], self.w[idx])


def bgnbd_total_log_likelihood(params, d: RFMData, gradient: bool = True, modified: bool = False):
    """Weighted total log-likelihood, eq. (6) of FHL (2005), and its gradient with respect
    to (r, alpha, a, b).

    ll_i = A1 + A2 + A3 + log(1 + delta_{x>0} exp(A4 - A3)) with
    A1 = lnG(r+x) - lnG(r) + r ln(alpha),  A2 = lnB(a, b+x) - lnB(a, b),
    A3 = -(r+x) ln(alpha+T),  A4 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x).

    ``modified=True`` gives MBG/NBD (Batislam, Denizel & Filiztekin 2007): the
    customer may also drop out right after the first purchase, which shifts b + x by one
    (A2 = lnB(a, b+x+1) - lnB(a, b), A4 = ln a - ln(b+x) - ...) and removes delta_{x>0}.
    """
    r, alpha, a, b = params
    ux, xi, wx, w = d.ux, d.xi, d.wx, d.w
    sh = 1.0 if modified else 0.0
    # Terms depending on x only.
    c_x = (
        gammaln(r + ux)
        - gammaln(r)
        + gammaln(a + b)
        + gammaln(b + ux + sh)
        - gammaln(b)
        - gammaln(a + b + ux + sh)
    )
    with np.errstate(divide="ignore"):
        # ln a - ln(b+x-1); -inf for x = 0, where the "dropped out" branch is impossible.
        if modified:
            k_x = np.log(a) - np.log(b + ux)
        else:
            k_x = np.where(ux > 0, np.log(a) - np.log(b + np.maximum(ux, 1.0) - 1.0), -np.inf)
    # Row-wise part, written into preallocated buffers: with millions of rows, fresh
    # temporaries (page faults) cost as much as the arithmetic.
    rx, lT, D, dlt, e, tmp = d.buffers(6)
    np.add(d.x, r, out=rx)
    np.add(d.T, alpha, out=lT)
    np.log(lT, out=lT)
    np.add(d.tx, alpha, out=D)
    np.log(D, out=D)
    np.subtract(lT, D, out=D)  # D = ln((alpha+T)/(alpha+t_x)) >= 0
    np.multiply(rx, D, out=dlt)
    np.take(k_x, xi, out=tmp)
    dlt += tmp  # A4 - A3
    # softplus(dlt) = max(dlt, 0) + log1p(exp(-|dlt|)); exp clipped at e^-60 to stay out of
    # the (slow) subnormal range, a change below 1e-26 per customer.
    np.abs(dlt, out=e)
    np.negative(e, out=e)
    np.maximum(e, -60.0, out=e)
    np.exp(e, out=e)
    np.log1p(e, out=tmp)
    # ll rows = softplus(dlt) - (r+x) ln(alpha+T); sum the three parts separately.
    ll = float(
        dot(wx, c_x)
        + d.W * r * np.log(alpha)
        + dot(w, tmp)
        + dot(w, np.maximum(dlt, 0.0, out=tmp))
        - dot(w, np.multiply(rx, lT, out=tmp))
    )
    if not gradient:
        return ll, None
    # p2 = expit(dlt): posterior weight of the "dropped out after t_x" branch.
    # With q = e / (1 + e) = expit(-|dlt|): p2 = 0.5 + sign(dlt) (0.5 - q).
    np.add(e, 1.0, out=tmp)
    np.divide(e, tmp, out=e)  # q
    np.subtract(0.5, e, out=e)
    np.copysign(e, dlt, out=e)
    e += 0.5
    p2 = e
    wp2 = p2 if d.unit_weights else np.multiply(w, p2, out=dlt)
    wp2_x = np.bincount(xi, weights=wp2, minlength=ux.size)
    g_r = (
        dot(wx, digamma(r + ux)) - d.W * digamma(r) + d.W * np.log(alpha) - dot(w, lT) + dot(wp2, D)
    )
    # d/dalpha: -(r+x)[(1-p2)/(alpha+T) + p2/(alpha+t_x)]
    inv_T = np.add(d.T, alpha, out=lT)
    np.reciprocal(inv_T, out=inv_T)
    inv_tx = np.add(d.tx, alpha, out=D)
    np.reciprocal(inv_tx, out=inv_tx)
    inv_tx -= inv_T
    inv_tx *= p2
    inv_tx += inv_T
    inv_tx *= rx
    g_alpha = d.W * r / alpha - dot(w, inv_tx)
    wp2_sum = float(wp2_x.sum())
    dab = digamma(a + b) - digamma(a + b + ux + sh)
    g_a = dot(wx, dab) + wp2_sum / a
    g_b = dot(wx, dab + digamma(b + ux + sh) - digamma(b)) - dot(
        wp2_x, 1.0 / (b + np.maximum(ux, 1.0 - sh) - 1.0 + sh)
    )
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def bgnbd_row_log_likelihood(P, d, modified: bool = False, hessian: bool = False):
    """Row-wise BG/NBD (or MBG/NBD) log-likelihood, eq. (6) of FHL (2005), with
    per-customer parameters, and its gradient with respect to them (for covariates).

    Parameters
    ----------
    P : numpy.ndarray
        Shape (4, n): r, alpha_i, a_i, b_i of each row of ``d``.
    d : object
        Rows ``x``, ``tx``, ``T``; optionally ``group = (first, codes)``, rows sharing x and
        (a_i, b_i), whose x-only terms are then evaluated once per group.
    modified : bool, default False
        MBG/NBD's shift (see :func:`bgnbd_total_log_likelihood`).
    hessian : bool, default False
        Also return each row's Hessian with respect to (r, alpha_i, a_i, b_i).

    Returns
    -------
    ll : numpy.ndarray
        Log-likelihood of each row.
    G : numpy.ndarray
        Shape (4, n): d ll_i / d (r, alpha_i, a_i, b_i). The terms are those of
        :func:`bgnbd_total_log_likelihood`, row by row.
    H : numpy.ndarray
        Shape (4, 4, n), with ``hessian=True`` only: the second derivatives of ll_i,
        differentiating G once more. With p2 = expit(dlt), dp2 = p2 (1 - p2) ddlt and
        the gradient of dlt = k_x + (r+x) D being (D, (r+x) (1/(alpha+T) - 1/(alpha+t_x)),
        1/a, -1/(b+x-1)).
    """
    r, alpha, a, b = P
    x, tx, T = d.x, d.tx, d.T
    sh = 1.0 if modified else 0.0
    grp = getattr(d, "group", None)
    if grp is not None:
        first, codes = grp
        gx, ga, gb, gr = x[first], a[first], b[first], r[first]
    else:
        gx, ga, gb, gr = x, a, b, r
    # Terms depending on (x, a_i, b_i) only: A2 of eq. (6) and its derivatives.
    c_ab = (
        gammaln(gr + gx)
        - gammaln(gr)
        + gammaln(ga + gb)
        + gammaln(gb + gx + sh)
        - gammaln(gb)
        - gammaln(ga + gb + gx + sh)
    )
    bx = gb + np.maximum(gx, 1.0 - sh) - 1.0 + sh
    with np.errstate(divide="ignore"):
        k_x = np.log(ga) - np.log(bx)
    if not modified:
        k_x = np.where(gx > 0, k_x, -np.inf)
    dab = digamma(ga + gb) - digamma(ga + gb + gx + sh)
    parts = [
        c_ab,
        k_x,
        dab,
        dab + digamma(gb + gx + sh) - digamma(gb),
        1.0 / bx,
        digamma(gr + gx) - digamma(gr),
    ]
    if grp is not None:
        parts = [v[codes] for v in parts]
    if hessian:
        # x-only second-derivative terms: trigamma differences (same grouping)
        h_ab = polygamma(1, ga + gb) - polygamma(1, ga + gb + gx + sh)
        hx = [
            h_ab,
            h_ab + polygamma(1, gb + gx + sh) - polygamma(1, gb),
            polygamma(1, gr + gx) - polygamma(1, gr),
        ]
        if grp is not None:
            hx = [v[codes] for v in hx]
    c_ab, k_x, g_a0, g_b0, inv_b, g_r0 = parts
    rx = r + x
    lT = np.log(alpha + T)
    D = lT - np.log(alpha + tx)
    dlt = k_x + rx * D
    # softplus(dlt) and p2 = expit(dlt) from one exponential, e = exp(-|dlt|).
    e = np.exp(-np.abs(dlt))
    ll = c_ab + r * np.log(alpha) - rx * lT + np.maximum(dlt, 0.0) + np.log1p(e)
    p2 = np.where(dlt >= 0, 1.0, e) / (1.0 + e)
    G = np.empty((4, x.size))
    G[0] = g_r0 + np.log(alpha) - lT + p2 * D
    G[1] = r / alpha - rx * ((1.0 - p2) / (alpha + T) + p2 / (alpha + tx))
    G[2] = g_a0 + p2 / a
    G[3] = g_b0 - p2 * inv_b
    if not hessian:
        return ll, G
    h_aa0, h_bb0, h_rr0 = hx
    iT, it = 1.0 / (alpha + T), 1.0 / (alpha + tx)
    q = e / (1.0 + e) ** 2  # p2 (1 - p2), without cancellation
    d_al = rx * (iT - it)  # d dlt / d alpha
    inv_a = 1.0 / a
    H = np.empty((4, 4, x.size))
    H[0, 0] = h_rr0 + q * D * D
    H[0, 1] = 1.0 / alpha - iT + p2 * (iT - it) + q * D * d_al
    H[0, 2] = q * D * inv_a
    H[0, 3] = -q * D * inv_b
    H[1, 1] = -r / alpha**2 + rx * iT * iT + p2 * rx * (it * it - iT * iT) + q * d_al * d_al
    H[1, 2] = q * d_al * inv_a
    H[1, 3] = -q * d_al * inv_b
    H[2, 2] = h_aa0 + (q - p2) * inv_a * inv_a
    H[2, 3] = h_aa0 - q * inv_b * inv_a
    H[3, 3] = h_bb0 + (q + p2) * inv_b * inv_b
    for j in range(4):
        for k in range(j):
            H[j, k] = H[k, j]
    return ll, G, H


def bgnbd_log_likelihood(params, frequency, recency, T):
    """Per-customer BG/NBD log-likelihood, eq. (6) of Fader, Hardie & Lee (2005).

    Parameters
    ----------
    params : dict
        ``{"r", "alpha", "a", "b"}``.
    frequency, recency, T : array-like
        Repeat purchases, time of last purchase, age (same time unit).

    Returns
    -------
    numpy.ndarray
        Log-likelihood of each customer.
    """
    x, tx, T = check_rfm(frequency, recency, T)
    r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    A1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    A2 = betaln(a, b + x) - betaln(a, b)
    A3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        A4 = np.where(
            x > 0,
            np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return A1 + A2 + np.logaddexp(A3, A4)


class BetaGeoModel(PurchaseModel):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters, added to the *mean* negative log-likelihood as
        ``penalizer * sum(params**2)`` with alpha expressed in time rescaled so that
        max(T) = 1: lifetimes' ``penalizer_coef`` convention, so the same value gives the
        same fit, and the penalty does not depend on the time unit.
    purchase_covariates : list of str, optional
        Columns of ``covariates`` that shift the purchase process: alpha_i = alpha
        exp(-x_p,i g_alpha), so exp(g_alpha) multiplies the mean purchase rate (Fader &
        Hardie note 019). Encoding rule in :mod:`cxml.models` docs ("Customer covariates").
    dropout_covariates : list of str, optional
        Columns that shift the dropout process: a_i = a exp(x_d,i g_a), b_i = b exp(x_d,i
        g_b). Default None for both: the plain model.

    Attributes
    ----------
    params_ : dict
        Fitted ``{"r", "alpha", "a", "b"}``; alpha is in the time unit of the input. With
        covariates these are the baseline values of a customer whose covariates are 0
        (the reference level of each categorical column).
    coefficients_ : dict of dict or None
        With covariates, ``coefficients_["alpha"]["web"]`` and so on: the coefficient of
        each design column on each parameter (0 with a NaN standard error for a column
        that is constant in the training data); None without covariates.
    coefficient_standard_errors_ : dict of dict
        Their standard errors (inverse Hessian), with covariates only.
    theta_covariance_ : numpy.ndarray
        With covariates, the covariance of (log-parameters, coefficients).
    log_likelihood_ : float
        Total (weighted) log-likelihood at the optimum, without the penalty.
    standard_errors_ : dict
        Standard errors from the inverse Hessian (delta method from the log scale, as
        lifetimes reports them).
    log_params_covariance_ : numpy.ndarray
        Covariance of the log-parameters.
    params_at_bound_ : tuple of str
        Parameters that ended at the optimiser's bound (normally empty).
    data_summary_ : dict
        Counts and means of the training data.

    Examples
    --------
    >>> import lifetimes.datasets as lds
    >>> from cxml.models import BetaGeoModel
    >>> s = lds.load_cdnow_summary()
    >>> m = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    >>> round(m.params_["r"], 4)
    0.2426
    """

    _lifetimes_fitter = "BetaGeoFitter"
    _data_class = RFMData

    @staticmethod
    def _expected(params, t, x, tx, T):
        return _expected_purchases(params, t, x, tx, T)

    _param_names = ("r", "alpha", "a", "b")
    _model_label = "BG/NBD"

    _covariate_params = {"alpha": ("purchase", -1.0), "a": ("dropout", 1.0), "b": ("dropout", 1.0)}

    def fit(self, frequency, recency, T, weights=None, covariates=None):
        """Fit by maximum likelihood (L-BFGS-B on log-parameters, analytic gradient).

        Identical (frequency, recency, T) rows (and covariates) are merged into weights
        automatically.

        Parameters
        ----------
        frequency, recency, T : array-like
            Repeat purchases, time of last purchase and age, in one time unit.
        weights : array-like, optional
            Non-negative weight per customer (e.g. the count of identical customers).
        covariates : pandas.DataFrame, optional
            One row per customer, in the order of ``frequency``, holding the columns named
            by ``purchase_covariates`` and ``dropout_covariates`` (required with them,
            refused without them).

        Returns
        -------
        BetaGeoModel
            ``self``, fitted.

        Raises
        ------
        DataValidationError
            When the inputs break the RFM contract.
        ConvergenceError
            When the optimiser fails; the message says what to try.
        """
        x, tx, T = check_rfm(frequency, recency, T)
        w = check_weights(weights, x.size)
        return self._fit_rfm(x, tx, T, w, covariates, index=getattr(frequency, "index", None))

    def _loglik(self, params, data):
        return bgnbd_total_log_likelihood(params, data)

    def _row_kernel(self, P, data):
        return bgnbd_row_log_likelihood(P, data)

    def _row_hessian(self, P, data):
        return bgnbd_row_log_likelihood(P, data, hessian=True)

    @staticmethod
    def _expected_purchases_path(params, ts, x, tx, T, coefs=None):
        return _expected_purchases_path(params, ts, x, tx, T, coefs)

    def _initial_params(self, d):
        # Moment-style start: rate r/alpha ~ purchases per unit of time.
        rate = max(dot(d.w, d.x) / max(dot(d.w, d.T), 1e-12), 1e-6)
        return np.array([1.0, 1.0 / rate, 1.0, 1.0])

    # -- predictions ---------------------------------------------------------------------

    def probability_alive(self, frequency, recency, T, covariates=None):
        """Probability that each customer is still alive at T.

        Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model", eq. (2).

        Parameters
        ----------
        frequency : array-like
            Repeat purchases of each customer.
        recency : array-like
            Time from first to last purchase, in the unit of the fit.
        T : array-like
            Time from first purchase to the end of observation, same unit.
        covariates : pandas.DataFrame, optional
            The customers' covariates (one row each), required for a model fitted with
            covariates.

        Returns
        -------
        numpy.ndarray
            Probabilities in (0, 1]; 1 for customers without repeat purchases.
        """
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        params = self._params_for(covariates, x.size, getattr(frequency, "index", None))
        return _p_alive(params, x, tx, T)

    def expected_purchases(self, t, frequency, recency, T, covariates=None):
        """Conditional expected number of repeat purchases in (T, T + t].

        Eq. (10) of Fader, Hardie & Lee (2005).

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
            The customers' covariates (one row each), required for a model fitted with
            covariates.

        Returns
        -------
        numpy.ndarray
            Expected purchases of each customer.
        """
        t = check_horizon("t", t)
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        params = self._params_for(covariates, x.size, getattr(frequency, "index", None))
        return _expected_purchases(params, t, x, tx, T)

    def population_expected_purchases(self, t, covariates=None):
        """Expected repeat purchases E[X(t)] in (0, t] of a new customer.

        Eq. (9) of Fader, Hardie & Lee (2005).

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the unit of the fit.
        covariates : pandas.DataFrame, optional
            With a model fitted with covariates, the new customers' covariates: one row
            each, broadcast against ``t`` (and ``n``).

        Returns
        -------
        numpy.ndarray
            E[X(t)] for each ``t``.
        """
        t = check_horizon("t", t)
        r, alpha, a, b = self._params_for(covariates, _n_rows(covariates))
        z = t / (alpha + t)
        c = nonzero(a + b - 1.0)
        q = one_minus_scaled_hyp2f1(r, a - 1.0, c, z)
        return np.asarray(c / (a - 1.0) * q)

    def probability_of_purchases(self, t, n, covariates=None):
        """Probability P(X(t) = n) of exactly n repeat purchases in (0, t].

        Eq. (8) of Fader, Hardie & Lee (2005), for a new customer. The finite sum in
        eq. (8) is the negative-binomial CDF, evaluated as a regularized incomplete beta
        function so large n do not cancel.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the unit of the fit.
        n : int or array-like of int
            Number of repeat purchases.
        covariates : pandas.DataFrame, optional
            With a model fitted with covariates, the new customers' covariates: one row
            each, broadcast against ``t`` (and ``n``).

        Returns
        -------
        numpy.ndarray
            The probabilities, broadcast over ``t`` and ``n``.
        """
        t = check_horizon("t", t)
        n = np.asarray(n, dtype=float)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError(f"n must be non-negative whole numbers, got {n!r}")
        r, alpha, a, b = self._params_for(covariates, _n_rows(covariates))
        lq = np.log(alpha) - np.log(alpha + t)  # ln(alpha/(alpha+t))
        with np.errstate(divide="ignore"):
            lpt = np.log(t) - np.log(alpha + t)
            first = np.exp(
                betaln(a, b + n)
                - betaln(a, b)
                + gammaln(r + n)
                - gammaln(r)
                - gammaln(n + 1)
                + r * lq
                + np.where(n > 0, n * lpt, 0.0)
            )
        # P(NB(r, alpha/(alpha+t)) >= n) = I_{t/(alpha+t)}(n, r)
        tail = betainc(np.maximum(n, 1), r, t / (alpha + t))
        second = np.where(
            n > 0, np.exp(betaln(a + 1, b + np.maximum(n, 1) - 1) - betaln(a, b)) * tail, 0.0
        )
        return np.asarray(first + second)


def _n_rows(covariates) -> int:
    return 0 if covariates is None else len(covariates)


def nonzero(c):
    """``c`` with values within 1e-10 of 0 replaced by 1e-10.

    c = a + b + x - 1 is 0 when x = 0 and a + b = 1; c * 2F1(.; c; .) has a finite limit
    there, reached by evaluating at a tiny c.

    Parameters
    ----------
    c : numpy.ndarray
        Third parameter of the 2F1 in eq. (10) of Fader, Hardie & Lee (2005).

    Returns
    -------
    numpy.ndarray
        ``c``, away from 0.
    """
    return np.where(np.abs(c) < 1e-10, 1e-10, c)


def _p_alive(params, x, tx, T):
    r, alpha, a, b = params
    with np.errstate(divide="ignore"):
        log_div = (
            (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            + np.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
        )
    return np.where(x > 0, expit(-log_div), 1.0)


def _expected_purchases(params, t, x, tx, T):
    """Eq. (10) of FHL (2005), broadcasting t against the customers."""
    r, alpha, a, b = params
    if np.ndim(t) == 0:
        return _expected_purchases_path(params, np.atleast_1d(t), x, tx, T)[0]
    t, x, tx, T = np.broadcast_arrays(t, x, tx, T)
    z = t / (alpha + T + t)
    c = nonzero(a + b + x - 1.0)
    q = one_minus_scaled_hyp2f1(r + x, a - 1.0, c, z)
    numer = c / (a - 1.0) * q
    return numer * _p_alive(params, x, tx, T)


def _expected_purchases_path(params, ts, x, tx, T, coefs=None):
    """Eq. (10) for several horizons ``ts`` at once: shape (len(ts), n).

    P(alive) is shared by all horizons and the hypergeometric part depends on (x, T) only,
    so it is computed once per distinct (x, T) pair. With ``coefs``, return the combination
    ``sum_j coefs[j] E[Y(ts[j])]`` (shape (n,)) without materialising the matrix.
    """
    return bg_expected_purchases_path(params, ts, x, tx, T, coefs, _p_alive, shift=-1.0)


def bg_expected_purchases_path(params, ts, x, tx, T, coefs, p_alive, shift):
    """Eq. (10) of FHL (2005) for several horizons, for BG/NBD (``shift=-1``) and MBG/NBD
    (``shift=0``, Batislam et al. 2007).

    Parameters
    ----------
    params : numpy.ndarray
        ``(r, alpha, a, b)``.
    ts : sequence of float
        Horizons.
    x, tx, T : numpy.ndarray
        Validated frequency, recency and T.
    coefs : numpy.ndarray or None
        With coefficients, return ``sum_j coefs[j] E[Y(ts[j])]`` instead of the matrix.
    p_alive : callable
        ``p_alive(params, x, tx, T)`` of the model.
    shift : float
        The model's shift of ``a + b + x`` in the 2F1's third parameter.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(ts), n)``, or ``(n,)`` with ``coefs``.
    """
    r, alpha, a, b = params
    pa = p_alive(params, x, tx, T)
    codes, n_unique = row_codes(x, T)
    # With covariates (per-customer parameters) rows sharing (x, T) no longer share terms.
    if n_unique < 0.5 * x.size and np.ndim(a) == 0 and np.ndim(alpha) == 0:
        first = first_index(codes, n_unique)
        ux, uT = x[first], T[first]
    else:
        codes, ux, uT = None, x, T
    c = nonzero(a + b + ux + shift)

    def e_at(t):
        return c / (a - 1.0) * one_minus_scaled_hyp2f1(r + ux, a - 1.0, c, t / (alpha + uT + t))

    if coefs is not None:
        acc = np.zeros(ux.size)
        for cj, t in zip(coefs, ts, strict=True):
            acc += cj * e_at(t)
        return (acc if codes is None else acc[codes]) * pa
    out = np.empty((len(ts), x.size))
    for j, t in enumerate(ts):
        e = e_at(t)
        out[j] = (e if codes is None else e[codes]) * pa
    return out
