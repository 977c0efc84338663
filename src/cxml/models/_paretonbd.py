"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), with the likelihood, P(alive) and
conditional expectation of Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model
and Related Expressions", http://brucehardie.com/notes/009/, and P(X(t) = n) of Fader &
Hardie (2006), http://brucehardie.com/notes/012/.

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); her lifetime is
exponential with rate mu ~ Gamma(s, beta).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, logsumexp

from cxml.models._base import PurchaseModel, compress_rows, rfm_data_summary, unique_inverse
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
# the same integrand values.
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
# Checked against mpmath.quad (30 digits) on random parameters over r, s in [0.01, 20],
# alpha, beta in [0.01, 200], x up to 1e4, T up to 2000, t_x in {0, T - 1e-6 T, any}:
# largest relative error 5e-11 with 24 nodes (16 nodes: 4e-7). The alternative, termwise
# derivatives of the 2F1 series, needs O(1 / (1 - z)) terms when alpha or beta is small
# relative to T, and 4 series instead of 1 rule.
_QUAD_NODES, _QUAD_WEIGHTS = np.polynomial.legendre.leggauss(24)
_QUAD_DROP = 40.0  # e^-40 = 4e-18: the mass beyond the cut is below double precision
_QUAD_CHUNK = 32_768  # rows per block: (rows x 24) temporaries stay ~6 MB


def _h_and_slope(dl, k1, k2, c, p0):
    """h(dl) - (1-k1) ln p0 and h'(dl), where sigma = ln(p0) + dl, p0 = p + t_x."""
    e = p0 * np.exp(dl)
    return (1.0 - k1) * dl - k2 * np.log(c + e), (1.0 - k1) - k2 * e / (c + e)


def _died_integral(params, x, tx, T, moments: bool):
    """ln I for each row and, with ``moments``, the mean of ln(alpha+tau), 1/(alpha+tau),
    ln(beta+tau) and 1/(beta+tau) under the density proportional to the integrand."""
    n = x.size
    lnI = np.empty(n)
    mom = np.empty((4, n)) if moments else None
    for lo in range(0, n, _QUAD_CHUNK):
        sl = slice(lo, min(lo + _QUAD_CHUNK, n))
        res = _died_integral_block(params, x[sl], tx[sl], T[sl], moments)
        lnI[sl] = res[0]
        if moments:
            mom[:, sl] = res[1]
    return lnI, mom


def _died_integral_block(params, x, tx, T, moments):
    r, alpha, s, beta = params
    k = r + x
    if alpha <= beta:
        p, c, k1, k2 = alpha, beta - alpha, k, np.full(x.shape, s + 1.0)
    else:
        p, c, k1, k2 = beta, alpha - beta, np.full(x.shape, s + 1.0), k
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
        kk1, kk2, cc, pp, tg, md = k1[idx], k2[idx], (c if np.ndim(c) == 0 else c[idx]), \
            p0[idx], target[idx], mode[idx]
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
    e = p0[:, None] * np.exp(nodes)  # p + tau
    lq = np.log(c + e)  # ln(q + tau), q = max(alpha, beta)
    f = np.exp((1.0 - k1)[:, None] * nodes - k2[:, None] * lq - h_mode[:, None])
    f *= _QUAD_WEIGHTS
    S = f.sum(axis=1)
    lp0 = np.log(p0)
    with np.errstate(divide="ignore"):
        # I = 0 when t_x = T (no room to die unseen): ln I = -inf.
        lnI = h_mode + (1.0 - k1) * lp0 + np.log(S * half)
    if not moments:
        return lnI, None
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_S = np.where(S > 0, 1.0 / S, 0.0)
    m_lp = (np.einsum("ij,ij->i", f, nodes) * inv_S + lp0)  # E ln(p + tau)
    m_ip = np.einsum("ij,ij->i", f, 1.0 / e) * inv_S
    m_lq = np.einsum("ij,ij->i", f, lq) * inv_S
    m_iq = np.einsum("ij,ij->i", f, 1.0 / (c + e)) * inv_S
    if alpha <= beta:
        return lnI, np.stack([m_lp, m_ip, m_lq, m_iq])
    return lnI, np.stack([m_lq, m_iq, m_lp, m_ip])


def _pareto_rows(params, x, tx, T):
    """Per-customer log-likelihood, eq. (22) of the note:

    ll = ln Gamma(r+x) - ln Gamma(r) + r ln alpha + s ln beta
         + ln[(alpha+T)^-(r+x) (beta+T)^-s + s / (r+s+x) A_0],

    with A_0 / (r+s+x) evaluated as the integral I (see ``_died_integral``).
    """
    r, alpha, s, beta = params
    A1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    lnI, _ = _died_integral(params, x, tx, T, moments=False)
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return A1 + np.logaddexp(first, np.log(s) + lnI)


def _pareto_loglik(params, d: _ParetoData, gradient: bool = True):
    """Weighted total log-likelihood, eq. (22) of the note, and its exact gradient.

    With B = (alpha+T)^-(r+x) (beta+T)^-s + s I and pi = s I / B (posterior probability
    that the customer died unseen in (t_x, T)), differentiating eq. (22) gives

        d/dr     = psi(r+x) - psi(r) + ln alpha - (1-pi) ln(alpha+T) - pi E[ln(alpha+tau)]
        d/dalpha = r/alpha - (r+x) [(1-pi)/(alpha+T) + pi E[1/(alpha+tau)]]
        d/ds     = ln beta - (1-pi) ln(beta+T) + pi (1/s - E[ln(beta+tau)])
        d/dbeta  = s/beta - (1-pi) s/(beta+T) - pi (s+1) E[1/(beta+tau)]

    where E[.] averages over tau in (t_x, T) with density proportional to I's integrand;
    the quadrature of ``_died_integral`` gives I and the four means in one pass.
    """
    r, alpha, s, beta = params
    x, tx, T, w, ux, wx = d.x, d.tx, d.T, d.w, d.ux, d.wx
    lnI, mom = _died_integral(params, x, tx, T, moments=gradient)
    laT = np.log(alpha + T)
    lbT = np.log(beta + T)
    rx = r + x
    first = -rx * laT - s * lbT
    second = np.log(s) + lnI
    ll = (_dot(wx, gammaln(r + ux)) + d.W * (-gammaln(r) + r * np.log(alpha)
                                             + s * np.log(beta))
          + _dot(w, np.logaddexp(first, second)))
    if not gradient:
        return ll, None
    pi = expit(second - first)
    q = expit(first - second)  # 1 - pi without cancellation when pi ~ 1
    m_la, m_ia, m_lb, m_ib = mom
    g_r = (_dot(wx, digamma(r + ux)) + d.W * (np.log(alpha) - digamma(r))
           - _dot(w, q * laT + pi * m_la))
    g_alpha = d.W * r / alpha - _dot(w, rx * (q / (alpha + T) + pi * m_ia))
    g_s = d.W * np.log(beta) - _dot(w, q * lbT + pi * (m_lb - 1.0 / s))
    g_beta = d.W * s / beta - _dot(w, q * s / (beta + T) + pi * (s + 1.0) * m_ib)
    return ll, np.array([g_r, g_alpha, g_s, g_beta])


class ParetoNBDModel(PurchaseModel):
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

    _lifetimes_fitter = "ParetoNBDFitter"
    _data_class = _ParetoData

    @staticmethod
    def _expected(params, t, x, tx, T):
        return _pareto_expected(params, t, x, tx, T)

    _param_names = ("r", "alpha", "s", "beta")
    _model_label = "Pareto/NBD"

    def fit(self, frequency, recency, T, weights=None):
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
        return self._fit_prepared(data, rfm_data_summary(x, tx, T, w, data.x.size))

    def _loglik(self, params, data):
        return _pareto_loglik(params, data)

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

    def probability_of_purchases(self, t, n):
        """Probability P(X(t) = n) of exactly n repeat purchases in (0, t].

        For a new customer. Fader & Hardie (2006), "Deriving an Expression for P(X(t) = x)
        Under the Pareto/NBD Model", http://brucehardie.com/notes/012/ (the note's final
        expression, also used by R's BTYD ``pnbd.pmf``): the NBD term of a customer still
        alive at t, plus the term of a customer who died at tau < t after exactly n
        purchases, written with Gauss hypergeometric functions. Where that closed form
        would cancel (short t, large n) the death-time integral is evaluated directly.

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
        >>> m = ParetoNBDModel.from_dict({"model": "ParetoNBDModel",
        ...     "params": {"r": 0.5533, "alpha": 10.5776, "s": 0.6062, "beta": 11.6679},
        ...     "standard_errors": dict.fromkeys(["r", "alpha", "s", "beta"]),
        ...     "log_params_covariance": [[0.0] * 4] * 4, "log_likelihood": 0.0})
        >>> m.probability_of_purchases(39, [0, 1, 2]).round(4).tolist()
        [0.5935, 0.1656, 0.0825]
        """
        t = check_horizon("t", t)
        n = np.asarray(n, dtype=float)
        if np.any(~np.isfinite(n)) or np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError(f"n must be non-negative whole numbers, got {n!r}")
        params = self._param_array()
        tb, nb = np.broadcast_arrays(t, n)
        out = np.empty(tb.shape)
        for idx in np.ndindex(tb.shape):
            out[idx] = _pareto_pmf(params, float(tb[idx]), int(nb[idx]))
        return out

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


def _log_hyp2f1_c(a, tp, c, z):
    """ln 2F1(a, tp; c; z) for 0 <= z < 1 via Euler's transformation
    2F1(a, b; c; z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z): here c - a = n + 1 - i >= 1 and
    c - b > 0, so the transformed series has positive terms only (no cancellation)."""
    with np.errstate(divide="ignore"):
        return (c - a - tp) * np.log1p(-z) + np.log(hyp2f1(c - a, c - tp, c, z))


def _pareto_pmf(params, t, n):
    """P(X(t) = n) for a new customer: the final expression of Fader & Hardie's note 012.

    P = Gamma(r+n) / (Gamma(r) n!) (alpha/(alpha+t))^r (t/(alpha+t))^n (beta/(beta+t))^s
        + alpha^r beta^s B(r+n, s+1) / B(r, s)
          * [ m^-(r+s) F(r+s, 0) - sum_{i=0}^{n} (r+s)_i t^i / i! (m+t)^-(r+s+i) F(r+s+i, t) ]

    with m = max(alpha, beta), F(a, t) = 2F1(a, t'; r+s+n+1; |alpha-beta| / (m+t)) and
    t' = r+n if alpha < beta else s+1. The bracket is E[lambda^n mu (lambda+mu)^-(n+1)
    P(Poisson((lambda+mu) t) > n)], the mixed probability of dying before t after exactly
    n purchases. When its finite sum nearly equals the first term (short t, large n) the
    difference would cancel; then the bracket is summed as the positive tail
    sum_{i > n} of the same terms instead.
    """
    r, alpha, s, beta = params
    if t == 0.0:
        return 1.0 if n == 0 else 0.0
    rs = r + s
    c = rs + n + 1.0
    if alpha < beta:
        m, tp = beta, r + n
    else:
        m, tp = alpha, s + 1.0
    dab = abs(alpha - beta)
    alive = (gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) + r * np.log(alpha / (alpha + t))
             + n * np.log(t / (alpha + t)) + s * np.log(beta / (beta + t)))
    log_coef = (r * np.log(alpha) + s * np.log(beta) + betaln(r + n, s + 1.0) - betaln(r, s))
    log_f0 = -rs * np.log(m) + _log_hyp2f1_c(rs, tp, c, dab / m)

    def log_terms(i):
        return (i * np.log(t) - gammaln(i + 1.0) + gammaln(rs + i) - gammaln(rs)
                - (rs + i) * np.log(m + t) + _log_hyp2f1_c(rs + i, tp, c, dab / (m + t)))

    with np.errstate(over="ignore", invalid="ignore"):
        head = log_terms(np.arange(n + 1, dtype=float))
        lse_head = logsumexp(head)
    died = None
    if np.isfinite(log_f0) and np.isfinite(lse_head) and lse_head < log_f0 - np.log(2.0):
        # At most one bit is lost in the difference.
        log_bracket = log_f0 + np.log(-np.expm1(lse_head - log_f0))
        died = np.exp(log_coef + log_bracket)
    if died is None or not np.isfinite(died):
        # Short horizon or large n: the bracket is a small difference of nearly equal
        # terms (or 2F1 overflows); integrate the death time directly instead.
        died = np.exp(_log_died_by_quadrature(params, t, n))
    return float(np.exp(alive) + died)


def _log_died_by_quadrature(params, t, n):
    """ln of int_0^t NBD(n; tau) f(tau) dtau: exactly n purchases by tau, death at tau.

    NBD(n; tau) = Gamma(r+n)/(Gamma(r) n!) (alpha/(alpha+tau))^r (tau/(alpha+tau))^n and
    f(tau) = s beta^s / (beta+tau)^(s+1) (the integral note 012 starts from). In
    sigma = ln tau the log-integrand H = (n+1) sigma - (r+n) ln(alpha+e^sigma)
    - (s+1) ln(beta+e^sigma) is concave and analytic in |Im sigma| < pi: the interval is
    cut where H is 45 below its maximum and covered by Gauss-Legendre panels of width <= 2
    (all terms positive, so no cancellation whatever t and n).
    """
    r, alpha, s, beta = params

    def H(sig):
        return (n + 1.0) * sig - (r + n) * np.logaddexp(np.log(alpha), sig) \
            - (s + 1.0) * np.logaddexp(np.log(beta), sig)

    def dH(sig):
        return (n + 1.0) - (r + n) * expit(sig - np.log(alpha)) \
            - (s + 1.0) * expit(sig - np.log(beta))

    def walk_left(f, start):
        d = 1.0
        while f(start - d) <= 0:
            d *= 2.0
        return start - d

    top = np.log(t)
    mode = top if dH(top) >= 0 else _bisect(dH, inside=walk_left(dH, top), outside=top,
                                            rtol=1e-12)
    h_mode = H(mode)
    drop = 45.0

    def above(sig):
        return H(sig) - (h_mode - drop)

    lo = _cut_left(above, mode)
    hi = top if above(top) >= 0 else _cut_right(above, mode, top)
    n_pan = max(1, int(np.ceil((hi - lo) / 2.0)))
    edges = np.linspace(lo, hi, n_pan + 1)
    half = 0.5 * np.diff(edges)
    nodes = (edges[:-1] + half)[:, None] + half[:, None] * _PMF_NODES
    vals = np.exp(H(nodes) - h_mode) * _PMF_WEIGHTS * half[:, None]
    log_const = (gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) + r * np.log(alpha)
                 + np.log(s) + s * np.log(beta))
    return float(log_const + h_mode + np.log(vals.sum()))


_PMF_NODES, _PMF_WEIGHTS = np.polynomial.legendre.leggauss(24)


def _cut_left(above, mode):
    """sigma < mode where above() changes sign (above(mode) > 0)."""
    d = 1.0
    while above(mode - d) > 0:
        d *= 2.0
    return _bisect(above, inside=mode - d / 2.0 if d > 1.0 else mode, outside=mode - d)


def _cut_right(above, mode, top):
    """sigma in (mode, top] where above() changes sign (above(mode) > 0 > above(top))."""
    return _bisect(above, inside=mode, outside=top)


def _bisect(above, *, inside, outside, rtol=0.0):
    """Bisect to where above() changes sign; ``above(inside) > 0 >= above(outside)``.

    Returns the final outside end (for the cut points, the integrand is below the cut
    there); stops early once the bracket is narrower than ``rtol`` (relative)."""
    for _ in range(200):
        mid = 0.5 * (inside + outside)
        if above(mid) > 0:
            inside = mid
        else:
            outside = mid
        if abs(outside - inside) <= rtol * max(1.0, abs(mid)):
            break
    return outside
