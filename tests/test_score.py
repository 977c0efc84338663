"""cxml.pipelines.score / score_to_file: chunking, one row per customer, prior flag,
reproducibility, atomic chunked output."""

from __future__ import annotations

import os
import types

import numpy as np
import pandas as pd
import pytest

from cxml.datasets import load_cdnow
from cxml.exceptions import CxmlUserError
from cxml.pipelines import SCORE_COLUMNS
from cxml.pipelines import TableWriter, load_model, score, score_to_file, write_table
from cxml.pipelines._model_matrix import model_matrix

AS_OF = "1998-06-30"


@pytest.fixture(scope="module")
def model(sample_training):
    return load_model(sample_training[0].model_dir)


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow("sample")


@pytest.fixture(scope="module")
def full(model, cdnow):
    return score(cdnow, model=model, as_of=AS_OF)


def test_calibration_summary_matches_lifetimes(model, cdnow):
    """Scored RFM equals lifetimes' published CDNOW summary; P(alive) equals lifetimes'
    formula at the model's parameters."""
    from lifetimes import BetaGeoFitter
    from lifetimes.datasets import load_dataset

    ref = load_dataset("cdnow_customers_summary_with_transactions.csv").set_index("ID")
    cal = cdnow[cdnow["timestamp"] <= "1997-09-30"]
    s = score(cal, model=model, as_of="1997-09-30", chunk_size=1000).set_index("customer_id")
    assert len(s) == 2357
    ref = ref.loc[s.index]
    np.testing.assert_array_equal(s["frequency"], ref["x"])
    for col, theirs in (("recency", "t_x"), ("T", "T")):  # published to 2 decimals
        np.testing.assert_allclose(s[col], ref[theirs], atol=0.005 + 1e-9, err_msg=col)
    np.testing.assert_allclose(s["monetary_value"], ref["zbar"], atol=0.005 + 1e-9)
    bg = BetaGeoFitter()
    bg.params_ = pd.Series(model.purchase_model.params_)
    expected = bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(s["p_alive"], expected, rtol=1e-7)


def test_chunked_equals_single_pass_and_is_sorted(model, cdnow, full, tmp_path):
    seen = []
    chunked = score(cdnow, model=model, as_of=AS_OF, chunk_size=700, work_dir=tmp_path,
                    on_progress=lambda done, total: seen.append((done, total)))
    pd.testing.assert_frame_equal(chunked, full)
    assert full["customer_id"].tolist() == sorted(cdnow["customer_id"].unique())
    assert list(full.columns) == SCORE_COLUMNS
    assert seen == [(0, 2357), (700, 2357), (1400, 2357), (2100, 2357), (2357, 2357)]
    assert list(tmp_path.iterdir()) == []  # chunk spill directory removed


def test_many_chunks_use_the_join_path(model, cdnow, full, monkeypatch):
    import cxml.pipelines._chunks as chunks

    monkeypatch.setattr(chunks, "MAX_CASE_CHUNKS", 2)
    out = score(cdnow, model=model, as_of=AS_OF, chunk_size=600)  # 4 chunks
    pd.testing.assert_frame_equal(out, full)


def test_score_records_as_of_and_model_version(full, model):
    assert (full["as_of"] == AS_OF).all()
    assert (full["model_version"] == model.model_version).all()
    assert full["model_version"].str.fullmatch(r"[0-9a-f]{12}").all()


def test_customers_without_usable_history_scored_from_prior(model, cdnow):
    tx = cdnow[cdnow["customer_id"] <= 10].copy()
    refunds = pd.DataFrame({"customer_id": [11, 11, 12], "quantity": [1, 1, 1],
                            "timestamp": pd.to_datetime(["1997-03-01", "1997-04-01",
                                                         "1998-01-01"]),
                            "amount": [-5.0, -7.5, -1.0]})
    out = score(pd.concat([tx, refunds]), model=model, as_of=AS_OF)
    assert out["customer_id"].tolist() == list(range(1, 13))
    prior = out[out["insufficient_history"]]
    assert prior["customer_id"].tolist() == [11, 12]
    bg = model.purchase_model
    z = np.zeros(1)
    assert prior["p_alive"].iloc[0] == pytest.approx(bg.probability_alive(z, z, z)[0])
    horizon = model.spec.horizon_days / 7
    assert prior["expected_purchases"].iloc[0] == pytest.approx(
        bg.expected_purchases(horizon, z, z, z)[0])
    assert prior[["frequency", "recency", "T", "monetary_value"]].eq(0).all().all()
    assert prior["segment"].notna().all()


def test_string_customer_ids(model, cdnow):
    tx = cdnow[cdnow["customer_id"] <= 30].assign(
        customer_id=lambda d: "c" + d["customer_id"].astype(str).str.zfill(4))
    out = score(tx, model=model, as_of=AS_OF, chunk_size=7)
    assert out["customer_id"].tolist() == sorted(tx["customer_id"].unique())
    base = score(cdnow[cdnow["customer_id"] <= 30], model=model, as_of=AS_OF)
    np.testing.assert_array_equal(out["clv"].to_numpy(), base["clv"].to_numpy())


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_score_to_file_is_reproducible_whatever_the_chunk_size(model, sample_csv, full,
                                                               tmp_path, ext):
    a, b, c = (tmp_path / f"{n}.{ext}" for n in "abc")
    s = score_to_file(sample_csv, a, model=model, as_of=AS_OF, chunk_size=500)
    assert (s.n_customers, s.n_chunks, s.n_insufficient_history) == (2357, 5, 0)
    assert s.as_of == AS_OF and s.path == a
    score_to_file(sample_csv, b, model=model, as_of=AS_OF, chunk_size=500)
    score_to_file(sample_csv, c, model=model, as_of=AS_OF, chunk_size=5000)
    assert a.read_bytes() == b.read_bytes()
    read = pd.read_parquet if ext == "parquet" else pd.read_csv
    if ext == "csv":
        assert a.read_bytes() == c.read_bytes()
    else:  # one row group per chunk: same values, different file layout
        pd.testing.assert_frame_equal(read(a), read(c))
    pd.testing.assert_frame_equal(read(a), full, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.{ext}" for n in "abc"]


def test_score_to_file_failure_keeps_previous_output(model, sample_csv, tmp_path):
    out = tmp_path / "s.parquet"
    out.write_bytes(b"previous run")
    with pytest.raises(CxmlUserError, match="after observation_end 1997-01-05"):
        score_to_file(sample_csv, out, model=model, as_of="1997-01-05", chunk_size=500)
    assert out.read_bytes() == b"previous run"
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]


# ---------------------------------------------------------------- TableWriter
def test_table_writer_chunks_and_abort(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    p = tmp_path / "t.csv"
    with TableWriter(p) as w:
        w.write(df)
        w.write(df)
    assert p.read_text() == "a,b\n1,x\n2,y\n1,x\n2,y\n"
    with pytest.raises(RuntimeError):
        with TableWriter(p) as w:
            w.write(df.iloc[:1])
            raise RuntimeError("crash mid-way")
    assert p.read_text() == "a,b\n1,x\n2,y\n1,x\n2,y\n"  # untouched
    assert [f.name for f in tmp_path.iterdir()] == ["t.csv"]
    q = write_table(df, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(q), df)


def test_table_writer_removes_temporaries_of_dead_writers_only(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".s.csv.cxml-{dead}-abc.tmp"
    live = tmp_path / f".s.csv.cxml-{os.getppid()}-def.tmp"  # our parent: alive
    other = tmp_path / ".other.csv.cxml-1-x.tmp"
    for f in (stale, live, other):
        f.write_text("partial")
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "s.csv")
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(
        [live.name, other.name, "s.csv"])


# ---------------------------------------------------------------- feature matrix
def test_model_matrix_is_batch_independent_for_event_counts_and_classes():
    names = ["frequency", "email_open_30d", "email_open_trend_30d", "events_30d",
             "nps_class_promoter", "nps_last", "days_since_last_email_open",
             "trend_value_30d"]
    bundle = types.SimpleNamespace(churn_model=types.SimpleNamespace(feature_names_in_=names))
    X = pd.DataFrame({"frequency": [1.0, 2.0], "trend_value_30d": [0.5, -1.0],
                      "events_30d": [0, 3]})
    M = model_matrix(X, bundle)
    assert list(M.columns) == names
    # absent in this chunk: counts and one-hot classes are 0, values never seen are NaN
    assert M[["email_open_30d", "email_open_trend_30d", "nps_class_promoter"]].eq(0).all().all()
    assert M[["nps_last", "days_since_last_email_open"]].isna().all().all()
    assert M["events_30d"].tolist() == [0.0, 3.0]
