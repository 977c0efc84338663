"""RFM summaries and the calibration/holdout split (Fader, Hardie & Lee 2005).

Conventions (those of the BTYD literature and of lifetimes'
``summary_data_from_transaction_data`` with ``freq="D"``):

- all purchases of a customer on one calendar day are one transaction (see
  :mod:`cxml.features` for duplicates, returns and zero-value days);
- ``frequency`` x = number of *repeat* purchase days (purchase days - 1);
- ``recency`` t_x = last purchase day - first purchase day;
- ``T`` = ``observation_end`` - first purchase day;
- ``monetary_value`` = mean value of the repeat purchase days (0 when x = 0), the
  ``zbar`` / ``m_x`` of Fader, Hardie & Lee (2005b), Gamma-Gamma's input.

Time is counted in whole calendar days between dates and expressed in ``time_unit``
("D" = 1 day, "W" = 7 days, so fractional weeks). Boundary dates are inclusive of their
whole day but T is measured *to the date itself* (no end-of-day +1): that reproduces the
published CDNOW summaries exactly, e.g. customer 1 (first purchase 1997-01-01, last
repeat 1997-08-02, calibration ending 1997-09-30) has t_x = 213/7 = 30.43 and
T = 272/7 = 38.86 weeks, as in ``cdnow_customers_summary.csv``.
"""

from __future__ import annotations

import ibis
import pyarrow.compute as pc

from cxml.data import epoch_day, to_date, unit_days
from cxml.exceptions import CxmlUserError
from cxml.features._daily import (
    check_output,
    counter_columns,
    customer_counters,
    daily,
    deferred_duplicates,
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
from cxml.features._exact import as_float

__all__ = ["rfm", "calibration_holdout"]


def _rfm_aggs(d: ibis.Table, where, suffix: str = "") -> dict:
    """Per-customer RFM aggregates over the purchase days selected by ``where``."""
    first = d.day.min(where=where)
    last = d.day.max(where=where)
    n_days = d.count(where=where)  # COUNT FILTER: a 64-bit count, no 128-bit SUM of casts
    total = d.value.sum(where=where)
    first_value = d.value.argmin(d.day, where=where)
    return {
        f"_first{suffix}": first,
        f"_last{suffix}": last,
        f"_ndays{suffix}": n_days,
        f"_total{suffix}": total,
        f"_firstval{suffix}": first_value,
    }


def _rfm_columns(g: ibis.Table, end_day: int, unit: int, suffix: str = "") -> dict:
    """frequency / recency / T / monetary_value from the aggregates of :func:`_rfm_aggs`."""
    freq = (g[f"_ndays{suffix}"] - 1).cast("int64")
    # exact (fixed-point) difference, one conversion to float64: the same bits on every engine
    rep_total = as_float(g[f"_total{suffix}"] - g[f"_firstval{suffix}"])
    return {
        f"frequency{suffix}": freq,
        f"recency{suffix}": (g[f"_last{suffix}"] - g[f"_first{suffix}"]).cast("float64") / unit,
        f"T{suffix}": (ibis.literal(end_day) - g[f"_first{suffix}"]).cast("float64") / unit,
        # Fader, Hardie & Lee (2005b) eq. for m_x: mean of the x repeat transactions
        f"monetary_value{suffix}": ibis.ifelse(
            freq > 0, rep_total / freq.cast("float64"), ibis.literal(0.0)
        ),
    }


def rfm(
    transactions,
    *,
    observation_end,
    time_unit: str = "W",
    returns: str = "net",
    duplicates: str = "auto",
    zero_value: str = "keep",
    output: str = "auto",
    **column_names,
):
    """Frequency, recency, T and monetary value per customer (Fader-Hardie-Lee).

    Parameters
    ----------
    transactions : pandas / polars / pyarrow table, CSV or Parquet path, or ibis.Table
        Transactions in cxml's contract (validated here unless they come from
        :func:`cxml.data.validate_transactions`).
    observation_end : str, date, datetime or Timestamp
        Last day of the observation period (inclusive). Transactions after it are an error.
    time_unit : {"W", "D"}, default "W"
        Unit of ``recency`` and ``T``: weeks of 7 days or days.
    returns : {"net", "ignore", "error"}, default "net"
        Policy for negative amounts (see :mod:`cxml.features`).
    duplicates : {"auto", "keep", "drop"}, default "auto"
        Policy for exact duplicate rows.
    zero_value : {"keep", "drop"}, default "keep"
        Whether a purchase day of value 0 counts as a purchase.
    output : {"auto", "pandas", "ibis"}, default "auto"
        ``"auto"`` returns an Ibis table for Ibis input (the work stays in its backend) and
        a pandas DataFrame otherwise.
    **column_names : str
        Column mapping passed to :func:`cxml.data.validate_transactions`
        (``customer_id=``, ``timestamp=``, ``amount=``, ...).

    Returns
    -------
    pandas.DataFrame or ibis.Table
        Index ``customer_id`` (a column for Ibis output), sorted; columns ``frequency``
        (int64), ``recency``, ``T``, ``monetary_value`` (float64). One row per customer with
        at least one purchase day. ``result.attrs["report"]`` (pandas output) holds the data
        report: rows, duplicates, returns, zero-value days, excluded customers.

    Raises
    ------
    DataValidationError
        Invalid input (see :func:`cxml.data.validate_transactions`), transactions after
        ``observation_end``, or negative amounts with ``returns="error"``.
    CxmlUserError
        Unknown ``time_unit``, policy or ``output``.

    Examples
    --------
    >>> import cxml
    >>> tx = cxml.datasets.load_cdnow("sample")
    >>> cal = tx[tx["timestamp"] <= "1997-09-30"]
    >>> s = rfm(cal, observation_end="1997-09-30")
    >>> s.loc[1, ["frequency", "recency", "T"]].round(2).tolist()
    [2.0, 30.43, 38.86]
    """
    check_output(output)
    unit = unit_days(time_unit)
    end = to_date(observation_end, "observation_end")
    end_day = epoch_day(end)
    t, as_pandas = prepare(transactions, column_names, observation_end=end)

    def build(t):
        d = daily(t, duplicates=duplicates, returns=returns, zero_value=zero_value)
        d = d.filter(d.day <= end_day)
        g = d.group_by("customer_id").aggregate(
            **_rfm_aggs(d, d.is_purchase), **customer_counters(d)
        )
        return g.mutate(**_rfm_columns(g, end_day, unit))

    g = build(t)
    cols = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    policies = {
        "returns": returns,
        "duplicates": duplicates,
        "zero_value": zero_value,
        "has_order_line": {"order_id", "product"} <= set(t.columns),
        "time_unit": time_unit,
        "observation_end": end.isoformat(),
    }
    if not wants_pandas(output, as_pandas):
        return g.filter(g._ndays > 0).select(cols).order_by("customer_id")
    raw = raw_counts(t)
    tbl = execute_by_customer(
        lambda t: (g := build(t)).select(cols + ["_ndays"] + counter_columns(g)),
        t,
        raw["_n_rows"],
        rescannable(transactions, t),
    )
    raw.update(deferred_duplicates(t, tbl))
    report = finish_report(
        tbl, raw=raw, purchase_days=pc.sum(tbl["_ndays"]).as_py() or 0, policies=policies
    )
    keep = positive(tbl, "_ndays")
    report["customers_excluded"] = {"no_purchase_day": tbl.num_rows - pc.sum(keep).as_py()}
    out = to_frame(tbl, keep, cols)
    report["n_customers"] = len(out)
    out.attrs["report"] = report
    log_report("rfm", report)
    return out


def calibration_holdout(
    transactions,
    *,
    calibration_end,
    observation_end,
    time_unit: str = "W",
    returns: str = "net",
    duplicates: str = "auto",
    zero_value: str = "keep",
    output: str = "auto",
    **column_names,
):
    """RFM in a calibration period and purchases in the following holdout period.

    The calibration summary follows :func:`rfm` with ``observation_end=calibration_end``;
    the holdout columns follow lifetimes' ``calibration_and_holdout_data``.

    Parameters
    ----------
    transactions : pandas / polars / pyarrow table, CSV or Parquet path, or ibis.Table
        Transactions covering both periods.
    calibration_end : str, date, datetime or Timestamp
        Last day of the calibration period (inclusive).
    observation_end : str, date, datetime or Timestamp
        Last day of the holdout period (inclusive); must be after ``calibration_end``.
        Transactions after it are an error.
    time_unit : {"W", "D"}, default "W"
        Unit of ``recency_cal``, ``T_cal`` and ``duration_holdout``.
    returns : {"net", "ignore", "error"}, default "net"
        Policy for negative amounts, as in :func:`rfm`.
    duplicates : {"auto", "keep", "drop"}, default "auto"
        Policy for exact duplicate rows.
    zero_value : {"keep", "drop"}, default "keep"
        Whether a purchase day of value 0 counts as a purchase.
    output : {"auto", "pandas", "ibis"}, default "auto"
        ``"auto"``: an Ibis table for Ibis input, pandas otherwise.
    **column_names : str
        Column mapping passed to :func:`cxml.data.validate_transactions`.

    Returns
    -------
    pandas.DataFrame or ibis.Table
        Index ``customer_id``: customers whose first purchase day is on or before
        ``calibration_end`` (the others are counted in
        ``attrs["report"]["customers_excluded"]["first_purchase_after_calibration_end"]``).
        Columns ``frequency_cal`` (int64), ``recency_cal``, ``T_cal``,
        ``monetary_value_cal``, ``frequency_holdout`` (int64: number of purchase days in the
        holdout), ``monetary_value_holdout`` (mean value of those days, 0 when none) and
        ``duration_holdout`` (length of the holdout in ``time_unit``).
        Unlike lifetimes, whose ``monetary_value_holdout`` is the mean of the raw holdout
        rows, cxml averages holdout purchase days, consistently with the calibration
        period (same-day purchases merged).

    Raises
    ------
    DataValidationError
        Invalid input or transactions after ``observation_end``.
    CxmlUserError
        ``calibration_end`` not before ``observation_end``; unknown unit, policy or output.

    Examples
    --------
    >>> import cxml
    >>> tx = cxml.datasets.load_cdnow("sample")
    >>> ch = calibration_holdout(tx, calibration_end="1997-09-30", observation_end="1998-06-30")
    >>> int(ch["frequency_holdout"].sum()), round(float(ch["duration_holdout"].iloc[0]), 2)
    (1882, 39.0)
    """
    check_output(output)
    unit = unit_days(time_unit)
    cal = to_date(calibration_end, "calibration_end")
    end = to_date(observation_end, "observation_end")
    if cal >= end:
        raise CxmlUserError(
            f"calibration_end ({cal.isoformat()}) must be before observation_end "
            f"({end.isoformat()})"
        )
    cal_day, end_day = epoch_day(cal), epoch_day(end)
    t, as_pandas = prepare(transactions, column_names, observation_end=end)

    def build(t):
        d = daily(t, duplicates=duplicates, returns=returns, zero_value=zero_value)
        d = d.filter(d.day <= end_day)
        in_cal = d.is_purchase & (d.day <= cal_day)
        in_hold = d.is_purchase & (d.day > cal_day)
        g = d.group_by("customer_id").aggregate(
            **_rfm_aggs(d, in_cal, "_cal"),
            _ndays_holdout=d.count(where=in_hold),
            _total_holdout=d.value.sum(where=in_hold),
            **customer_counters(d),
        )
        nh = g._ndays_holdout
        return g.mutate(
            **_rfm_columns(g, cal_day, unit, "_cal"),
            frequency_holdout=nh.cast("int64"),
            monetary_value_holdout=ibis.ifelse(
                nh > 0, as_float(g._total_holdout) / nh.cast("float64"), ibis.literal(0.0)
            ),
            # cast from text: PostgreSQL reads a bare 39.0 literal as NUMERIC (Decimal)
            duration_holdout=ibis.literal(repr(float((end_day - cal_day) / unit))).cast("float64"),
        )

    g = build(t)
    cols = [
        "customer_id",
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    policies = {
        "returns": returns,
        "duplicates": duplicates,
        "zero_value": zero_value,
        "has_order_line": {"order_id", "product"} <= set(t.columns),
        "time_unit": time_unit,
        "calibration_end": cal.isoformat(),
        "observation_end": end.isoformat(),
    }
    if not wants_pandas(output, as_pandas):
        return g.filter(g._ndays_cal > 0).select(cols).order_by("customer_id")
    raw = raw_counts(t)
    tbl = execute_by_customer(
        lambda t: (g := build(t)).select(
            cols + ["_ndays_cal", "_ndays_holdout"] + counter_columns(g)
        ),
        t,
        raw["_n_rows"],
        rescannable(transactions, t),
    )
    raw.update(deferred_duplicates(t, tbl))
    days = pc.add(pc.fill_null(tbl["_ndays_cal"], 0), pc.fill_null(tbl["_ndays_holdout"], 0))
    report = finish_report(tbl, raw=raw, purchase_days=pc.sum(days).as_py() or 0, policies=policies)
    has_cal = positive(tbl, "_ndays_cal")
    n_no_purchase = tbl.num_rows - pc.sum(pc.greater(days, 0)).as_py()
    report["customers_excluded"] = {
        "no_purchase_day": n_no_purchase,
        "first_purchase_after_calibration_end": tbl.num_rows
        - pc.sum(has_cal).as_py()
        - n_no_purchase,
    }
    out = to_frame(tbl, has_cal, cols)
    report["n_customers"] = len(out)
    out.attrs["report"] = report
    log_report("calibration_holdout", report)
    return out
