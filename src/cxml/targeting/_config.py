"""The configuration of ``cxml uplift train``: a YAML file validated once by pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cxml.exceptions import ConfigError

__all__ = ["CustomerFeatures", "UpliftConfig", "load_uplift_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerFeatures(_Strict):
    """The RFM features cxml computes for each customer at the campaign date.

    Attributes
    ----------
    transactions : str
        Transactions table (path) in cxml's contract: customer_id, timestamp, amount.
    campaign_date : str
        Last day before the campaign (YYYY-MM-DD): features use transactions up to it.
    time_unit : {"W", "D"}
        Unit of recency and T.
    """

    transactions: str
    campaign_date: str
    time_unit: Literal["W", "D"] = "W"


class UpliftConfig(_Strict):
    """A campaign table and how to train and evaluate an uplift model on it.

    Attributes
    ----------
    campaign : str
        Table (.parquet / .csv path) with one row per customer of the campaign.
    id_column, treatment_column, outcome_column : str
        Its customer id, arm label and outcome columns.
    control : str
        Label of the control arm.
    outcome_type : {"binary", "continuous"}
        ``binary`` trains an UpliftClassifier, ``continuous`` an UpliftRegressor.
    features : list of str or None
        Feature columns of the campaign table; None takes every other column.
    customer_features : CustomerFeatures or None
        cxml's RFM features at the campaign date, added to the table's features.
    learner : {"t", "x", "dr"}
        Meta-learner (T-, X- or DR-learner; the DR-learner's ``propensity`` and
        ``n_folds`` go in ``params``).
    params : dict
        Further estimator parameters (n_estimators, num_leaves, ...).
    test_size : float
        Share of customers held out for evaluation (split stratified by arm x outcome).
    seed : int
        Seed of the split and the models.
    k : float
        Share of customers for uplift@k.
    refit : bool
        Refit on every customer before saving (the evaluation stays on the held-out half).
    model_dir : str
        Where the model is saved.
    tracking_uri : str or None
        MLflow tracking URI (else $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db).
    experiment : str
        MLflow experiment.
    """

    campaign: str
    id_column: str = "customer_id"
    treatment_column: str = "treatment"
    outcome_column: str = "outcome"
    control: str | int
    outcome_type: Literal["binary", "continuous"] = "binary"
    features: list[str] | None = None
    customer_features: CustomerFeatures | None = None
    learner: Literal["t", "x", "dr"] = "t"
    params: dict = Field(default_factory=dict)
    test_size: float = Field(0.5, gt=0, lt=1)
    seed: int = 42
    k: float = Field(0.3, gt=0, lt=1)
    refit: bool = True
    model_dir: str = "models/uplift"
    tracking_uri: str | None = None
    experiment: str = "cxml-uplift"


def load_uplift_config(path: str | Path) -> UpliftConfig:
    """Read and validate an uplift training configuration.

    Parameters
    ----------
    path : str or Path
        YAML file; relative paths inside it are relative to the file's directory.

    Returns
    -------
    UpliftConfig
        The validated configuration, paths resolved.

    Raises
    ------
    cxml.exceptions.ConfigError
        The file is missing, not YAML, or fails validation (the message names the field).
    """
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ConfigError(f"config {p}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    raw = raw.get("targeting", raw) if isinstance(raw, dict) else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"config {p}: expected a mapping of settings")
    try:
        cfg = UpliftConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ConfigError(
            f"config {p}: {where}: {err['msg']} ({len(exc.errors())} problem(s))"
        ) from None
    base = p.parent

    def resolve(s: str) -> str:
        q = Path(s)
        return str(q if q.is_absolute() else base / q)

    cfg.campaign = resolve(cfg.campaign)
    cfg.model_dir = resolve(cfg.model_dir)
    if cfg.customer_features is not None:
        cfg.customer_features.transactions = resolve(cfg.customer_features.transactions)
    return cfg
