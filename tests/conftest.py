"""Shared fixtures: a model trained once per session on the CDNOW 1/10 sample."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def write_config(tmp: Path, **overrides) -> Path:
    """A copy of configs/cdnow.yaml with overrides (dotted keys) written into ``tmp``."""
    cfg = yaml.safe_load((ROOT / "configs" / "cdnow.yaml").read_text())
    for dotted, value in overrides.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def sample_training(tmp_path_factory):
    """Train on the CDNOW sample into a temporary directory; returns (TrainResult, dir)."""
    from cxml.pipelines import train

    tmp = tmp_path_factory.mktemp("train_sample")
    cfg = write_config(
        tmp,
        **{
            "data.transactions": "cdnow:sample",
            "output.model_dir": str(tmp / "models" / "cdnow_sample"),
            "churn.cv_folds": 3,
        },
    )
    result = train(cfg, tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    return result, tmp


@pytest.fixture(scope="session")
def sample_csv(tmp_path_factory) -> Path:
    """The CDNOW sample as a CSV in the contract's column names."""
    from cxml.datasets import load_cdnow

    p = tmp_path_factory.mktemp("data") / "cdnow_sample.csv"
    load_cdnow("sample").to_csv(p, index=False)
    return p


from tests._postgres import postgres_server  # noqa: E402,F401  (a real server, issue 18)
