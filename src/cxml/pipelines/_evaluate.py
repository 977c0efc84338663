"""``evaluate``: the cxml churn and value models beside BTYD and RFM baselines, same customers.

How the learned models get their training labels without ever using a customer's own
holdout (the text the README quotes):

- **out-of-time cut-offs**: at past cut-offs ``c`` whose label window ``(c, c + H]`` ends on
  or before ``calibration_end``, features are rebuilt as of ``c`` (BG/NBD and Gamma-Gamma
  refitted on data up to ``c``) and labelled from ``(c, c + H]``: calibration data only;
- **customer-level cross-fitting**: the customers of the evaluation cut-off are split in
  folds; each fold is scored by a model trained on the other folds (plus the past cut-offs),
  which early-stops and calibrates on the latest period it sees.

``training="auto"`` uses both when the history allows past cut-offs (at least
``min_history_days`` before each) and cross-fitting alone otherwise (e.g. CDNOW, whose
cohort all joined in the first quarter of 1997).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cxml.data import to_date, validate_events, validate_transactions
from cxml.evaluation import churn_metrics, value_metrics
from cxml.exceptions import CxmlUserError
from cxml.models import ChurnClassifier, ValueModel
from cxml.pipelines._core import (
    TrainingSet,
    at_latest_cutoff,
    cross_fit_predict,
    cross_fit_proba,
    fit_calibration,
    snapshot_cutoffs,
    stack_training,
    stacked_snapshots,
)

__all__ = ["EVALUATION_COLUMNS", "evaluate", "evaluate_config", "evaluation_figures"]

EVALUATION_COLUMNS = [
    "churn_auc",
    "churn_pr_auc",
    "churn_brier",
    "churn_log_loss",
    "purchases_spearman",
    "purchases_mae",
    "purchases_aggregate_error",
    "value_spearman",
    "value_gini",
    "value_decile_mape",
    "value_aggregate_error",
]

_RFM_COLUMNS = ["frequency", "recency", "T", "T_minus_recency", "monetary_value"]
_TRAINING = ("auto", "cross_fit", "out_of_time", "both")


def evaluate(
    transactions,
    *,
    calibration_end,
    observation_end,
    time_unit: str = "W",
    events=None,
    windows_days=(30, 90, 180, 365),
    folds: int = 5,
    random_state: int = 0,
    training: str = "auto",
    max_snapshots: int = 6,
    snapshot_step_days: int = 28,
    min_history_days: int = 182,
    churn_params: dict | None = None,
    value_params: dict | None = None,
    return_scores: bool = False,
    purchase_model: str = "bgnbd",
    penalizer: float = 0.0,
    spend_penalizer: float = 0.0,
    **columns,
):
    """Compare the cxml churn and value models with baselines on one calibration/holdout split.

    Churned = no purchase in ``(calibration_end, observation_end]``. Every model sees only
    data up to ``calibration_end`` for the customers it scores, and no learned model uses a
    customer's own holdout label or holdout data for that customer's prediction (see the
    module docstring for how training labels are obtained).

    Parameters
    ----------
    transactions : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
        Transactions covering calibration and holdout, validated with the column names
        in ``**columns``.
    calibration_end, observation_end : date-like
        Inclusive ends of calibration and holdout.
    time_unit : {"W", "D"}, default "W"
        Time unit of recency, T and the BTYD models.
    events : optional
        Engagement events (used as churn features when given).
    windows_days : tuple of int
        Behaviour feature windows.
    folds : int, default 5
        Customer-level cross-fitting folds.
    random_state : int, default 0
        Seed of the cross-fitting folds and of the LightGBM models (a ``random_state`` in
        ``churn_params`` or ``value_params`` overrides it for that model).
    training : {"auto", "cross_fit", "out_of_time", "both"}, default "auto"
        Where the cxml models' training labels come from: cross-fitting at
        ``calibration_end``, past cut-offs only, or both; ``"auto"`` = ``"both"`` when at
        least one past cut-off qualifies, else ``"cross_fit"``.
    max_snapshots, snapshot_step_days, min_history_days : int
        Past cut-offs (see :func:`cxml.pipelines._core.snapshot_cutoffs`).
    churn_params, value_params : dict, optional
        Hyperparameters of :class:`~cxml.models.ChurnClassifier` and of the value model.
    return_scores : bool, default False
        Also return the per-customer predictions and outcomes (for
        :func:`evaluation_figures`).
    purchase_model : {"bgnbd", "mbgnbd", "pnbd"}, default "bgnbd"
        Purchase model family; its baseline rows are named after it (``pnbd_expected``).
        ``<family>_p_zero`` exists for BG/NBD and MBG/NBD (closed form).
    penalizer, spend_penalizer : float, default 0.0
        Penalizers of the purchase model and of Gamma-Gamma.
    **columns
        Column names of the transaction contract (``customer_id=``, ``timestamp=``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per model, index ``model``: ``"cxml"`` (LightGBM churn model; value =
        the ZILN-style LightGBM value model; purchases = BG/NBD E[Y], which cxml ships),
        ``"bgnbd_p_alive"`` (1 - P(alive)), ``"bgnbd_p_zero"`` (BG/NBD probability of no
        purchase in the holdout), ``"bgnbd_expected"`` (-E[Y], a ranking only),
        ``"rfm_logistic"`` and ``"rfm_lightgbm"`` (plain RFM features, cross-fitted).
        With another ``purchase_model`` the BTYD rows are named after it
        (``"pnbd_p_alive"``, ``"pnbd_expected"``; Pareto/NBD has no ``_p_zero`` row).
        Columns: :data:`EVALUATION_COLUMNS`, the other churn / purchase / value metrics,
        ``n_customers``, ``churn_rate`` and ``n_training_rows``. Purchase and value columns of
        the BG/NBD rows compare E[Y] and E[Y] x Gamma-Gamma E[M] with the holdout; the RFM
        rows have none (NaN). ``table.attrs`` holds ``training`` (the scheme used),
        ``snapshots`` (past cut-offs used) and ``horizon_days``.
    pandas.DataFrame, only with ``return_scores=True``
        Per customer (index ``customer_id``): ``churned``, ``holdout_purchases``,
        ``holdout_spend``, ``churn_score_<model>``, ``expected_purchases_bgnbd``,
        ``value_bgnbd_gg``, ``value_cxml``.

    Raises
    ------
    CxmlUserError
        Unknown ``training``, or ``"out_of_time"`` when no past cut-off qualifies.
    DataValidationError
        Invalid transactions or dates.
    """
    if training not in _TRAINING:
        raise CxmlUserError(f"training must be one of {list(_TRAINING)}, got {training!r}")
    cal = to_date(calibration_end, "calibration_end")
    obs = to_date(observation_end, "observation_end")
    tx = validate_transactions(transactions, observation_end=obs, **columns)
    ev = validate_events(events, observation_end=obs) if events is not None else None
    common = dict(
        time_unit=time_unit,
        windows_days=windows_days,
        clv={"horizon_months": 12, "annual_discount_rate": 0.1},
        columns=columns,
        purchase_model=purchase_model,
        penalizer=penalizer,
        spend_penalizer=spend_penalizer,
    )
    fit = fit_calibration(tx, calibration_end=cal, observation_end=obs, events=ev, **common)
    X, y, bg = fit.X, fit.churned, fit.bg
    horizon_days = fit.spec.horizon_days
    t_hold = horizon_days / (7.0 if time_unit == "W" else 1.0)

    # past cut-offs (out-of-time training rows)
    snaps = TrainingSet.from_fits([], [])
    cutoffs: list[dt.date] = []
    if training != "cross_fit":
        first = tx.timestamp.min().execute()
        cutoffs = snapshot_cutoffs(
            cal,
            horizon_days=horizon_days,
            first_date=pd.Timestamp(first).date(),
            step_days=snapshot_step_days,
            max_snapshots=max_snapshots,
            min_history_days=min_history_days,
        )
        if cutoffs:
            snaps = stacked_snapshots(
                tx, cutoffs=cutoffs, horizon_days=horizon_days, events=ev, **common
            )
            cutoffs = sorted({pd.Timestamp(c).date() for c in snaps.cutoff})
    if training == "out_of_time" and len(snaps) == 0:
        raise CxmlUserError(
            f"training='out_of_time' needs a past cut-off with {min_history_days} days of "
            f"history before it and its {horizon_days}-day label window ending by "
            f"calibration_end {cal}; the data are too short: use training='cross_fit'"
        )
    scheme = training if training != "auto" else ("both" if len(snaps) else "cross_fit")

    churn_kw = {"random_state": random_state, **(churn_params or {})}
    value_kw = {"random_state": random_state, **(value_params or {})}
    spend = fit.holdout_spend
    if scheme == "out_of_time":
        Xs, groups = stack_training(snaps, X.iloc[:0], cal)
        Xc = at_latest_cutoff(X)
        churn_model = ChurnClassifier(**churn_kw).fit(Xs, snaps.y, groups=groups)
        cxml_churn = churn_model.predict_proba(Xc)[:, 1]
        cxml_value = ValueModel(**value_kw).fit(Xs, snaps.spend, groups=groups).predict(Xc)
    else:
        extra = snaps if scheme == "both" else None
        cxml_churn = cross_fit_proba(
            lambda: ChurnClassifier(**churn_kw),
            X,
            y,
            folds=folds,
            seed=random_state,
            extra=extra,
            cutoff=cal,
        )
        cxml_value = cross_fit_predict(
            lambda: ValueModel(**value_kw),
            X,
            y,
            folds=folds,
            seed=random_state,
            extra=extra,
            cutoff=cal,
            target=spend,
            extra_target=snaps.spend,
        )

    f, T = (fit.ch[c].to_numpy(dtype=float) for c in ("frequency_cal", "T_cal"))
    p_alive = X["p_alive"].to_numpy()
    # P(no purchase in (T, T+t] | x, t_x, T) under BG/NBD: dead, or alive with the first
    # waiting time beyond t; E[exp(-lambda t)] under the Gamma(r+x, alpha+T) posterior of
    # lambda (Fader, Hardie & Lee 2005, eq. 5 and the posterior of their section 4).
    # MBG/NBD: an alive customer drops out only at a purchase, so the same expression holds
    # (Batislam, Denizel & Filiztekin 2007); Pareto/NBD has no such closed form here.
    k = purchase_model
    btyd_scores = {f"{k}_p_alive": 1.0 - p_alive}
    if k in ("bgnbd", "mbgnbd"):
        prm = bg.params_
        no_buy_alive = ((prm["alpha"] + T) / (prm["alpha"] + T + t_hold)) ** (prm["r"] + f)
        btyd_scores[f"{k}_p_zero"] = (1.0 - p_alive) + p_alive * no_buy_alive
    btyd_scores[f"{k}_expected"] = -X["expected_purchases"].to_numpy()

    scores = {
        "cxml": cxml_churn,
        **btyd_scores,
        "rfm_logistic": cross_fit_proba(
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
            X[_RFM_COLUMNS],
            y,
            folds=folds,
            seed=random_state,
        ),
        "rfm_lightgbm": cross_fit_proba(
            lambda: ChurnClassifier(**churn_kw), X[_RFM_COLUMNS], y, folds=folds, seed=random_state
        ),
    }
    expected_purchases = X["expected_purchases"].to_numpy()
    btyd_value = expected_purchases * X["expected_average_value"].to_numpy()
    purchases = value_metrics(fit.holdout_purchases, expected_purchases, prefix="purchases_")
    btyd_value_m = value_metrics(spend, btyd_value, prefix="value_")
    cxml_value_m = value_metrics(spend, cxml_value, prefix="value_")
    nan_value = {k: float("nan") for k in btyd_value_m}
    nan_purchases = {k: float("nan") for k in purchases}
    n_train = {
        "cxml": len(snaps) + (len(y) * (folds - 1) // folds if scheme != "out_of_time" else 0)
    }
    rows = {}
    for name, s in scores.items():
        cm = {f"churn_{k}": v for k, v in churn_metrics(y, s).items() if k != "n"}
        if name == "cxml":
            pv = {**purchases, **cxml_value_m}
        elif name.startswith(f"{k}_"):
            pv = {**purchases, **btyd_value_m}
        else:
            pv = {**nan_purchases, **nan_value}
        rows[name] = {
            **cm,
            **pv,
            "n_customers": len(y),
            "n_training_rows": n_train.get(
                name, len(y) * (folds - 1) // folds if name.startswith("rfm") else 0
            ),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    rest = [c for c in table.columns if c not in EVALUATION_COLUMNS]
    table = table[EVALUATION_COLUMNS + rest].astype(
        {"n_customers": "int64", "n_training_rows": "int64"}
    )
    per_customer = pd.DataFrame(
        {
            "churned": y,
            "holdout_purchases": fit.holdout_purchases,
            "holdout_spend": spend,
            **{f"churn_score_{k}": v for k, v in scores.items()},
            "expected_purchases_bgnbd": expected_purchases,
            "value_bgnbd_gg": btyd_value,
            "value_cxml": cxml_value,
        },
        index=X.index,
    )
    table.attrs.update(
        training=scheme, snapshots=[str(c) for c in cutoffs], horizon_days=int(horizon_days)
    )
    return (table, per_customer) if return_scores else table


def evaluation_figures(scores: pd.DataFrame) -> dict:
    """Diagnostic figures of an :func:`evaluate` run.

    Parameters
    ----------
    scores : pandas.DataFrame
        The per-customer frame of ``evaluate(..., return_scores=True)``.

    Returns
    -------
    dict
        ``{"plots/<name>.png": matplotlib Figure}``: churn calibration (probability
        models), cumulative gain and lift (every churn score), predicted vs actual spend by
        decile (cxml value model and BG/NBD x Gamma-Gamma).
    """
    from cxml.evaluation import plot_calibration, plot_decile_value, plot_gain, plot_lift

    y = scores["churned"].to_numpy()
    churn = {
        c.removeprefix("churn_score_"): scores[c].to_numpy()
        for c in scores.columns
        if c.startswith("churn_score_")
    }
    probs = {
        k: v
        for k, v in churn.items()
        if k == "cxml" or k.endswith("_p_zero") or k == "rfm_logistic"
    }
    return {
        "plots/churn_calibration.png": plot_calibration(y, probs),
        "plots/churn_gain.png": plot_gain(y, churn),
        "plots/churn_lift.png": plot_lift(
            y, {k: v for k, v in churn.items() if k == "cxml" or k.endswith("_expected")}
        ),
        "plots/value_deciles.png": plot_decile_value(
            scores["holdout_spend"].to_numpy(),
            {
                "cxml": scores["value_cxml"].to_numpy(),
                "bgnbd_gg": scores["value_bgnbd_gg"].to_numpy(),
            },
        ),
    }


def evaluate_config(config=None, *, tracking_uri: str | None = None, on_step=lambda s: None):
    """Run :func:`evaluate` on a configuration's data and dates and log the table to MLflow.

    Logs the comparison table, every cell as a metric ``<model>.<column>``, the training
    scheme and past cut-offs as parameters, and the figures of :func:`evaluation_figures`.

    Parameters
    ----------
    config : Config, str, Path or None
        A configuration or the path of its YAML file; None uses the packaged CDNOW
        configuration. Its transactions, events, dates, time unit, behaviour windows,
        cross-fitting folds and ``churn.random_state`` are used.
    tracking_uri : str, optional
        Overrides the configuration's; else ``$MLFLOW_TRACKING_URI``; else
        ``sqlite:///mlflow.db``.
    on_step : callable, optional
        Called with a short description as each stage starts (the CLI shows progress).

    Returns
    -------
    (pandas.DataFrame, str, str)
        The comparison table, the MLflow run id and the tracking URI.
    """
    import tempfile

    from cxml import tracking
    from cxml._version import __version__
    from cxml.pipelines._config import Config, load_config
    from cxml.pipelines._data import (
        check_time_config,
        config_artifact,
        load_events,
        load_transactions,
    )

    cfg = config if isinstance(config, Config) else load_config(config)
    if cfg.btyd.covariates is not None:  # refused rather than silently evaluated as plain
        raise CxmlUserError(
            "btyd.covariates: cxml evaluate does not fit covariate models yet (its baselines "
            "and cut-offs would use the plain model); remove btyd.covariates to evaluate, "
            "and read the covariate model's holdout metrics in its cxml train run"
        )
    uri = tracking.resolve_tracking_uri(tracking_uri, cfg.tracking.tracking_uri)
    tracking.check_tracking_uri(uri)
    on_step("loading and validating transactions")
    tx, lineage = load_transactions(cfg.data, observation_end=cfg.time.observation_end)
    check_time_config(cfg.time, lineage)
    events = load_events(cfg.data, observation_end=cfg.time.observation_end)
    on_step("fitting models and baselines (out-of-time cut-offs and cross-fitting)")
    table, scores = evaluate(
        tx,
        calibration_end=cfg.time.calibration_end,
        observation_end=cfg.time.observation_end,
        time_unit=cfg.time.time_unit,
        events=events,
        windows_days=tuple(cfg.churn.windows_days),
        folds=cfg.churn.cv_folds,
        random_state=cfg.churn.random_state,
        return_scores=True,
        purchase_model=cfg.btyd.purchase_model,
        penalizer=cfg.btyd.penalizer,
        spend_penalizer=cfg.btyd.spend_penalizer,
    )
    on_step("logging the comparison to MLflow")
    with tracking.TrackedRun(
        uri,
        cfg.tracking.experiment,
        run_name=f"{cfg.name}-evaluate",
        tags={"cxml.version": __version__, "cxml.pipeline": "evaluate", "cxml.config": cfg.name},
    ) as run:
        from cxml.pipelines._train import run_params

        run.log_params(run_params(cfg, lineage))
        run.set_tags(tracking.library_versions())
        run.log_dataset(lineage, name=f"{cfg.name}-transactions", context="evaluation")
        with tempfile.TemporaryDirectory() as tmp:  # the config, passwords masked
            config_path = config_artifact(cfg, tmp)
            if config_path:
                run.log_artifact(config_path, "config")
        run.log_params(
            {
                "time.calibration_end": str(cfg.time.calibration_end),
                "time.observation_end": str(cfg.time.observation_end),
                "time.time_unit": cfg.time.time_unit,
                "evaluate.training": table.attrs.get("training"),
                "evaluate.snapshots": ",".join(table.attrs.get("snapshots", [])),
            }
        )
        # the same names as a training run: the cxml model's metrics bare (churn_auc),
        # a baseline's prefixed by its name (bgnbd_expected_churn_auc)
        run.log_metrics(
            {
                col if model == "cxml" else f"{model}_{col}": val
                for model, row in table.iterrows()
                for col, val in row.items()
            }
        )
        run.log_table(table, "evaluation")
        for name, fig in evaluation_figures(scores).items():
            run.log_figure(fig, name)
    return table, run.run_id, uri
