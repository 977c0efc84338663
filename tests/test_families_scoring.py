"""Every purchase-model family scores the same through every path: ``cxml.pipelines.score``,
the MLflow pyfunc model, the model registry and ``cxml.spark.score`` (issue 17)."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pandas as pd
import pytest
from tests.conftest_features import spark_session  # noqa: F401  (session fixture)

from conftest import write_config

# Python workers must run this interpreter; read when the SparkContext starts.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

pytestmark = pytest.mark.slow

FAMILIES = ["bgnbd", "mbgnbd", "pnbd"]
CLASSES = {"bgnbd": "BetaGeoModel", "mbgnbd": "ModifiedBetaGeoModel", "pnbd": "ParetoNBDModel"}
AS_OF = "1998-06-30"


@pytest.fixture(scope="module")
def family_models(tmp_path_factory):
    """One small bundle per family on the CDNOW sample, logged to one local sqlite store:
    ``{family: TrainResult}`` (2 folds, 50 trees: the point is the scoring paths)."""
    from cxml.pipelines import train

    tmp = tmp_path_factory.mktemp("families")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    out = {}
    for family in FAMILIES:
        d = tmp / family
        d.mkdir()
        cfg = write_config(
            d,
            **{
                "name": f"cdnow-{family}",
                "data.transactions": "cdnow:sample",
                "btyd.purchase_model": family,
                "output.model_dir": str(d / "model"),
                "churn.cv_folds": 2,
                "churn.n_estimators": 50,
            },
        )
        out[family] = train(cfg, tracking_uri=uri)
        assert out[family].logging_failures == []
    return out


@pytest.fixture(scope="module")
def cdnow_tx():
    from cxml.datasets import load_cdnow

    return load_cdnow("sample")


@pytest.fixture(scope="module")
def expected(family_models, cdnow_tx):
    """``cxml.pipelines.score`` of every sample customer, per family, by customer id."""
    from cxml.pipelines import score

    return {
        f: score(cdnow_tx, model=r.model_dir, as_of=AS_OF)
        .sort_values("customer_id")
        .reset_index(drop=True)
        for f, r in family_models.items()
    }


def _by_customer(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("customer_id").reset_index(drop=True)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_recorded_and_reloaded(family_models, family):
    from cxml.pipelines import load_model

    result = family_models[family]
    bundle = load_model(result.model_dir)
    assert type(bundle.purchase_model).__name__ == CLASSES[family]
    assert bundle.purchase_model.params_ == pytest.approx(result.bundle.purchase_model.params_)
    meta = json.loads((result.model_dir / "artifacts" / "bundle" / "bundle.json").read_text())
    assert meta["purchase_model"] == family
    assert set(meta["sha256"]) == {
        f"{family}.json",
        "gamma_gamma.json",
        "churn.json",
        "churn_lgbm.txt",
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_pyfunc_predict_equals_score_row_for_row(family_models, expected, cdnow_tx, family):
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(family_models[family].model_dir))
    got = _by_customer(model.predict(cdnow_tx, params={"as_of": AS_OF}))
    ref = expected[family]
    assert len(got) == 2357 and got["customer_id"].is_unique
    pd.testing.assert_frame_equal(got, ref, check_dtype=False, rtol=1e-12, atol=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_registered_model_loads_and_scores(family_models, expected, cdnow_tx, family):
    """``models:/NAME@alias`` of each family: the bundle and the pyfunc model both score
    like the local directory; only ``model_version`` gains ``NAME/VERSION@``."""
    import mlflow.pyfunc

    from cxml.pipelines import load_model, score
    from cxml.tracking import local_model_path, register_model

    result = family_models[family]
    name = f"cxml-{family}"
    version = register_model(
        result.run_id, name, tracking_uri=result.tracking_uri, alias="champion"
    )
    uri = f"models:/{name}@champion"
    bundle = load_model(local_model_path(uri, tracking_uri=result.tracking_uri))
    assert type(bundle.purchase_model).__name__ == CLASSES[family]
    ref = expected[family]
    fp = result.bundle.model_version
    assert (ref["model_version"] == fp).all()
    got = _by_customer(score(cdnow_tx, model=bundle, as_of=AS_OF))
    assert (got["model_version"] == f"{name}/{version}@{fp}").all()
    pd.testing.assert_frame_equal(
        got.drop(columns="model_version"),
        ref.drop(columns="model_version"),
        check_dtype=False,
        rtol=1e-12,
        atol=0,
    )

    import mlflow

    mlflow.set_tracking_uri(result.tracking_uri)
    pyfunc = mlflow.pyfunc.load_model(uri)
    out = _by_customer(pyfunc.predict(cdnow_tx, params={"as_of": AS_OF}))
    pd.testing.assert_frame_equal(out, got, check_dtype=False, rtol=1e-12, atol=0)


@pytest.mark.spark
@pytest.mark.parametrize("family", FAMILIES)
def test_spark_score_equals_score_row_for_row(
    spark_session,  # noqa: F811
    family_models,
    expected,
    cdnow_tx,
    family,
):
    import cxml.spark
    from cxml.pipelines import SCORE_COLUMNS

    sdf = spark_session.createDataFrame(cdnow_tx)
    result = cxml.spark.score(sdf, family_models[family].model_dir, as_of=AS_OF, num_partitions=3)
    assert result.columns == SCORE_COLUMNS
    got = _by_customer(result.toPandas())
    assert len(got) == 2357 and got["customer_id"].is_unique
    pd.testing.assert_frame_equal(got, expected[family], check_dtype=False, rtol=1e-12, atol=0)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "recorded, message",
    [
        ("weibull", r"unknown purchase model 'weibull' \(this cxml .* reads bgnbd, mbgnbd, pnbd"),
        ("BetaGeoModel", r"unknown purchase model 'BetaGeoModel'.*retrain the model"),
    ],
)
def test_unknown_model_class_in_the_manifest_is_refused(
    family_models, tmp_path, family, recorded, message
):
    from cxml.exceptions import ModelLoadError
    from cxml.pipelines import load_model

    copy = tmp_path / "model"
    shutil.copytree(family_models[family].model_dir, copy)
    manifest = copy / "artifacts" / "bundle" / "bundle.json"
    meta = json.loads(manifest.read_text())
    meta["purchase_model"] = recorded
    manifest.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=message):
        load_model(copy)


@pytest.mark.parametrize("family, other", [("bgnbd", "pnbd"), ("pnbd", "mbgnbd")])
def test_manifest_naming_another_family_than_its_files_is_refused(
    family_models, tmp_path, family, other
):
    """A manifest relabelled to another known family: its checksum table lists the other
    family's parameter file, so the bundle is refused rather than read with the wrong class."""
    from cxml.exceptions import ModelLoadError
    from cxml.pipelines import load_model

    copy = tmp_path / "model"
    shutil.copytree(family_models[family].model_dir, copy)
    manifest = copy / "artifacts" / "bundle" / "bundle.json"
    meta = json.loads(manifest.read_text())
    meta["purchase_model"] = other
    manifest.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=rf"no checksum for {other}\.json.*retrain"):
        load_model(copy)
