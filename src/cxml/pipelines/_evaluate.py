"""``evaluate``: the cxml churn model beside BTYD and RFM baselines on the same customers."""

from __future__ import annotations

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cxml.data import validate_events, validate_transactions
from cxml.evaluation import churn_metrics, value_metrics
from cxml.models import ChurnClassifier
from cxml.pipelines._core import cross_fit_proba, fit_calibration
from cxml.pipelines._score import _as_date

__all__ = ["EVALUATION_COLUMNS", "evaluate", "evaluate_config"]

EVALUATION_COLUMNS = [
    "churn_auc", "churn_pr_auc", "churn_brier", "churn_log_loss",
    "purchases_spearman", "purchases_mae", "purchases_aggregate_error",
    "value_spearman", "value_gini", "value_aggregate_error",
]

_RFM_COLUMNS = ["frequency", "recency", "T", "T_minus_recency", "monetary_value"]


def evaluate(transactions, *, calibration_end, observation_end, time_unit: str = "W",
             events=None, windows_days=(30, 90, 180, 365), folds: int = 5,
             random_state: int = 0, **columns) -> pd.DataFrame:
    """Compare the cxml churn model with baselines on one calibration/holdout split.

    Churned = no purchase in ``(calibration_end, observation_end]``. Every model sees only
    data up to ``calibration_end``. Learned models (cxml and the RFM baselines) are
    cross-fitted at the customer level: each customer's prediction comes from a model
    fitted on the other folds, so no customer's own holdout label is used for them.

    Parameters
    ----------
    transactions : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
    calibration_end, observation_end : date-like
        Inclusive ends of calibration and holdout.
    time_unit : {"W", "D"}, default "W"
    events : optional
        Engagement events (used as churn features when given).
    windows_days : tuple of int
        Behaviour feature windows.
    folds : int, default 5
    random_state : int, default 0
    **columns
        Column names of the transaction contract (``customer_id=``, ``timestamp=``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per model, index ``model``: ``"cxml"`` (the LightGBM churn model),
        ``"bgnbd_p_alive"`` (1 - P(alive)), ``"bgnbd_p_zero"`` (BG/NBD probability of no
        purchase in the holdout), ``"bgnbd_expected"`` (-E[Y], a ranking only),
        ``"rfm_logistic"`` and ``"rfm_lightgbm"`` (plain RFM features). Columns:
        :data:`EVALUATION_COLUMNS` plus ``n_customers`` and ``churn_rate``. Purchase and
        value columns compare BG/NBD E[Y] and E[Y] x Gamma-Gamma E[M] with the holdout;
        they are the same for every BTYD-based row.
    """
    cal = _as_date(calibration_end, "calibration_end")
    obs = _as_date(observation_end, "observation_end")
    tx = validate_transactions(transactions, observation_end=obs, **columns)
    ev = validate_events(events, observation_end=obs) if events is not None else None
    fit = fit_calibration(tx, calibration_end=cal, observation_end=obs, time_unit=time_unit,
                          windows_days=windows_days, clv={"horizon_months": 12,
                                                          "annual_discount_rate": 0.1},
                          columns=columns, events=ev)
    X, y, bg = fit.X, fit.churned, fit.bg
    t_hold = fit.spec.horizon_days / (7.0 if time_unit == "W" else 1.0)

    f, r, T = (fit.ch[c].to_numpy(dtype=float) for c in ("frequency_cal", "recency_cal", "T_cal"))
    p_alive = X["p_alive"].to_numpy()
    # P(no purchase in (T, T+t] | x, t_x, T) under BG/NBD: dead, or alive with the first
    # waiting time beyond t; E[exp(-lambda t)] under the Gamma(r+x, alpha+T) posterior of
    # lambda (Fader, Hardie & Lee 2005, eq. 5 and the posterior of their section 4).
    prm = bg.params_
    no_buy_alive = ((prm["alpha"] + T) / (prm["alpha"] + T + t_hold)) ** (prm["r"] + f)
    p_zero = (1.0 - p_alive) + p_alive * no_buy_alive

    scores = {
        "cxml": cross_fit_proba(lambda: ChurnClassifier(random_state=random_state), X, y,
                                folds=folds, seed=random_state),
        "bgnbd_p_alive": 1.0 - p_alive,
        "bgnbd_p_zero": p_zero,
        "bgnbd_expected": -X["expected_purchases"].to_numpy(),
        "rfm_logistic": cross_fit_proba(
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
            X[_RFM_COLUMNS], y, folds=folds, seed=random_state),
        "rfm_lightgbm": cross_fit_proba(lambda: ChurnClassifier(random_state=random_state),
                                        X[_RFM_COLUMNS], y, folds=folds, seed=random_state),
    }
    purchases = value_metrics(fit.holdout_purchases, X["expected_purchases"], prefix="purchases_")
    value = value_metrics(fit.holdout_spend,
                          X["expected_purchases"] * X["expected_average_value"], prefix="value_")
    rows = {}
    for name, s in scores.items():
        cm = {f"churn_{k}": v for k, v in churn_metrics(y, s).items()}
        rows[name] = {**cm, **purchases, **value, "n_customers": len(y)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    rest = [c for c in table.columns if c not in EVALUATION_COLUMNS]
    return table[EVALUATION_COLUMNS + rest].astype({"n_customers": "int64"})




def evaluate_config(config=None, *, tracking_uri: str | None = None, on_step=lambda s: None):
    """Run :func:`evaluate` on a configuration's data and dates and log the table to MLflow.

    Returns
    -------
    (pandas.DataFrame, str, str)
        The comparison table, the MLflow run id and the tracking URI.
    """
    from cxml import tracking
    from cxml._version import __version__
    from cxml.pipelines._config import Config, load_config
    from cxml.pipelines._data import load_events, load_transactions

    cfg = config if isinstance(config, Config) else load_config(config)
    uri = tracking.resolve_tracking_uri(tracking_uri, cfg.tracking.tracking_uri)
    tracking.check_tracking_uri(uri)
    on_step("loading and validating transactions")
    tx, lineage = load_transactions(cfg.data, observation_end=cfg.time.observation_end)
    events = load_events(cfg.data, observation_end=cfg.time.observation_end)
    on_step("fitting models and baselines (cross-fitted)")
    table = evaluate(tx, calibration_end=cfg.time.calibration_end,
                     observation_end=cfg.time.observation_end, time_unit=cfg.time.time_unit,
                     events=events, windows_days=tuple(cfg.churn.windows_days),
                     folds=cfg.churn.cv_folds, random_state=cfg.churn.random_state)
    on_step("logging the comparison to MLflow")
    with tracking.TrackedRun(uri, cfg.tracking.experiment, run_name=f"{cfg.name}-evaluate",
                             tags={"cxml.version": __version__, "cxml.pipeline": "evaluate",
                                   "cxml.config": cfg.name}) as run:
        run.log_params({f"data.{k}": v for k, v in lineage.items()})
        run.log_params({"time.calibration_end": str(cfg.time.calibration_end),
                        "time.observation_end": str(cfg.time.observation_end),
                        "time.time_unit": cfg.time.time_unit})
        run.log_metrics({f"{model}.{col}": val for model, row in table.iterrows()
                         for col, val in row.items()})
        run.log_table(table, "evaluation")
    return table, run.run_id, uri
