"""ScoreOptions: one frozen object of scoring options taken by score, score_to_file and
iter_scores, or built from their keywords (passing both is an error)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from cxml.datasets import load_cdnow
from cxml.exceptions import DataValidationError
from cxml.pipelines import (
    SCORE_COLUMNS,
    ScoreOptions,
    iter_scores,
    load_model,
    reason_columns,
    score,
    score_to_file,
)

AS_OF = "1998-06-30"


@pytest.fixture(scope="module")
def model(sample_training):
    return load_model(sample_training[0].model_dir)


@pytest.fixture(scope="module")
def tx():
    cdnow = load_cdnow("sample")
    return cdnow[cdnow["customer_id"] <= 250].copy()  # 250 customers


def test_defaults_and_frozen():
    opts = ScoreOptions()
    assert dataclasses.asdict(opts) == {
        "chunk_size": 500_000,
        "on_progress": None,
        "work_dir": None,
        "deterministic": True,
        "timestamp_format": None,
        "null_customer_id": None,
        "allow_stale_as_of": False,
        "explain": 0,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.chunk_size = 10  # type: ignore[misc]
    assert dataclasses.replace(opts, explain=2).explain == 2


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"chunk_size": 0}, r"chunk_size must be a positive integer, got 0"),
        ({"chunk_size": 2.5}, r"chunk_size must be a positive integer, got 2.5"),
        ({"explain": -1}, r"explain must be the number of reasons \(an integer >= 0\), got -1"),
        ({"explain": True}, r"explain must be the number of reasons .*got True"),
    ],
)
def test_bad_values_are_refused_when_the_options_are_built(kwargs, match):
    with pytest.raises(DataValidationError, match=match):
        ScoreOptions(**kwargs)


def test_resolve():
    opts = ScoreOptions(explain=1)
    assert ScoreOptions.resolve(opts, {}) is opts
    assert ScoreOptions.resolve(None, {"chunk_size": 7}) == ScoreOptions(chunk_size=7)
    assert ScoreOptions.resolve(None, {}) == ScoreOptions()
    with pytest.raises(TypeError, match=r"either as options=ScoreOptions\(...\) or as keywords"):
        ScoreOptions.resolve(opts, {"chunk_size": 7})
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) chunksize"):
        ScoreOptions.resolve(None, {"chunksize": 7})
    with pytest.raises(TypeError, match=r"options must be a ScoreOptions, got dict"):
        ScoreOptions.resolve({"chunk_size": 7}, {})  # type: ignore[arg-type]


def test_options_and_keywords_score_the_same(model, tx, tmp_path):
    seen_kw, seen_opt = [], []
    by_keywords = score(
        tx,
        model=model,
        as_of=AS_OF,
        chunk_size=100,
        explain=2,
        on_progress=lambda done, total: seen_kw.append((done, total)),
    )
    opts = ScoreOptions(
        chunk_size=100, explain=2, on_progress=lambda done, total: seen_opt.append((done, total))
    )
    by_options = score(tx, model=model, as_of=AS_OF, options=opts)
    pd.testing.assert_frame_equal(by_options, by_keywords)
    assert list(by_options.columns) == [*SCORE_COLUMNS, *reason_columns(2)]
    # the options reach the chunked scorer: 250 customers in chunks of 100
    assert seen_opt == seen_kw == [(0, 250), (100, 250), (200, 250), (250, 250)]
    assert [len(c) for c in iter_scores(tx, model=model, as_of=AS_OF, options=opts)] == [
        100,
        100,
        50,
    ]

    summary = score_to_file(tx, tmp_path / "s.parquet", model=model, as_of=AS_OF, options=opts)
    assert summary.n_chunks == 3 and summary.n_customers == 250
    kw = score_to_file(tx, tmp_path / "k.parquet", model=model, as_of=AS_OF, chunk_size=100)
    assert kw.n_chunks == 3
    written = pd.read_parquet(summary.path)
    pd.testing.assert_frame_equal(
        written.drop(columns=written.columns[-6:]), pd.read_parquet(kw.path)
    )
    pd.testing.assert_frame_equal(written, by_keywords, check_dtype=False)


@pytest.mark.parametrize("call", ["score", "score_to_file", "iter_scores"])
def test_options_and_keywords_together_are_refused(model, tx, tmp_path, call):
    args = {"model": model, "as_of": AS_OF, "options": ScoreOptions(), "explain": 1}
    with pytest.raises(TypeError, match=r"not both"):
        if call == "score":
            score(tx, **args)
        elif call == "score_to_file":
            score_to_file(tx, tmp_path / "s.csv", **args)
        else:
            next(iter_scores(tx, **args))
    assert not (tmp_path / "s.csv").exists()


def test_an_unknown_keyword_names_the_options(model, tx):
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) explian; the scoring"):
        score(tx, model=model, as_of=AS_OF, explian=2)  # type: ignore[call-arg]


def test_stale_switch_and_read_policy_through_options(model, tx):
    late = "1999-06-30"  # a year after the last CDNOW purchase
    with pytest.raises(DataValidationError, match=r"as_of"):
        score(tx, model=model, as_of=late)
    out = score(tx, model=model, as_of=late, options=ScoreOptions(allow_stale_as_of=True))
    assert len(out) == 250
    assert out.attrs["data_report"]["policies"]["allow_stale_as_of"] is True
    with_null = pd.concat([tx, tx.head(1).assign(customer_id=None)], ignore_index=True)
    dropped = score(
        with_null, model=model, as_of=AS_OF, options=ScoreOptions(null_customer_id="drop")
    )
    assert dropped.attrs["data_report"]["null_customer_id_rows_dropped"] == 1
