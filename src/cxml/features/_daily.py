"""Shared first step of every transaction feature: input handling and purchase days.

Fader-Hardie-Lee merge all purchases of a customer on one calendar day into one
transaction. :func:`daily` builds that customer-day table as an Ibis expression, applying
the documented policies for exact duplicate rows, returns (negative amounts) and zero-value
days, and carrying the counters the data report is made of, so that the features and their
report come out of a single query.

The policies are documented in :mod:`cxml.features`.
"""

from __future__ import annotations

import logging

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxml.data import execute_arrow, is_validated, validate_transactions, validation_info
from cxml.exceptions import CxmlUserError, DataValidationError
from cxml.features._exact import exact

__all__ = [
    "prepare",
    "day_number",
    "daily",
    "check_policies",
    "COUNTER_COLUMNS",
    "finish_report",
    "raw_counts",
    "deferred_duplicates",
    "execute_by_customer",
    "rescannable",
    "to_pandas",
    "customer_counters",
    "counter_columns",
    "drops_duplicates",
    "check_output",
    "wants_pandas",
    "positive",
    "to_frame",
]

logger = logging.getLogger(__name__)

_DUPLICATES = ("auto", "keep", "drop")
_RETURNS = ("net", "ignore", "error")
_ZERO = ("keep", "drop")
_COLUMN_KEYS = (
    "customer_id",
    "timestamp",
    "amount",
    "quantity",
    "order_id",
    "category",
    "product",
    "timestamp_format",
    "null_customer_id",
)  # validate_transactions' keys

# per-customer counters that every builder aggregates next to its features (then drops)
# (only day-level facts: row-level counts come from one cheap global query, raw_counts;
# every per-customer counter costs an aggregate state per customer, ~45 MB per million)
COUNTER_COLUMNS = ("_n_dup", "_n_zero", "_n_negday", "_n_lines", "_n_cdays")


def day_number(ts: ibis.TimestampValue) -> ibis.IntegerValue:
    """The calendar day of a timestamp as days since 1970-01-01 (int64)."""
    return ts.date().epoch_days()


_OUTPUTS = ("auto", "pandas", "ibis")


def check_output(output: str) -> None:
    """Raise :class:`CxmlUserError` unless ``output`` is "auto", "pandas" or "ibis"."""
    if output not in _OUTPUTS:
        raise CxmlUserError(f"output must be one of {list(_OUTPUTS)}, got {output!r}")


def wants_pandas(output: str, as_pandas: bool) -> bool:
    """Whether a builder returns pandas: asked for, or "auto" with non-Ibis input."""
    return output == "pandas" or (output == "auto" and as_pandas)


def check_policies(duplicates: str, returns: str, zero_value: str) -> None:
    """Raise :class:`CxmlUserError` for an unknown policy name."""
    for name, value, allowed in (
        ("duplicates", duplicates, _DUPLICATES),
        ("returns", returns, _RETURNS),
        ("zero_value", zero_value, _ZERO),
    ):
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
            f"unknown keyword argument(s) {sorted(unknown)}; column mappings and read "
            f"policies are {list(_COLUMN_KEYS)}"
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
        duplicates == "auto" and "order_id" in columns and "product" in columns
    )


def daily(
    t: ibis.Table,
    *,
    duplicates: str = "auto",
    returns: str = "net",
    zero_value: str = "keep",
    detail: bool = False,
) -> ibis.Table:
    """Customer-day table: one row per customer and calendar day with any row.

    Parameters
    ----------
    t : ibis.Table
        A validated transaction table.
    duplicates, returns, zero_value : str
        Policies, see the module docstring.
    detail : bool, default False
        Also aggregate ``gross``, ``returned`` and ``quantity`` (behaviour features need
        them; RFM does not, and every aggregate costs memory per customer-day).

    Returns
    -------
    ibis.Table
        Columns ``customer_id``, ``day`` (int64, days since 1970-01-01), ``value`` (value
        of the day under the returns policy), ``is_purchase`` (bool: the day counts as a
        purchase day), ``_is_zero`` / ``_is_negday`` (zero-value day, day that is no
        purchase for a negative or no kept value), ``_n_dup`` unless
        ``duplicates="keep"`` and, with ``detail``, ``gross`` and ``returned`` (sums of
        the positive amounts and of minus the negative ones, whatever the policy) and
        ``quantity`` (when mapped).
    """
    check_policies(duplicates, returns, zero_value)
    drop_dups = drops_duplicates(duplicates, t.columns)
    if returns == "error":
        counts = execute_arrow(
            t.aggregate(neg=t.count(where=t.amount < 0), n=t.count())
        ).to_pylist()[0]
        n_neg, n = int(counts["neg"] or 0), int(counts["n"])
        if n_neg:
            raise DataValidationError(
                f"transactions: column 'amount': {n_neg:,} of {n:,} rows are negative (returns) "
                "and returns='error'; use returns='net' or returns='ignore'"
            )
    # "auto" without an order line keeps duplicates: the values do not depend on them, so
    # they are counted afterwards by raw_counts, only for customers who have a day with
    # several rows (a grouping on every column costs three times the whole feature query)
    count_later = duplicates == "auto" and not drop_dups
    if duplicates == "keep" or count_later:
        # fast path: one aggregation, duplicates not dropped
        lines, w, mult = t, None, None
    else:
        # exact duplicates are found by grouping on every column; _mult = multiplicity
        lines = t.group_by(list(t.columns)).aggregate(_mult=t.count())
        mult = lines._mult
        w = None if drop_dups else mult
    neg = lines.amount < 0

    def total(expr, where=None):  # exact sum over the kept rows (weighted by multiplicity)
        expr = exact(expr)
        return (expr if w is None else expr * w).sum(where=where)

    aggs: dict = {}
    if returns == "ignore":
        aggs["value"] = total(lines.amount, ~neg).fill_null(0)
        aggs["_n_kept"] = lines.count(where=~neg)
    else:
        aggs["value"] = total(lines.amount)
    if mult is not None:
        aggs["_n_dup"] = (mult - 1).sum()
    if count_later:
        aggs["_n_lines"] = lines.count()
    if detail:
        aggs["gross"] = total(lines.amount, ~neg).fill_null(0)
        aggs["returned"] = total(-lines.amount, neg).fill_null(0)
        if "quantity" in t.columns:
            aggs["quantity"] = total(lines.quantity, ~neg if returns == "ignore" else None)
    day = day_number(lines.timestamp).name("day")
    d = lines.group_by([lines.customer_id, day]).aggregate(**aggs)
    # a net-negative day, or under "ignore" a day with only returns, is no purchase
    # (without "ignore" every day has a kept row: the simplest predicates, value >= 0)
    zero = (d.value == 0) & (d._n_kept > 0) if returns == "ignore" else d.value == 0
    kept = (d.value > 0) | zero if returns == "ignore" else d.value >= 0
    is_purchase = kept if zero_value == "keep" else d.value > 0
    return d.mutate(is_purchase=is_purchase, _is_zero=zero, _is_negday=~kept)


def customer_counters(d: ibis.Table, where=None) -> dict:
    """Per-customer sums of the day counters (to aggregate next to the features)."""
    # negative-value days are not aggregated: every customer-day is a purchase, a dropped
    # zero-value day or a negative one, so finish_report gets them from _n_cdays (one
    # aggregate state fewer per customer)
    out = dict(
        # COUNT FILTER, not a SUM of casts (DuckDB sums BIGINT into a 128-bit HUGEINT)
        _n_zero=d.count(where=d._is_zero if where is None else d._is_zero & where),
        _n_cdays=d.count(where=where),
    )
    if "_n_dup" in d.columns:
        out["_n_dup"] = d._n_dup.sum(where=where)
    if "_n_lines" in d.columns:  # rows and days: more rows than days -> maybe duplicates
        out["_n_lines"] = d._n_lines.sum(where=where)
    return out


def counter_columns(g: ibis.Table) -> list[str]:
    """The counter columns present in a per-customer aggregate."""
    return [c for c in COUNTER_COLUMNS if c in g.columns]


def raw_counts(t: ibis.Table) -> dict:
    """Rows and negative-amount rows of a (filtered) validated table, plus the rows
    validation dropped for a null customer id. When ``t`` is the validated table itself,
    validation counted them in its own pass; a filtered table takes one global query."""
    info = validation_info(t) or {}
    if "n_negative_amount" in info:
        out = {"_n_rows": int(info["n_rows"]), "_n_neg": int(info["n_negative_amount"])}
    else:
        row = execute_arrow(
            t.aggregate(_n_rows=t.count(), _n_neg=t.count(where=t.amount < 0))
        ).to_pylist()[0]
        out = {k: int(v or 0) for k, v in row.items()}
    out["_n_null_id"] = int(info.get("dropped_null_customer_id") or 0)
    return out


def deferred_duplicates(t: ibis.Table, tbl: pa.Table) -> dict:
    """``{"_n_dup": n}`` for a builder whose duplicates are counted afterwards, else {}.

    ``tbl`` is the executed per-customer result with the ``_n_lines`` / ``_n_cdays``
    counters. Exact duplicate rows are found by grouping on every column the rows of the
    customers that have more rows than customer-days (an exact duplicate pair shares a
    customer-day, so no other customer can have one): usually a small share of the table.
    Narrowing the rows to those customers' days with several rows (their first and last
    such day, aggregated with the features) cost as much as it saved at 5M customers.
    """
    if "_n_lines" not in tbl.column_names:
        return {}
    several = pc.fill_null(pc.greater(tbl["_n_lines"], tbl["_n_cdays"]), False)
    ids = tbl.filter(several).select(["customer_id"])
    if ids.num_rows == 0:
        return {"_n_dup": 0}
    sub = t.semi_join(ibis.memtable(ids), "customer_id")
    lines = sub.group_by(list(t.columns)).aggregate(_mult=sub.count())
    n = execute_arrow(lines.aggregate(n=(lines._mult - 1).sum())).to_pylist()[0]["n"]
    return {"_n_dup": int(n or 0)}


# rows per customer bucket: above it a per-customer result is built bucket by bucket
BUCKET_ROWS = 6_000_000


def rescannable(source, t: ibis.Table) -> bool:
    """Whether scanning ``t`` several times is cheap: DuckDB over memory or Parquet.

    Delimited text would be parsed once per scan, and other backends manage their own
    memory, so those are executed in one query.
    """
    from pathlib import Path

    if isinstance(source, (str, Path)) and not str(source).lower().endswith((".parquet", ".pq")):
        return False
    try:
        return t._find_backend(use_default=True).name == "duckdb"
    except Exception:  # noqa: BLE001 - unbound expression: execute once
        return False


def execute_by_customer(build, t: ibis.Table, n_rows: int, rescan: bool) -> pa.Table:
    """Execute the per-customer query ``build(t)``, in buckets of customers when large.

    A customer's features depend only on her own rows, so running ``build`` on disjoint
    buckets of customers (``customer_id`` modulo k, hashed for strings) and concatenating
    gives the same rows while DuckDB's customer-day hash table holds 1/k of the
    customer-days: at 26M rows the peak memory halves for about the same time (each bucket
    rescans the input, which is cheap from memory or Parquet).
    """
    k = -(-n_rows // BUCKET_ROWS) if rescan else 1
    if k <= 1:
        return execute_arrow(build(t))
    cid = t.customer_id
    key = cid if cid.type().is_integer() else cid.hash()
    bucket = ((key % k) + k) % k  # non-negative on every backend
    parts = [execute_arrow(build(t.filter(bucket == i))) for i in range(k)]
    logger.debug("executed in %d customer buckets", k)
    return pa.concat_tables(parts)


def finish_report(
    tbl: pa.Table, *, raw: dict, purchase_days: int, policies: dict, extra: dict | None = None
) -> dict:
    """The data report dict from the counters of an executed (Arrow) result.

    ``raw`` comes from :func:`raw_counts`; ``purchase_days`` is the total number of
    purchase days the builder counted.
    """
    s: dict[str, int | None] = {
        c: int(pc.sum(tbl[c]).as_py() or 0) for c in COUNTER_COLUMNS if c in tbl.column_names
    }
    s.update(raw)
    s["_n_days"] = int(purchase_days)
    if "_n_negday" not in s and "_n_cdays" in s:  # see customer_counters
        dropped_zero = (s.get("_n_zero") or 0) if policies["zero_value"] == "drop" else 0
        s["_n_negday"] = (s["_n_cdays"] or 0) - (s["_n_days"] or 0) - dropped_zero
    if "_n_dup" not in s:
        s["_n_dup"] = None  # duplicates="keep": not counted
    drop_dups = policies["duplicates"] == "drop" or (
        policies["duplicates"] == "auto" and policies.get("has_order_line", False)
    )
    report = {
        "n_rows": s.get("_n_rows", 0),
        "null_customer_id_rows_dropped": s.get("_n_null_id", 0),
        "duplicate_rows": s.get("_n_dup", 0),
        "duplicate_rows_dropped": (s.get("_n_dup") or 0) if drop_dups else 0,
        "return_rows": s.get("_n_neg", 0),
        "return_rows_netted": s.get("_n_neg", 0) if policies["returns"] == "net" else 0,
        "return_rows_dropped": s.get("_n_neg", 0) if policies["returns"] == "ignore" else 0,
        "purchase_days": s.get("_n_days", 0),
        "negative_value_days_dropped": s.get("_n_negday", 0),
        "zero_value_days": s.get("_n_zero", 0),
        "zero_value_days_dropped": s.get("_n_zero", 0) if policies["zero_value"] == "drop" else 0,
        "n_customers_input": tbl.num_rows,
        "customers_excluded": {},
        "n_customers": tbl.num_rows,
        "policies": {k: v for k, v in policies.items() if k != "has_order_line"},
    }
    if extra:
        report.update(extra)
    return report


def positive(tbl: pa.Table, column: str) -> pa.ChunkedArray:
    """Boolean mask ``column > 0`` (nulls count as 0) over an Arrow result."""
    return pc.greater(pc.fill_null(tbl[column], 0), 0)


def to_frame(tbl: pa.Table, mask, cols: list[str]) -> pd.DataFrame:
    """Rows of ``tbl`` where ``mask``, columns ``cols``, as pandas indexed by customer_id.

    Filtering and column selection happen in Arrow, so the per-customer counters and the
    excluded customers never become pandas copies (hundreds of MB at millions of
    customers). Integer columns of the query (counts) become int64, the other numeric
    columns float64; string columns are kept.
    """
    # sorted in Arrow and converted column by column, releasing each Arrow buffer as it
    # goes: at 5M customers a pandas sort and a consolidating conversion cost 0.5 GB peak
    if not pc.all(mask).as_py():
        tbl = tbl.filter(mask)
    tbl = tbl.select(cols)
    integer = {f.name for f in tbl.schema if pa.types.is_integer(f.type)}
    ids = tbl["customer_id"]
    if len(ids) > 1 and not pc.all(pc.less(ids[:-1], ids[1:])).as_py():
        tbl = tbl.sort_by("customer_id")  # hash aggregates come out in no order
    df = tbl.to_pandas(self_destruct=True, split_blocks=True)
    del tbl
    df = df.set_index("customer_id")
    for c in df.columns:
        if pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object:
            continue
        df[c] = df[c].astype("int64" if c in integer else "float64")
    return df


def to_pandas(expr) -> pd.DataFrame:
    """Execute an Ibis table into pandas through Arrow.

    Ibis' own ``to_pandas`` on DuckDB turns every column that contains a null into Python
    objects (``to_pylist``), seconds at millions of rows; Arrow's conversion is vectorised.
    """
    return execute_arrow(expr).to_pandas()


def log_report(what: str, report: dict) -> None:
    """Log a data report at INFO (one line)."""
    parts = [f"{k}={v}" for k, v in report.items() if k != "policies"]
    logger.info("%s data report: %s", what, ", ".join(parts))
