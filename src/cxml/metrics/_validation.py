"""Boundary checks shared by the CX metrics (one place, one wording)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError

__all__ = ["as_scores", "check_scale", "count_of"]


def count_of(bad: int, total: int) -> str:
    """``"3 of 1,200"``: the phrase every error message uses to count bad rows.

    Parameters
    ----------
    bad : int
        Rows that fail a check.
    total : int
        Rows checked.

    Returns
    -------
    str
        Both counts with thousands separators.

    Examples
    --------
    >>> count_of(3, 1200)
    '3 of 1,200'
    """
    return f"{bad:,} of {total:,}"


def as_scores(scores, *, name: str, allow_empty: bool = False) -> np.ndarray:
    """Turn survey answers (list, array, Series) into a 1-D float array, or explain why not.

    Missing answers (NaN/None) are rejected rather than dropped: a survey's non-responses
    change the denominator, so the caller decides (``scores.dropna()``) instead of cxml.
    """
    if isinstance(scores, pd.DataFrame):
        raise DataValidationError(
            f"{name}: expected one column of scores (Series, list or array), got a DataFrame "
            f"with columns {list(scores.columns)}; pass df['<column>']"
        )
    if isinstance(scores, str | bytes) or not isinstance(scores, Iterable | np.ndarray):
        raise DataValidationError(
            f"{name}: expected a sequence of numeric scores, got {type(scores).__name__}"
        )
    series = pd.Series(scores) if not isinstance(scores, pd.Series) else scores
    if series.dtype == bool or pd.api.types.is_bool_dtype(series.dtype):
        raise DataValidationError(f"{name}: scores are booleans; pass the numeric answers")
    values = pd.to_numeric(series, errors="coerce")
    not_numeric = int((values.isna() & series.notna()).sum())
    if not_numeric:
        raise DataValidationError(
            f"{name}: {count_of(not_numeric, len(series))} scores are not numbers "
            f"(e.g. {series[values.isna() & series.notna()].iloc[0]!r})"
        )
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    if arr.ndim != 1:
        raise DataValidationError(f"{name}: expected 1-D scores, got shape {arr.shape}")
    missing = int(np.isnan(arr).sum())
    if missing:
        raise DataValidationError(
            f"{name}: {count_of(missing, arr.size)} scores are missing (NaN); drop "
            "non-responses first (e.g. scores.dropna()) so the denominator is explicit"
        )
    if not allow_empty and arr.size == 0:
        raise DataValidationError(f"{name}: no scores given; at least one answer is needed")
    return arr


def check_scale(arr: np.ndarray, *, name: str, scale: tuple[float, float], integer: bool) -> None:
    """Raise when answers fall outside ``scale`` (inclusive) or, if ``integer``, are fractional."""
    lo, hi = scale
    outside = int(((arr < lo) | (arr > hi)).sum())
    if outside:
        raise DataValidationError(
            f"{name}: {count_of(outside, arr.size)} scores are outside {lo:g}..{hi:g}; "
            "check the survey scale (or pass scale=...)"
        )
    if integer:
        fractional = int((arr != np.round(arr)).sum())
        if fractional:
            raise DataValidationError(
                f"{name}: {count_of(fractional, arr.size)} scores are not whole numbers; "
                "survey answers on this scale are integers"
            )


def check_scale_arg(scale, *, name: str) -> tuple[float, float]:
    """Validate a ``(low, high)`` scale argument."""
    try:
        lo, hi = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise DataValidationError(
            f"{name}: scale must be a (low, high) pair of numbers, got {scale!r}"
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise DataValidationError(f"{name}: scale must satisfy low < high, got {scale!r}")
    return lo, hi
