"""Scores written to a database table (issue 18, line 3): the Parquet output's rows and
types, swapped in atomically (a failure leaves the old table and no staging table)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cxml.cli import main
from cxml.pipelines import SCORE_COLUMNS, DatabaseTableWriter, OutputTable

AS_OF = "1998-06-30"


def _tables(path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())


def test_score_to_a_duckdb_table_equals_the_parquet(sample_training, sample_csv, tmp_path):
    model = str(sample_training[0].model_dir)
    db = tmp_path / "crm.duckdb"
    pq = tmp_path / "s.parquet"
    assert main(["score", "-m", model, "-t", str(sample_csv), "--as-of", AS_OF, "-o", str(pq)]) == 0
    for _ in range(2):  # the second run replaces the table
        assert (
            main(
                [
                    "score",
                    "-m",
                    model,
                    "-t",
                    str(sample_csv),
                    "--as-of",
                    AS_OF,
                    "--output",
                    f"duckdb://{db}",
                    "--output-table",
                    "scores",
                    "--chunk-size",
                    "1000",
                ]
            )
            == 0
        )
    assert _tables(db) == ["scores"]  # no staging table left
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("SELECT * FROM scores").df()
    expected = pd.read_parquet(pq)
    assert list(got.columns) == SCORE_COLUMNS and len(got) == 2357
    pd.testing.assert_frame_equal(
        got.sort_values("customer_id").reset_index(drop=True),
        expected.sort_values("customer_id").reset_index(drop=True),
        check_dtype=False,
    )
    assert got["insufficient_history"].dtype == bool and got["clv"].dtype == "float64"


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_a_failed_write_leaves_the_old_table(kind, tmp_path):
    path = tmp_path / f"crm.{kind}"
    url = f"{kind}://{path}"
    with DatabaseTableWriter(OutputTable(url, "scores")) as w:
        w.write(pd.DataFrame({"customer_id": [1, 2], "clv": [1.0, 2.0]}))
    with pytest.raises(RuntimeError, match="killed"):
        with DatabaseTableWriter(OutputTable(url, "scores")) as w:
            w.write(pd.DataFrame({"customer_id": [3], "clv": [3.0]}))
            raise RuntimeError("killed mid-run")
    if kind == "duckdb":
        assert _tables(path) == ["scores"]
        con = duckdb.connect(str(path), read_only=True)
    else:
        import sqlite3

        con = sqlite3.connect(path)
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert names == ["scores"]
    assert [r[0] for r in con.execute("SELECT customer_id FROM scores ORDER BY 1").fetchall()] == [
        1,
        2,
    ]
    con.close()


def test_unknown_output_scheme_is_one_line(sample_training, sample_csv, tmp_path, capsys):
    code = main(
        [
            "score",
            "-m",
            str(sample_training[0].model_dir),
            "-t",
            str(sample_csv),
            "--as-of",
            AS_OF,
            "--output",
            "nosuch://x",
            "--output-table",
            "t",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown connection scheme 'nosuch'" in err


def test_a_table_without_the_mapped_columns(sample_training, tmp_path, capsys):
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE orders AS SELECT 1 AS customer_id, DATE '1998-01-01' AS timestamp"
        )
    out = tmp_path / "s.parquet"
    code = main(
        [
            "score",
            "-m",
            str(sample_training[0].model_dir),
            "-t",
            f"duckdb://{db}",
            "--table",
            "orders",
            "--as-of",
            AS_OF,
            "-o",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "amount" in err
    assert not out.exists()
