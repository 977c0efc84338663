"""Every purchase-model family trains, saves, reloads and scores through the pipeline."""

from __future__ import annotations

import json

import pytest

from conftest import write_config

# CDNOW 1/10 sample, calibration to 1997-09-30 (weeks): the published log-likelihoods
# (Fader, Hardie & Lee 2005; lifetimes' test suite for MBG/NBD and Pareto/NBD).
PUBLISHED_LL = {"bgnbd": -9582.43, "mbgnbd": -9582.13, "pnbd": -9594.97}
CLASSES = {"bgnbd": "BetaGeoModel", "mbgnbd": "ModifiedBetaGeoModel", "pnbd": "ParetoNBDModel"}


@pytest.mark.slow
@pytest.mark.parametrize("family", ["bgnbd", "mbgnbd", "pnbd"])
def test_train_score_round_trip_each_family(tmp_path, family):
    from cxml.datasets import load_cdnow
    from cxml.pipelines import ModelBundle, score, train

    cfg = write_config(
        tmp_path,
        **{
            "data.transactions": "cdnow:sample",
            "btyd.purchase_model": family,
            "output.model_dir": str(tmp_path / "model"),
            "churn.cv_folds": 2,
            "churn.n_estimators": 50,
        },
    )
    result = train(cfg, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert type(result.bundle.purchase_model).__name__ == CLASSES[family]
    assert result.metrics[f"{family}_log_likelihood"] == pytest.approx(
        PUBLISHED_LL[family], abs=0.01
    )
    bundle_dir = tmp_path / "model" / "artifacts" / "bundle"
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    assert meta["purchase_model"] == family
    assert (bundle_dir / f"{family}.json").is_file()

    loaded = ModelBundle.load(tmp_path / "model")
    assert type(loaded.purchase_model).__name__ == CLASSES[family]
    assert loaded.purchase_model.params_ == pytest.approx(result.bundle.purchase_model.params_)
    assert loaded.model_version == result.bundle.model_version

    tx = load_cdnow("sample")
    scores = score(tx, model=tmp_path / "model", as_of="1998-06-30")
    assert len(scores) == 2357  # every customer of the sample
    assert scores["p_alive"].between(0, 1).all()
    assert scores["model_version"].iloc[0] == loaded.model_version


def test_bundle_refuses_an_unknown_purchase_model(sample_training, tmp_path):
    import shutil

    from cxml.exceptions import ModelLoadError
    from cxml.pipelines import ModelBundle

    result, _ = sample_training
    copy = tmp_path / "model"
    shutil.copytree(result.model_dir, copy)
    manifest = copy / "artifacts" / "bundle" / "bundle.json"
    meta = json.loads(manifest.read_text())
    meta["purchase_model"] = "weibull"
    manifest.write_text(json.dumps(meta))
    with pytest.raises(
        ModelLoadError,
        match=r"unknown purchase model 'weibull'.*bgnbd, mbgnbd, "
        r"pnbd.*retrain",
    ):
        ModelBundle.load(copy)


def test_config_refuses_an_unknown_purchase_model(tmp_path):
    from cxml.exceptions import ConfigError
    from cxml.pipelines import load_config

    cfg = write_config(tmp_path, **{"btyd.purchase_model": "bgbbb"})
    with pytest.raises(ConfigError, match=r"btyd\.purchase_model: .*'bgnbd', 'mbgnbd' or 'pnbd'"):
        load_config(cfg)


def test_bound_parameters_are_reported_with_the_penalizer_remedy():
    from cxml.models import BetaGeoModel, GammaGammaModel
    from cxml.pipelines._train import bound_parameter_warnings

    bg, gg = BetaGeoModel(), GammaGammaModel()
    bg.params_at_bound_ = ("a", "b")
    gg.params_at_bound_ = ()
    assert bound_parameter_warnings(bg, gg) == [
        "BetaGeoModel: parameter(s) a, b at the optimiser's bound (not identified by the "
        "data); set btyd.penalizer: 0.01 (or more) in the configuration, or use more history"
    ]


def test_shared_features_equal_a_fresh_build_with_the_other_model():
    """compare builds features once per cut-off: a candidate's features from a reused fit
    (only the BTYD columns recomputed) are exactly those of its own full build."""
    import datetime as dt

    import pandas as pd

    from cxml.data import validate_transactions
    from cxml.datasets import load_cdnow
    from cxml.pipelines._core import fit_calibration

    tx = validate_transactions(load_cdnow("sample"), observation_end=dt.date(1998, 6, 30))
    kw = dict(
        calibration_end=dt.date(1997, 9, 30),
        observation_end=dt.date(1998, 6, 30),
        time_unit="W",
        windows_days=[30, 90],
        clv={"horizon_months": 12, "annual_discount_rate": 0.1},
        columns={"customer_id": "customer_id", "timestamp": "timestamp", "amount": "amount"},
    )
    bg = fit_calibration(tx, **kw)
    own = fit_calibration(tx, purchase_model="pnbd", **kw)
    shared = fit_calibration(tx, purchase_model="pnbd", reuse=bg, **kw)
    assert shared.ch is bg.ch
    pd.testing.assert_frame_equal(shared.X, own.X)
    assert not shared.X["p_alive"].equals(bg.X["p_alive"])  # the BTYD columns did change
    assert shared.bg.params_ == own.bg.params_


@pytest.mark.slow
def test_evaluate_names_the_btyd_baselines_after_the_family():
    from cxml.datasets import load_cdnow
    from cxml.pipelines import evaluate

    table = evaluate(
        load_cdnow("sample"),
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        folds=2,
        purchase_model="pnbd",
        churn_params={"n_estimators": 50},
        value_params={"n_estimators": 50},
    )
    assert {"cxml", "pnbd_p_alive", "pnbd_expected", "rfm_logistic"} <= set(table.index)
    assert not any(i.startswith("bgnbd") for i in table.index)
    # E[Y] of Pareto/NBD over the 39-week holdout (lifetimes: 1,665.5 of 1,882)
    assert table.loc["pnbd_expected", "purchases_predicted_total"] == pytest.approx(1665.5, abs=0.1)
