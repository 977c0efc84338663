"""One-row-per-segment summary: size, value, predicted and actual churn, survey KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError
from cxml.metrics import count_of, metric_by

__all__ = ["segment_summary"]

_NAME = "segment_summary"


def _numeric_column(scores: pd.DataFrame, col: str, arg: str) -> np.ndarray:
    if col not in scores.columns:
        raise DataValidationError(
            f"{_NAME}: scores lack the {arg} column {col!r} (columns are {list(scores.columns)}); "
            f"pass {arg}='<column>' or {arg}=None to leave it out"
        )
    raw = scores[col]
    if pd.api.types.is_bool_dtype(raw.dtype) or not pd.api.types.is_numeric_dtype(raw.dtype):
        raise DataValidationError(f"{_NAME}: column {col!r} must be numeric, got {raw.dtype}")
    values = raw.to_numpy(dtype=float, na_value=np.nan)
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise DataValidationError(
            f"{_NAME}: {col!r} is missing or infinite for {count_of(bad, len(values))} customers"
        )
    return values


def _churned(scores: pd.DataFrame, churned, ids: pd.Index) -> np.ndarray:
    if isinstance(churned, str):
        if churned not in scores.columns:
            raise DataValidationError(
                f"{_NAME}: scores lack the churned column {churned!r} "
                f"(columns are {list(scores.columns)})"
            )
        flags = scores[churned]
    elif isinstance(churned, pd.Series):
        missing = int((~ids.isin(churned.index)).sum())
        if missing:
            raise DataValidationError(
                f"{_NAME}: churned has no value for {count_of(missing, len(ids))} customers; "
                "index it by the same customer ids as scores"
            )
        if not churned.index.is_unique:
            raise DataValidationError(f"{_NAME}: churned index has duplicated customer ids")
        flags = churned.reindex(ids)
    else:
        flags = pd.Series(np.asarray(churned).ravel())
        if len(flags) != len(ids):
            raise DataValidationError(
                f"{_NAME}: churned has {len(flags):,} values for {len(ids):,} customers"
            )
    values = pd.to_numeric(pd.Series(flags.to_numpy()), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    bad = int((~np.isin(values, (0.0, 1.0))).sum())
    if bad:
        raise DataValidationError(
            f"{_NAME}: churned must be True/False (or 1/0); {count_of(bad, len(values))} "
            "values are not"
        )
    return values


def segment_summary(
    scores,
    *,
    segment: str = "segment",
    clv: str | None = "clv",
    churn_probability: str | None = "churn_probability",
    churned=None,
    events=None,
    customer_id: str = "customer_id",
    csat_scale=(1, 5),
    csat_satisfied_min: int = 4,
    ces_scale=(1, 7),
) -> pd.DataFrame:
    """Summarise customers per segment: size, CLV, predicted and actual churn, NPS/CSAT/CES.

    Parameters
    ----------
    scores : DataFrame
        One row per customer with a segment label and, usually, predicted ``clv`` and
        ``churn_probability``. Customer ids are the ``customer_id`` column if present,
        otherwise the index (needed only to join ``churned`` Series and ``events``).
    segment : str, default "segment"
        Column with the segment label. If categorical, its category order is kept and empty
        categories appear with 0 customers.
    clv, churn_probability : str or None
        Columns with predicted CLV and churn probability; None leaves them out.
    churned : str, Series or array-like of bool, optional
        Actual churn in the holdout (no purchase in it), when known: a column name, a Series
        indexed by customer id, or values aligned with ``scores``.
    events : DataFrame, optional
        Engagement events (``customer_id``, ``event_type``, ``value``); rows with
        ``event_type`` "nps", "csat" or "ces" give each segment's NPS, CSAT and CES.
    customer_id : str, default "customer_id"
        Customer id column in ``scores`` (and ``events``).
    csat_scale : (int, int), default (1, 5)
        CSAT answer scale, passed to :func:`cxml.metrics.csat`.
    csat_satisfied_min : int, default 4
        Lowest satisfied CSAT answer.
    ces_scale : (int, int), default (1, 7)
        CES answer scale, passed to :func:`cxml.metrics.ces`.

    Returns
    -------
    DataFrame
        One row per segment, columns: ``segment``, ``customers``, ``share`` (of customers,
        0..1); with ``clv``: ``clv_total``, ``clv_mean``, ``clv_share``; with
        ``churn_probability``: ``churn_probability_mean``; with ``churned``:
        ``churn_actual`` (share of the segment that churned); with ``events``: ``nps``,
        ``nps_responses``, ``csat``, ``csat_responses``, ``ces``, ``ces_responses`` (NaN
        where a segment has no answers). Rows follow the categorical order, otherwise
        descending total CLV (or size). Means of an empty segment are NaN.

    Raises
    ------
    DataValidationError
        Missing columns, missing segment labels, non-finite CLV or probabilities, churn
        flags that are not booleans, invalid survey answers.

    Examples
    --------
    >>> scores = pd.DataFrame(
    ...     {
    ...         "segment": ["a", "a", "b"],
    ...         "clv": [10.0, 30.0, 60.0],
    ...         "churn_probability": [0.2, 0.4, 0.9],
    ...     }
    ... )
    >>> segment_summary(scores)[["segment", "customers", "clv_total", "churn_probability_mean"]]
      segment  customers  clv_total  churn_probability_mean
    0       b          1       60.0                     0.9
    1       a          2       40.0                     0.3
    """
    if not isinstance(scores, pd.DataFrame):
        raise DataValidationError(
            f"{_NAME}: scores must be a pandas DataFrame, got {type(scores).__name__}"
        )
    if segment not in scores.columns:
        raise DataValidationError(
            f"{_NAME}: scores lack the segment column {segment!r} "
            f"(columns are {list(scores.columns)}); pass segment='<column>'"
        )
    n = len(scores)
    seg = scores[segment]
    missing = int(seg.isna().sum())
    if missing:
        raise DataValidationError(
            f"{_NAME}: {count_of(missing, n)} customers have no segment in {segment!r}; every "
            "customer needs exactly one"
        )
    ids = pd.Index(scores[customer_id] if customer_id in scores.columns else scores.index)
    is_cat = isinstance(seg.dtype, pd.CategoricalDtype)
    data = pd.DataFrame({"segment": seg.array})  # .array keeps a Categorical as is
    if clv is not None:
        data["clv"] = _numeric_column(scores, clv, "clv")
    if churn_probability is not None:
        p = _numeric_column(scores, churn_probability, "churn_probability")
        outside = int(((p < 0) | (p > 1)).sum())
        if outside:
            raise DataValidationError(
                f"{_NAME}: {churn_probability!r} is outside 0..1 for {count_of(outside, n)} "
                "customers"
            )
        data["p"] = p
    if churned is not None:
        data["churned"] = _churned(scores, churned, ids)

    g = data.groupby("segment", sort=False, observed=False)
    out = pd.DataFrame({"customers": g.size().astype("int64")})
    out["share"] = out["customers"] / n if n else np.nan
    if clv is not None:
        out["clv_total"] = g["clv"].sum()
        out["clv_mean"] = g["clv"].mean()
        total = data["clv"].sum()
        out["clv_share"] = out["clv_total"] / total if total != 0 else np.nan
    if churn_probability is not None:
        out["churn_probability_mean"] = g["p"].mean()
    if churned is not None:
        out["churn_actual"] = g["churned"].mean()
    if is_cat:
        out = out.reindex(
            pd.CategoricalIndex(seg.cat.categories, categories=seg.cat.categories, name="segment")
        )
    else:
        key = "clv_total" if clv is not None else "customers"
        out = out.sort_values([key, "customers"], ascending=False, kind="stable")
    out.index.name = "segment"

    if events is not None:
        if not is_cat and not ids.is_unique:
            raise DataValidationError(f"{_NAME}: customer ids in scores are not unique")
        segments = pd.Series(seg.array, index=ids)
        kwargs = {
            "nps": {},
            "csat": {"scale": csat_scale, "satisfied_min": csat_satisfied_min},
            "ces": {"scale": ces_scale},
        }
        for metric, kw in kwargs.items():
            by_seg = metric_by(
                events,
                metric=metric,
                by="segment",
                segments=segments,
                customer_id=customer_id,
                **kw,
            ).set_index("segment")
            out[metric] = by_seg[metric].reindex(out.index).astype(float)
            out[f"{metric}_responses"] = (
                by_seg["responses"].reindex(out.index).fillna(0).astype("int64")
            )
    return out.reset_index()
