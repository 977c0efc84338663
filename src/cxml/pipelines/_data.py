"""Resolve the configured data sources into validated Ibis tables plus lineage."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from cxml.data import check_horizon, validate_events, validate_transactions, validation_info
from cxml.datasets import cdnow_path, load_cdnow
from cxml.exceptions import DataValidationError

__all__ = ["load_events", "load_transactions", "file_sha256", "raw_rows", "check_time_config"]

_CDNOW = {"cdnow:master": "master", "cdnow:sample": "sample"}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the content hash recorded as data lineage)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_transactions(data_cfg, *, observation_end: dt.date | None):
    """Validated transactions of a :class:`DataConfig` and their lineage.

    Returns
    -------
    (ibis.Table, dict)
        The validated table and ``source``, ``sha256``, ``rows``, ``customers``,
        ``first_date``, ``last_date``.
    """
    src = data_cfg.transactions
    cols = data_cfg.columns.model_dump(exclude_none=True)
    digest: str | None
    if src in _CDNOW:
        kind = _CDNOW[src]
        path = str(cdnow_path(kind))
        source, digest = load_cdnow(kind), file_sha256(path)
        cols = {k: k for k in cols}  # load_cdnow already returns the contract's names
    else:
        source = path = src
        p = Path(src)
        digest = file_sha256(p) if p.is_file() else None
    table = validate_transactions(source, observation_end=observation_end,
                                  timestamp_format=data_cfg.timestamp_format,
                                  null_customer_id=data_cfg.null_customer_id, **cols)
    stats = table.aggregate(
        rows=table.count(),
        customers=table.customer_id.nunique(),
        first=table.timestamp.min(),
        last=table.timestamp.max(),
    ).to_pandas().iloc[0]
    info = validation_info(table)
    assert info is not None  # validate_transactions recorded it
    lineage = {
        "source": src,
        "path": str(Path(path).resolve()),
        "sha256": digest,
        "rows": int(stats["rows"]),
        "customers": int(stats["customers"]),
        "first_date": str(stats["first"])[:10],
        "last_date": str(stats["last"])[:10] if stats["rows"] else None,
        "null_customer_id_rows_dropped": info["dropped_null_customer_id"],
    }
    if not lineage["rows"]:
        raise DataValidationError(f"transactions: {src} has no rows (after the read policies); "
                                  "nothing to train on")
    return table, lineage


def check_time_config(time_cfg, lineage: dict) -> None:
    """Refuse a training ``observation_end`` far beyond the latest transaction
    (:func:`cxml.data.check_horizon`, horizon = the holdout length)."""
    last = dt.date.fromisoformat(lineage["last_date"]) if lineage.get("last_date") else None
    check_horizon(time_cfg.observation_end, last, horizon_days=time_cfg.holdout_days,
                  name="time.observation_end", allow=time_cfg.allow_stale_observation_end,
                  switch="time.allow_stale_observation_end: true in the config")


def load_events(data_cfg, *, observation_end: dt.date | None):
    """Validated engagement events of a :class:`DataConfig` (``None`` when not configured)."""
    if not data_cfg.events:
        return None
    return validate_events(data_cfg.events, observation_end=observation_end,
                           timestamp_format=data_cfg.timestamp_format,
                           null_customer_id=data_cfg.null_customer_id,
                           **data_cfg.event_columns.model_dump())


def raw_rows(data_cfg, *, n: int = 200):
    """The first ``n`` rows of the configured transactions, unvalidated, in the user's own
    column names and types (with only the mapped columns)."""
    from cxml.data import read_table

    src = data_cfg.transactions
    cols = data_cfg.columns.model_dump(exclude_none=True)
    if src in _CDNOW:
        return load_cdnow(_CDNOW[src]).head(n)[list(cols)]
    return read_table(src).select(*cols.values()).limit(n).to_pandas()
