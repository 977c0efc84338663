"""cxml.pipelines.score / score_to_file: chunking, one row per customer, prior flag,
reproducibility, atomic chunked output."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from cxml.datasets import load_cdnow
from cxml.exceptions import CxmlUserError
from cxml.pipelines import SCORE_COLUMNS, TableWriter, load_model, score, score_to_file, write_table
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
    chunked = score(
        cdnow,
        model=model,
        as_of=AS_OF,
        chunk_size=700,
        work_dir=tmp_path,
        on_progress=lambda done, total: seen.append((done, total)),
    )
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
    refunds = pd.DataFrame(
        {
            "customer_id": [11, 11, 12],
            "quantity": [1, 1, 1],
            "timestamp": pd.to_datetime(["1997-03-01", "1997-04-01", "1998-01-01"]),
            "amount": [-5.0, -7.5, -1.0],
        }
    )
    out = score(pd.concat([tx, refunds]), model=model, as_of=AS_OF)
    assert out["customer_id"].tolist() == list(range(1, 13))
    prior = out[out["insufficient_history"]]
    assert prior["customer_id"].tolist() == [11, 12]
    bg = model.purchase_model
    z = np.zeros(1)
    assert prior["p_alive"].iloc[0] == pytest.approx(bg.probability_alive(z, z, z)[0])
    horizon = model.spec.horizon_days / 7
    assert prior["expected_purchases"].iloc[0] == pytest.approx(
        bg.expected_purchases(horizon, z, z, z)[0]
    )
    assert prior[["frequency", "recency", "T", "monetary_value"]].eq(0).all().all()
    assert prior["segment"].notna().all()


def test_string_customer_ids(model, cdnow):
    tx = cdnow[cdnow["customer_id"] <= 30].assign(
        customer_id=lambda d: "c" + d["customer_id"].astype(str).str.zfill(4)
    )
    out = score(tx, model=model, as_of=AS_OF, chunk_size=7)
    assert out["customer_id"].tolist() == sorted(tx["customer_id"].unique())
    base = score(cdnow[cdnow["customer_id"] <= 30], model=model, as_of=AS_OF)
    np.testing.assert_array_equal(out["clv"].to_numpy(), base["clv"].to_numpy())


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_score_to_file_is_reproducible_whatever_the_chunk_size(
    model, sample_csv, full, tmp_path, ext
):
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

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f".s.csv.cxml-{dead}-abc.tmp"
    live = tmp_path / f".s.csv.cxml-{os.getppid()}-def.tmp"  # our parent: alive
    other = tmp_path / ".other.csv.cxml-1-x.tmp"
    for f in (stale, live, other):
        f.write_text("partial")
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "s.csv")
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted([live.name, other.name, "s.csv"])


# ---------------------------------------------------------------- feature matrix
def _spec(features, categories=None):
    from cxml.pipelines import FeatureColumn, FeatureSpec

    return FeatureSpec(
        time_unit="W",
        horizon_days=273,
        windows_days=[30],
        columns={"customer_id": "customer_id", "timestamp": "timestamp", "amount": "amount"},
        categories=categories,
        features=[FeatureColumn(**f) for f in features],
    )


MATRIX = [
    {"name": "frequency", "dtype": "int64", "source": "transactions"},
    {"name": "email_open_30d", "dtype": "int64", "source": "events", "fill": 0.0},
    {"name": "email_open_trend_30d", "dtype": "float64", "source": "events", "fill": 0.0},
    {"name": "nps_last", "dtype": "float64", "source": "events"},
    {
        "name": "nps_class_promoter",
        "dtype": "float64",
        "source": "events",
        "fill": 0.0,
        "category": "nps_class",
        "level": "promoter",
    },
    {"name": "cutoff_age_days", "dtype": "float64", "source": "cutoff", "fill": 0.0},
]


def test_model_matrix_is_built_from_the_trained_contract():
    """Without events, events-sourced columns take their recorded fill values (counts and
    one-hot classes 0, values never seen NaN); the cut-off age is 0; order is the model's."""
    from cxml.exceptions import DataValidationError

    spec = _spec(MATRIX)
    X = pd.DataFrame({"trend_value_30d": [0.5, -1.0], "frequency": [1, 2]})
    M = model_matrix(X, spec, events_given=False)
    assert list(M.columns) == [f["name"] for f in MATRIX]
    assert (
        M[["email_open_30d", "email_open_trend_30d", "nps_class_promoter", "cutoff_age_days"]]
        .eq(0)
        .all()
        .all()
    )
    assert M["nps_last"].isna().all()
    assert M["frequency"].tolist() == [1.0, 2.0]
    # with events given the engagement columns must be there: a missing one is named
    with pytest.raises(DataValidationError, match=r"trained on 4 column.*email_open_30d"):
        model_matrix(X, spec, events_given=True)
    with pytest.raises(DataValidationError, match=r"not produce: frequency"):
        model_matrix(X.drop(columns="frequency"), spec, events_given=False)
    with pytest.raises(DataValidationError, match=r"'frequency' is .*trained on int64"):
        model_matrix(X.assign(frequency=["a", "b"]), spec, events_given=False)


def test_one_hot_uses_the_recorded_levels_and_counts_unknown_ones():
    from cxml.exceptions import DataValidationError
    from cxml.pipelines._model_matrix import one_hot

    X = pd.DataFrame(
        {"nps_class": ["promoter", "detractor", None, "passive"], "f": [1.0, 2.0, 3.0, 4.0]}
    )
    trained, levels, unknown = one_hot(X)  # training: the levels seen, sorted
    assert levels == {"nps_class": ["detractor", "passive", "promoter"]} and unknown == {}
    assert list(trained.columns) == [
        "f",
        "nps_class_detractor",
        "nps_class_passive",
        "nps_class_promoter",
    ]
    ref = pd.get_dummies(X, columns=["nps_class"], dtype=float)  # what training did before
    pd.testing.assert_frame_equal(trained, ref)
    enc, _, unknown = one_hot(X, {"nps_class": ["passive", "promoter"]})
    assert list(enc.columns) == ["f", "nps_class_passive", "nps_class_promoter"]
    # detractor was never seen in training: no level (all-zero), counted once
    assert enc.iloc[1][["nps_class_passive", "nps_class_promoter"]].tolist() == [0.0, 0.0]
    assert enc["nps_class_promoter"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert unknown == {"nps_class": 1}
    with pytest.raises(DataValidationError, match="nps_class are categorical"):
        one_hot(X, {})


def test_trained_spec_records_every_column(model):
    spec = model.spec
    names = [f.name for f in spec.features]
    assert names == list(model.churn_model.feature_names_in_)
    by_name = {f.name: f for f in spec.features}
    assert by_name["frequency"].dtype == "int64" and by_name["recency"].dtype == "float64"
    assert {f.source for f in spec.features} <= {"transactions", "cutoff"}  # CDNOW: no events
    assert spec.event_types is None and spec.categories == {}


def test_bundle_without_a_feature_contract_asks_to_retrain(sample_training, tmp_path):
    import json
    import shutil

    from cxml.exceptions import ModelLoadError

    copy = tmp_path / "m"
    shutil.copytree(sample_training[0].model_dir, copy)
    meta_path = copy / "artifacts" / "bundle" / "bundle.json"
    meta = json.loads(meta_path.read_text())
    for key in ("features", "categories", "event_types"):  # as an older cxml wrote it
        meta["spec"].pop(key)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"older cxml.*no feature contract.*retrain"):
        load_model(copy)
    meta["spec"]["features"] = [{"name": "frequency", "dtype": "int64", "source": "transactions"}]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"does not list the churn model's columns"):
        load_model(copy)
