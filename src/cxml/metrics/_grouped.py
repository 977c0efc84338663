"""CX metrics per segment, per cohort (first-purchase month) and per calendar month.

Two kinds of input:

- survey metrics (``nps``, ``csat``, ``ces``) read an events table in the cxml contract
  (``customer_id``, ``timestamp``, ``event_type``, ``value``) and use the rows whose
  ``event_type`` is the metric's name;
- customer-base metrics (``churn_rate``, ``retention_rate``, ``repeat_purchase_rate``) read
  transactions (``customer_id``, ``timestamp``).

A customer is *active* in a month when they bought in it. For month ``m``: start = active
in ``m - 1``, end = active in ``m``, new = first purchase in ``m``, retained = start ∩ end,
lost = start \\ end, reactivated = end - retained - new.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cxml.data import to_datetime_series
from cxml.exceptions import DataValidationError
from cxml.metrics._survey import ces, csat, nps
from cxml.metrics._validation import count_of

__all__ = ["metric_by", "customer_flows"]

logger = logging.getLogger(__name__)

_SURVEY = {"nps": nps, "csat": csat, "ces": ces}
_BASE = ("churn_rate", "retention_rate", "repeat_purchase_rate")
_BY = ("segment", "cohort", "month")


def _require_columns(df, columns, *, name: str, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            f"{name}: {what} must be a pandas DataFrame, got {type(df).__name__}"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"{name}: {what} lack column(s) {missing} (columns are {list(df.columns)}); "
            "pass customer_id=/timestamp=/event_type=/value= to name yours"
        )
    for col in columns:
        bad = int(df[col].isna().sum())
        if bad:
            raise DataValidationError(
                f"{name}: {count_of(bad, len(df))} rows of {what} have a missing {col!r}"
            )


def _activity(transactions, *, customer_id: str, timestamp: str, freq: str, name: str):
    """Unique (customer, period) pairs, and each customer's first period (the cohort)."""
    _require_columns(transactions, [customer_id, timestamp], name=name, what="transactions")
    if len(transactions) == 0:
        raise DataValidationError(f"{name}: transactions are empty")
    ts = to_datetime_series(transactions[timestamp], timestamp)
    pairs = pd.DataFrame(
        {
            "customer_id": transactions[customer_id].to_numpy(),
            "period": ts.dt.to_period(freq).to_numpy(),
            "day": ts.dt.normalize().to_numpy(),
        }
    )
    first = pairs.groupby("customer_id")["period"].min().rename("cohort")
    return pairs, first


def customer_flows(
    transactions,
    *,
    freq: str = "M",
    by_cohort: bool = False,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
) -> pd.DataFrame:
    """Customer-base flows per period: start, end, new, retained, lost, reactivated, rates.

    Parameters
    ----------
    transactions : DataFrame
        One row per order (line) with ``customer_id`` and ``timestamp`` columns.
    freq : str, default "M"
        Period length, a pandas period alias ("M" months, "Q" quarters, "W" weeks).
    by_cohort : bool, default False
        When True, one row per (cohort, period) where the cohort is the customer's
        first-purchase period; otherwise one row per period for the whole base.
    customer_id, timestamp : str
        Column names in ``transactions``.

    Returns
    -------
    DataFrame
        Columns ``[cohort,] period, start, end, new, retained, lost, reactivated,
        churn_rate, retention_rate, repeat_purchase_rate`` (and ``cohort_size``,
        ``active_share`` with ``by_cohort``). Every period from the first to the last
        purchase appears, empty ones included. Rates with ``start == 0`` are NaN.
        ``repeat_purchase_rate`` is the share of the period's buyers who had bought on at
        least two different days by the period's end.

    Raises
    ------
    DataValidationError
        Missing columns, missing ids or timestamps, or no transactions.

    Examples
    --------
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": [1, 1, 2, 3],
    ...         "timestamp": pd.to_datetime(
    ...             ["2024-01-05", "2024-02-01", "2024-01-09", "2024-02-11"]
    ...         ),
    ...     }
    ... )
    >>> customer_flows(tx)[["period", "start", "end", "new", "retained", "churn_rate"]]
        period  start  end  new  retained  churn_rate
    0  2024-01      0    2    2         0         NaN
    1  2024-02      2    2    1         1         0.5
    """
    pairs, first = _activity(
        transactions, customer_id=customer_id, timestamp=timestamp, freq=freq, name="customer_flows"
    )
    days = pairs.drop_duplicates(["customer_id", "day"])
    # Purchase days so far, per customer, at the end of each period they bought in.
    days = days.sort_values("day")
    days["n_days"] = days.groupby("customer_id").cumcount() + 1
    active = days.groupby(["customer_id", "period"], sort=False)["n_days"].max().reset_index()
    active["cohort"] = active["customer_id"].map(first)
    prev = active[["customer_id", "period"]].assign(period=active["period"] + 1, was=True)
    active = active.merge(prev, on=["customer_id", "period"], how="left")
    active["was"] = active["was"].fillna(False).astype(bool)
    active["new"] = active["period"] == active["cohort"]
    active["repeat"] = active["n_days"] >= 2

    keys = ["cohort", "period"] if by_cohort else ["period"]
    g = active.groupby(keys, sort=True)
    out = pd.DataFrame(
        {
            "end": g.size(),
            "new": g["new"].sum(),
            "retained": g["was"].sum(),
            "repeat": g["repeat"].sum(),
        }
    )
    # Every period in range, so a month without buyers still shows its losses.
    periods = pd.period_range(active["period"].min(), active["period"].max(), freq=freq)
    if by_cohort:
        full = pd.MultiIndex.from_tuples(
            [(c, p) for c in sorted(first.unique()) for p in periods if p >= c], names=keys
        )
    else:
        full = pd.PeriodIndex(periods, name="period")
    out = out.reindex(full, fill_value=0).astype("int64")
    shifted = out["end"].groupby(level="cohort").shift(1) if by_cohort else out["end"].shift(1)
    out.insert(0, "start", shifted.fillna(0).astype("int64"))
    out["lost"] = out["start"] - out["retained"]
    out["reactivated"] = out["end"] - out["retained"] - out["new"]
    start = out["start"].where(out["start"] > 0)
    out["churn_rate"] = out["lost"] / start
    out["retention_rate"] = out["retained"] / start
    out["repeat_purchase_rate"] = out["repeat"] / out["end"].where(out["end"] > 0)
    out = out.drop(columns="repeat")
    if by_cohort:
        size = first.value_counts()
        out["cohort_size"] = out.index.get_level_values("cohort").map(size).astype("int64")
        out["active_share"] = out["end"] / out["cohort_size"]
    cols = [
        "start",
        "end",
        "new",
        "retained",
        "lost",
        "reactivated",
        "churn_rate",
        "retention_rate",
        "repeat_purchase_rate",
    ]
    if by_cohort:
        cols += ["cohort_size", "active_share"]
    return out[cols].reset_index()


def _segment_map(segments, *, name: str) -> pd.Series:
    if segments is None:
        raise DataValidationError(
            f"{name}: by='segment' needs segments= (a Series of segment labels indexed by "
            "customer_id, e.g. rfm_segments(rfm))"
        )
    if not isinstance(segments, pd.Series):
        raise DataValidationError(
            f"{name}: segments must be a pandas Series indexed by "
            f"customer_id, got {type(segments).__name__}"
        )
    if not segments.index.is_unique:
        dup = int(segments.index.duplicated().sum())
        raise DataValidationError(
            f"{name}: segments index has {count_of(dup, len(segments))} duplicated customer ids"
        )
    return segments


def _warn_unmatched(n_bad: int, n: int, *, name: str, what: str) -> None:
    if n_bad:
        logger.warning(
            "%s: %s rows belong to customers without a %s; they are left out",
            name,
            count_of(n_bad, n),
            what,
        )


def _survey_by(
    events,
    metric,
    by,
    *,
    segments,
    transactions,
    customer_id,
    timestamp,
    event_type,
    value,
    metric_kwargs,
) -> pd.DataFrame:
    name = f"metric_by({metric!r})"
    needed = [customer_id, value] + ([timestamp] if by == "month" else [])
    if not isinstance(events, pd.DataFrame):
        raise DataValidationError(
            f"{name}: events must be a pandas DataFrame, got {type(events).__name__}"
        )
    if event_type in events.columns:
        events = events[events[event_type].astype("string").str.strip().str.lower() == metric]
    _require_columns(events, needed, name=name, what="events")
    cust = events[customer_id]
    if by == "segment":
        seg = _segment_map(segments, name=name)
        keys = cust.map(seg)
        categories = (
            list(seg.cat.categories) if isinstance(seg.dtype, pd.CategoricalDtype) else None
        )
    elif by == "cohort":
        if transactions is None:
            raise DataValidationError(
                f"{name}: by='cohort' needs transactions= (cohorts are first-purchase months)"
            )
        _, first = _activity(
            transactions, customer_id=customer_id, timestamp=timestamp, freq="M", name=name
        )
        keys = cust.map(first)
        categories = None
    else:
        keys = to_datetime_series(events[timestamp], timestamp).dt.to_period("M")
        categories = None
    keep = keys.notna().to_numpy()
    _warn_unmatched(int((~keep).sum()), len(events), name=name, what=by)
    fn = _SURVEY[metric]
    if len(events):
        # Validate all answers at once, so errors count bad rows over the whole input.
        fn(events[value], **metric_kwargs)
    rows = []
    frame = pd.DataFrame(
        {
            "key": keys.to_numpy()[keep],
            "value": events[value].to_numpy()[keep],
            "customer": cust.to_numpy()[keep],
        }
    )
    for key, grp in frame.groupby("key", sort=True, observed=True):
        rows.append(
            {
                by: key,
                metric: fn(grp["value"].to_numpy(), **metric_kwargs),
                "responses": len(grp),
                "customers": grp["customer"].nunique(),
            }
        )
    out = pd.DataFrame(rows, columns=[by, metric, "responses", "customers"])
    if categories is not None:
        out = out.set_index(by).reindex(pd.Index(categories, name=by)).reset_index()
        out["responses"] = out["responses"].fillna(0).astype("int64")
        out["customers"] = out["customers"].fillna(0).astype("int64")
        out[by] = pd.Categorical(out[by], categories=categories)
    return out


def _base_by_group(transactions, metric, *, segments, period, customer_id, timestamp, by="segment"):
    name = f"metric_by({metric!r})"
    _require_columns(transactions, [customer_id, timestamp], name=name, what="transactions")
    ts = to_datetime_series(transactions[timestamp], timestamp)
    cust = transactions[customer_id]
    if by == "cohort":  # repeat purchase rate per first-purchase month
        mask = ts <= pd.Timestamp(period[0]) if period is not None else np.ones(len(ts), bool)
        seg = ts[mask].dt.to_period("M").groupby(cust[mask].to_numpy()).min()
    else:
        seg = _segment_map(segments, name=name)
    if metric == "repeat_purchase_rate":
        mask = ts <= pd.Timestamp(period[0]) if period is not None else np.ones(len(ts), bool)
        n_days = ts[mask].dt.normalize().groupby(cust[mask].to_numpy()).nunique()
        flag = seg.index.map(n_days).fillna(0).to_numpy() >= 2
    else:
        if period is None:
            raise DataValidationError(
                f"{name}: by='segment' needs period=(start, end): segment members who make no "
                "purchase in (start, end] are lost"
            )
        p0, p1 = pd.Timestamp(period[0]), pd.Timestamp(period[1])
        if not p0 < p1:
            raise DataValidationError(f"{name}: period start {p0} must be before its end {p1}")
        buyers = set(cust[(ts > p0) & (ts <= p1)])
        stayed = seg.index.isin(list(buyers))
        flag = ~stayed if metric == "churn_rate" else stayed
    frame = pd.DataFrame({by: seg.to_numpy() if by == "cohort" else seg.array, "flag": flag})
    g = frame.groupby(by, sort=True, observed=False)["flag"]
    out = pd.DataFrame({metric: g.mean(), "customers": g.size()}).reset_index()
    out["customers"] = out["customers"].astype("int64")
    return out


def metric_by(
    data,
    *,
    metric: str,
    by: str,
    segments=None,
    transactions=None,
    period=None,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    event_type: str = "event_type",
    value: str = "value",
    **metric_kwargs,
) -> pd.DataFrame:
    """A CX metric per segment, per cohort (first-purchase month) or per calendar month.

    Parameters
    ----------
    data : DataFrame
        Events (for ``nps``, ``csat``, ``ces``: rows whose ``event_type`` equals the metric
        name, case-insensitive; all rows if there is no ``event_type`` column) or
        transactions (for ``churn_rate``, ``retention_rate``, ``repeat_purchase_rate``).
    metric : {"nps", "csat", "ces", "churn_rate", "retention_rate", "repeat_purchase_rate"}
        What to compute.
    by : {"segment", "cohort", "month"}
        Grouping. ``"segment"`` needs ``segments``; ``"cohort"`` for a survey metric needs
        ``transactions`` (the cohort is the month of the first purchase).
    segments : Series, optional
        Segment label per customer (index = customer id), e.g. from ``rfm_segments``.
    transactions : DataFrame, optional
        Transactions, to find survey respondents' cohorts.
    period : (date, date), optional
        For churn/retention by segment: the segment's customers who buy nothing in
        ``(start, end]`` are lost. For repeat purchase rate by segment or cohort: only
        purchases up to ``start`` count (None: all).
    customer_id, timestamp, event_type, value : str
        Column names.
    **metric_kwargs
        Passed to the survey metric (e.g. ``scale=(1, 7)`` for :func:`csat`).

    Returns
    -------
    DataFrame
        Survey metrics: columns ``[by, metric, "responses", "customers"]``.
        Base metrics by segment: ``["segment", metric, "customers"]`` (customers = the
        segment's size, the denominator); repeat purchase rate by cohort likewise,
        ``["cohort", ...]``, the share of each first-purchase month's customers who bought
        on two or more days. Churn and retention by month: ``["month", metric,
        "customers"]`` with customers = active customers at the start of the month, by
        cohort the same with ``["cohort", "month", ...]`` (see :func:`customer_flows`);
        repeat purchase rate by month: the share of the month's buyers with two or more
        purchase days so far, customers = the month's buyers. Survey groups without
        answers are left out, except empty categories of a categorical ``segments``, which
        get NaN.

    Raises
    ------
    DataValidationError
        Unknown metric or grouping, missing columns or arguments, invalid answers.

    Examples
    --------
    >>> ev = pd.DataFrame(
    ...     {
    ...         "customer_id": [1, 2, 3],
    ...         "event_type": "nps",
    ...         "timestamp": pd.to_datetime(["2024-01-02", "2024-01-20", "2024-02-03"]),
    ...         "value": [10, 3, 9],
    ...     }
    ... )
    >>> metric_by(ev, metric="nps", by="month")
         month    nps  responses  customers
    0  2024-01    0.0          2          2
    1  2024-02  100.0          1          1
    """
    if metric not in _SURVEY and metric not in _BASE:
        raise DataValidationError(
            f"metric_by: unknown metric {metric!r}; choose one of {sorted([*_SURVEY, *_BASE])}"
        )
    if by not in _BY:
        raise DataValidationError(f"metric_by: unknown by={by!r}; choose one of {list(_BY)}")
    if metric in _SURVEY:
        return _survey_by(
            data,
            metric,
            by,
            segments=segments,
            transactions=transactions,
            customer_id=customer_id,
            timestamp=timestamp,
            event_type=event_type,
            value=value,
            metric_kwargs=metric_kwargs,
        )
    if metric_kwargs:
        raise DataValidationError(
            f"metric_by: {metric} takes no extra options, got {sorted(metric_kwargs)}"
        )
    if by == "segment" or (by == "cohort" and metric == "repeat_purchase_rate"):
        return _base_by_group(
            data,
            metric,
            segments=segments,
            period=period,
            customer_id=customer_id,
            timestamp=timestamp,
            by=by,
        )
    flows = customer_flows(
        data, freq="M", by_cohort=(by == "cohort"), customer_id=customer_id, timestamp=timestamp
    )
    denom = "end" if metric == "repeat_purchase_rate" else "start"
    keys = ["cohort", "period"] if by == "cohort" else ["period"]
    out = flows[[*keys, metric, denom]].rename(columns={"period": "month", denom: "customers"})
    return out
