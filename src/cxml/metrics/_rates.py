"""Customer-base rates: churn, retention and repeat purchase.

Rates are fractions in [0, 1] (unlike NPS and CSAT, which the industry quotes in points and
percent), so they compare directly with a churn probability.

- churn rate = customers lost during a period / customers at its start;
- retention rate (the customer retention rate, CRR) = (customers at end - new customers
  acquired during the period) / customers at start;
- repeat purchase rate = customers with at least two purchase days / customers.

``start``/``end`` may be counts or collections of customer ids. With ids the rates use set
arithmetic: retained = start ∩ end, lost = start \\ end. With counts, ``end - new`` stands in
for "retained", which is the textbook CRR formula and is exact only when no customer outside
the start base (a reactivated one) is in ``end`` without being ``new``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from cxml.data import to_datetime_series
from cxml.exceptions import DataValidationError
from cxml.metrics._validation import count_of

__all__ = ["churn_rate", "retention_rate", "repeat_purchase_rate"]


def _is_count(x) -> bool:
    # sets and dict views have np.ndim() == 0 too, so test for "not a collection"
    return not isinstance(x, str | bytes | Iterable) and np.ndim(x) == 0


def _as_count(x, *, name: str, arg: str) -> int:
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise DataValidationError(
            f"{name}: {arg} must be a count or a collection of customer ids, got {x!r}"
        ) from None
    if not np.isfinite(value) or value < 0 or value != int(value):
        raise DataValidationError(f"{name}: {arg} must be a non-negative whole count, got {x!r}")
    return int(value)


def _as_ids(x, *, name: str, arg: str) -> set:
    if isinstance(x, str | bytes) or not isinstance(x, Iterable):
        raise DataValidationError(
            f"{name}: {arg} must be a collection of customer ids, got {type(x).__name__}"
        )
    ids = pd.Series(list(x), dtype=object)
    missing = int(ids.isna().sum())
    if missing:
        raise DataValidationError(
            f"{name}: {count_of(missing, len(ids))} customer ids in {arg} are missing (NaN)"
        )
    return set(ids)


def _counts(name: str, start, end, new, lost) -> tuple[int, int]:
    """Return (start count, retained count) from counts or id collections."""
    if _is_count(start):
        s = _as_count(start, name=name, arg="start")
        if s == 0:
            raise DataValidationError(f"{name}: start is 0 customers; the rate is undefined")
        if lost is not None:
            if end is not None or new is not None:
                raise DataValidationError(f"{name}: pass either lost=, or end= and new=, not both")
            n_lost = _as_count(lost, name=name, arg="lost")
            if n_lost > s:
                raise DataValidationError(
                    f"{name}: lost ({n_lost:,}) exceeds customers at start ({s:,})"
                )
            return s, s - n_lost
        if end is None or new is None:
            raise DataValidationError(
                f"{name}: with counts, pass end= and new= (customers at the end of the period "
                "and new customers acquired during it)"
            )
        e = _as_count(end, name=name, arg="end")
        n = _as_count(new, name=name, arg="new")
        if n > e:
            raise DataValidationError(f"{name}: new ({n:,}) exceeds customers at end ({e:,})")
        if e - n > s:
            raise DataValidationError(
                f"{name}: end - new = {e - n:,} returning customers exceed the {s:,} at start; "
                "reactivated customers must be counted in new, or pass customer ids instead"
            )
        return s, e - n
    start_ids = _as_ids(start, name=name, arg="start")
    if not start_ids:
        raise DataValidationError(f"{name}: start holds no customers; the rate is undefined")
    if lost is not None or new is not None:
        raise DataValidationError(
            f"{name}: with customer ids pass start= and end= only (lost and new follow from them)"
        )
    if end is None:
        raise DataValidationError(f"{name}: pass end= (the customer ids at the end of the period)")
    if _is_count(end):
        raise DataValidationError(f"{name}: start holds ids but end is a count; pass ids for both")
    end_ids = _as_ids(end, name=name, arg="end")
    return len(start_ids), len(start_ids & end_ids)


def churn_rate(*, start, lost=None, end=None, new=None) -> float:
    """Churn rate: customers lost during a period / customers at its start.

    Parameters
    ----------
    start : int or collection of customer ids
        Customers at the start of the period (a count, or their ids).
    lost : int, optional
        Customers lost during the period (counts only).
    end, new : int or collection, optional
        Instead of ``lost``: customers at the end and new customers acquired during the
        period, so ``lost = start - (end - new)``. With ids only ``end`` is needed
        (lost = start ids not in end).

    Returns
    -------
    float
        Churn rate in [0, 1].

    Raises
    ------
    DataValidationError
        Zero customers at start, negative or fractional counts, lost > start, or an
        inconsistent combination of arguments.

    Examples
    --------
    >>> churn_rate(start=200, lost=30)
    0.15
    >>> churn_rate(start=200, end=210, new=40)
    0.15
    >>> churn_rate(start=["a", "b", "c", "d"], end=["a", "b", "x"])
    0.5
    """
    s, retained = _counts("churn_rate", start, end, new, lost)
    return float((s - retained) / s)


def retention_rate(*, start, end, new=None) -> float:
    """Customer retention rate: (customers at end - new customers) / customers at start.

    Parameters
    ----------
    start : int or collection of customer ids
        Customers at the start of the period.
    end : int or collection of customer ids
        Customers at the end of the period.
    new : int, optional
        New customers acquired during the period; required with counts, implied with ids
        (retained = start ids also in end).

    Returns
    -------
    float
        Retention rate in [0, 1].

    Raises
    ------
    DataValidationError
        Zero customers at start, new > end, end - new > start, or mixed counts and ids.

    Examples
    --------
    >>> retention_rate(start=200, end=210, new=40)
    0.85
    >>> retention_rate(start=[1, 2, 3, 4], end=[1, 2, 9])
    0.5
    """
    s, retained = _counts("retention_rate", start, end, new, None)
    return float(retained / s)


def repeat_purchase_rate(
    data, *, customer_id: str = "customer_id", timestamp: str = "timestamp"
) -> float:
    """Repeat purchase rate: share of customers who bought on at least two different days.

    Parameters
    ----------
    data : DataFrame or array-like
        Either transactions (one row per order line, columns ``customer_id`` and
        ``timestamp``; same-day purchases count once, as in Fader-Hardie-Lee) or the
        per-customer repeat ``frequency`` (e.g. ``rfm["frequency"]``), where a repeat
        buyer has frequency > 0.
    customer_id, timestamp : str
        Column names in ``data`` when it is a transactions table.

    Returns
    -------
    float
        Share of repeat customers in [0, 1].

    Raises
    ------
    DataValidationError
        Missing columns, missing ids/timestamps, negative or missing frequencies, or no
        customers.

    Examples
    --------
    >>> repeat_purchase_rate([0, 0, 2, 1])
    0.5
    """
    name = "repeat_purchase_rate"
    if isinstance(data, pd.DataFrame):
        missing_cols = [c for c in (customer_id, timestamp) if c not in data.columns]
        if missing_cols:
            raise DataValidationError(
                f"{name}: transactions lack column(s) {missing_cols}; pass customer_id=/timestamp= "
                f"to name them (columns are {list(data.columns)})"
            )
        if len(data) == 0:
            raise DataValidationError(f"{name}: no transactions given")
        for col in (customer_id, timestamp):
            bad = int(data[col].isna().sum())
            if bad:
                raise DataValidationError(
                    f"{name}: {count_of(bad, len(data))} rows have a missing {col!r}"
                )
        days = to_datetime_series(data[timestamp], timestamp).dt.normalize()
        n_days = days.groupby(data[customer_id].to_numpy()).nunique()
        return float((n_days >= 2).mean())
    freq = pd.to_numeric(pd.Series(data), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if freq.size == 0:
        raise DataValidationError(f"{name}: no customers given")
    bad = int((~np.isfinite(freq) | (freq < 0)).sum())
    if bad:
        raise DataValidationError(
            f"{name}: {count_of(bad, freq.size)} frequencies are missing, non-numeric or negative"
        )
    return float((freq > 0).mean())
