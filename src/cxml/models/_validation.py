"""Boundary checks for the sufficient statistics the BTYD models consume.

Every public ``fit`` / predict method validates its arrays here once; the likelihood and
prediction kernels trust what they receive.
"""

from __future__ import annotations

import numpy as np

from cxml.exceptions import DataValidationError

__all__ = ["as_float_array", "check_rfm", "check_weights", "check_horizon"]


def _count(mask: np.ndarray, n: int) -> str:
    return f"{int(np.count_nonzero(mask)):,} of {n:,}"


def as_float_array(name: str, values) -> np.ndarray:
    """Convert ``values`` to a 1-D float64 array, refusing NaN/inf and non-numbers."""
    try:
        arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise DataValidationError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise DataValidationError(
            f"{name} is NaN or infinite for {_count(bad, arr.size)} customers; "
            "drop or impute those rows first"
        )
    return arr


def check_weights(weights, n: int) -> np.ndarray:
    """Validate optional sample weights (non-negative, finite, one per customer)."""
    if weights is None:
        return np.ones(n)
    w = as_float_array("weights", weights)
    if w.size != n:
        raise DataValidationError(f"weights has {w.size:,} values but there are {n:,} customers")
    neg = w < 0
    if neg.any():
        raise DataValidationError(f"weights is negative for {_count(neg, n)} customers")
    if not w.sum() > 0:
        raise DataValidationError("weights sum to zero; at least one customer needs weight > 0")
    return w


def check_rfm(frequency, recency, T, *, require_data: bool = True):
    """Validate (frequency, recency, T) arrays and return them as float64.

    Parameters
    ----------
    frequency, recency, T : array-like
        Repeat-purchase count, time of last purchase and age, all in the same time unit.
    require_data : bool, default True
        Refuse empty input.

    Returns
    -------
    tuple of numpy.ndarray
        ``(frequency, recency, T)`` as float64 arrays of equal length.

    Raises
    ------
    DataValidationError
        On length mismatch, negative values, fractional frequency, recency > T, or a
        positive recency for a customer without repeat purchases.
    """
    x = as_float_array("frequency", frequency)
    tx = as_float_array("recency", recency)
    T = as_float_array("T", T)
    n = x.size
    if tx.size == 1 and n > 1:
        tx = np.full(n, tx[0])
    if T.size == 1 and n > 1:
        T = np.full(n, T[0])
    if not (tx.size == n and T.size == n):
        raise DataValidationError(
            f"frequency, recency and T must have the same length, got {n:,}, {tx.size:,} "
            f"and {T.size:,}"
        )
    if require_data and n == 0:
        raise DataValidationError("no customers given (frequency is empty)")
    for name, arr in (("frequency", x), ("recency", tx), ("T", T)):
        neg = arr < 0
        if neg.any():
            raise DataValidationError(f"{name} is negative for {_count(neg, n)} customers")
    frac = x != np.round(x)
    if frac.any():
        raise DataValidationError(
            f"frequency must count whole repeat purchases; it is fractional for "
            f"{_count(frac, n)} customers"
        )
    # A tolerance so that recency == T computed in floating point is accepted.
    late = tx > T * (1 + 1e-12) + 1e-12
    if late.any():
        raise DataValidationError(
            f"recency > T for {_count(late, n)} customers; recency and T must be in the same "
            "time unit and measured from the first purchase"
        )
    odd = (x == 0) & (tx > 0)
    if odd.any():
        raise DataValidationError(
            f"recency > 0 with frequency 0 for {_count(odd, n)} customers; recency must be 0 "
            "for customers without repeat purchases"
        )
    return x, np.minimum(tx, T), T


def check_horizon(name: str, t) -> np.ndarray:
    """Validate a prediction horizon (scalar or array, non-negative, finite)."""
    arr = np.asarray(t, dtype="float64")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise DataValidationError(f"{name} must be finite and >= 0, got {t!r}")
    return arr
