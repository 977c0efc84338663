"""Chunked execution of a per-customer computation over a DuckDB table.

When there are more customers than ``chunk_size``, one DuckDB pass writes the rows to a
temporary Parquet directory partitioned by chunk (customers ranked by id, so chunk ``k``
holds the ids of rank ``[k * chunk_size, (k + 1) * chunk_size)``, found from the sorted
distinct ids). Each chunk is then read back by a worker thread on its own DuckDB
connection (:func:`cxml.data.duckdb_connection` with ``new=True``: UTC, like every cxml
connection) and handed to the caller's ``build`` function; the results come back in chunk
order while the next chunks are built.

Every result depends only on its chunk's customers' own rows, so the output does not depend
on the chunk size; with ``deterministic`` every DuckDB connection runs on one thread
(:func:`cxml.pipelines._reproducible.duckdb_threads`), so floating-point sums come out
bit-identical between runs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ibis

from cxml.data import duckdb_connection
from cxml.exceptions import DataValidationError

__all__ = [
    "FEATURE_WORKERS",
    "MAX_CASE_CHUNKS",
    "is_duckdb",
    "reading",
    "run_chunked",
    "sorted_ids",
]

logger = logging.getLogger(__name__)

#: More chunks than this: rows find their chunk by a join with the ranked ids, not a CASE.
MAX_CASE_CHUNKS = 64
#: Chunks built at the same time (each on its own DuckDB connection).
FEATURE_WORKERS = 2


@contextlib.contextmanager
def reading(what: str, source):
    """Turn errors the query engine raises while reading user data into user errors."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        name = source if isinstance(source, (str, Path)) else type(source).__name__
        raise DataValidationError(f"{what}: cannot read {name}: {first}") from None


def sorted_ids(tx: ibis.Table):
    """Every distinct customer id, sorted (a pyarrow array; 40 MB per 5M integer ids)."""
    return tx.select("customer_id").distinct().order_by("customer_id").to_pyarrow().column(0)


def is_duckdb(expr: ibis.Table) -> bool:
    """Whether ``expr`` runs on DuckDB (only then can it be spilled in chunks)."""
    try:
        return expr._find_backend(use_default=True).name == "duckdb"
    except Exception:  # noqa: BLE001 - unbound or foreign backend: no chunking
        return False


def _chunk_of(t: ibis.Table, ids, chunk_size: int, tx: ibis.Table):
    """Chunk number of each row of ``t``: the rank of its customer id // chunk_size.

    Up to :data:`MAX_CASE_CHUNKS` chunks, a CASE over the chunk's first ids (one pass, no
    join); beyond that a join with the ranked ids of ``tx``.
    """
    bounds = [ids[i].as_py() for i in range(chunk_size, len(ids), chunk_size)]
    if len(bounds) < MAX_CASE_CHUNKS:
        cid = t.customer_id
        expr = ibis.literal(len(bounds), "int64")
        for k in range(len(bounds) - 1, -1, -1):  # first bound above the id wins
            expr = ibis.ifelse(cid < bounds[k], ibis.literal(k, "int64"), expr)
        return t.mutate(_chunk=expr)
    distinct = tx.select("customer_id").distinct()
    ranked = distinct.mutate(
        _chunk=(ibis.row_number().over(order_by=distinct.customer_id) // chunk_size)
    )
    return t.inner_join(ranked, "customer_id")


def _fill_empty_partitions(ev: ibis.Table, root: Path, n_chunks: int) -> None:
    """Write an empty events file for every chunk whose customers have no event."""
    import pyarrow.parquet as pq

    schema = ev.limit(0).to_pyarrow().schema
    for k in range(n_chunks):
        d = root / f"_chunk={k}"
        if not d.is_dir():
            d.mkdir(parents=True)
            pq.write_table(schema.empty_table(), d / "empty.parquet")


def run_chunked(
    tx: ibis.Table,
    ev: ibis.Table | None,
    ids,
    *,
    chunk_size: int,
    build: Callable,
    work_dir: str | Path | None = None,
    deterministic: bool = True,
    source=None,
) -> Iterator:
    """Spill ``tx`` (and ``ev``) to Parquet by chunk of customers; yield ``build`` of each.

    Parameters
    ----------
    tx : ibis.Table
        Validated transactions on DuckDB (canonical column names).
    ev : ibis.Table or None
        Validated events on DuckDB, chunked with the same customers.
    ids : pyarrow.Array
        The sorted distinct customer ids of ``tx`` (:func:`sorted_ids`).
    chunk_size : int
        Customers per chunk.
    build : callable
        ``build(tx_chunk, ev_chunk_or_None)`` with the chunk's raw Parquet tables (the
        spilled columns, unvalidated), run in a worker thread.
    work_dir : str or Path, optional
        Where the spill directory goes (default: the system temporary directory); it is
        removed when the iteration ends.
    deterministic : bool, default True
        One DuckDB thread per worker connection.
    source : optional
        The user's input, named in read errors.

    Yields
    ------
    object
        ``build``'s result for chunk 0, 1, ...
    """
    n_chunks = math.ceil(len(ids) / chunk_size)
    with tempfile.TemporaryDirectory(prefix="cxml-score-", dir=work_dir) as spill:
        tmp = Path(spill)
        logger.info(
            "scoring %d customers in %d chunks (spill directory %s)", len(ids), n_chunks, tmp
        )
        with reading("transactions", source):
            con = tx._find_backend(use_default=True)
            con.to_parquet(_chunk_of(tx, ids, chunk_size, tx), tmp / "tx", partition_by="_chunk")
            if ev is not None:
                ev_con = ev._find_backend(use_default=True)
                ev_con.to_parquet(
                    _chunk_of(ev, ids, chunk_size, tx), tmp / "ev", partition_by="_chunk"
                )
                _fill_empty_partitions(ev, tmp / "ev", n_chunks)
        # Each worker reads its chunk files through its own DuckDB connection (one thread
        # each when deterministic), so chunks are built in parallel without sharing a
        # connection between threads.
        local, connections = threading.local(), []

        def build_chunk(k):
            wcon = getattr(local, "con", None)
            if wcon is None:
                wcon = local.con = duckdb_connection(new=True, threads=1 if deterministic else None)
                connections.append(wcon)
            txk = wcon.read_parquet(str(tmp / "tx" / f"_chunk={k}" / "*.parquet"))
            evk = None
            if ev is not None:
                evk = wcon.read_parquet(str(tmp / "ev" / f"_chunk={k}" / "*.parquet"))
            return build(txk, evk)

        try:
            with ThreadPoolExecutor(
                max_workers=FEATURE_WORKERS, thread_name_prefix="cxml-features"
            ) as pool:
                pending = {
                    k: pool.submit(build_chunk, k) for k in range(min(FEATURE_WORKERS, n_chunks))
                }
                for k in range(n_chunks):
                    result = pending.pop(k).result()
                    if k + FEATURE_WORKERS < n_chunks:
                        pending[k + FEATURE_WORKERS] = pool.submit(build_chunk, k + FEATURE_WORKERS)
                    yield result
                    del result
        finally:
            for wcon in connections:
                wcon.disconnect()
