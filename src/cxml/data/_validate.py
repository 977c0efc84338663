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

from cxml.data._dates import (
    check_timestamp_format,
    example_value,
    timestamp_column,
    to_date,
)
from cxml.data._io import execute_arrow, read_table
from cxml.exceptions import DataValidationError

__all__ = [
    "validate_transactions",
    "validate_events",
    "is_validated",
    "validation_info",
    "MAX_ABS_AMOUNT",
]

#: amounts are summed exactly in fixed point (6 decimals, 18 digits: see
#: cxml.features._exact); at or above this absolute value they do not fit and are refused
MAX_ABS_AMOUNT = 1e12

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
        ``kind``, ``n_rows``, ``observation_end`` and ``columns`` (transactions also
        ``n_negative_amount`` and ``dropped_null_customer_id``); None if ``table`` was
        not validated.
    """
    if not isinstance(table, ibis.Table):
        return None
    info = _VALIDATED.get(table.op())
    return dict(info) if info is not None else None


def _label(canonical: str, user: str) -> str:
    label = f"'{canonical}'" if canonical == user else f"'{canonical}' (your column '{user}')"
    return label.replace("{", "{{").replace("}", "}}")  # check messages are format templates


def _check_columns(t: ibis.Table, mapping: dict[str, str], what: str) -> None:
    missing = [(c, u) for c, u in mapping.items() if u not in t.columns]
    if missing:
        names = ", ".join(f"'{c}'" if c == u else f"'{c}' (your column '{u}')" for c, u in missing)
        shown = list(t.columns)[:20]
        raise DataValidationError(
            f"{what}: missing column {names}; available columns: {shown}. "
            f"Map your column names (keyword {missing[0][0]}=..., "
            f"{_CONFIG_KEY.get(what, 'data.columns')} in a config)"
        )


#: the config section that maps each kind of table's columns
_CONFIG_KEY = {"transactions": "data.columns", "events": "data.event_columns"}


def _customer_id_expr(col, label: str, what: str):
    typ = col.type()
    if typ.is_null():  # every value null: the null count reports it
        return col.cast("int64"), {}
    if typ.is_integer():
        return col.cast("int64"), {}
    if typ.is_string():
        return col, {}
    if typ.is_floating() or typ.is_decimal():
        # float ids appear when a CSV/Excel export mixes in nulls; accept integral values
        frac = col.notnull() & (col != col.floor())
        return col.cast("int64"), {
            "cid_frac": (
                frac.sum(),
                example_value(col, frac),
                f"column {label}: {{bad}} of {{n}} ids are not whole numbers, e.g. {{example}}",
            )
        }
    raise DataValidationError(
        f"{what}: column {label} has type {typ}; customer ids must be strings or integers"
    )


def _numeric_expr(col, label: str, what: str, key: str):
    typ = col.type()
    if typ.is_null():
        return col.cast("float64"), {}
    if typ.is_numeric() and not typ.is_boolean():
        return col.cast("float64"), {}
    if typ.is_string():
        parsed = col.try_cast("float64")
        bad = col.notnull() & parsed.isnull()
        return parsed, {
            key: (
                bad.sum(),
                example_value(col, bad),
                f"column {label}: {{bad}} of {{n}} values are not numbers, e.g. "
                "{example}; use a plain decimal point and no currency signs",
            )
        }
    raise DataValidationError(f"{what}: column {label} has type {typ}; expected numbers")


def _huge_check(value, raw, label: str, nonfinite) -> tuple:
    """Count of values that do not fit the fixed point amounts and quantities are summed in."""
    huge = (value.abs() >= MAX_ABS_AMOUNT).fill_null(False) & ~nonfinite.fill_null(False)
    return (
        huge.sum(),
        example_value(raw, huge),
        f"column {label}: {{bad}} of {{n}} values are 10^12 or more in absolute value, "
        "e.g. {example} (sums are exact to 6 decimals up to 10^12); express them in a "
        "larger unit",
    )


def _fmt(n: int) -> str:
    return f"{n:,}"


def _run_checks(t: ibis.Table, checks: dict, what: str, tallies: dict | None = None) -> int:
    """Execute all bad-row counts (and an example of each) in one query; raise one error
    listing every problem.

    ``checks`` maps a key to ``(count_expr, example_expr or None, message)``; messages are
    ``str.format`` templates with ``{bad}``, ``{n}`` and ``{example}``. ``tallies`` maps a
    name to a count that is no error: it is computed in the same query and its value
    replaces the expression in the dict (the data report reuses it instead of a scan).
    """
    aggs = {"__n": t.count()}
    for key, count in (tallies or {}).items():
        aggs[f"__tally_{key}"] = count
    for key, (count, example, _) in checks.items():
        aggs[key] = count
        if example is not None:
            aggs[f"{key}__ex"] = example
    counts = execute_arrow(t.aggregate(**aggs))
    row = {name: counts.column(name)[0].as_py() for name in counts.column_names}
    n = int(row.pop("__n") or 0)
    for key in tallies or {}:
        tallies[key] = int(row.pop(f"__tally_{key}") or 0)  # type: ignore[index]
    problems = []
    for key, (_, _, message) in checks.items():
        bad = int(row.get(key) or 0)
        if bad:
            example = row.get(f"{key}__ex")
            problems.append(message.format(bad=_fmt(bad), n=_fmt(n), example=repr(example)))
    if problems:
        raise DataValidationError(f"{what}: " + "; ".join(problems))
    return n


_NULL_ID_POLICIES = ("error", "drop")


def _null_id_policy(null_customer_id: str) -> str:
    if null_customer_id not in _NULL_ID_POLICIES:
        raise DataValidationError(
            f"null_customer_id must be 'error' or 'drop', got {null_customer_id!r}"
        )
    return null_customer_id


def _drop_null_ids(t: ibis.Table, customer_id: str, policy: str) -> tuple[ibis.Table, int]:
    """Apply the null-customer-id policy: with "drop", rows without an id (guest orders)
    are removed and counted for the data report."""
    if policy != "drop":
        return t, 0
    dropped = execute_arrow(t.aggregate(n=t[customer_id].isnull().sum())).column("n")[0].as_py()
    return (t.filter(t[customer_id].notnull()) if dropped else t), int(dropped or 0)


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
    timestamp_format: str | None = None,
    null_customer_id: str = "error",
) -> ibis.Table:
    """Check a transaction table against cxml's data contract and canonicalise it.

    Parameters
    ----------
    source : pandas / polars / pyarrow table, CSV or Parquet path, or ibis.Table
        One row per order or order line. See :func:`cxml.data.read_table`.
    customer_id, timestamp, amount : str
        Names of the customer id (string or integer), purchase time and value (number;
        negative = return) columns in ``source``. Timestamps are dates, datetimes or
        ISO 8601 text (see :mod:`cxml.data._dates` for the policy: nothing is guessed).
        Time-zone-aware timestamps are taken in UTC when cut into calendar days; convert
        them to local wall-clock time first if that is what "same day" should mean.
    quantity, order_id, category, product : str or None
        Names of optional columns to carry along (None = absent).
    observation_end : str, date, datetime or Timestamp, optional
        End of the observation period, inclusive of its whole day. Rows after it are an error.
    timestamp_format : str, optional
        Explicit ``strptime`` format of text timestamps (e.g. ``"%d/%m/%Y %H:%M"``), applied
        strictly. Default: text must be ISO 8601.
    null_customer_id : {"error", "drop"}, default "error"
        Rows without a customer id (guest orders): refuse the table, or drop those rows
        (their count is recorded in :func:`validation_info` as ``dropped_null_customer_id``
        and reaches the data report).

    Returns
    -------
    ibis.Table
        Lazy table with columns ``customer_id``, ``timestamp`` (timestamp), ``amount``
        (float64), plus ``quantity`` (float64), ``order_id``, ``category``, ``product`` when
        mapped. The feature builders recognise it and do not validate it again.

    Raises
    ------
    DataValidationError
        Missing file or column; a column of the wrong type; null customer ids (unless
        dropped), timestamps or amounts; text dates that are not ISO 8601 (or do not match
        ``timestamp_format``); non-numeric amounts or quantities; timestamps after
        ``observation_end``. The message names the column, counts the bad rows and shows
        an example.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(
    ...     {"cid": [1, 1], "date": ["1997-01-01", "1997-01-08"], "amount": [10.0, 5.0]}
    ... )
    >>> t = validate_transactions(df, customer_id="cid", timestamp="date")
    >>> t.columns
    ('customer_id', 'timestamp', 'amount')
    """
    what = "transactions"
    t = read_table(source, name=what)
    end = to_date(observation_end, "observation_end") if observation_end is not None else None
    if is_validated(t, "transactions"):
        if end is not None:
            _run_checks(t, _after_end_check(t["timestamp"], end, "'timestamp'"), what)
        return t
    policy = _null_id_policy(null_customer_id)
    check_timestamp_format(timestamp_format)

    mapping = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount}
    optional = {
        "quantity": quantity,
        "order_id": order_id,
        "category": category,
        "product": product,
    }
    mapping.update({k: v for k, v in optional.items() if v is not None})
    _check_columns(t, mapping, what)
    t, dropped = _drop_null_ids(t, customer_id, policy)
    labels = {c: _label(c, u) for c, u in mapping.items()}

    cid, checks = _customer_id_expr(t[customer_id], labels["customer_id"], what)
    checks["cid_null"] = (
        t[customer_id].isnull().sum(),
        None,
        f"column {labels['customer_id']}: {{bad}} of {{n}} rows have a null "
        "customer id (e.g. guest orders); drop them (null_customer_id='drop', "
        "data.null_customer_id: drop in a config, --null-customer-id drop for "
        "cxml score) or fill them",
    )
    ts, ts_checks = timestamp_column(
        t[timestamp], labels["timestamp"], what, timestamp_format=timestamp_format
    )
    checks["ts_null"] = (
        t[timestamp].isnull().sum(),
        None,
        f"column {labels['timestamp']}: {{bad}} of {{n}} rows have a null "
        "timestamp; drop or fill them",
    )
    checks.update(ts_checks)
    amt, amt_checks = _numeric_expr(t[amount], labels["amount"], what, "amt_bad")
    checks.update(amt_checks)
    checks["amt_null"] = (
        t[amount].isnull().sum(),
        None,
        f"column {labels['amount']}: {{bad}} of {{n}} rows have a null amount; "
        "drop them or fill with 0",
    )
    nonfinite = amt.isnan() | amt.isinf()
    checks["amt_nonfinite"] = (
        nonfinite.sum(),
        example_value(t[amount], nonfinite),
        f"column {labels['amount']}: {{bad}} of {{n}} values are NaN or infinite; drop or fix them",
    )
    checks["amt_huge"] = _huge_check(amt, t[amount], labels["amount"], nonfinite)
    cols = {"customer_id": cid, "timestamp": ts, "amount": amt}
    if quantity is not None:
        qty, qty_checks = _numeric_expr(t[quantity], labels["quantity"], what, "qty_bad")
        checks.update(qty_checks)
        checks["qty_huge"] = _huge_check(qty, t[quantity], labels["quantity"], qty.isinf())
        cols["quantity"] = qty
    for key in ("order_id", "category", "product"):
        if key in mapping:
            cols[key] = t[mapping[key]]
    if end is not None:
        checks.update(_after_end_check(ts, end, labels["timestamp"]))

    tallies: dict = {"n_negative_amount": (amt < 0).fill_null(False).sum()}
    n = _run_checks(t, checks, what, tallies)
    out = t.select(**cols)
    _VALIDATED[out.op()] = {
        "kind": "transactions",
        "n_rows": n,
        "n_negative_amount": tallies["n_negative_amount"],
        "observation_end": end,
        "columns": tuple(cols),
        "dropped_null_customer_id": dropped,
    }
    logger.info("validated %s transaction rows (columns %s)", _fmt(n), ", ".join(cols))
    return out


def _after_end_check(ts, end, label: str) -> dict:
    after = (ts.date() > ibis.literal(end, type="date")).fill_null(False)
    return {
        "ts_after_end": (
            after.sum(),
            example_value(ts, after),
            f"column {label}: {{bad}} of {{n}} rows are after observation_end "
            f"{end.isoformat()}, e.g. {{example}}; filter them out or move "
            "observation_end",
        )
    }


def validate_events(
    source,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    event_type: str = "event_type",
    value: str | None = "value",
    observation_end=None,
    timestamp_format: str | None = None,
    null_customer_id: str = "error",
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
    timestamp_format : str, optional
        Explicit ``strptime`` format of text timestamps, applied strictly (default ISO 8601).
    null_customer_id : {"error", "drop"}, default "error"
        Events without a customer id (anonymous visits): refuse, or drop and count them.

    Returns
    -------
    ibis.Table
        Lazy table with columns ``customer_id``, ``timestamp``, ``event_type`` (string) and
        ``value`` (float64, nullable).

    Raises
    ------
    DataValidationError
        Missing file or column; null customer ids (unless dropped), timestamps or event
        types; text dates that are not ISO 8601 (or do not match ``timestamp_format``);
        non-numeric values; timestamps after ``observation_end``.
    """
    what = "events"
    t = read_table(source, name=what)
    end = to_date(observation_end, "observation_end") if observation_end is not None else None
    if is_validated(t, "events"):
        if end is not None:
            _run_checks(t, _after_end_check(t["timestamp"], end, "'timestamp'"), what)
        return t
    policy = _null_id_policy(null_customer_id)
    check_timestamp_format(timestamp_format)
    mapping = {"customer_id": customer_id, "timestamp": timestamp, "event_type": event_type}
    has_value = value is not None and (value != "value" or value in t.columns)
    if has_value:
        assert value is not None  # has_value implies it
        mapping["value"] = value
    _check_columns(t, mapping, what)
    t, dropped = _drop_null_ids(t, customer_id, policy)
    labels = {c: _label(c, u) for c, u in mapping.items()}
    cid, checks = _customer_id_expr(t[customer_id], labels["customer_id"], what)
    checks["cid_null"] = (
        t[customer_id].isnull().sum(),
        None,
        f"column {labels['customer_id']}: {{bad}} of {{n}} rows have a null "
        "customer id; drop them (null_customer_id='drop') or fill them",
    )
    ts, ts_checks = timestamp_column(
        t[timestamp], labels["timestamp"], what, timestamp_format=timestamp_format
    )
    checks["ts_null"] = (
        t[timestamp].isnull().sum(),
        None,
        f"column {labels['timestamp']}: {{bad}} of {{n}} rows have a null "
        "timestamp; drop or fill them",
    )
    checks.update(ts_checks)
    et = t[event_type]
    if not et.type().is_string():
        et = et.cast("string")
    checks["et_null"] = (
        t[event_type].isnull().sum(),
        None,
        f"column {labels['event_type']}: {{bad}} of {{n}} rows have a null event type",
    )
    if has_value:
        val, val_checks = _numeric_expr(t[value], labels["value"], what, "val_bad")
        checks.update(val_checks)
        checks["val_huge"] = _huge_check(val, t[value], labels["value"], val.isnan() | val.isinf())
    else:
        val = ibis.null().cast(dt.float64)
    if end is not None:
        checks.update(_after_end_check(ts, end, labels["timestamp"]))
    n = _run_checks(t, checks, what)
    out = t.select(customer_id=cid, timestamp=ts, event_type=et, value=val)
    _VALIDATED[out.op()] = {
        "kind": "events",
        "n_rows": n,
        "observation_end": end,
        "columns": tuple(out.columns),
        "dropped_null_customer_id": dropped,
    }
    logger.info("validated %s event rows", _fmt(n))
    return out
