"""Data where it lives (issue 18): train and score from PostgreSQL, a DuckDB file and a SQLite
file, on CDNOW (sample), and get exactly the CSV's scores; the password never leaks."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from tests._postgres import PASSWORD
from tests.conftest import write_config

from cxml.cli import main
from cxml.data import masked, open_source
from cxml.exceptions import DataValidationError

AS_OF = "1998-06-30"
LINEAGE = ("as_of", "model_version")


@pytest.fixture(scope="module")
def cdnow_sample():
    from cxml.datasets import load_cdnow

    return load_cdnow("sample")


@pytest.fixture(scope="module")
def sources(postgres_server, cdnow_sample, tmp_path_factory):
    """The CDNOW sample as table ``orders`` in PostgreSQL, a DuckDB file and a SQLite file:
    {name: (URL, password or None)}."""
    tmp = tmp_path_factory.mktemp("sources")
    import ibis

    pg = ibis.connect(postgres_server.url())
    pg.create_table("orders", cdnow_sample)
    db = tmp / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("df", cdnow_sample)
        con.execute("CREATE TABLE orders AS SELECT * FROM df")
    lite = tmp / "shop.sqlite"
    with sqlite3.connect(lite) as con:
        df = cdnow_sample.assign(timestamp=cdnow_sample["timestamp"].dt.strftime("%Y-%m-%d"))
        df.to_sql("orders", con, index=False)
    return {
        "postgres": postgres_server.url(),
        "duckdb": f"duckdb://{db}",
        "sqlite": f"sqlite://{lite}",
    }


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.sort_values("customer_id").reset_index(drop=True)
    b = b.sort_values("customer_id").reset_index(drop=True)
    a["customer_id"] = a["customer_id"].astype("int64")
    b["customer_id"] = b["customer_id"].astype("int64")
    pd.testing.assert_frame_equal(
        a.drop(columns=[c for c in LINEAGE if c in a]),
        b.drop(columns=[c for c in LINEAGE if c in b]),
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["postgres", "duckdb", "sqlite"])
def test_score_from_each_source_equals_the_csv(kind, sources, sample_training, sample_csv):
    from cxml.pipelines import score

    model = sample_training[0].model_dir
    expected = score(sample_csv, model=model, as_of=AS_OF)
    got = score(
        open_source({"connection": sources[kind], "table": "orders"}), model=model, as_of=AS_OF
    )
    assert len(got) == 2357
    _same(got, expected)
    # a query is a source too
    q = score(
        open_source(
            {"connection": sources[kind], "query": "SELECT * FROM orders WHERE customer_id <= 1000"}
        ),
        model=model,
        as_of=AS_OF,
    )
    assert len(q) == expected["customer_id"].le(1000).sum()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["postgres", "duckdb", "sqlite"])
def test_train_from_each_source_equals_the_csv(
    kind, sources, sample_training, tmp_path, monkeypatch
):
    from cxml.pipelines import train

    url = sources[kind]
    if kind == "postgres":  # the secret through the environment, not the file
        monkeypatch.setenv("CXML_TEST_PG_PASSWORD", PASSWORD)
        url = url.replace(PASSWORD, "${CXML_TEST_PG_PASSWORD}")
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": {"connection": url, "table": "orders"},
            "output.model_dir": str(tmp_path / "model"),
            "churn.cv_folds": 3,
        },
    )
    result = train(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    expected = sample_training[0]
    assert result.bundle.purchase_model.params_ == expected.bundle.purchase_model.params_
    # Training is reproducible (DuckDB runs its training queries on one thread, see
    # cxml.pipelines._reproducible) and amounts are summed in fixed point on every engine
    # (cxml.features._exact): PostgreSQL, which adds a customer's rows in its own order,
    # gives the same bits. Every score, churn probability included, is identical.
    assert result.bundle.spend_model.params_ == expected.bundle.spend_model.params_
    _same(result.scores.reset_index(), expected.scores.reset_index())
    assert result.metrics["churn_auc"] == expected.metrics["churn_auc"]


@pytest.mark.slow
def test_password_never_leaks(sources, tmp_path, capfd, caplog, monkeypatch):
    """Every output of a run (stdout, stderr, log records, MLflow params/tags/artifacts, the
    model directory) is grepped for the password: a literal one in the config file too."""
    import mlflow

    caplog.set_level(logging.DEBUG)
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": {"connection": sources["postgres"], "table": "orders"},
            "output.model_dir": str(tmp_path / "model"),
            "churn.cv_folds": 2,
            "churn.n_estimators": 50,
        },
    )
    assert PASSWORD in cfg.read_text()  # the worst case: the secret spelt out in the file
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["train", "-c", str(cfg), "--tracking-uri", uri]) == 0
    out = tmp_path / "scores.parquet"
    assert (
        main(
            [
                "score",
                "-m",
                str(tmp_path / "model"),
                "--transactions",
                sources["postgres"],
                "--table",
                "orders",
                "--as-of",
                AS_OF,
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "score",
                "-m",
                str(tmp_path / "model"),
                "--transactions",
                sources["postgres"],
                "--table",
                "orders",
                "--as-of",
                AS_OF,
                "--output",
                sources["postgres"],
                "--output-table",
                "scores",
            ]
        )
        == 0
    )
    std = capfd.readouterr()
    texts = {
        "stdout": std.out,
        "stderr": std.err,
        "logs": "\n".join(r.getMessage() for r in caplog.records),
    }
    client = mlflow.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("cxml").experiment_id])
    texts["params"] = repr(run.data.params)
    texts["tags"] = repr(run.data.tags)
    texts["inputs"] = repr(run.inputs)
    assert "***" in run.data.params["data.transactions.connection"]
    art = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, dst_path=str(tmp_path / "art"), tracking_uri=uri
        )
    )
    files = [p for d in (art, tmp_path / "model") for p in d.rglob("*") if p.is_file()]
    assert len(files) > 10
    for p in files:
        texts[str(p)] = p.read_bytes().decode("utf-8", "replace")
    texts["mlflow.db"] = (tmp_path / "mlflow.db").read_bytes().decode("utf-8", "replace")
    leaks = [k for k, v in texts.items() if PASSWORD in v]
    assert leaks == []
    config_art = (art / "config" / "config.yaml").read_text()
    assert "postgres://cxml:***@" in config_art


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"connection": "foo://x/y", "table": "t"}, r"unknown connection scheme 'foo'"),
        (
            {"connection": "duckdb:///nonexistent/shop.duckdb", "table": "t"},
            r"database file not found: /nonexistent/shop.duckdb",
        ),
        (
            {"connection": "sqlite:///nonexistent/shop.sqlite", "table": "t"},
            r"database file not found",
        ),
        (
            {"connection": "postgres://u:${CXML_UNSET_VAR_X}@h/db", "table": "t"},
            r"environment variable CXML_UNSET_VAR_X is not set",
        ),
    ],
)
def test_bad_sources_are_one_line(spec, match):
    with pytest.raises(DataValidationError, match=match) as info:
        open_source(spec)
    assert "\n" not in str(info.value)


def test_missing_table_and_failing_query_in_duckdb(tmp_path):
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE orders AS SELECT 1 AS customer_id")
    with pytest.raises(DataValidationError, match=r"cannot read table 'nope' from duckdb://"):
        open_source({"connection": f"duckdb://{db}", "table": "nope"})
    with pytest.raises(
        DataValidationError,
        match=r"cannot read the query from duckdb://.*"
        r"SELEC",
    ):
        open_source({"connection": f"duckdb://{db}", "query": "SELEC 1"})


def test_masked():
    assert masked("postgres://cxml:s3cret@db:5432/shop") == "postgres://cxml:***@db:5432/shop"
    assert masked("postgresql://cxml:p%40ss@db/shop") == "postgresql://cxml:***@db/shop"
    assert (
        masked("snowflake://u@acct/db?password=s3cret&x=1")
        == "snowflake://u@acct/db?password=***&x=1"
    )
    assert masked("see postgres://a:b@h/d and more") == "see postgres://a:***@h/d and more"
    assert masked("duckdb:///tmp/shop.duckdb") == "duckdb:///tmp/shop.duckdb"


@pytest.mark.parametrize(
    "bad, match",
    [
        (
            "wrong",
            r"cannot connect to postgres://cxml:\*\*\*@127\.0\.0\.1:\d+/cxml: .*password "
            r"authentication failed",
        ),
        (None, r"cannot read table 'no_such_table' from postgres://cxml:\*\*\*@"),
    ],
)
def test_postgres_errors_exit_2_without_the_secret(
    bad, match, postgres_server, tmp_path, capsys, sample_training
):
    url = postgres_server.url(password=bad)
    table = "no_such_table" if bad is None else "orders"
    with pytest.raises(DataValidationError, match=match) as info:
        open_source({"connection": url, "table": table})
    assert PASSWORD not in str(info.value) and "\n" not in str(info.value)
    code = main(
        [
            "score",
            "-m",
            str(sample_training[0].model_dir),
            "--transactions",
            url,
            "--table",
            table,
            "--as-of",
            AS_OF,
            "-o",
            str(tmp_path / "s.parquet"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and PASSWORD not in err
    assert not (tmp_path / "s.parquet").exists()


def test_unreachable_host_is_one_line():
    with pytest.raises(
        DataValidationError,
        match=r"cannot connect to postgres://u:\*\*\*@"
        r"127\.0\.0\.1:1/db: .*refused",
    ):
        open_source({"connection": "postgres://u:topsecret@127.0.0.1:1/db", "table": "t"})


def test_config_takes_the_mapping(tmp_path):
    from cxml.exceptions import ConfigError
    from cxml.pipelines import load_config

    cfg = load_config(
        write_config(
            tmp_path,
            **{
                "data.transactions": {"connection": "postgres://u:pw1@h/db", "query": "SELECT 1"},
                "data.events": {"connection": "duckdb://x.duckdb", "table": "events"},
            },
        )
    )
    assert cfg.data.transactions.query == "SELECT 1"
    dumped = cfg.model_dump(mode="json")["data"]
    assert dumped["transactions"]["connection"] == "postgres://u:***@h/db"
    assert dumped["events"] == {"connection": "duckdb://x.duckdb", "table": "events", "query": None}
    p = write_config(tmp_path, **{"data.transactions": {"connection": "duckdb://x.duckdb"}})
    with pytest.raises(
        ConfigError,
        match=r"data.transactions.*exactly one of 'table' or "
        r"'query'",
    ):
        load_config(p)


def test_empty_source_is_refused(tmp_path):
    from cxml.pipelines import train

    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE orders (customer_id BIGINT, timestamp TIMESTAMP, "
            "amount DOUBLE, quantity BIGINT)"
        )
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": {"connection": f"duckdb://{db}", "table": "orders"},
            "output.model_dir": str(tmp_path / "model"),
        },
    )
    with pytest.raises(DataValidationError, match=r"(no rows|empty)"):
        train(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not (tmp_path / "model").exists()
