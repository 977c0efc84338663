"""Train, evaluate, save and track an uplift model from a campaign table.

The campaign's customers are split (stratified by arm x outcome > 0, the configured seed);
the model fitted on one part is evaluated on the other (uplift@k, Qini, AUUC per arm and
for the multi-arm policy, Qini and decile plots), then, by default, refitted on every
customer and saved (JSON + LightGBM text). One MLflow run records the parameters, the
evaluation table, the plots and the saved model's files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cxml.exceptions import DataValidationError
from cxml.targeting._config import UpliftConfig
from cxml.targeting._learners import UpliftClassifier, UpliftRegressor
from cxml.targeting._metrics import uplift_table
from cxml.targeting._plots import plot_qini, plot_uplift_by_decile
from cxml.targeting._split import split_campaign

__all__ = ["UpliftTrainResult", "campaign_frame", "train_uplift"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpliftTrainResult:
    """What :func:`train_uplift` produced.

    Attributes
    ----------
    model_dir : Path
        The saved model.
    evaluation : pandas.DataFrame
        Held-out ``n``, ``uplift_at_k``, ``qini``, ``auuc`` per arm (and ``policy``).
    run_id : str or None
        The MLflow run.
    n_train, n_test : int
        Customers in each part of the split.
    """

    model_dir: Path
    evaluation: pd.DataFrame
    run_id: str | None
    n_train: int
    n_test: int


def campaign_frame(cfg: UpliftConfig) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Read the campaign table and build features, treatment and outcome.

    Parameters
    ----------
    cfg : UpliftConfig
        The configuration.

    Returns
    -------
    X : pandas.DataFrame
        Features indexed by customer id: the table's columns, plus cxml's RFM features at
        the campaign date when ``customer_features`` is set (NaN for a customer without
        transactions before it).
    treatment : pandas.Series
        Arm labels.
    y : pandas.Series
        Outcomes.

    Raises
    ------
    cxml.exceptions.DataValidationError
        A configured column is absent or customer ids repeat.
    """
    from cxml.data import read_table

    table = read_table(cfg.campaign, name="campaign").to_pandas()
    needed = [cfg.id_column, cfg.treatment_column, cfg.outcome_column, *(cfg.features or [])]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataValidationError(
            f"campaign {cfg.campaign}: missing column(s) {missing} (columns: "
            f"{list(table.columns)}); fix the table or the config's column names"
        )
    dup = table[cfg.id_column].duplicated()
    if dup.any():
        raise DataValidationError(
            f"campaign {cfg.campaign}: {int(dup.sum())} duplicated {cfg.id_column} value(s) "
            f"(e.g. {table.loc[dup, cfg.id_column].iloc[0]!r}): one row per customer"
        )
    table = table.set_index(cfg.id_column)
    features = cfg.features or [
        c for c in table.columns if c not in (cfg.treatment_column, cfg.outcome_column)
    ]
    X = table[features]
    if cfg.customer_features is not None:
        from cxml.features import rfm

        cf = cfg.customer_features
        feats = rfm(
            cf.transactions,
            observation_end=cf.campaign_date,
            time_unit=cf.time_unit,
            output="pandas",
        )
        absent = ~X.index.isin(feats.index)
        if absent.any():
            logger.info(
                "%d campaign customer(s) have no transaction up to %s: their RFM "
                "features are missing",
                int(absent.sum()),
                cf.campaign_date,
            )
        clash = sorted(set(X.columns) & set(feats.columns))
        if clash:
            raise DataValidationError(
                f"campaign {cfg.campaign}: column(s) {clash} are also cxml's customer "
                "features: rename them or list features: without them"
            )
        X = X.join(feats)
    return X, table[cfg.treatment_column], table[cfg.outcome_column]


def train_uplift(cfg: UpliftConfig, *, tracking_uri: str | None = None) -> UpliftTrainResult:
    """Split, fit, evaluate, (refit,) save and track an uplift model.

    Parameters
    ----------
    cfg : UpliftConfig
        The configuration (see :func:`load_uplift_config`).
    tracking_uri : str or None, default None
        Overrides ``cfg.tracking_uri``.

    Returns
    -------
    UpliftTrainResult
        Model directory, evaluation table and run id.
    """
    from cxml.tracking import TrackedRun, resolve_tracking_uri

    X, t, y = campaign_frame(cfg)
    klass = UpliftClassifier if cfg.outcome_type == "binary" else UpliftRegressor
    params = {"learner": cfg.learner, "random_state": cfg.seed, **cfg.params}
    try:
        idx_tr, idx_te = split_campaign(t, y, test_size=cfg.test_size, random_state=cfg.seed)
    except DataValidationError as exc:
        raise DataValidationError(f"campaign {cfg.campaign}: {exc}") from None
    model = klass(control=cfg.control, **params).fit(X.loc[idx_tr], t.loc[idx_tr], y.loc[idx_tr])
    up = model.predict_uplift(X.loc[idx_te])
    evaluation = uplift_table(y.loc[idx_te], up, t.loc[idx_te], control=cfg.control, k=cfg.k)
    figures = {}
    for arm in model.arms_:
        keep = t.loc[idx_te].isin([arm, cfg.control]).to_numpy()
        yy, tt = y.loc[idx_te][keep], (t.loc[idx_te][keep] == arm).astype(int)
        figures[f"plots/qini_{arm}.png"] = plot_qini(
            yy,
            {model.learner + "-learner": up[arm][keep]},
            tt,
            title=f"Qini: {arm} vs {cfg.control}",
        )
        figures[f"plots/deciles_{arm}.png"] = plot_uplift_by_decile(
            yy, up[arm][keep], tt, title=f"Uplift by decile: {arm} vs {cfg.control}"
        )
    if cfg.refit:
        model = klass(control=cfg.control, **params).fit(X, t, y)
    model_dir = model.save(cfg.model_dir)
    uri = resolve_tracking_uri(tracking_uri, cfg.tracking_uri)
    with TrackedRun(
        uri, cfg.experiment, run_name=f"uplift-{cfg.outcome_column}", tags={"cxml.kind": "uplift"}
    ) as run:
        run.log_params(
            {
                "learner": cfg.learner,
                "control": cfg.control,
                "outcome": cfg.outcome_column,
                "outcome_type": cfg.outcome_type,
                "test_size": cfg.test_size,
                "seed": cfg.seed,
                "k": cfg.k,
                "refit": cfg.refit,
                "n_features": X.shape[1],
                **{f"model.{k}": v for k, v in cfg.params.items()},
            }
        )
        run.log_metrics(
            {
                f"{name}.{col}": float(evaluation.loc[name, col])
                for name in evaluation.index
                for col in ("uplift_at_k", "qini", "auuc")
            }
        )
        run.log_table(evaluation, "uplift_evaluation")
        for name, fig in figures.items():
            run.log_figure(fig, name)
        for f in sorted(Path(model_dir).iterdir()):
            run.log_artifact(f, artifact_path="uplift_model")
    return UpliftTrainResult(Path(model_dir), evaluation, run.run_id, len(idx_tr), len(idx_te))
