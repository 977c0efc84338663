"""Purchase-behaviour features for the churn model, as of a cut-off date.

All quantities are in days and use only data on or before ``cutoff`` (inclusive of its
whole day). A window of ``w`` days is the ``w`` calendar days ending on the cut-off,
``(cutoff - w, cutoff]``; "the one before" is ``(cutoff - 2w, cutoff - w]``. Purchase days
follow the same conventions and policies as :func:`cxml.features.rfm` (same-day purchases
merged; see :mod:`cxml.features`).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
import pyarrow.compute as pc

from cxml.data import epoch_day, execute_arrow, to_date, unit_days
from cxml.exceptions import CxmlUserError
from cxml.features._daily import (
    check_output,
    check_policies,
    counter_columns,
    customer_counters,
    daily,
    day_number,
    deferred_duplicates,
    drops_duplicates,
    execute_by_customer,
    finish_report,
    log_report,
    positive,
    prepare,
    raw_counts,
    rescannable,
    to_frame,
    wants_pandas,
)
from cxml.features._exact import as_float, sample_std

__all__ = ["behaviour", "behaviour_with_rfm", "check_windows", "RFM_COLUMNS", "trend"]


def check_windows(windows_days) -> tuple[int, ...]:
    """Validate window lengths: positive whole numbers of days, returned sorted and unique."""
    try:
        windows = tuple(sorted({int(w) for w in windows_days}))
        ok = all(float(w) == int(w) for w in windows_days) and len(windows) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok or windows[0] <= 0:
        raise CxmlUserError(
            f"windows_days must be a non-empty list of positive whole numbers of days, "
            f"got {windows_days!r}"
        )
    return windows


def trend(last, prev):
    """(last - prev) / (|last| + |prev|), in [-1, 1]; 0 when both are 0 (no activity).

    Parameters
    ----------
    last, prev : ibis numeric expressions
        The value over the last window and over the window before it.

    Returns
    -------
    ibis numeric expression
        The relative change, bounded so that a customer new to the window scores 1.
    """
    denom = last.abs() + prev.abs()
    return ibis.ifelse(denom > 0, (last - prev) / denom, ibis.literal(0.0))


def _aggregate(
    t: ibis.Table,
    c: int,
    windows,
    *,
    returns: str,
    duplicates: str,
    zero_value: str,
    firstval: bool = False,
) -> ibis.Table:
    """Per-customer aggregates of the rows of ``t`` (none after day ``c``): one query.

    The gaps between consecutive purchase days come from a window over the customer-day
    table (``lag`` within the customer's purchase days) feeding the same aggregation as
    every other feature, so the customer-day table is built once and there is no join;
    that halves the run time against a separate gap query joined back.
    """
    d = daily(t, duplicates=duplicates, returns=returns, zero_value=zero_value, detail=True)
    prev = d.day.lag().over(group_by=[d.customer_id, d.is_purchase], order_by=d.day)
    # whole-day gaps (int64): their mean and spread come from exact integer sums
    d = d.mutate(_gap=ibis.ifelse(d.is_purchase, (d.day - prev).cast("int64"), None))
    p = d.is_purchase
    # amounts are summed in fixed point (cxml.features._exact); a sum that is a feature is
    # converted to float64 here, one that is an operand (_purchase_value) after the arithmetic
    aggs: dict = {
        "_first": d.day.min(where=p),
        "_last": d.day.max(where=p),
        "transactions_total": p.cast("int32").cast("int64").sum(),
        "value_total": as_float(d.value.sum()),
        "_gross": as_float(d.gross.sum()),
        "_returned": as_float(d.returned.sum()),
        "_purchase_value": d.value.sum(where=p),
        "_gap_n": d._gap.count(),
        "_gap_s1": d._gap.sum(),
        "_gap_s2": (d._gap * d._gap).sum(),
    }
    if firstval:  # RFM's monetary value excludes the first purchase day
        aggs["_firstval"] = d.value.argmin(d.day, where=p)
    if "quantity" in t.columns:
        aggs["_purchase_qty"] = as_float(d.quantity.sum(where=p))
    for w in windows:
        last = d.day > c - w
        prev_w = (d.day > c - 2 * w) & ~last
        aggs[f"transactions_{w}d"] = (p & last).cast("int32").cast("int64").sum()
        aggs[f"value_{w}d"] = as_float(d.value.sum(where=last)).fill_null(0.0)
        aggs[f"_prev_transactions_{w}d"] = (p & prev_w).cast("int32").cast("int64").sum()
        aggs[f"_prev_value_{w}d"] = as_float(d.value.sum(where=prev_w)).fill_null(0.0)
    aggs.update(customer_counters(d))
    g = d.group_by("customer_id").aggregate(**aggs)
    if {"product", "category", "order_id"} & set(t.columns):
        extra = {}
        if "order_id" in t.columns:  # orders with a positive amount (not cancellations)
            extra["n_orders"] = t["order_id"].nunique(where=t.amount > 0)
        if "product" in t.columns:
            extra["n_products"] = t["product"].nunique()
        if "category" in t.columns:
            extra["n_categories"] = t["category"].nunique()
        ex = t.group_by("customer_id").aggregate(**extra)
        g = g.left_join(ex, "customer_id").drop("customer_id_right")
    return g


def _derive(g: ibis.Table, c: int, windows, *, has_quantity: bool) -> ibis.Table:
    """The behaviour features from the aggregates of :func:`_aggregate`."""
    n_days = g.transactions_total
    g = g.mutate(
        ipt_mean_days=ibis.ifelse(
            g._gap_n > 0, as_float(g._gap_s1) / g._gap_n.cast("float64"), ibis.null("float64")
        ),
        ipt_std_days=sample_std(g._gap_n, g._gap_s1, g._gap_s2),
    )
    feats = {
        "days_since_last_purchase": (ibis.literal(c) - g._last).cast("float64"),
        "tenure_days": (ibis.literal(c) - g._first).cast("float64"),
        "ipt_cv": ibis.ifelse(g.ipt_mean_days > 0, g.ipt_std_days / g.ipt_mean_days, None),
        "avg_basket_value": as_float(g._purchase_value) / n_days.cast("float64"),
        "returned_value_share": ibis.ifelse(g._gross > 0, g._returned / g._gross, None),
    }
    if has_quantity:
        feats["avg_basket_quantity"] = g._purchase_qty / n_days.cast("float64")
    for w in windows:
        feats[f"trend_transactions_{w}d"] = trend(
            g[f"transactions_{w}d"].cast("float64"),
            g[f"_prev_transactions_{w}d"].cast("float64"),
        )
        feats[f"trend_value_{w}d"] = trend(g[f"value_{w}d"], g[f"_prev_value_{w}d"])
    g = g.mutate(**feats)

    return g


def _columns(g: ibis.Table, windows, *, has_quantity: bool) -> list[str]:
    """Output columns of :func:`behaviour`, in order."""
    cols = ["customer_id"]
    for w in windows:
        cols += [
            f"transactions_{w}d",
            f"value_{w}d",
            f"trend_transactions_{w}d",
            f"trend_value_{w}d",
        ]
    cols += [
        "transactions_total",
        "value_total",
        "days_since_last_purchase",
        "tenure_days",
        "ipt_mean_days",
        "ipt_std_days",
        "ipt_cv",
        "avg_basket_value",
        "returned_value_share",
    ]
    if has_quantity:
        cols.append("avg_basket_quantity")
    for name in ("n_orders", "n_products", "n_categories"):
        if name in g.columns:
            cols.append(name)
    return cols


def behaviour(
    transactions,
    *,
    cutoff,
    windows_days: Sequence[int] = (30, 90, 180, 365),
    returns: str = "net",
    duplicates: str = "auto",
    zero_value: str = "keep",
    output: str = "auto",
    **column_names,
):
    """Per-customer purchase-behaviour features as of ``cutoff``.

    Parameters
    ----------
    transactions : pandas / polars / pyarrow table, CSV or Parquet path, or ibis.Table
        Transactions; rows after ``cutoff`` are ignored.
    cutoff : str, date, datetime or Timestamp
        Feature date (inclusive of its whole day).
    windows_days : sequence of int, default (30, 90, 180, 365)
        Lengths of the windows ending on ``cutoff``.
    returns : {"net", "ignore", "error"}, default "net"
        Policy for negative amounts, as in :func:`cxml.features.rfm`.
    duplicates : {"auto", "keep", "drop"}, default "auto"
        Policy for exact duplicate rows.
    zero_value : {"keep", "drop"}, default "keep"
        Whether a purchase day of value 0 counts as a purchase.
    output : {"auto", "pandas", "ibis"}, default "auto"
        ``"auto"``: an Ibis table for Ibis input, pandas otherwise.
    **column_names : str
        Column mapping passed to :func:`cxml.data.validate_transactions`. Map
        ``quantity=``, ``order_id=``, ``product=``, ``category=`` to get the features that
        need them.

    Returns
    -------
    pandas.DataFrame or ibis.Table
        Index ``customer_id``: every customer with a purchase day on or before ``cutoff``.
        Columns, for each window ``w``:

        - ``transactions_{w}d``: purchase days in the window;
        - ``value_{w}d``: net value of the window (returns subtract);
        - ``trend_transactions_{w}d`` / ``trend_value_{w}d``: (last - previous) /
          (|last| + |previous|) between the window and the one before, in [-1, 1];

        and ``transactions_total``, ``value_total``, ``days_since_last_purchase``,
        ``tenure_days`` (cut-off - first purchase), ``ipt_mean_days``, ``ipt_std_days``
        (sample std; NaN with fewer than two gaps), ``ipt_cv`` (std / mean) of the gaps
        between consecutive purchase days, ``avg_basket_value`` (mean purchase-day value),
        ``returned_value_share`` (returned / gross purchased value); when mapped:
        ``avg_basket_quantity``, ``n_orders`` (distinct orders with a positive amount),
        ``n_products``, ``n_categories`` (distinct values on rows up to the cut-off).
        Counts are int64, the rest float64.

    Raises
    ------
    DataValidationError
        Invalid input (see :func:`cxml.data.validate_transactions`).
    CxmlUserError
        Bad ``windows_days``, ``cutoff``, policy or ``output``.

    Examples
    --------
    >>> import cxml
    >>> tx = cxml.datasets.load_cdnow("sample")
    >>> f = behaviour(tx, cutoff="1997-09-30", windows_days=[30, 90])
    >>> int(f.loc[1, "transactions_90d"]), int(f.loc[1, "days_since_last_purchase"])
    (1, 59)
    """
    check_output(output)
    windows = check_windows(windows_days)
    cut = to_date(cutoff, "cutoff")
    c = epoch_day(cut)
    t, as_pandas = prepare(transactions, column_names)
    t = t.filter(day_number(t.timestamp) <= c)

    def build(t):
        g = _aggregate(t, c, windows, returns=returns, duplicates=duplicates, zero_value=zero_value)
        return _derive(g, c, windows, has_quantity="quantity" in t.columns)

    g = build(t)

    cols = _columns(g, windows, has_quantity="quantity" in t.columns)
    if not wants_pandas(output, as_pandas):
        return g.filter(g.transactions_total > 0).select(cols).order_by("customer_id")

    raw = raw_counts(t)
    tbl = execute_by_customer(
        lambda t: (g := build(t)).select(cols + counter_columns(g)),
        t,
        raw["_n_rows"],
        rescannable(transactions, t),
    )
    raw.update(deferred_duplicates(t, tbl))
    policies = {
        "returns": returns,
        "duplicates": duplicates,
        "zero_value": zero_value,
        "has_order_line": {"order_id", "product"} <= set(t.columns),
        "cutoff": cut.isoformat(),
        "windows_days": list(windows),
    }
    report = finish_report(
        tbl,
        raw=raw,
        policies=policies,
        purchase_days=pc.sum(tbl["transactions_total"]).as_py() or 0,
    )
    keep = positive(tbl, "transactions_total")
    report["customers_excluded"] = {"no_purchase_day": tbl.num_rows - pc.sum(keep).as_py()}
    out = to_frame(tbl, keep, cols)
    report["n_customers"] = len(out)
    out.attrs["report"] = report
    log_report("behaviour", report)
    return out


#: The RFM columns of :func:`behaviour_with_rfm`, in order.
RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def behaviour_with_rfm(
    t: ibis.Table,
    *,
    cutoff,
    windows_days,
    time_unit: str,
    returns: str = "net",
    duplicates: str = "auto",
    zero_value: str = "keep",
    return_ids: bool = False,
):
    """RFM (:func:`cxml.features.rfm`) and behaviour features in one query, no report.

    What training and scoring need for every customer at a cut-off: the values equal
    ``rfm(..., observation_end=cutoff)`` joined with ``behaviour(..., cutoff=cutoff)``
    (same customers: those with a purchase day on or before ``cutoff``), but the
    customer-day table is built and aggregated once instead of four times, and duplicate
    rows are not counted when the policy keeps them anyway (the report is not made).

    Parameters
    ----------
    t : ibis.Table
        Validated transactions (:func:`cxml.data.validate_transactions`).
    cutoff : date-like
        Feature date (inclusive).
    windows_days : sequence of int
        Window lengths, as in :func:`behaviour`.
    time_unit : {"D", "W"}
        Unit of ``recency`` and ``T``.
    returns, duplicates, zero_value : str
        Policies, as in :func:`behaviour`.
    return_ids : bool, default False
        Also return every customer id of ``t`` up to ``cutoff``, including those without
        a purchase day (the query has them; scoring needs them to score every customer).

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.Index)
        Indexed by ``customer_id`` (sorted): ``frequency``, ``recency``, ``T``,
        ``monetary_value`` then the columns of :func:`behaviour`; with ``return_ids``, also
        the sorted index of all customer ids.
    """
    windows = check_windows(windows_days)
    unit = unit_days(time_unit)
    c = epoch_day(to_date(cutoff, "cutoff"))
    check_policies(duplicates, returns, zero_value)
    if duplicates == "auto" and not drops_duplicates(duplicates, t.columns):
        duplicates = "keep"  # same values; "auto" would only count them for the report
    t = t.filter(day_number(t.timestamp) <= c)
    g = _aggregate(
        t, c, windows, returns=returns, duplicates=duplicates, zero_value=zero_value, firstval=True
    )
    g = _derive(g, c, windows, has_quantity="quantity" in t.columns)
    freq = (g.transactions_total - 1).cast("int64")
    g = g.mutate(
        frequency=freq,
        recency=(g._last - g._first).cast("float64") / unit,
        T=(ibis.literal(c) - g._first).cast("float64") / unit,
        # Fader, Hardie & Lee (2005b): m_x is the mean of the x repeat transactions
        monetary_value=ibis.ifelse(
            freq > 0,
            as_float(g._purchase_value - g._firstval) / freq.cast("float64"),
            ibis.literal(0.0),
        ),
    )
    cols = ["customer_id", *RFM_COLUMNS] + _columns(
        g, windows, has_quantity="quantity" in t.columns
    )[1:]
    tbl = execute_arrow(g.select(cols).order_by("customer_id"))
    out = to_frame(tbl, positive(tbl, "transactions_total"), cols)
    if not return_ids:
        return out
    ids = pd.Index(tbl["customer_id"].to_pandas(), name="customer_id").sort_values()
    return out, ids
