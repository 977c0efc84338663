"""Boundary validation of transactions and engagement events.

Validation happens once, here; the feature engine trusts what comes out. Every check is one
aggregate query in the table's own backend (DuckDB for in-memory and file input), so a
billion-row Spark table is validated where it lives. Every problem is reported with the
column name (and the user's own column name when it was mapped), the number of bad rows out
of the total, and what to do about it.
"""

from __future__ import annotations

import logging
import weakref

import ibis
import ibis.expr.datatypes as dt

from cxml.data._dates import epoch_day, to_date
from cxml.data._io import execute_arrow, read_table
from cxml.exceptions import DataValidationError

__all__ = ["validate_transactions", "validate_events", "is_validated", "validation_info"]

logger = logging.getLogger(__name__)

# op node of a validated table -> what was validated. Weak keys: the registry never keeps a
# user's (possibly huge) in-memory table alive.
_VALIDATED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def is_validated(table, kind: str = "transactions") -> bool:
    """Whether ``table`` is an Ibis table returned by ``validate_<kind>``.

    Parameters
    ----------
    table : object
        Anything; only Ibis tables can be validated.
    kind : {"transactions", "events"}, default "transactions"
        Which validator.

    Returns
    -------
    bool
        True if :func:`validate_transactions` (or :func:`validate_events`) returned it.
    """
    if not isinstance(table, ibis.Table):
        return False
    info = _VALIDATED.get(table.op())
    return info is not None and info["kind"] == kind


def validation_info(table) -> dict | None:
    """What :func:`validate_transactions` / :func:`validate_events` recorded about a table.

    Parameters
    ----------
    table : object
        A table returned by one of the validators (anything else gives None).

    Returns
    -------
    dict or None
        ``kind``, ``n_rows``, ``observation_end`` and ``columns``; None if ``table`` was
        not validated.
    """
    if not isinstance(table, ibis.Table):
        return None
    info = _VALIDATED.get(table.op())
    return dict(info) if info is not None else None


def _label(canonical: str, user: str) -> str:
    return f"'{canonical}'" if canonical == user else f"'{canonical}' (your column '{user}')"


def _check_columns(t: ibis.Table, mapping: dict[str, str], what: str) -> None:
    missing = [(c, u) for c, u in mapping.items() if u not in t.columns]
    if missing:
        names = ", ".join(_label(c, u) for c, u in missing)
        shown = list(t.columns)[:20]
        raise DataValidationError(
            f"{what}: missing column {names}; available columns: {shown}. "
            f"Map your names with e.g. {missing[0][0]}='your_column'"
        )


def _customer_id_expr(col, label: str, what: str, problems: list):
    typ = col.type()
    if typ.is_null():  # every value null: the null count reports it
        return col.cast("int64"), None
    if typ.is_integer():
        return col.cast("int64"), None
    if typ.is_string():
        return col, None
    if typ.is_floating() or typ.is_decimal():
        # float ids appear when a CSV/Excel export mixes in nulls; accept integral values
        return col.cast("int64"), (col.notnull() & (col != col.floor())).sum()
    raise DataValidationError(
        f"{what}: column {label} has type {typ}; customer ids must be strings or integers"
    )


def _timestamp_expr(col, label: str, what: str):
    typ = col.type()
    if typ.is_null():
        return col.cast("timestamp"), None
    if typ.is_timestamp():
        return col, None
    if typ.is_date():
        return col.cast("timestamp"), None
    if typ.is_string():
        parsed = col.try_cast("timestamp")
        return parsed, (col.notnull() & parsed.isnull()).sum()
    raise DataValidationError(
        f"{what}: column {label} has type {typ}; expected a date, a datetime or ISO 8601 "
        "strings such as '1997-09-30'"
    )


def _numeric_expr(col, label: str, what: str):
    typ = col.type()
    if typ.is_null():
        return col.cast("float64"), None
    if typ.is_numeric() and not typ.is_boolean():
        return col.cast("float64"), None
    if typ.is_string():
        parsed = col.try_cast("float64")
        return parsed, (col.notnull() & parsed.isnull()).sum()
    raise DataValidationError(f"{what}: column {label} has type {typ}; expected numbers")


def _fmt(n: int) -> str:
    return f"{n:,}"


def _run_checks(t: ibis.Table, checks: dict, what: str) -> int:
    """Execute all bad-row counts in one query; raise one error listing every problem."""
    counts = execute_arrow(t.aggregate(__n=t.count(), **{k: v[0] for k, v in checks.items()}))
    row = {name: counts.column(name)[0].as_py() for name in counts.column_names}
    n = int(row.pop("__n") or 0)
    problems = []
    for key, (_, message) in checks.items():
        bad = int(row.get(key) or 0)
        if bad:
            problems.append(message.format(bad=_fmt(bad), n=_fmt(n)))
    if problems:
        raise DataValidationError(f"{what}: " + "; ".join(problems))
    return n


def validate_transactions(
    source,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str = "amount",
    quantity: str | None = None,
    order_id: str | None = None,
    category: str | None = None,
    product: str | None = None,
    observation_end=None,
) -> ibis.Table:
    """Check a transaction table against cxml's data contract and canonicalise it.

    Parameters
    ----------
    source : pandas / polars / pyarrow table, CSV or Parquet path, or ibis.Table
        One row per order or order line. See :func:`cxml.data.read_table`.
    customer_id, timestamp, amount : str
        Names of the customer id (string or integer), purchase time (date, datetime or ISO
        string) and value (number; negative = return) columns in ``source``.
        Time-zone-aware timestamps are taken in UTC when cut into calendar days; convert
        them to local wall-clock time first if that is what "same day" should mean.
    quantity, order_id, category, product : str or None
        Names of optional columns to carry along (None = absent).
    observation_end : str, date, datetime or Timestamp, optional
        End of the observation period, inclusive of its whole day. Rows after it are an error.

    Returns
    -------
    ibis.Table
        Lazy table with columns ``customer_id``, ``timestamp`` (timestamp), ``amount``
        (float64), plus ``quantity`` (float64), ``order_id``, ``category``, ``product`` when
        mapped. The feature builders recognise it and do not validate it again.

    Raises
    ------
    DataValidationError
        Missing file or column; a column of the wrong type; null customer ids, timestamps or
        amounts; unparseable dates; non-numeric amounts or quantities; timestamps after
        ``observation_end``. The message names the column and counts the bad rows.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cid": [1, 1], "date": ["1997-01-01", "1997-01-08"],
    ...                    "amount": [10.0, 5.0]})
    >>> t = validate_transactions(df, customer_id="cid", timestamp="date")
    >>> t.columns
    ('customer_id', 'timestamp', 'amount')
    """
    what = "transactions"
    t = read_table(source, name=what)
    end = to_date(observation_end, "observation_end") if observation_end is not None else None
    if is_validated(t, "transactions"):
        if end is not None:
            _run_checks(t, _after_end_check(t, end, "'timestamp'"), what)
        return t

    mapping = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    optional = {"quantity": quantity, "order_id": order_id, "category": category,
                "product": product}
    mapping.update({k: v for k, v in optional.items() if v is not None})
    _check_columns(t, mapping, what)
    labels = {c: _label(c, u) for c, u in mapping.items()}

    checks: dict = {}
    cid, frac = _customer_id_expr(t[customer_id], labels["customer_id"], what, [])
    checks["cid_null"] = (t[customer_id].isnull().sum(),
                          f"column {labels['customer_id']}: {{bad}} of {{n}} rows have a null "
                          "customer id; drop them (e.g. guest orders) or fill them")
    if frac is not None:
        checks["cid_frac"] = (frac, f"column {labels['customer_id']}: {{bad}} of {{n}} ids are "
                                    "not whole numbers")
    ts, unparsed = _timestamp_expr(t[timestamp], labels["timestamp"], what)
    checks["ts_null"] = (t[timestamp].isnull().sum(),
                         f"column {labels['timestamp']}: {{bad}} of {{n}} rows have a null "
                         "timestamp; drop or fill them")
    if unparsed is not None:
        checks["ts_bad"] = (unparsed, f"column {labels['timestamp']}: {{bad}} of {{n}} values "
                                      "are not dates; use ISO 8601 such as '1997-09-30'")
    amt, nonnum = _numeric_expr(t[amount], labels["amount"], what)
    checks["amt_null"] = (t[amount].isnull().sum(),
                          f"column {labels['amount']}: {{bad}} of {{n}} rows have a null amount; "
                          "drop them or fill with 0")
    if nonnum is not None:
        checks["amt_bad"] = (nonnum, f"column {labels['amount']}: {{bad}} of {{n}} values are "
                                     "not numbers")
    checks["amt_nonfinite"] = ((amt.isnan() | amt.isinf()).sum(),
                               f"column {labels['amount']}: {{bad}} of {{n}} values are NaN or "
                               "infinite; drop or fix them")
    cols = {"customer_id": cid, "timestamp": ts, "amount": amt}
    if quantity is not None:
        qty, qbad = _numeric_expr(t[quantity], labels["quantity"], what)
        if qbad is not None:
            checks["qty_bad"] = (qbad, f"column {labels['quantity']}: {{bad}} of {{n}} values "
                                       "are not numbers")
        cols["quantity"] = qty
    for key in ("order_id", "category", "product"):
        if key in mapping:
            cols[key] = t[mapping[key]]
    if end is not None:
        checks.update(_after_end_check_expr(ts, end, labels["timestamp"]))

    n = _run_checks(t, checks, what)
    out = t.select(**cols)
    _VALIDATED[out.op()] = {"kind": "transactions", "n_rows": n,
                            "observation_end": end, "columns": tuple(cols)}
    logger.info("validated %s transaction rows (columns %s)", _fmt(n), ", ".join(cols))
    return out


def _after_end_check_expr(ts, end, label: str) -> dict:
    after = (ts.date().epoch_days() > epoch_day(end)).fill_null(False).sum()
    return {"ts_after_end": (after, f"column {label}: {{bad}} of {{n}} rows are after "
                                    f"observation_end {end.isoformat()}; filter them out or "
                                    "move observation_end")}


def _after_end_check(t: ibis.Table, end, label: str) -> dict:
    return _after_end_check_expr(t["timestamp"], end, label)


def validate_events(
    source,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    event_type: str = "event_type",
    value: str | None = "value",
    observation_end=None,
) -> ibis.Table:
    """Check an engagement-event table against cxml's data contract and canonicalise it.

    Parameters
    ----------
    source : pandas / polars / pyarrow table, CSV or Parquet path, or ibis.Table
        One row per event (web session, e-mail open, support ticket, survey answer, ...).
    customer_id, timestamp, event_type : str
        Names of the customer id, event time and event type (free string) columns.
    value : str or None, default "value"
        Name of the optional numeric value column (session seconds, survey score, ...).
        When it is the default "value" and the column is absent, ``value`` is all null;
        a non-default name must exist. None = no value column.
    observation_end : str, date, datetime or Timestamp, optional
        End of the observation period, inclusive of its whole day. Rows after it are an error.

    Returns
    -------
    ibis.Table
        Lazy table with columns ``customer_id``, ``timestamp``, ``event_type`` (string) and
        ``value`` (float64, nullable).

    Raises
    ------
    DataValidationError
        Missing file or column; null customer ids, timestamps or event types; unparseable
        dates; non-numeric values; timestamps after ``observation_end``.
    """
    what = "events"
    t = read_table(source, name=what)
    end = to_date(observation_end, "observation_end") if observation_end is not None else None
    if is_validated(t, "events"):
        if end is not None:
            _run_checks(t, _after_end_check(t, end, "'timestamp'"), what)
        return t
    mapping = {"customer_id": customer_id, "timestamp": timestamp, "event_type": event_type}
    has_value = value is not None and (value != "value" or value in t.columns)
    if has_value:
        mapping["value"] = value
    _check_columns(t, mapping, what)
    labels = {c: _label(c, u) for c, u in mapping.items()}
    checks: dict = {}
    cid, frac = _customer_id_expr(t[customer_id], labels["customer_id"], what, [])
    checks["cid_null"] = (t[customer_id].isnull().sum(),
                          f"column {labels['customer_id']}: {{bad}} of {{n}} rows have a null "
                          "customer id; drop or fill them")
    if frac is not None:
        checks["cid_frac"] = (frac, f"column {labels['customer_id']}: {{bad}} of {{n}} ids are "
                                    "not whole numbers")
    ts, unparsed = _timestamp_expr(t[timestamp], labels["timestamp"], what)
    checks["ts_null"] = (t[timestamp].isnull().sum(),
                         f"column {labels['timestamp']}: {{bad}} of {{n}} rows have a null "
                         "timestamp; drop or fill them")
    if unparsed is not None:
        checks["ts_bad"] = (unparsed, f"column {labels['timestamp']}: {{bad}} of {{n}} values "
                                      "are not dates; use ISO 8601 such as '1997-09-30'")
    et = t[event_type]
    if not et.type().is_string():
        et = et.cast("string")
    checks["et_null"] = (t[event_type].isnull().sum(),
                         f"column {labels['event_type']}: {{bad}} of {{n}} rows have a null "
                         "event type")
    if has_value:
        val, vbad = _numeric_expr(t[value], labels["value"], what)
        if vbad is not None:
            checks["val_bad"] = (vbad, f"column {labels['value']}: {{bad}} of {{n}} values are "
                                       "not numbers")
    else:
        val = ibis.null().cast(dt.float64)
    if end is not None:
        checks.update(_after_end_check_expr(ts, end, labels["timestamp"]))
    n = _run_checks(t, checks, what)
    out = t.select(customer_id=cid, timestamp=ts, event_type=et, value=val)
    _VALIDATED[out.op()] = {"kind": "events", "n_rows": n, "observation_end": end,
                            "columns": tuple(out.columns)}
    logger.info("validated %s event rows", _fmt(n))
    return out
