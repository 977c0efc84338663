"""Scoring applies the read policies (the model's, or the command line's) and says so."""

from __future__ import annotations

import pandas as pd
import pytest

from cxml.cli import main
from cxml.datasets import load_cdnow
from cxml.exceptions import DataValidationError
from cxml.pipelines import score

AS_OF = "1998-06-30"


@pytest.fixture(scope="module")
def tx():
    return load_cdnow("sample")


def _guests(tx, n=4):
    g = tx.astype({"customer_id": "float64"}).copy()
    g.loc[g.index[:n], "customer_id"] = float("nan")
    return g


def test_guest_rows_refused_or_dropped_and_counted(sample_training, tx):
    bundle = sample_training[0].bundle
    with pytest.raises(DataValidationError, match=r"4 of 6,919 rows have a null customer id"):
        score(_guests(tx), model=bundle, as_of=AS_OF)
    s = score(_guests(tx), model=bundle, as_of=AS_OF, null_customer_id="drop")
    report = s.attrs["data_report"]
    assert report["null_customer_id_rows_dropped"] == 4
    assert report["n_rows"] == 6919 - 4
    assert report["n_customers_scored"] == len(s) == s["customer_id"].nunique()
    assert report["latest_transaction"] == "1998-06-30"
    assert report["days_from_latest_transaction_to_as_of"] == 0
    assert report["policies"]["null_customer_id"] == "drop"


def test_explicit_format_on_the_command_line(sample_training, tx, tmp_path, capsys):
    model_dir = sample_training[0].model_dir
    us = tx.assign(timestamp=tx["timestamp"].dt.strftime("%m/%d/%Y"))
    path = tmp_path / "us.csv"
    us.to_csv(path, index=False)
    out = tmp_path / "s.parquet"
    code = main(["score", "-m", str(model_dir), "-t", str(path), "--as-of", AS_OF, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "6,919 of 6,919 values are not ISO 8601 dates, e.g. '01/01/1997'" in err
    code = main(
        [
            "score",
            "-m",
            str(model_dir),
            "-t",
            str(path),
            "--as-of",
            AS_OF,
            "--timestamp-format",
            "%m/%d/%Y",
            "-o",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "timestamp_format=%m/%d/%Y" in captured.out  # the data report says what was applied
    iso = score(tx, model=sample_training[0].bundle, as_of=AS_OF)
    pd.testing.assert_frame_equal(pd.read_parquet(out), iso, check_dtype=False)


def test_stale_as_of_refused_unless_allowed(sample_training, tx):
    bundle = sample_training[0].bundle
    with pytest.raises(
        DataValidationError,
        match=r"as_of 1999-06-30 is 365 days after the latest transaction in the "
        r"input \(1998-06-30\); more than 68 days",
    ):
        score(tx, model=bundle, as_of="1999-06-30")
    s = score(tx, model=bundle, as_of="1999-06-30", allow_stale_as_of=True)
    assert len(s) == 2357 and s.attrs["data_report"]["days_from_latest_transaction_to_as_of"] == 365
    # a nightly export (as_of a few days after the last purchase) is fine
    assert len(score(tx, model=bundle, as_of="1998-07-03")) == 2357
