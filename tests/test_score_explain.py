"""`cxml score --explain`: per-customer churn reasons from LightGBM's pred_contrib."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxml.cli import main
from cxml.data import validate_transactions
from cxml.datasets import load_cdnow
from cxml.exceptions import DataValidationError
from cxml.pipelines import SCORE_COLUMNS, score
from cxml.pipelines._customer_features import customer_features
from cxml.pipelines._model_matrix import model_matrix


@pytest.fixture(scope="module")
def explained(sample_training):
    result, _ = sample_training
    tx = load_cdnow("sample")
    plain = score(tx, model=result.bundle, as_of="1998-06-30")
    expl = score(tx, model=result.bundle, as_of="1998-06-30", explain=3, chunk_size=1000)
    return result.bundle, tx, plain, expl


def test_reasons_are_the_top_positive_shap_contributions(explained):
    bundle, tx, plain, expl = explained
    assert list(expl.columns) == SCORE_COLUMNS + [
        f"reason_{k}{s}" for k in (1, 2, 3) for s in ("", "_value", "_shap")
    ]
    pd.testing.assert_frame_equal(expl[SCORE_COLUMNS], plain)  # scores unchanged
    assert expl["reason_1"].dtype == object and expl["reason_1_shap"].dtype == "float64"
    # oracle: TreeSHAP of the model matrix rebuilt here, for a few customers
    as_of = pd.Timestamp("1998-06-30").date()
    valid = validate_transactions(tx, observation_end=as_of, **bundle.spec.columns)
    X, _ = customer_features(
        valid,
        cutoff=as_of,
        purchase_model=bundle.purchase_model,
        spend_model=bundle.spend_model,
        spec=bundle.spec,
        clv=bundle.clv,
        return_ids=True,
    )
    Xm = model_matrix(X, bundle.spec, events_given=False)
    shap = bundle.churn_model.shap_values(Xm).drop(columns="expected_value")
    e = expl.set_index("customer_id")
    for cid in shap.index[[0, 10, 500, 2000]]:
        row = shap.loc[cid].sort_values(ascending=False, kind="stable")
        for k in (1, 2, 3):
            name, contrib = row.index[k - 1], row.iloc[k - 1]
            if contrib > 0:
                assert e.loc[cid, f"reason_{k}"] == name
                assert e.loc[cid, f"reason_{k}_shap"] == pytest.approx(contrib, rel=1e-9)
                assert e.loc[cid, f"reason_{k}_value"] == pytest.approx(float(Xm.loc[cid, name]))
            else:
                assert e.loc[cid, f"reason_{k}"] is None
                assert np.isnan(e.loc[cid, f"reason_{k}_shap"])
    # the reasons of a high-risk customer push the score up, strongest first
    hi = e[e["churn_probability"] > 0.8]
    assert hi["reason_1"].notna().all()
    assert (hi["reason_1_shap"] >= hi["reason_2_shap"].fillna(0)).all()


def test_explain_must_be_a_count(sample_training):
    with pytest.raises(DataValidationError, match="explain must be the number of reasons"):
        score(load_cdnow("sample"), model=sample_training[0].bundle, as_of="1998-06-30", explain=-1)


def test_cli_explain_writes_reason_columns(sample_training, sample_csv, tmp_path):
    out = tmp_path / "s.parquet"
    code = main(
        [
            "score",
            "-m",
            str(sample_training[0].model_dir),
            "-t",
            str(sample_csv),
            "--as-of",
            "1998-06-30",
            "-o",
            str(out),
            "--explain",
            "--top-reasons",
            "2",
        ]
    )
    assert code == 0
    s = pd.read_parquet(out)
    assert list(s.columns[-6:]) == [
        "reason_1",
        "reason_1_value",
        "reason_1_shap",
        "reason_2",
        "reason_2_value",
        "reason_2_shap",
    ]
    assert len(s) == 2357 and s["reason_1"].notna().sum() > 2000
