"""`cxml segment`: segments for a scores file, with frozen or batch cut points."""

from __future__ import annotations

import pandas as pd
import pytest

from cxml.cli import main
from cxml.datasets import load_cdnow
from cxml.pipelines import score


@pytest.fixture(scope="module")
def scores_file(sample_training, tmp_path_factory):
    result, _ = sample_training
    p = tmp_path_factory.mktemp("seg") / "scores.parquet"
    s = score(load_cdnow("sample"), model=result.bundle, as_of="1998-06-30")
    s.to_parquet(p)
    return p, s


def test_segment_with_model_reproduces_score_segments(
    sample_training, scores_file, tmp_path, capsys
):
    result, _ = sample_training
    path, s = scores_file
    out = tmp_path / "seg.csv"
    summary = tmp_path / "summary.parquet"
    code = main(
        [
            "segment",
            "--scores",
            str(path),
            "--output",
            str(out),
            "--model",
            str(result.model_dir),
            "--summary",
            str(summary),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    seg = pd.read_csv(out)
    assert len(seg) == 2357
    # the model's frozen cut points give exactly the segments `score` assigned
    merged = seg.merge(s, on="customer_id", suffixes=("", "_score"))
    assert (merged["segment"] == merged["segment_score"]).all()
    assert (merged["rfm_segment"] == merged["rfm_segment_score"]).all()
    table = pd.read_parquet(summary)
    assert table["customers"].sum() == 2357
    assert "segments (value x churn risk)" in captured.out


def test_segment_without_model_refuses_unless_recut(scores_file, tmp_path, capsys):
    path, _ = scores_file
    out = tmp_path / "seg.parquet"
    code = main(["segment", "-s", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.startswith("cxml: error: scores: the segment cut points are frozen in the model")
    code = main(["segment", "-s", str(path), "-o", str(out), "--recut"])
    assert code == 0, capsys.readouterr().err
    seg = pd.read_parquet(out)
    # value tiers are terciles of this batch
    shares = seg["value_tier"].value_counts(normalize=True)
    assert shares.max() < 0.5


def test_segment_rejects_a_file_that_is_not_scores(tmp_path, capsys):
    p = tmp_path / "x.csv"
    load_cdnow("sample").to_csv(p, index=False)
    code = main(["segment", "-s", str(p), "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("cxml: error: scores: missing column(s) clv, churn_probability")
