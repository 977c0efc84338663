"""Shared first step of every transaction feature: input handling and purchase days.

Fader-Hardie-Lee merge all purchases of a customer on one calendar day into one
transaction. :func:`daily` builds that customer-day table as an Ibis expression, applying
the documented policies for exact duplicate rows, returns (negative amounts) and zero-value
days, and carrying the counters the data report is made of, so that the features and their
report come out of a single query.

Policies
--------
duplicates : {"auto", "keep", "drop"}
    Exact duplicate rows: equal in every *mapped* column (customer id, timestamp, amount
    and whichever of quantity, order id, product, category are mapped; unmapped columns
    are not seen). ``"keep"`` treats them as genuine repeated lines: without an order line
    identity two identical rows (same customer, time and amount) are indistinguishable from
    buying the same thing twice, and CDNOW's published summaries count its 21 such rows in
    the sample. ``"drop"`` keeps one copy. ``"auto"`` (default) drops them when both
    ``order_id`` and ``product`` are mapped (the same product twice in the same order, at
    the same time and amount, is an export error; with only the order id, two different
    products of one order at the same price would look identical) and keeps them
    otherwise. Counted in the
    report except under ``"keep"``, which skips the grouping on every column that counting
    needs (about a third of the run time at millions of rows; report value None).
returns : {"net", "ignore", "error"}
    Rows with a negative amount. ``"net"`` (default) nets them against the same
    customer-day: the day's value is the sum of all its rows, and a day whose net value is
    negative (a return without a purchase that day) is not a purchase day. ``"ignore"``
    drops negative rows before merging. ``"error"`` raises if there is any.
zero_value : {"keep", "drop"}
    Purchase days whose (net) value is exactly 0. ``"keep"`` (default) counts them as
    purchase days, as the published CDNOW summaries do (8 such days in the sample);
    ``"drop"`` does not. Always counted.
"""

from __future__ import annotations

import logging

import ibis
import pandas as pd

from cxml.data._validate import is_validated, validate_transactions
from cxml.exceptions import CxmlUserError, DataValidationError

__all__ = ["prepare", "daily", "check_policies", "COUNTER_COLUMNS", "finish_report",
           "to_pandas"]

logger = logging.getLogger(__name__)

_DUPLICATES = ("auto", "keep", "drop")
_RETURNS = ("net", "ignore", "error")
_ZERO = ("keep", "drop")
_COLUMN_KEYS = ("customer_id", "timestamp", "amount", "quantity", "order_id", "category",
                "product")

# per-customer counters that every builder aggregates next to its features (then drops)
COUNTER_COLUMNS = ("_n_rows", "_n_dup", "_n_neg", "_n_days", "_n_zero", "_n_negday")


def check_policies(duplicates: str, returns: str, zero_value: str) -> None:
    """Raise :class:`CxmlUserError` for an unknown policy name."""
    for name, value, allowed in (("duplicates", duplicates, _DUPLICATES),
                                 ("returns", returns, _RETURNS),
                                 ("zero_value", zero_value, _ZERO)):
        if value not in allowed:
            raise CxmlUserError(f"{name} must be one of {list(allowed)}, got {value!r}")


def prepare(transactions, column_names: dict, observation_end=None):
    """Validate (unless already validated) and say whether the caller gets pandas back.

    Returns
    -------
    (ibis.Table, bool)
        The validated table and ``True`` when the input was not an Ibis table.
    """
    unknown = set(column_names) - set(_COLUMN_KEYS)
    if unknown:
        raise CxmlUserError(
            f"unknown keyword argument(s) {sorted(unknown)}; column mappings are "
            f"{list(_COLUMN_KEYS)}"
        )
    as_pandas = not isinstance(transactions, ibis.Table)
    if is_validated(transactions, "transactions") and not column_names:
        t = validate_transactions(transactions, observation_end=observation_end)
    else:
        t = validate_transactions(transactions, observation_end=observation_end, **column_names)
    return t, as_pandas


def drops_duplicates(duplicates: str, columns) -> bool:
    """Whether the duplicates policy drops exact duplicate rows for these columns."""
    return duplicates == "drop" or (
        duplicates == "auto" and "order_id" in columns and "product" in columns)


def daily(t: ibis.Table, *, duplicates: str = "auto", returns: str = "net",
          zero_value: str = "keep") -> ibis.Table:
    """Customer-day table: one row per customer and calendar day with any row.

    Parameters
    ----------
    t : ibis.Table
        A validated transaction table.
    duplicates, returns, zero_value : str
        Policies, see the module docstring.

    Returns
    -------
    ibis.Table
        Columns ``customer_id``, ``day`` (int64, days since 1970-01-01), ``value`` (net
        value of the day under the returns policy), ``gross`` and ``returned`` (sums of the
        positive amounts and of minus the negative amounts, whatever the policy),
        ``is_purchase`` (bool: the day counts
        as a purchase day), ``n_lines`` (rows kept), ``quantity`` (sum; when mapped), and
        the counters ``_n_rows``, ``_n_dup``, ``_n_neg``, ``_n_zero``, ``_n_negday``.
    """
    check_policies(duplicates, returns, zero_value)
    drop_dups = drops_duplicates(duplicates, t.columns)
    if returns == "error":
        n_neg = int((t.amount < 0).sum().execute() or 0)
        if n_neg:
            n = int(t.count().execute())
            raise DataValidationError(
                f"transactions: column 'amount': {n_neg:,} of {n:,} rows are negative (returns) "
                "and returns='error'; use returns='net' or returns='ignore'"
            )
    if duplicates == "keep":
        # fast path: one aggregation, duplicates neither dropped nor counted
        lines, w, mult = t, None, None
    else:
        # exact duplicates are found by grouping on every column; _mult = multiplicity
        lines = t.group_by(list(t.columns)).aggregate(_mult=t.count())
        mult = lines._mult
        w = None if drop_dups else mult
    neg = lines.amount < 0
    kept = ~neg if returns == "ignore" else ibis.literal(True)

    def total(expr, where=None):  # sum over the kept rows (weighted by multiplicity)
        return (expr if w is None else expr * w).sum(where=where)

    aggs = dict(
        value=total(lines.amount, kept).fill_null(0.0),
        n_lines=(lines.count(where=kept) if w is None else w.sum(where=kept)).fill_null(0),
        _n_rows=lines.count() if mult is None else mult.sum(),
        _n_dup=ibis.null("int64") if mult is None else (mult - 1).sum(),
        gross=total(lines.amount, ~neg).fill_null(0.0),
        returned=total(-lines.amount, neg).fill_null(0.0),
        _n_neg=(neg.cast("int64").sum() if mult is None
                else mult.sum(where=neg).fill_null(0)),
    )
    if "quantity" in t.columns:
        aggs["quantity"] = total(lines.quantity, kept)
    day = lines.timestamp.date().epoch_days().name("day")
    d = lines.group_by([lines.customer_id, day]).aggregate(**aggs)
    # a day with no kept row (only returns under "ignore") or a net-negative day is no purchase
    positive_or_zero = (d.value > 0) | ((d.value == 0) & (d.n_lines > 0))
    is_purchase = positive_or_zero if zero_value == "keep" else d.value > 0
    return d.mutate(
        is_purchase=is_purchase,
        _n_zero=((d.value == 0) & (d.n_lines > 0)).cast("int64"),
        _n_negday=((d.value < 0) | (d.n_lines == 0)).cast("int64"),
    )


def customer_counters(d: ibis.Table, where=None) -> dict:
    """Per-customer sums of the day counters (to aggregate next to the features)."""
    return dict(
        _n_rows=d._n_rows.sum(where=where),
        _n_dup=d._n_dup.sum(where=where),
        _n_neg=d._n_neg.sum(where=where),
        _n_days=d.is_purchase.cast("int64").sum(where=where),
        _n_zero=d._n_zero.sum(where=where),
        _n_negday=d._n_negday.sum(where=where),
    )


def finish_report(df: pd.DataFrame, *, policies: dict, extra: dict | None = None) -> dict:
    """Turn the counter columns of an executed result into the data report dict."""
    s = {c: int(df[c].fillna(0).sum()) for c in COUNTER_COLUMNS if c in df.columns}
    if "_n_dup" in df.columns and df["_n_dup"].isna().all() and len(df):
        s["_n_dup"] = None  # duplicates="keep": not counted
    drop_dups = policies["duplicates"] == "drop" or (
        policies["duplicates"] == "auto" and policies.get("has_order_line", False))
    report = {
        "n_rows": s.get("_n_rows", 0),
        "duplicate_rows": s.get("_n_dup", 0),
        "duplicate_rows_dropped": (s.get("_n_dup") or 0) if drop_dups else 0,
        "return_rows": s.get("_n_neg", 0),
        "return_rows_netted": s.get("_n_neg", 0) if policies["returns"] == "net" else 0,
        "return_rows_dropped": s.get("_n_neg", 0) if policies["returns"] == "ignore" else 0,
        "purchase_days": s.get("_n_days", 0),
        "negative_value_days_dropped": s.get("_n_negday", 0),
        "zero_value_days": s.get("_n_zero", 0),
        "zero_value_days_dropped": s.get("_n_zero", 0) if policies["zero_value"] == "drop"
        else 0,
        "n_customers_input": len(df),
        "customers_excluded": {},
        "n_customers": len(df),
        "policies": {k: v for k, v in policies.items() if k != "has_order_line"},
    }
    if extra:
        report.update(extra)
    return report


def to_pandas(expr) -> pd.DataFrame:
    """Execute an Ibis table into pandas through Arrow.

    Ibis' own ``to_pandas`` on DuckDB turns every column that contains a null into Python
    objects (``to_pylist``), seconds at millions of rows; Arrow's conversion is vectorised.
    """
    return expr.to_pyarrow().to_pandas()


def log_report(what: str, report: dict) -> None:
    """Log a data report at INFO (one line)."""
    parts = [f"{k}={v}" for k, v in report.items() if k != "policies"]
    logger.info("%s data report: %s", what, ", ".join(parts))
