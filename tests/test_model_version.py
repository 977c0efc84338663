"""``model_version`` identifies the model (issue 16): a content hash of the bundle, with the
registered name and version when loaded from the registry; output files follow the umask."""

from __future__ import annotations

import os
import shutil
import stat

import pandas as pd
import pytest

from conftest import write_config
from cxml.datasets import load_cdnow
from cxml.pipelines import load_model, score, score_to_file, write_table

AS_OF = "1998-06-30"
FINGERPRINT = r"[0-9a-f]{12}"


@pytest.fixture(scope="module")
def tx():
    df = load_cdnow("sample")
    return df[df["customer_id"] <= 40]


def test_version_is_stable_across_reloads_and_copies(sample_training, tmp_path, tx):
    result, _ = sample_training
    v = load_model(result.model_dir).model_version
    assert pd.Series([v]).str.fullmatch(FINGERPRINT).all()
    assert result.bundle.model_version == v  # the trained bundle, before any reload
    assert load_model(result.model_dir).model_version == v
    copy = tmp_path / "copy"
    shutil.copytree(result.model_dir, copy)
    assert load_model(copy).model_version == v
    assert load_model(copy / "artifacts" / "bundle").model_version == v
    resaved = load_model(copy).save(tmp_path / "resaved")
    assert load_model(resaved).model_version == v
    out = score(tx, model=copy, as_of=AS_OF)
    assert (out["model_version"] == v).all()


def test_different_models_have_different_versions(sample_training, tmp_path):
    from cxml.pipelines import train

    result, _ = sample_training
    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": "cdnow:sample",
            "output.model_dir": str(tmp_path / "m"),
            "churn.cv_folds": 3,
            "churn.num_leaves": 5,
        },
    )
    other = train(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert other.bundle.model_version != result.bundle.model_version
    # a setting alone (the CLV horizon) changes predictions, so it changes the version too
    bundle = load_model(result.model_dir)
    bundle.clv = {**bundle.clv, "horizon_months": 6}
    changed = load_model(bundle.save(tmp_path / "clv6")).model_version
    assert changed not in (result.bundle.model_version, other.bundle.model_version)


def test_registered_model_version(sample_training, tx):
    from cxml.tracking import local_model_path, register_model

    result, _ = sample_training
    version = register_model(
        result.run_id, "cxml-version-test", tracking_uri=result.tracking_uri, alias="champion"
    )
    fp = result.bundle.model_version
    for uri in (f"models:/cxml-version-test/{version}", "models:/cxml-version-test@champion"):
        bundle = load_model(local_model_path(uri, tracking_uri=result.tracking_uri))
        assert bundle.registered_as == f"cxml-version-test/{version}"
        assert bundle.model_version == f"cxml-version-test/{version}@{fp}"
        out = score(tx, model=bundle, as_of=AS_OF)
        assert (out["model_version"] == f"cxml-version-test/{version}@{fp}").all()
    # a run's model is not a registered version: the content hash alone
    run_model = load_model(
        local_model_path(f"runs:/{result.run_id}/model", tracking_uri=result.tracking_uri)
    )
    assert run_model.model_version in (fp, f"cxml-version-test/{version}@{fp}")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_output_files_follow_the_umask(sample_training, tmp_path, tx, umask, mode):
    old = os.umask(umask)
    try:
        scores = score_to_file(
            tx, tmp_path / "s.parquet", model=sample_training[0].model_dir, as_of=AS_OF
        ).path
        table = write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
        bundle_dir = load_model(sample_training[0].model_dir).save(tmp_path / "b")
    finally:
        os.umask(old)
    for p in (scores, table, bundle_dir / "bundle.json", bundle_dir / "bgnbd.json"):
        assert stat.S_IMODE(p.stat().st_mode) == mode, p
