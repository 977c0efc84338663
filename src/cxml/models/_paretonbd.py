"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), with the likelihood, P(alive) and
conditional expectation of Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model
and Related Expressions", http://brucehardie.com/notes/009/, and P(X(t) = n) of Fader &
Hardie (2006), http://brucehardie.com/notes/012/.

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); her lifetime is
exponential with rate mu ~ Gamma(s, beta).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln

from cxml.models._base import PurchaseModel, compress_rows, unique_inverse
from cxml.models._base import dot as _dot
from cxml.models._validation import check_horizon, check_rfm, check_weights

__all__ = ["ParetoNBDModel"]


class _ParetoData:
    def __init__(self, x, tx, T, w):
        (x, tx, T), w = compress_rows(x, tx, T, weights=w)
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.W = float(w.sum())
        # Terms that depend on x only (gammaln, digamma) are evaluated per distinct x.
        self.ux, self.xi = unique_inverse(x)
        self.wx = np.bincount(self.xi, weights=w, minlength=self.ux.size)
        # lifetimes penalises alpha and beta in time rescaled to max(T) = 1.
        sc = 1.0 / max(float(T.max()), 1e-12)
        self.penalty_scale = np.array([1.0, sc, 1.0, sc])

    def subsample(self, n_rows):
        if self.x.size <= n_rows:
            return None
        idx = np.random.default_rng(0).choice(self.x.size, n_rows, replace=False)
        return type(self)(self.x[idx], self.tx[idx], self.T[idx], self.w[idx])


# -- the "died between t_x and T" integral, by quadrature --------------------------------
#
# The second term of the likelihood (note 009, eqs. (18)-(22)) is s * I with
#
#     I = int_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau     (= A_0 / (r+s+x)),
#
# because P(died at tau, x purchases before) integrates lambda^x e^-lambda tau against the
# Gamma(r, alpha) prior and mu e^-mu tau against Gamma(s, beta). The 2F1 closed form of I
# has parameters that depend on r and s, and the parameter derivatives of 2F1 have no closed
# form; under the integral they are plain weights: d/dr -> -ln(alpha+tau),
# d/dalpha -> -(r+x)/(alpha+tau), d/ds -> -ln(beta+tau), d/dbeta -> -(s+1)/(beta+tau).
# So the value and all four derivatives come from one Gauss-Legendre rule applied to
# the same integrand values. P(alive) (note 009's ratio of the "alive at T" term to the
# whole likelihood) uses the same I, so fit and predictions share one evaluation.
#
# Making the integrand smooth for every (x, t_x, T) takes two steps:
# * sigma = ln(p + tau), p = min(alpha, beta): the factor with the nearer branch point
#   (tau = -p, possibly just left of t_x = 0) becomes an exponential, and the other one,
#   (c + e^sigma)^-k2 with c = |alpha - beta|, is analytic in the strip |Im sigma| < pi,
#   so Gauss-Legendre converges geometrically even when T / p is 1e5;
# * h(sigma) = ln(integrand) = (1-k1) sigma - k2 ln(c + e^sigma) is concave (c >= 0);
#   its mode has a closed form, and the interval is cut where h has dropped by
#   _QUAD_DROP below the mode (Newton steps on a concave function, which approach the
#   cut from outside and so never cut too much). For x in the thousands the integrand
#   falls like (alpha+tau)^-(r+x) and the rule then spans only the part that matters.
# h is evaluated relative to its value at tau = t_x, as (1-k1) dl - k2 log1p(.), and the
# result is returned in that form: with s ~ 1e5 and beta ~ 1e7 (a dropout rate that
# barely varies between customers) (beta+tau)^-(s+1) is e^-3e6 and its logarithm, taken
# literally, would lose 6 of the 16 digits; relative to tau = t_x it is e^-(mu (tau-t_x)).
# Checked against mpmath.quad (30 digits) on random parameters over r, s in [0.01, 20],
# alpha, beta in [0.01, 200], x up to 1e4, T up to 2000, t_x in {0, T - 1e-6 T, any}:
# largest relative error 5e-11 with 24 nodes (16 nodes: 4e-7); tests/test_paretonbd_extreme
# repeats the check for s up to 1e6 and beta up to 1e8. The alternative, termwise
# derivatives of the 2F1 series, needs O(1 / (1 - z)) terms when alpha or beta is small
# relative to T, and 4 series instead of 1 rule.
_QUAD_NODES, _QUAD_WEIGHTS = np.polynomial.legendre.leggauss(24)
_QUAD_DROP = 40.0  # e^-40 = 4e-18: the mass beyond the cut is below double precision
_QUAD_CHUNK = 32_768  # rows per block: (rows x 24) temporaries stay ~6 MB


def _h_and_slope(dl, k1, k2, c, p0):
    """h(dl) - h(0) and h'(dl), where sigma = ln(p0) + dl, p0 = p + t_x."""
    e = p0 * np.exp(dl)
    return (
        (1.0 - k1) * dl - k2 * np.log1p(p0 * np.expm1(dl) / (c + p0)),
        (1.0 - k1) - k2 * e / (c + e),
    )


def _died_integral(params, x, tx, T, moments: bool):
    """ln I - ln I_0 for each row, with I_0 = (p+t_x) (alpha+t_x)^-(r+x) (beta+t_x)^-(s+1)
    the integrand at tau = t_x (times the Jacobian p+tau), and, with ``moments``, the mean
    of ln((alpha+tau)/(alpha+t_x)), 1/(alpha+tau), ln((beta+tau)/(beta+t_x)) and
    1/(beta+tau) under the density proportional to the integrand.

    -inf where t_x = T (no room to die unseen: I = 0).
    """
    n = x.size
    rel = np.empty(n)
    mom = np.empty((4, n)) if moments else None
    for lo in range(0, n, _QUAD_CHUNK):
        sl = slice(lo, min(lo + _QUAD_CHUNK, n))
        # Per-customer parameters (covariates) are sliced with their rows.
        pr = [v[sl] if np.ndim(v) else v for v in params]
        res = _died_integral_block(pr, x[sl], tx[sl], T[sl], moments)
        rel[sl] = res[0]
        if mom is not None:
            mom[:, sl] = res[1]
    return rel, mom


def _died_integral_block(params, x, tx, T, moments):
    r, alpha, s, beta = params
    k = r + x
    # p is the nearer branch point, min(alpha, beta), per row when the parameters are.
    swap = np.broadcast_to(alpha > beta, x.shape)
    p, c = np.minimum(alpha, beta), np.abs(alpha - beta)
    sk = np.broadcast_to(s + 1.0, x.shape)
    k1, k2 = np.where(swap, sk, k), np.where(swap, k, sk)
    p0 = p + tx
    # sigma - ln(p0) runs over [0, width]; width via log1p keeps t_x ~ T exact.
    width = np.log1p((T - tx) / p0)
    # Mode of h: h' = 0 at e^sigma = c rho / (1 - rho), rho = (1-k1)/k2 (only if k1 < 1).
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (1.0 - k1) / k2
        mode = np.log(c / p0) + np.log(rho) - np.log1p(-rho)
    mode = np.where(k1 >= 1.0, 0.0, np.where(rho >= 1.0, width, mode))
    mode = np.clip(np.nan_to_num(mode, nan=0.0, posinf=0.0, neginf=0.0), 0.0, width)
    h_mode, _ = _h_and_slope(mode, k1, k2, c, p0)
    target = h_mode - _QUAD_DROP
    a = np.zeros_like(width)
    b = width.copy()
    # Only rows whose integrand falls by more than e^-40 inside [t_x, T] are cut.
    for end, side in ((b, -1.0), (a, 1.0)):
        hv, _ = _h_and_slope(end, k1, k2, c, p0)
        idx = np.flatnonzero(hv < target)
        if idx.size == 0:
            continue
        pos = end[idx]
        kk1, kk2, cc, pp, tg, md = (
            k1[idx],
            k2[idx],
            (c if np.ndim(c) == 0 else c[idx]),
            p0[idx],
            target[idx],
            mode[idx],
        )
        for _ in range(8):
            hv, dv = _h_and_slope(pos, kk1, kk2, cc, pp)
            g = hv - tg
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where((g < 0) & (side * dv > 0), g / dv, 0.0)
            pos = pos - step
            pos = np.minimum(pos, md) if side > 0 else np.maximum(pos, md)
        end[idx] = pos
    half = 0.5 * (b - a)
    nodes = (a + half)[:, None] + half[:, None] * _QUAD_NODES
    # ln((q+tau)/(q+t_x)), q = max(alpha, beta)
    em1 = np.expm1(nodes)  # (tau - t_x) / (p + t_x)
    lq = np.log1p((p0 / (c + p0))[:, None] * em1)
    f = np.exp((1.0 - k1)[:, None] * nodes - k2[:, None] * lq - h_mode[:, None])
    f *= _QUAD_WEIGHTS
    S = f.sum(axis=1)
    with np.errstate(divide="ignore"):
        rel = h_mode + np.log(S * half)
    if not moments:
        return rel, None
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_S = np.where(S > 0, 1.0 / S, 0.0)
    e = p0[:, None] * (1.0 + em1)  # p + tau
    m_lp = np.einsum("ij,ij->i", f, nodes) * inv_S  # E ln((p+tau)/(p+t_x))
    m_ip = np.einsum("ij,ij->i", f, 1.0 / e) * inv_S
    m_lq = np.einsum("ij,ij->i", f, lq) * inv_S
    m_iq = np.einsum("ij,ij->i", f, 1.0 / (np.asarray(c)[..., None] + e)) * inv_S
    return rel, np.where(
        swap, np.stack([m_lq, m_iq, m_lp, m_ip]), np.stack([m_lp, m_ip, m_lq, m_iq])
    )


def _log_died_odds(params, x, tx, T, rel):
    """ln(s I / L_alive): log-odds that a customer died unseen in (t_x, T], from the
    ``rel`` of :func:`_died_integral`.

    L_alive = (alpha+T)^-(r+x) (beta+T)^-s is the "alive at T" term of note 009's
    likelihood, eq. (22); the ratio is written with log1p so that it stays exact when s and
    beta are both huge (it tends to mu int e^-mu (tau - T) ... with mu = s / beta).
    """
    r, alpha, s, beta = params
    span = T - tx
    return (
        np.log(s)
        + rel
        + np.log(np.minimum(alpha, beta) + tx)
        - np.log(beta + tx)
        + (r + x) * np.log1p(span / (alpha + tx))
        + s * np.log1p(span / (beta + tx))
    )


def _log_alive_part(params, x, T):
    """ln[alpha^r beta^s (alpha+T)^-(r+x) (beta+T)^-s] without the s ln beta cancellation."""
    r, alpha, s, beta = params
    return -r * np.log1p(T / alpha) - x * np.log(alpha + T) - s * np.log1p(T / beta)


def _pareto_rows(params, x, tx, T):
    """Per-customer log-likelihood, eq. (22) of the note:

    ll = ln Gamma(r+x) - ln Gamma(r) + r ln alpha + s ln beta
         + ln[(alpha+T)^-(r+x) (beta+T)^-s + s / (r+s+x) A_0],

    with A_0 / (r+s+x) evaluated as the integral I (see ``_died_integral``) and the
    bracket written as L_alive (1 + s I / L_alive).
    """
    r = params[0]
    rel, _ = _died_integral(params, x, tx, T, moments=False)
    z = _log_died_odds(params, x, tx, T, rel)
    return gammaln(r + x) - gammaln(r) + _log_alive_part(params, x, T) + np.logaddexp(0.0, z)


def _pareto_loglik(params, d: _ParetoData, gradient: bool = True):
    """Weighted total log-likelihood, eq. (22) of the note, and its exact gradient.

    With B = (alpha+T)^-(r+x) (beta+T)^-s + s I and pi = s I / B (posterior probability
    that the customer died unseen in (t_x, T)), differentiating eq. (22) gives

        d/dr     = psi(r+x) - psi(r) + ln alpha - (1-pi) ln(alpha+T) - pi E[ln(alpha+tau)]
        d/dalpha = r/alpha - (r+x) [(1-pi)/(alpha+T) + pi E[1/(alpha+tau)]]
        d/ds     = ln beta - (1-pi) ln(beta+T) + pi (1/s - E[ln(beta+tau)])
        d/dbeta  = s/beta - (1-pi) s/(beta+T) - pi (s+1) E[1/(beta+tau)]

    where E[.] averages over tau in (t_x, T) with density proportional to I's integrand;
    the quadrature of ``_died_integral`` gives I and the four means in one pass. The
    logarithms are grouped as ln(1 + T/alpha) and E[ln((alpha+tau)/alpha)] (and likewise
    for beta) so that nothing cancels when s and beta are both huge.
    """
    r, alpha, s, beta = params
    x, tx, T, w, ux, wx = d.x, d.tx, d.T, d.w, d.ux, d.wx
    rel, mom = _died_integral(params, x, tx, T, moments=gradient)
    z = _log_died_odds(params, x, tx, T, rel)
    ll = (
        _dot(wx, gammaln(r + ux))
        - d.W * gammaln(r)
        + _dot(w, _log_alive_part(params, x, T) + np.logaddexp(0.0, z))
    )
    if not gradient:
        return ll, None
    pi = expit(z)
    q = expit(-z)  # 1 - pi without cancellation when pi ~ 1
    m_la, m_ia, m_lb, m_ib = mom
    g_r = (
        _dot(wx, digamma(r + ux))
        - d.W * digamma(r)
        - _dot(w, q * np.log1p(T / alpha) + pi * (np.log1p(tx / alpha) + m_la))
    )
    g_alpha = d.W * r / alpha - _dot(w, (r + x) * (q / (alpha + T) + pi * m_ia))
    g_s = -_dot(w, q * np.log1p(T / beta) + pi * (np.log1p(tx / beta) + m_lb - 1.0 / s))
    g_beta = _dot(w, q * s * T / (beta * (beta + T)) + pi * (s / beta - (s + 1.0) * m_ib))
    return ll, np.array([g_r, g_alpha, g_s, g_beta])


def pareto_row_log_likelihood(P, d):
    """Row-wise Pareto/NBD log-likelihood, eq. (22) of note 009, with per-customer
    parameters ``P`` (4, n) = (r, alpha_i, s, beta_i), and its gradient (4, n) with
    respect to them: the terms of :func:`_pareto_loglik`, row by row (for covariates)."""
    r, alpha, s, beta = P
    x, tx, T = d.x, d.tx, d.T
    rel, mom = _died_integral(P, x, tx, T, moments=True)
    z = _log_died_odds(P, x, tx, T, rel)
    ll = gammaln(r + x) - gammaln(r) + _log_alive_part(P, x, T) + np.logaddexp(0.0, z)
    pi, q = expit(z), expit(-z)
    m_la, m_ia, m_lb, m_ib = mom
    G = np.empty((4, x.size))
    G[0] = (
        digamma(r + x) - digamma(r) - (q * np.log1p(T / alpha) + pi * (np.log1p(tx / alpha) + m_la))
    )
    G[1] = r / alpha - (r + x) * (q / (alpha + T) + pi * m_ia)
    G[2] = -(q * np.log1p(T / beta) + pi * (np.log1p(tx / beta) + m_lb - 1.0 / s))
    G[3] = q * s * T / (beta * (beta + T)) + pi * (s / beta - (s + 1.0) * m_ib)
    return ll, G


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD model of repeat purchasing.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty, lifetimes' ``penalizer_coef`` convention (alpha and beta in time
        rescaled to max(T) = 1).
    purchase_covariates, dropout_covariates : list of str, optional
        Static covariates (Fader & Hardie note 019): alpha_i = alpha exp(-x_p,i g_alpha)
        and beta_i = beta exp(-x_d,i g_beta), so exp(g_alpha) multiplies the mean purchase
        rate and exp(g_beta) the mean dropout rate. Encoding as for
        :class:`BetaGeoModel`; fitted ``coefficients_["alpha"]``, ``coefficients_["beta"]``.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}``.
    log_likelihood_ : float
    standard_errors_ : dict
    log_params_covariance_ : numpy.ndarray
    params_at_bound_ : tuple of str
        Parameters that reached the optimiser's bound or ran off towards it (normally
        empty). On data where every customer drops out at nearly the same rate s and beta
        grow together without limit; the fit then logs a warning naming the remedy,
        ``ParetoNBDModel(penalizer=0.01)``. Predictions stay exact either way.
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

    _lifetimes_fitter = "ParetoNBDFitter"
    _data_class = _ParetoData

    @staticmethod
    def _expected(params, t, x, tx, T):
        return _pareto_expected(params, t, x, tx, T)

    _param_names = ("r", "alpha", "s", "beta")
    _model_label = "Pareto/NBD"

    _covariate_params = {"alpha": ("purchase", -1.0), "beta": ("dropout", -1.0)}

    def fit(self, frequency, recency, T, weights=None, covariates=None):
        """Fit by maximum likelihood (L-BFGS-B on log-parameters, exact gradient).

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
        ParetoNBDModel
            ``self``, fitted.

        Raises
        ------
        DataValidationError, ConvergenceError
        """
        x, tx, T = check_rfm(frequency, recency, T)
        w = check_weights(weights, x.size)
        return self._fit_rfm(x, tx, T, w, covariates, index=getattr(frequency, "index", None))

    def _loglik(self, params, data):
        return _pareto_loglik(params, data)

    def _row_kernel(self, P, data):
        return pareto_row_log_likelihood(P, data)

    def _initial_params(self, d):
        rate = max(float(np.sum(d.w * d.x)) / max(float(np.sum(d.w * d.T)), 1e-12), 1e-6)
        Tm = float(np.average(d.T, weights=d.w))
        return np.array([1.0, 1.0 / rate, 1.0, max(Tm, 1e-3)])

    @staticmethod
    def _expected_purchases_path(params, ts, x, tx, T, coefs=None):
        pa = _pareto_p_alive(params, x, tx, T)
        if coefs is not None:
            acc = np.zeros(x.size)
            for cj, t in zip(coefs, ts, strict=True):
                acc += cj * _pareto_alive_expected(params, t, x, T)
            return acc * pa
        return np.stack([_pareto_alive_expected(params, t, x, T) * pa for t in ts])

    def probability_alive(self, frequency, recency, T, covariates=None):
        """Probability that each customer is still alive at T.

        Eq. (18) of Fader & Hardie's 2005 Pareto/NBD note, with A_0 evaluated as the
        integral the likelihood uses (one vectorised Gauss-Legendre rule, exact for any
        parameters, including s ~ 1e5 and beta ~ 1e7).

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
            Probabilities in (0, 1].
        """
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        params = self._params_for(covariates, x.size, getattr(frequency, "index", None))
        return _pareto_p_alive(params, x, tx, T)

    def expected_purchases(self, t, frequency, recency, T, covariates=None):
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
        covariates : pandas.DataFrame, optional
            The customers' covariates, for a model fitted with covariates.

        Returns
        -------
        numpy.ndarray
            Expected purchases of each customer.
        """
        t = check_horizon("t", t)
        x, tx, T = check_rfm(frequency, recency, T, require_data=False)
        params = self._params_for(covariates, x.size, getattr(frequency, "index", None))
        return _pareto_expected(params, t, x, tx, T)

    def population_expected_purchases(self, t, covariates=None):
        """Expected repeat purchases E[X(t)] in (0, t] of a new customer.

        E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)], eq. (17) of the note.

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
        r, alpha, s, beta = self._params_for(
            covariates, 0 if covariates is None else len(covariates)
        )
        return np.asarray(r * beta / alpha * _one_minus_pow_over(s - 1.0, -np.log1p(t / beta)))

    def probability_of_purchases(self, t, n):
        """Probability P(X(t) = n) of exactly n repeat purchases in (0, t].

        For a new customer. Fader & Hardie (2006), "Deriving an Expression for P(X(t) = x)
        Under the Pareto/NBD Model", http://brucehardie.com/notes/012/: the NBD term of a
        customer still alive at t, plus the integral over the time tau < t at which a
        customer died after exactly n purchases (the expression the note starts from). The
        integral is evaluated by vectorised Gauss-Legendre quadrature rather than the
        note's 2F1 closed form, which cancels for short t or large n and which scipy
        cannot evaluate for large s; each distinct (t, n) is computed once.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the unit of the fit.
        n : int or array-like of int
            Number of repeat purchases.

        Returns
        -------
        numpy.ndarray
            The probabilities, broadcast over ``t`` and ``n``.

        Raises
        ------
        DataValidationError
            If ``t`` is negative or not finite.
        ValueError
            If ``n`` holds negative or fractional values.

        Examples
        --------
        >>> from cxml.models import ParetoNBDModel
        >>> m = ParetoNBDModel.from_dict(
        ...     {
        ...         "model": "ParetoNBDModel",
        ...         "params": {"r": 0.5533, "alpha": 10.5776, "s": 0.6062, "beta": 11.6679},
        ...         "standard_errors": dict.fromkeys(["r", "alpha", "s", "beta"]),
        ...         "log_params_covariance": [[0.0] * 4] * 4,
        ...         "log_likelihood": 0.0,
        ...     }
        ... )
        >>> m.probability_of_purchases(39, [0, 1, 2]).round(4).tolist()
        [0.5935, 0.1656, 0.0825]
        """
        t = check_horizon("t", t)
        n = np.asarray(n, dtype=float)
        if np.any(~np.isfinite(n)) or np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError(f"n must be non-negative whole numbers, got {n!r}")
        params = self._param_array()
        tb, nb = np.broadcast_arrays(np.asarray(t, dtype=float), n)
        # Evaluate each distinct (t, n) once: a horizon and the counts of many customers
        # repeat the same few pairs.
        pairs, inverse = np.unique(
            np.stack([tb.ravel(), nb.ravel()], axis=1), axis=0, return_inverse=True
        )
        out = _pareto_pmf(params, pairs[:, 0], pairs[:, 1])
        return out[inverse.ravel()].reshape(tb.shape)


def _one_minus_pow_over(k, log_y):
    """(1 - y^k) / k from ln y, with its limit -ln(y) at k = 0."""
    if np.ndim(k) == 0:
        if abs(k) < 1e-12:
            return -log_y
        return -np.expm1(k * log_y) / k
    # Per-customer parameters (covariates): the same, elementwise.
    tiny = np.abs(k) < 1e-12
    return np.where(tiny, -log_y, -np.expm1(k * log_y) / np.where(tiny, 1.0, k))


def _pareto_p_alive(params, x, tx, T):
    """P(alive at T | x, t_x, T) = L_alive / (L_alive + s I), note 009's P(alive) written
    with the quadrature of :func:`_died_integral` for A_0 / (r+s+x) = I."""
    x, tx, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, tx, T)))
    shape = x.shape
    x, tx, T = x.ravel(), tx.ravel(), T.ravel()
    rel, _ = _died_integral(params, x, tx, T, moments=False)
    return expit(-_log_died_odds(params, x, tx, T, rel)).reshape(shape)


def _pareto_alive_expected(params, t, x, T):
    """E[Y(t) | alive at T] = (r+x)(beta+T) / (alpha+T) * (1 - ((beta+T)/(beta+T+t))^(s-1))
    / (s-1), the factor of note 009's conditional expectation; ln((beta+T)/(beta+T+t))
    is taken as -log1p(t/(beta+T)) so it keeps its digits when beta is huge (the bracket
    then tends to (1 - e^-mu t) / mu, mu = s/beta)."""
    r, alpha, s, beta = params
    return (
        (r + x) * (beta + T) / (alpha + T) * _one_minus_pow_over(s - 1.0, -np.log1p(t / (beta + T)))
    )


def _pareto_expected(params, t, x, tx, T):
    t, x, tx, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, tx, T)))
    return _pareto_alive_expected(params, t, x, T) * _pareto_p_alive(params, x, tx, T)


def _pareto_pmf(params, t, n):
    """P(X(t) = n) for a new customer, vectorised over 1-D ``t`` and ``n``.

    Note 012 starts from P(X(t) = n) = NBD(n; t) (beta/(beta+t))^s
    + int_0^t NBD(n; tau) f(tau) dtau (alive at t, or died at tau < t after exactly n
    purchases) with NBD(n; tau) = Gamma(r+n)/(Gamma(r) n!) (alpha/(alpha+tau))^r
    (tau/(alpha+tau))^n and f(tau) = s beta^s / (beta+tau)^(s+1); its closed form is a
    difference of 2F1 sums that cancels for short t or large n and that scipy cannot
    evaluate when s is large. The first term is closed; the integral is done by
    :func:`_log_died_by_quadrature` (positive integrand, no cancellation).
    """
    r, alpha, s, beta = params
    out = np.where(n == 0, 1.0, 0.0)
    pos = t > 0
    if not pos.any():
        return out
    tp, nq = t[pos], n[pos]
    log_alive = (
        gammaln(r + nq)
        - gammaln(r)
        - gammaln(nq + 1.0)
        - r * np.log1p(tp / alpha)
        + nq * (np.log(tp) - np.log(alpha + tp))
        - s * np.log1p(tp / beta)
    )
    out[pos] = np.exp(log_alive) + np.exp(_log_died_by_quadrature(params, tp, nq))
    return out


# Gauss-Legendre panels of the P(X(t) = n) death-time integral: each panel is at most
# _PMF_PANEL wide in sigma = ln tau (the integrand is analytic in |Im sigma| < pi) and at
# most 3 standard deviations of the integrand's peak (for large n it is a narrow bump).
_PMF_PANEL = 2.0
_PMF_DROP = 45.0  # the integrand is cut where it is e^-45 below its maximum
_PMF_BISECT = 64  # bisection steps: brackets are < 2^10 wide, so 2^-54 after 64 steps
_PMF_CHUNK = 4_096  # rows per block: (rows x panels x 24) temporaries stay small


def _log_died_by_quadrature(params, t, n):
    """ln of int_0^t NBD(n; tau) f(tau) dtau for 1-D ``t`` > 0 and ``n`` (note 012's
    starting integral: exactly n purchases by tau, death at tau).

    In sigma = ln tau the log-integrand is, up to a constant,
    H = (n+1) sigma - (r+n) ln(1 + e^sigma/alpha) - (s+1) ln(1 + e^sigma/beta), which is
    concave with H' decreasing from n+1; each row's mode and its two cut points
    (H = H_mode - 45) are found by vectorised bisection and the interval between them is
    covered by equal Gauss-Legendre panels. Writing the factors as ln(1 + tau/beta)
    (rather than ln(beta+tau) against s ln beta) keeps s ~ 1e5, beta ~ 1e7 exact.
    """
    out = np.empty(t.size)
    for lo in range(0, t.size, _PMF_CHUNK):
        sl = slice(lo, min(lo + _PMF_CHUNK, t.size))
        out[sl] = _log_died_block(params, t[sl], n[sl])
    return out


def _log_died_block(params, t, n):
    r, alpha, s, beta = params
    la, lb = np.log(alpha), np.log(beta)

    def H(sig):
        return (
            (n + 1.0) * sig
            - (r + n) * np.logaddexp(0.0, sig - la)
            - (s + 1.0) * np.logaddexp(0.0, sig - lb)
        )

    def dH(sig):
        return (n + 1.0) - (r + n) * expit(sig - la) - (s + 1.0) * expit(sig - lb)

    def bisect(f, inside, outside):
        # f(inside) > 0 >= f(outside), elementwise.
        for _ in range(_PMF_BISECT):
            mid = 0.5 * (inside + outside)
            up = f(mid) > 0
            inside = np.where(up, mid, inside)
            outside = np.where(up, outside, mid)
        return outside

    top = np.log(t)
    # H' >= (n+1)/2 left of sig_half (expit(u) <= e^u), so the mode lies right of it.
    sig_half = np.minimum(np.log((n + 1.0) / (2.0 * (r + n + s + 1.0))) + min(la, lb), top)
    rising = dH(top) >= 0
    mode = np.where(rising, top, bisect(dH, sig_half, np.where(rising, sig_half, top)))
    h_mode = H(mode)

    def above(sig):
        return H(sig) - (h_mode - _PMF_DROP)

    # A slope >= (n+1)/2 over 90/(n+1) drops H by >= 45: a bracket for the left cut.
    far = np.minimum(sig_half, mode) - 2.0 * _PMF_DROP / (n + 1.0)
    lo = bisect(above, mode, far)
    hi = np.where(above(top) >= 0, top, bisect(above, mode, top))
    ea, eb = expit(mode - la), expit(mode - lb)
    curv = (r + n) * ea * (1.0 - ea) + (s + 1.0) * eb * (1.0 - eb)
    with np.errstate(divide="ignore"):
        panel = np.minimum(_PMF_PANEL, 3.0 / np.sqrt(curv))
    k = max(1, int(np.ceil(np.max((hi - lo) / panel))))
    edges = lo[:, None] + (hi - lo)[:, None] * (np.arange(k + 1) / k)
    half = 0.5 * (edges[:, 1:] - edges[:, :-1])  # rows x k
    nodes = (edges[:, :-1] + half)[:, :, None] + half[:, :, None] * _QUAD_NODES
    nn = n[:, None, None]
    hv = (
        (nn + 1.0) * nodes
        - (r + nn) * np.logaddexp(0.0, nodes - la)
        - (s + 1.0) * np.logaddexp(0.0, nodes - lb)
    )
    total = np.einsum("ijk,k,ij->i", np.exp(hv - h_mode[:, None, None]), _QUAD_WEIGHTS, half)
    log_const = gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) - n * la + np.log(s) - lb
    return log_const + h_mode + np.log(total)
