"""Resolve the configured data sources into validated Ibis tables plus lineage."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from cxml.data import (
    check_horizon,
    expand_env,
    is_table_source,
    masked,
    open_source,
    source_label,
    validate_events,
    validate_transactions,
    validation_info,
)
from cxml.datasets import cdnow_path, load_cdnow
from cxml.exceptions import DataValidationError

__all__ = [
    "load_customer_attributes",
    "load_events",
    "load_transactions",
    "file_sha256",
    "raw_rows",
    "check_time_config",
    "config_artifact",
]

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
    where: dict = {}
    if is_table_source(src):  # a database table or query: no file to hash
        source, digest = open_source(src, name="transactions"), None
        where = {
            "connection": masked(src.connection),
            **({"table": src.table} if src.table else {"query": src.query}),
        }
    elif src in _CDNOW:
        kind = _CDNOW[src]
        path = str(cdnow_path(kind))
        source, digest = load_cdnow(kind), file_sha256(path)
        cols = {k: k for k in cols}  # load_cdnow already returns the contract's names
    else:
        source = open_source(src, name="transactions")
        p = Path(expand_env(src, name="data.transactions"))
        path = str(p)
        digest = file_sha256(p) if p.is_file() else None
    table = validate_transactions(
        source,
        observation_end=observation_end,
        timestamp_format=data_cfg.timestamp_format,
        null_customer_id=data_cfg.null_customer_id,
        **cols,
    )
    stats = (
        table.aggregate(
            rows=table.count(),
            customers=table.customer_id.nunique(),
            first=table.timestamp.min(),
            last=table.timestamp.max(),
        )
        .to_pandas()
        .iloc[0]
    )
    info = validation_info(table)
    assert info is not None  # validate_transactions recorded it
    lineage = {
        "source": source_label(src),
        **(where or {"path": str(Path(path).resolve())}),
        "sha256": digest,
        "rows": int(stats["rows"]),
        "customers": int(stats["customers"]),
        "first_date": str(stats["first"])[:10],
        "last_date": str(stats["last"])[:10] if stats["rows"] else None,
        "null_customer_id_rows_dropped": info["dropped_null_customer_id"],
    }
    if not lineage["rows"]:
        raise DataValidationError(
            f"transactions: {source_label(src)} has no rows (after the "
            "read policies); nothing to train on"
        )
    return table, lineage


def check_time_config(time_cfg, lineage: dict) -> None:
    """Refuse a training ``observation_end`` far beyond the latest transaction
    (:func:`cxml.data.check_horizon`, horizon = the holdout length)."""
    last = dt.date.fromisoformat(lineage["last_date"]) if lineage.get("last_date") else None
    check_horizon(
        time_cfg.observation_end,
        last,
        horizon_days=time_cfg.holdout_days,
        name="time.observation_end",
        allow=time_cfg.allow_stale_observation_end,
        switch="time.allow_stale_observation_end: true in the config",
    )


def load_events(data_cfg, *, observation_end: dt.date | None):
    """Validated engagement events of a :class:`DataConfig` (``None`` when not configured)."""
    if not data_cfg.events:
        return None
    return validate_events(
        open_source(data_cfg.events, name="events"),
        observation_end=observation_end,
        timestamp_format=data_cfg.timestamp_format,
        null_customer_id=data_cfg.null_customer_id,
        **data_cfg.event_columns.model_dump(),
    )


def load_customer_attributes(cfg):
    """The configured customers table's covariate columns (``data.customers``, the columns
    ``btyd.covariates`` lists), indexed by customer id; None without covariates.

    Raises
    ------
    DataValidationError
        A covariate or id column the table lacks (its columns listed), a missing or
        duplicated id (see :func:`cxml.pipelines._customers.load_customers`).
    """
    from cxml.pipelines._customers import load_customers

    cov = cfg.btyd.covariates
    if cov is None or not cov.names:
        return None
    return load_customers(
        cfg.data.customers,
        columns=cov.names,
        customer_id=cfg.data.customer_columns.customer_id,
        name="data.customers",
    )


def raw_rows(data_cfg, *, n: int = 200):
    """The first ``n`` rows of the configured transactions, unvalidated, in the user's own
    column names and types (with only the mapped columns)."""
    src = data_cfg.transactions
    cols = data_cfg.columns.model_dump(exclude_none=True)
    if not is_table_source(src) and src in _CDNOW:
        return load_cdnow(_CDNOW[src]).head(n)[list(cols)]
    return open_source(src).select(*cols.values()).limit(n).to_pandas()


def config_artifact(cfg, tmp_dir: str | Path) -> str | None:
    """The config file to store with a run or model: ``cfg.source_path`` itself, or a copy
    in ``tmp_dir`` with the sources' passwords masked when the file spells one out
    (``${NAME}`` references are kept as they are: they hold no secret)."""
    from cxml.data import source_secrets

    if not cfg.source_path:
        return None
    secrets: set[str] = set()
    for src in (cfg.data.transactions, cfg.data.events, cfg.data.customers):
        if is_table_source(src):
            secrets.update(source_secrets(src.connection))
            try:
                secrets.update(source_secrets(expand_env(src.connection)))
            except DataValidationError:
                pass
    text = Path(cfg.source_path).read_text(encoding="utf-8")
    scrubbed = text
    for s in sorted(secrets, key=len, reverse=True):
        scrubbed = scrubbed.replace(s, "***")
    if scrubbed == text:
        return cfg.source_path
    out = Path(tmp_dir) / Path(cfg.source_path).name
    out.write_text(scrubbed, encoding="utf-8")
    return str(out)
