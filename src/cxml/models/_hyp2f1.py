"""The Gauss hypergeometric term of the BG/NBD-family expectations, computed stably.

BG/NBD eq. (10) and MBG/NBD need

    q = 1 - (1 - z)^A  2F1(A, B; C; z),     A = r + x,  B = b + x (+1),  z = t / (alpha + T + t)

Evaluated literally (as lifetimes does) ``2F1`` overflows for large x or long horizons and
``1 - ...`` cancels for short ones. Two classical identities remove both problems:

* Euler: (1-z)^A 2F1(A, B; C; z) = (1-z)^(C-B) 2F1(C-A, C-B; C; z). With C - B = a - 1 and
  C - A = a + b - 1 - r (BG/NBD) the parameters no longer grow with x, so the series
  converges quickly and stays O(1).
* Pfaff: (1-z)^A 2F1(A, B; C; z) = 2F1(A, C-B; C; w) with w = -z / (1 - z) = -t / (alpha + T).
  For short horizons ``q = -sum_{k>=1} (A)_k (C-B)_k / ((C)_k k!) w^k`` is summed directly,
  so a tiny q keeps full relative precision.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, hyp2f1

__all__ = ["one_minus_scaled_hyp2f1"]

# Below this z the Pfaff series (|w| < 0.053) converges to machine precision in < 15 terms.
_Z_SERIES = 0.05
_MAX_TERMS = 200


def _pfaff_series(A, b1, c, w):
    """q = -sum_{k>=1} (A)_k (b1)_k / ((c)_k k!) w^k for |w| small."""
    term = A * b1 * w / c
    total = term.copy()
    active = np.ones(term.shape, dtype=bool)
    k = 1
    while active.any() and k < _MAX_TERMS:
        idx = np.flatnonzero(active)
        t = term[idx] * (A[idx] + k) * (b1[idx] + k) * w[idx] / ((c[idx] + k) * (k + 1))
        term[idx] = t
        total[idx] += t
        active[idx] = np.abs(t) > 1e-17 * np.abs(total[idx])
        k += 1
    return -total


def one_minus_scaled_hyp2f1(A, b1, c, z):
    """Compute ``1 - (1-z)^A 2F1(A, c - b1; c; z)`` for ``0 <= z < 1``.

    Parameters
    ----------
    A : array-like
        ``r + x`` (> 0).
    b1 : array-like
        ``C - B``, i.e. ``a - 1`` for BG/NBD and MBG/NBD.
    c : array-like
        ``C`` (> 0).
    z : array-like
        ``t / (alpha + T + t)`` in [0, 1).

    Returns
    -------
    numpy.ndarray
        The value, broadcast over the inputs; finite for every valid input.

    Notes
    -----
    The value has a probabilistic meaning that bounds it: ``c / (a-1) * q`` equals
    ``E[(1 - (1 + kappa p)^-A) / p]`` for ``p ~ Beta(a, c - a + 1)`` and
    ``kappa = z / (1 - z)``, so it lies in ``[0, A kappa]``. scipy's ``hyp2f1`` fails
    (inf, NaN, or rarely a wrong value) for some integer parameter combinations and for z
    very close to 1; results outside the bounds are recomputed by quadrature of that
    expectation.
    """
    A, b1, c, z = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(A, b1, c, z))
    shape = A.shape
    A, b1, c, z = A.ravel(), b1.ravel(), c.ravel(), z.ravel()
    out = np.empty(A.shape)
    small = z < _Z_SERIES
    if small.any():
        zs = z[small]
        w = -zs / (1.0 - zs)
        out[small] = _pfaff_series(A[small], b1[small], c[small], w)
    big = ~small
    if big.any():
        Ab, bb, cb, zb = A[big], b1[big], c[big], z[big]
        a1 = cb - Ab
        L = np.log1p(-zb)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            F = hyp2f1(a1, bb, cb, zb)
            val = -np.expm1(bb * L) - np.exp(bb * L) * (F - 1.0)
            # Bounds of the expectation: 0 <= c/(a-1) q <= A kappa.
            mean = cb / bb * val
            kappa = zb / (1.0 - zb)
            bad = ~(np.isfinite(val) & (mean >= 0) & (mean <= Ab * kappa * (1 + 1e-9)))
        if bad.any():
            val[bad] = _by_quadrature(Ab[bad], bb[bad], cb[bad], zb[bad])
        out[big] = val
    return out.reshape(shape)


# Gauss-Legendre nodes for one panel of the log-space quadrature.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_PANEL = 0.5


def _by_quadrature(A, b1, c, z):
    """q = (a-1)/c E[(1 - (1+kappa p)^-A) / p], p ~ Beta(a, B), by quadrature in log space.

    The integral over p in (0, 1) is split at 1/2; each half is integrated in the log of the
    distance to its end point (p = e^v and 1 - p = e^u), where the integrand is smooth and
    decays like e^{a v} and e^{B u}. Only used where scipy fails, so cost is secondary.
    """
    out = np.empty(A.size)
    for i in range(A.size):
        a = b1[i] + 1.0
        B = c[i] - b1[i]
        Ai = A[i]
        kappa = z[i] / (1.0 - z[i])
        lbeta = betaln(a, B)
        total = 0.0
        for rate, lower_half in ((a, True), (B, False)):
            length = min(80.0 / rate, 4000.0) + 1.0
            n_panels = int(np.ceil(length / _PANEL))
            edges = np.log(0.5) - _PANEL * np.arange(n_panels + 1)[::-1]
            mid = 0.5 * (edges[1:] + edges[:-1])
            v = (mid[:, None] + 0.5 * _PANEL * _GL_X[None, :]).ravel()
            wts = np.tile(0.5 * _PANEL * _GL_W, n_panels)
            e = np.exp(v)
            if lower_half:
                p, lp, l1p = e, v, np.log1p(-e)
                # density p^(a-1) (1-p)^(B-1), Jacobian dp = p dv
                logdens = a * lp + (B - 1.0) * l1p - lbeta
            else:
                p, lp, l1p = 1.0 - e, np.log1p(-e), v
                logdens = (a - 1.0) * lp + B * l1p - lbeta
            # g(p) = (1 - (1 + kappa p)^-A) / p, in logs. Where u = A log1p(kappa p) is
            # below 1e-200, g = A kappa to double precision: this also covers p = e^v = 0
            # (v < -745, reached when a < 0.11), whose log(0) = -inf would drop that mass.
            u = Ai * np.log1p(kappa * p)
            tiny = u < 1e-200
            lg = np.log(-np.expm1(-np.where(tiny, 1.0, u))) - lp
            lg[tiny] = np.log(Ai * kappa)
            total += float(np.sum(wts * np.exp(lg + logdens)))
        out[i] = total * b1[i] / c[i]
    return out
