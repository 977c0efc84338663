"""Comparing two scorings: segment migration, population stability, a backtest.

The previous scores file is the *expected* population, the new one the *actual*; customers
are joined on ``customer_id``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["backtest", "migration_matrix", "population_stability_index"]

#: Share given to an empty bin so that the logarithm of the PSI stays finite.
_EPS = 1e-4


def population_stability_index(expected, actual, *, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``.

    ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over the bins, ``e_i`` and ``a_i`` the
    shares of the two populations in bin ``i`` (Siddiqi, *Credit Risk Scorecards*, 2006,
    ch. 8; Yurdakul, *Statistical properties of population stability index*, 2018, eq. 1).
    Bins are the deciles of ``expected`` (fewer where values tie); empty bins count as a
    share of 1e-4. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large.

    Parameters
    ----------
    expected, actual : array-like of float
        The reference (previous) and the new values; NaNs are left out.
    bins : int, default 10

    Returns
    -------
    float
        >= 0; NaN when either population is empty.

    Examples
    --------
    >>> round(population_stability_index([1, 2, 3, 4] * 25, [1, 2, 3, 4] * 25), 6)
    0.0
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e, a = e[np.isfinite(e)], a[np.isfinite(a)]
    if not len(e) or not len(a):
        return float("nan")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    # bin i holds values in (edges[i-1], edges[i]]: both populations cut at the same points
    e_share = np.bincount(np.searchsorted(edges, e, side="left"), minlength=len(edges) + 1)
    a_share = np.bincount(np.searchsorted(edges, a, side="left"), minlength=len(edges) + 1)
    e_share = np.maximum(e_share / len(e), _EPS)
    a_share = np.maximum(a_share / len(a), _EPS)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def migration_matrix(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    *,
    segment: str = "segment",
    customer_id: str = "customer_id",
):
    """Counts and row shares of customers moving from their old to their new segment.

    Parameters
    ----------
    previous, current : DataFrame
        Scores with ``customer_id`` and ``segment``.
    segment, customer_id : str
        Column names.

    Returns
    -------
    (DataFrame, DataFrame)
        Counts (rows = previous segment, columns = new segment, customers in both files
        only) and the same divided by each row's total (each row sums to 1).

    Examples
    --------
    >>> old = pd.DataFrame({"customer_id": [1, 2, 3], "segment": ["a", "a", "b"]})
    >>> new = pd.DataFrame({"customer_id": [1, 2, 3], "segment": ["a", "b", "b"]})
    >>> migration_matrix(old, new)[0]
    new  a  b
    old
    a    1  1
    b    0  1
    """
    both = previous[[customer_id, segment]].merge(
        current[[customer_id, segment]], on=customer_id, suffixes=("_old", "_new")
    )
    counts = pd.crosstab(both[f"{segment}_old"], both[f"{segment}_new"]).rename_axis(
        index="old", columns="new"
    )
    shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
    return counts, shares


def backtest(
    previous: pd.DataFrame, current: pd.DataFrame, *, customer_id: str = "customer_id"
) -> pd.DataFrame:
    """What happened since the previous scoring to the customers it scored.

    A customer scored in both files *purchased* ``frequency_new - frequency_old`` repeat
    purchases between the two ``as_of`` dates (cxml's ``frequency`` counts repeat purchase
    periods up to ``as_of``, so it only grows when the customer buys again) and *churned*
    when it did not grow: no repeat purchase in ``(as_of_old, as_of_new]``. A customer who
    had no repeat purchase before and buys again does grow its frequency; one whose first
    purchase fell in the previous period and who buys in the same time unit again does not
    (a BTYD period holds one purchase). Customers absent from the new file have no known
    outcome and are left out.

    Parameters
    ----------
    previous, current : DataFrame
        Scores (``customer_id``, ``frequency``, ``churn_probability``,
        ``expected_purchases``, ``segment``).
    customer_id : str

    Returns
    -------
    DataFrame
        One row per customer in both files: ``customer_id``, ``segment`` (the previous
        one), ``churn_probability`` and ``expected_purchases`` (predicted then),
        ``purchases`` (realised since) and ``churned`` (bool).
    """
    old = previous[[customer_id, "segment", "churn_probability", "expected_purchases", "frequency"]]
    new = current[[customer_id, "frequency"]].rename(columns={"frequency": "frequency_new"})
    both = old.merge(new, on=customer_id, how="inner")
    # a decreasing frequency cannot come from later data of the same history: count it as 0
    both["purchases"] = np.maximum(both["frequency_new"] - both["frequency"], 0.0)
    both["churned"] = both["purchases"] <= 0
    return both.drop(columns=["frequency", "frequency_new"]).reset_index(drop=True)
