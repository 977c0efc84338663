"""Reproducible DuckDB arithmetic: the same input gives bit-identical output in every run.

DuckDB's parallel aggregation adds a customer's amounts in an order that depends on thread
scheduling, so a float sum (monetary value, holdout spend) can differ in its last bit between
two runs of the same query. Training then diverges visibly: the Gamma-Gamma fit moves by
1e-12, a LightGBM split threshold moves with it, early stopping picks another round, and
churn probabilities differed by up to 0.04 between two trainings on the CDNOW sample in one
process. Scoring and training therefore run their DuckDB queries on one thread.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import TypeVar

from cxml.data import duckdb_connection
from cxml.pipelines._chunks import is_duckdb

__all__ = ["duckdb_threads", "reproducible"]

F = TypeVar("F", bound=Callable)


@contextlib.contextmanager
def duckdb_threads(tables, deterministic: bool):
    """Run DuckDB single-threaded while scoring, for reproducible output.

    DuckDB's parallel aggregation adds a customer's amounts in an order that depends on
    thread scheduling, so float sums (monetary value, CLV) could differ in the last bit
    between two runs. One thread (and a deterministic scan order) makes reruns
    byte-identical; the settings are restored afterwards.
    """
    if not deterministic:
        yield
        return
    cons = {}
    for t in tables:
        if is_duckdb(t):
            be = t._find_backend(use_default=True)
            cons[id(be.con)] = be.con
    shared = duckdb_connection().con
    cons.setdefault(id(shared), shared)
    saved = []
    for raw in cons.values():
        old = raw.execute("SELECT current_setting('threads')").fetchall()[0][0]
        raw.execute("SET threads = 1")
        saved.append((raw, old))
    try:
        yield
    finally:
        for raw, old in saved:
            raw.execute(f"SET threads = {int(old)}")


def reproducible(func: F) -> F:
    """Run ``func(tx, ..., events=None, ...)`` with its DuckDB tables on one thread.

    For the pipeline steps that turn transactions (and events) into fitted models and
    features: the connections of ``tx``, of ``events`` when given and the shared cxml
    connection run single-threaded for the call (see :func:`duckdb_threads`), so two
    trainings on the same data give the same models. Non-DuckDB backends are untouched.
    """

    @functools.wraps(func)
    def wrapper(tx, *args, **kwargs):
        events = kwargs.get("events")
        with duckdb_threads([tx] + ([events] if events is not None else []), True):
            return func(tx, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
