"""``cxml uplift train -c CONFIG`` (issue 19, line 4): from a campaign table (and cxml's own
RFM features at the campaign date) to a saved, evaluated, MLflow-tracked uplift model."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from cxml.cli import main
from cxml.datasets import load_cdnow
from cxml.exceptions import ConfigError
from cxml.features import rfm
from cxml.targeting import UpliftClassifier, load_uplift_config, load_uplift_model


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """CDNOW 1/10 sample customers randomised on 1997-09-30 to none / email / coupon; the
    e-mail works on repeat buyers (frequency > 0), the coupon on everyone a little."""
    d = tmp_path_factory.mktemp("campaign")
    tx = load_cdnow(kind="sample")
    tx[tx["timestamp"] <= "1997-09-30"].to_csv(d / "tx.csv", index=False)
    feats = rfm(d / "tx.csv", observation_end="1997-09-30")
    rng = np.random.default_rng(3)
    n = len(feats)
    arm = rng.choice(["none", "email", "coupon"], n)
    p = 0.15 + np.select(
        [arm == "email", arm == "coupon"], [np.where(feats["frequency"] > 0, 0.25, 0.0), 0.05], 0.0
    )
    table = pd.DataFrame(
        {
            "customer_id": feats.index,
            "arm": arm,
            "responded": rng.binomial(1, p),
            "channel": rng.choice(["web", "store"], n),
        }
    )
    table.to_parquet(d / "campaign.parquet")
    return d, table, feats


def write(d, **cfg):
    path = d / "uplift.yaml"
    path.write_text(yaml.safe_dump({"targeting": cfg}))
    return path


def test_uplift_train_end_to_end(campaign, capsys):
    d, table, feats = campaign
    cfg = write(
        d,
        campaign="campaign.parquet",
        treatment_column="arm",
        outcome_column="responded",
        control="none",
        customer_features={"transactions": "tx.csv", "campaign_date": "1997-09-30"},
        params={"n_estimators": 60, "min_rows_per_arm": 100},
        model_dir="models/uplift",
        tracking_uri=f"sqlite:///{d / 'mlflow.db'}",
    )
    assert main(["uplift", "train", "-c", str(cfg)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "held-out evaluation (1,179 customers)" in out  # 2,357 customers, 50 % held out
    model = load_uplift_model(d / "models" / "uplift")
    assert isinstance(model, UpliftClassifier) and model.arms_ == ["coupon", "email"]
    assert list(model.feature_names_in_) == [
        "channel",
        "frequency",
        "recency",
        "T",
        "monetary_value",
    ]
    assert sum(model.n_rows_per_arm_.values()) == len(table)  # refitted on every customer
    # The e-mail only works on repeat buyers: its predicted uplift is higher for them.
    X = table.set_index("customer_id")[["channel"]].join(feats)
    up = model.predict_uplift(X)
    repeat = X["frequency"] > 0
    assert up.loc[repeat, "email"].mean() > up.loc[~repeat, "email"].mean() + 0.1

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{d / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("cxml-uplift").experiment_id])
    assert run.data.params["learner"] == "t" and run.data.params["outcome"] == "responded"
    assert {"email.qini", "coupon.uplift_at_k", "policy.auuc"} <= set(run.data.metrics)
    arts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert arts == {
        "plots/qini_email.png",
        "plots/qini_coupon.png",
        "plots/deciles_email.png",
        "plots/deciles_coupon.png",
    }
    files = {a.path for a in client.list_artifacts(run.info.run_id, "uplift_model")}
    assert "uplift_model/uplift.json" in files
    assert json.loads((d / "models" / "uplift" / "uplift.json").read_text())["labels"] == [
        "none",
        "coupon",
        "email",
    ]


def test_uplift_config_errors(campaign, tmp_path, capsys):
    d, _, _ = campaign
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"targeting": {"campaign": "x.parquet", "learner": "z", "control": "none"}})
    )
    with pytest.raises(ConfigError, match=r"learner: Input should be 't', 'x' or 'dr'"):
        load_uplift_config(bad)
    cfg = write(
        tmp_path,
        campaign=str(d / "campaign.parquet"),
        treatment_column="segment",
        outcome_column="responded",
        control="none",
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    assert main(["uplift", "train", "-c", str(cfg)]) == 2
    assert "missing column(s) ['segment']" in capsys.readouterr().err
    cfg = write(
        tmp_path,
        campaign=str(d / "campaign.parquet"),
        treatment_column="arm",
        outcome_column="responded",
        control="No E-Mail",
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    assert main(["uplift", "train", "-c", str(cfg)]) == 2
    assert (
        "control arm 'No E-Mail' is not among the treatment labels ['coupon', 'email', 'none']"
    ) in capsys.readouterr().err
