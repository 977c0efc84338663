"""The ``cxml`` command: scoring output contract and exit codes for user errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cxml.cli import main
from cxml.datasets import load_cdnow
from cxml.pipelines import SCORE_COLUMNS


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(code, err, match):
    assert code == 2, err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected a one-line message, got: {err!r}"
    assert lines[0].startswith("cxml: error: ")
    assert "Traceback" not in err
    assert pd.Series([lines[0]]).str.contains(match, regex=True).iloc[0], lines[0]


@pytest.mark.parametrize("ext", [".parquet", ".csv"])
def test_score_writes_one_row_per_input_customer(
    sample_training, sample_csv, tmp_path, capsys, ext
):
    result, _ = sample_training
    out = tmp_path / f"scores{ext}"
    code, _, err = run_cli(
        [
            "score",
            "--model",
            result.model_dir,
            "--transactions",
            sample_csv,
            "--as-of",
            "1998-06-30",
            "--output",
            out,
        ],
        capsys,
    )
    assert code == 0, err
    scores = pd.read_parquet(out) if ext == ".parquet" else pd.read_csv(out)
    assert list(scores.columns) == SCORE_COLUMNS
    assert len(scores) == 2357
    assert scores["customer_id"].is_unique
    assert set(scores["customer_id"]) == set(load_cdnow("sample")["customer_id"])
    assert scores["p_alive"].between(0, 1).all()
    assert scores["churn_probability"].between(0, 1).all()
    assert (scores["clv"] >= 0).all() and scores["clv"].notna().all()
    assert scores["segment"].notna().all() and scores["rfm_segment"].notna().all()
    assert not scores["insufficient_history"].any()
    assert (scores["as_of"] == "1998-06-30").all()
    # no temporary files left next to the output
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_score_subset_and_future_rows(sample_training, tmp_path, capsys):
    """Scoring a subset returns exactly that subset; rows after --as-of are refused."""
    result, _ = sample_training
    tx = load_cdnow("sample")
    subset = tx[tx["customer_id"].isin([1, 2, 3, 500])]
    path = tmp_path / "subset.csv"
    subset.to_csv(path, index=False)
    out = tmp_path / "s.csv"
    # their last purchases are months before 1998-06-30: refused unless said explicitly
    code, _, err = run_cli(
        ["score", "-m", result.model_dir, "-t", path, "--as-of", "1998-06-30", "-o", out], capsys
    )
    assert_user_error(
        code,
        err,
        r"as_of 1998-06-30 is \d+ days after the latest transaction "
        r"in the input .*--allow-stale-as-of",
    )
    assert not out.exists()
    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            path,
            "--as-of",
            "1998-06-30",
            "--allow-stale-as-of",
            "-o",
            out,
        ],
        capsys,
    )
    assert code == 0, err
    assert sorted(pd.read_csv(out)["customer_id"]) == [1, 2, 3, 500]

    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            path,
            "--as-of",
            "1997-03-01",
            "-o",
            tmp_path / "x.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"after")
    assert not (tmp_path / "x.csv").exists()


def test_missing_transactions_file(sample_training, tmp_path, capsys):
    result, _ = sample_training
    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            tmp_path / "nope.csv",
            "--as-of",
            "1998-06-30",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"not found.*nope\.csv|nope\.csv.*not found")


def test_missing_column(sample_training, tmp_path, capsys):
    result, _ = sample_training
    p = tmp_path / "tx.csv"
    load_cdnow("sample").drop(columns=["amount"]).to_csv(p, index=False)
    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            p,
            "--as-of",
            "1998-06-30",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"amount")


def test_unparseable_dates_in_file(sample_training, tmp_path, capsys):
    result, _ = sample_training
    tx = load_cdnow("sample").astype({"timestamp": str})
    tx.loc[[3, 10, 11], "timestamp"] = "not a date"
    p = tmp_path / "tx.csv"
    tx.to_csv(p, index=False)
    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            p,
            "--as-of",
            "1998-06-30",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"timestamp.*3")


def test_unparseable_as_of(sample_training, sample_csv, tmp_path, capsys):
    result, _ = sample_training
    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            sample_csv,
            "--as-of",
            "30/06/banana",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"--as-of='30/06/banana' is not a date in YYYY-MM-DD form")


def test_as_of_before_the_data(sample_training, sample_csv, tmp_path, capsys):
    result, _ = sample_training
    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            sample_csv,
            "--as-of",
            "1990-01-01",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"6,?919 of 6,?919")


def test_unknown_model_path(sample_csv, tmp_path, capsys):
    code, _, err = run_cli(
        [
            "score",
            "-m",
            tmp_path / "no_such_model",
            "-t",
            sample_csv,
            "--as-of",
            "1998-06-30",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"model not found.*no_such_model")


def test_directory_that_is_not_a_model(sample_csv, tmp_path, capsys):
    code, _, err = run_cli(
        [
            "score",
            "-m",
            tmp_path,
            "-t",
            sample_csv,
            "--as-of",
            "1998-06-30",
            "-o",
            tmp_path / "o.csv",
        ],
        capsys,
    )
    assert_user_error(code, err, r"not a cxml model directory")


def test_tampered_model_is_refused(sample_training, sample_csv, tmp_path, capsys):
    import shutil

    result, _ = sample_training
    copy = tmp_path / "model"
    shutil.copytree(result.model_dir, copy)
    p = copy / "artifacts" / "bundle" / "bgnbd.json"
    p.write_text(p.read_text().replace('"r"', '"r" ', 1))
    code, _, err = run_cli(
        ["score", "-m", copy, "-t", sample_csv, "--as-of", "1998-06-30", "-o", tmp_path / "o.csv"],
        capsys,
    )
    assert_user_error(code, err, r"changed after saving")


def test_bad_output_extension(sample_training, sample_csv, tmp_path, capsys):
    result, _ = sample_training
    code, _, err = run_cli(
        [
            "score",
            "-m",
            result.model_dir,
            "-t",
            sample_csv,
            "--as-of",
            "1998-06-30",
            "-o",
            tmp_path / "o.xlsx",
        ],
        capsys,
    )
    assert_user_error(code, err, r"\.xlsx")


def test_missing_config(tmp_path, capsys):
    code, _, err = run_cli(["train", "--config", tmp_path / "missing.yaml"], capsys)
    assert_user_error(code, err, r"config file not found")


def test_invalid_config_names_the_field(tmp_path, capsys):
    from conftest import write_config

    cfg = write_config(tmp_path, **{"time.calibration_end": "1998-09-30"})
    code, _, err = run_cli(["train", "--config", cfg], capsys)
    assert_user_error(code, err, r"time.*observation_end.*must be after calibration_end")


def test_register_without_a_logged_run_is_refused(sample_training, monkeypatch, capsys):
    """No MLflow run id (the run was not logged): a one-line error, not an MLflow traceback."""
    import dataclasses

    import cxml.pipelines
    import cxml.tracking

    result, _ = sample_training
    monkeypatch.setattr(
        cxml.pipelines, "train", lambda *a, **k: dataclasses.replace(result, run_id=None)
    )
    monkeypatch.setattr(
        cxml.tracking,
        "register_model",
        lambda *a, **k: pytest.fail("register_model called without a run id"),
    )
    code, _, err = run_cli(["train", "--register", "cxml-no-run"], capsys)
    assert_user_error(code, err, r"the MLflow run was not logged: cannot register")


def test_unreachable_tracking_server_fails_fast(tmp_path, capsys, monkeypatch):
    """What makes it fast: one /health request with a 5 s timeout (no MLflow client and its
    retries), made before the transactions are even loaded."""
    import urllib.request

    import cxml.pipelines._train as train_module

    calls, real_urlopen = [], urllib.request.urlopen

    def counting_urlopen(url, *args, **kwargs):
        calls.append((url, kwargs.get("timeout")))
        return real_urlopen(url, *args, **kwargs)

    def no_loading(*args, **kwargs):
        raise AssertionError("transactions loaded before the tracking server was checked")

    monkeypatch.setattr(urllib.request, "urlopen", counting_urlopen)
    monkeypatch.setattr(train_module, "load_transactions", no_loading)
    code, _, err = run_cli(["train", "--tracking-uri", "http://127.0.0.1:9"], capsys)
    assert_user_error(code, err, r"MLflow tracking server http://127.0.0.1:9 is unreachable")
    assert calls == [("http://127.0.0.1:9/health", 5.0)]


def test_console_script_user_error_has_no_traceback(tmp_path):
    """The installed entry point itself (not just main()) exits 2 with one line."""
    exe = Path(sys.executable).with_name("cxml")
    proc = subprocess.run(
        [
            str(exe),
            "score",
            "-m",
            str(tmp_path / "none"),
            "-t",
            str(tmp_path / "none.csv"),
            "--as-of",
            "1998-06-30",
            "-o",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_bundle_without_checksums_is_refused(sample_training, tmp_path):
    import json
    import shutil

    from cxml.exceptions import ModelLoadError
    from cxml.pipelines import ModelBundle

    result, _ = sample_training
    copy = tmp_path / "model"
    shutil.copytree(result.model_dir, copy)
    meta_path = copy / "artifacts" / "bundle" / "bundle.json"
    meta = json.loads(meta_path.read_text())
    del meta["sha256"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="lacks the SHA-256"):
        ModelBundle.load(copy)
