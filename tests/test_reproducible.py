"""Training is reproducible: its DuckDB queries run on one thread (float sums in one order)."""

from __future__ import annotations

import ibis

from cxml.data import duckdb_connection
from cxml.pipelines._core import fit_calibration, stacked_snapshots
from cxml.pipelines._reproducible import duckdb_threads, reproducible


def _threads(con) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])


def test_reproducible_runs_the_tables_connections_on_one_thread_and_restores_them():
    other = ibis.duckdb.connect()
    other.raw_sql("SET threads = 2")
    other.con.execute("CREATE TABLE tx AS SELECT 1 AS customer_id, 1.0 AS amount")
    tx = other.table("tx")
    shared = duckdb_connection().con
    before = _threads(shared)
    seen = {}

    @reproducible
    def step(tx, *, events=None):
        seen["tx"] = _threads(other.con)
        seen["shared"] = _threads(shared)
        return "done"

    assert step(tx, events=None) == "done"
    assert seen == {"tx": 1, "shared": 1}
    assert _threads(other.con) == 2 and _threads(shared) == before


def test_settings_are_restored_when_the_step_fails():
    shared = duckdb_connection().con
    before = _threads(shared)
    try:
        with duckdb_threads([], True):
            assert _threads(shared) == 1
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _threads(shared) == before


def test_the_training_steps_are_reproducible():
    # fit_calibration and stacked_snapshots build every feature and fit every BTYD model of
    # train, evaluate and compare
    assert fit_calibration.__wrapped__ is not None
    assert stacked_snapshots.__wrapped__ is not None
