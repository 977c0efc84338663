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
from scipy.special import hyp2f1

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
        bad = ~np.isfinite(val)
        if bad.any():
            # scipy's hyp2f1 returns inf for some integer parameter combinations with z > 0.9
            # (c - a - b integer, a degenerate case of its z -> 1 - z transformation). The
            # function is smooth in its parameters: a 1e-12 relative nudge moves the value
            # by ~1e-12 and avoids the degenerate branch.
            eps = 1e-12
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                F2 = hyp2f1(a1[bad] * (1 + eps) + eps, bb[bad], cb[bad], zb[bad])
                val[bad] = -np.expm1(bb[bad] * L[bad]) - np.exp(bb[bad] * L[bad]) * (F2 - 1.0)
            bad = ~np.isfinite(val)
        if bad.any():
            val[bad] = _fallback(Ab[bad], bb[bad], cb[bad], zb[bad])
        out[big] = val
    return out.reshape(shape)


def _fallback(A, b1, c, z):
    """Cases where the Euler form overflows (2F1 -> inf while (1-z)^b1 -> 0): use the
    Pfaff form 2F1(A, b1; c; z/(z-1)), which scipy evaluates through its own
    transformations for large negative arguments, and combine in log space."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        w = -z / (1.0 - z)
        F = hyp2f1(A, b1, c, w)
        val = 1.0 - F
        bad = ~np.isfinite(val)
        if bad.any():
            # Original form with logs: (1-z)^A 2F1(A, c-b1; c; z).
            Ab, bb, cb, zb = A[bad], b1[bad], c[bad], z[bad]
            logF = np.log(hyp2f1(Ab, cb - bb, cb, zb))
            val[bad] = -np.expm1(Ab * np.log1p(-zb) + logF)
    return val
