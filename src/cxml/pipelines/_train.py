"""``train``: data -> features -> BTYD + churn models -> evaluation -> segments -> MLflow."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml._version import __version__
from cxml.evaluation import churn_metrics, value_metrics
from cxml.models import ChurnClassifier
from cxml.pipelines._bundle import ModelBundle
from cxml.pipelines._config import Config, load_config
from cxml.pipelines._core import (
    at_latest_cutoff,
    cross_fit_proba,
    day_after,
    fit_calibration,
    snapshot_cutoffs,
    stack_training,
    stacked_snapshots,
)
from cxml.pipelines._customer_features import feature_contract
from cxml.pipelines._customers import covariate_spec
from cxml.pipelines._data import (
    check_time_config,
    config_artifact,
    load_customer_attributes,
    load_events,
    load_transactions,
)
from cxml.pipelines._data_report import report_metrics
from cxml.pipelines._segmenting import assign_segments, segment_thresholds

__all__ = [
    "TrainResult",
    "bound_parameter_warnings",
    "coefficient_metrics",
    "holdout_metrics",
    "run_params",
    "train",
]

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes
    ----------
    bundle : ModelBundle
        The fitted models and scoring settings (also saved in ``model_dir``).
    metrics : dict
        Holdout metrics (churn metrics are cross-fitted: no customer's own label is used
        for that customer's prediction).
    scores : pandas.DataFrame
        Per-customer training scores and segments at ``calibration_end``.
    segment_summary : pandas.DataFrame
        One row per value x risk segment of ``scores`` (see
        :func:`cxml.segments.segment_summary`).
    model_dir : Path
        The MLflow model directory written.
    run_id : str or None
        The MLflow run's id.
    tracking_uri : str
        The tracking store the run was logged to.
    logging_failures : list of str
        What could not be logged to MLflow after the run started (empty when everything
        was logged); the model in ``model_dir`` is complete either way.
    data_report : dict
        What the read and feature policies did to the input (rows, guest rows dropped,
        duplicates, returns netted, zero-value days, customers excluded, the policies);
        see :func:`cxml.features.calibration_holdout`. Also logged to the run.
    warnings : list of str
        Problems the user should act on, e.g. BTYD parameters at the optimiser's bound
        with the penalizer that fixes them (also the run's ``cxml.warnings`` tag).
    """

    bundle: ModelBundle
    metrics: dict
    scores: pd.DataFrame
    segment_summary: pd.DataFrame
    model_dir: Path
    run_id: str | None
    tracking_uri: str
    logging_failures: list[str] = field(default_factory=list)
    data_report: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _noop(step: str) -> None:
    pass


def train(
    config: Config | str | Path | None = None,
    *,
    tracking_uri: str | None = None,
    model_dir: str | Path | None = None,
    on_step: Callable[[str], None] = _noop,
) -> TrainResult:
    """Train every model of a configuration, evaluate on the holdout and log one MLflow run.

    Parameters
    ----------
    config : Config, path or None
        ``None`` uses the packaged CDNOW configuration (``configs/cdnow.yaml``).
    tracking_uri : str, optional
        Overrides the config; else ``$MLFLOW_TRACKING_URI``; else ``sqlite:///mlflow.db``.
    model_dir : str or Path, optional
        Overrides ``output.model_dir``.
    on_step : callable, optional
        Called with a short description as each stage starts (the CLI shows progress).

    Returns
    -------
    TrainResult
        The bundle, holdout metrics, per-customer scores, segment summary, model
        directory and MLflow run.
    """
    from cxml import tracking  # imported here: mlflow is slow to import

    cfg = config if isinstance(config, Config) else load_config(config)
    uri = tracking.resolve_tracking_uri(tracking_uri, cfg.tracking.tracking_uri)
    tracking.check_tracking_uri(uri)  # fail fast, before heavy work
    t = cfg.time

    on_step("loading and validating transactions")
    tx, lineage = load_transactions(cfg.data, observation_end=t.observation_end)
    check_time_config(t, lineage)
    events = load_events(cfg.data, observation_end=t.observation_end) if cfg.data.events else None
    # btyd.covariates: the customers' attributes (every calibration customer needs a row)
    customers = load_customer_attributes(cfg)
    covariates = (
        cfg.btyd.covariates.model_dump()
        if customers is not None and cfg.btyd.covariates is not None
        else None
    )

    columns = cfg.data.columns.model_dump(exclude_none=True)
    event_columns = cfg.data.event_columns.model_dump()
    fit = fit_calibration(
        tx,
        calibration_end=t.calibration_end,
        observation_end=t.observation_end,
        time_unit=t.time_unit,
        windows_days=cfg.churn.windows_days,
        penalizer=cfg.btyd.penalizer,
        spend_penalizer=cfg.btyd.spend_penalizer,
        clv=cfg.clv.model_dump(),
        columns=columns,
        event_columns=event_columns,
        events=events,
        purchase_model=cfg.btyd.purchase_model,
        on_step=on_step,
        covariates=covariates,
        customers=customers,
    )
    bound_warnings = bound_parameter_warnings(fit.bg, fit.gg)
    for w in bound_warnings:
        logger.warning(w)
    ch, bg, gg, X, spec, clv_cfg = fit.ch, fit.bg, fit.gg, fit.X, fit.spec, fit.clv
    churned, holdout_purchases, holdout_spend = (
        fit.churned,
        fit.holdout_purchases,
        fit.holdout_spend,
    )

    # Out-of-time training rows: past cut-offs whose label windows end by calibration_end,
    # each built as if it were "now" (BTYD refitted, features from data up to that cut-off).
    cutoffs = snapshot_cutoffs(
        t.calibration_end,
        horizon_days=spec.horizon_days,
        first_date=dt.date.fromisoformat(lineage["first_date"]),
        step_days=cfg.churn.snapshot_step_days,
        max_snapshots=cfg.churn.max_snapshots,
        min_history_days=cfg.churn.min_history_days,
    )
    snaps = None
    if not cutoffs:
        on_step("no past cut-off has enough history: cross-fitting only")
    else:
        on_step(f"building {len(cutoffs)} out-of-time training snapshots")
        snaps = stacked_snapshots(
            tx,
            cutoffs=cutoffs,
            horizon_days=spec.horizon_days,
            time_unit=t.time_unit,
            windows_days=cfg.churn.windows_days,
            penalizer=cfg.btyd.penalizer,
            spend_penalizer=cfg.btyd.spend_penalizer,
            clv=clv_cfg,
            columns=columns,
            event_columns=event_columns,
            events=events,
            purchase_model=cfg.btyd.purchase_model,
            covariates=covariates,
            customers=customers,
        )
        if len(snaps.y) == 0:
            snaps = None

    on_step(
        f"training the churn model ({cfg.churn.cv_folds}-fold cross-fitting"
        + (f" + {len(cutoffs)} past cut-offs)" if snaps is not None else ")")
    )
    params: dict[str, Any]  # mixed value types, checked by ChurnClassifier
    params = dict(
        n_estimators=cfg.churn.n_estimators,
        learning_rate=cfg.churn.learning_rate,
        num_leaves=cfg.churn.num_leaves,
        min_child_samples=cfg.churn.min_child_samples,
        calibration=cfg.churn.calibration,
        random_state=cfg.churn.random_state,
    )
    # churn.max_training_customers: the churn model trains on a fixed-seed customer sample
    # (BTYD already fitted every customer from compressed sufficient statistics)
    sample = churn_sample(len(X), cfg.churn.max_training_customers, cfg.churn.random_state)
    X_fit, y_fit = (X, churned) if sample is None else (X.iloc[sample], np.asarray(churned)[sample])
    oof = cross_fit_proba(
        lambda: ChurnClassifier(**params),
        X_fit,
        y_fit,
        folds=cfg.churn.cv_folds,
        seed=cfg.churn.random_state,
        extra=snaps,
        cutoff=t.calibration_end if snaps is not None else None,
    )
    if snaps is None:
        churn_model = ChurnClassifier(**params).fit(X_fit, y_fit)
    else:
        X_all, groups = stack_training(snaps, X_fit, t.calibration_end)
        churn_model = ChurnClassifier(**params).fit(X_all, np.r_[snaps.y, y_fit], groups=groups)
    if sample is not None:  # customers outside the sample: the final model never saw them
        rest = np.setdiff1d(np.arange(len(X)), sample)
        full = np.empty(len(X))
        full[sample] = oof
        X_rest = X.iloc[rest] if snaps is None else at_latest_cutoff(X.iloc[rest])
        full[rest] = churn_model.predict_proba(X_rest)[:, 1]
        oof = full

    # the trained contract: every column of the churn model, its dtype, levels and fill
    spec = feature_contract(spec, X, churn_model.feature_names_in_, events=events).model_copy(
        update={
            "timestamp_format": cfg.data.timestamp_format,  # read policies travel along
            "null_customer_id": cfg.data.null_customer_id,
            # the purchase model's covariates: scoring needs the customers table
            "covariates": covariate_spec(bg, customer_id=cfg.data.customer_columns.customer_id),
        }
    )

    on_step("evaluating on the holdout")
    metrics = holdout_metrics(
        X,
        churned,
        oof,
        holdout_purchases,
        holdout_spend,
        bg=bg,
        gg=gg,
        prefix=cfg.btyd.purchase_model,
    )
    metrics.update(coefficient_metrics(bg, prefix=cfg.btyd.purchase_model))

    on_step("assigning segments")
    scores = X[
        [
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "p_alive",
            "expected_purchases",
            "expected_average_value",
            "clv",
        ]
    ].copy()
    scores["churn_probability"] = oof
    thresholds = segment_thresholds(scores, cfg.segments)
    scores = assign_segments(scores, thresholds)
    scores["churned_holdout"] = churned
    scores["holdout_purchases"] = holdout_purchases
    scores["holdout_spend"] = holdout_spend
    ev_summary = None
    if events is not None:  # survey answers up to the cut-off give NPS / CSAT / CES per segment
        ev = events.filter(events.timestamp < day_after(t.calibration_end))
        ev_summary = ev.select("customer_id", "event_type", "value").to_pandas()
    summary = _segment_summary(scores, ev_summary)

    bundle = ModelBundle(
        purchase_model=bg,
        spend_model=gg,
        churn_model=churn_model,
        spec=spec,
        clv=clv_cfg,
        segments=thresholds,
        info={
            "name": cfg.name,
            "calibration_end": str(t.calibration_end),
            "observation_end": str(t.observation_end),
            "trained_with": __version__,
            "n_customers": int(len(ch)),
            "metrics": metrics,
            "churn_training_customers": int(len(X) if sample is None else len(sample)),
        },
    )

    on_step("saving the model and logging the MLflow run")
    out_dir = Path(model_dir or cfg.output.model_dir)
    figures = _diagnostic_figures(tx, fit, oof, t)
    # explanations are of the training customers as the model sees them at the cut-off
    X_model = X if snaps is None else at_latest_cutoff(X)
    result = _save_and_log(
        cfg,
        bundle,
        X_model,
        uri,
        out_dir,
        lineage,
        metrics,
        scores,
        summary,
        figures,
        data_report=ch.attrs.get("report", {}),
        warnings=bound_warnings,
        customers=customers,
    )
    return result


def churn_sample(n: int, max_customers: int | None, seed: int) -> np.ndarray | None:
    """Sorted positions of the churn model's training customers: ``max_customers`` of the
    ``n`` drawn without replacement with ``seed``, or None (all) when not fewer than ``n``.

    Examples
    --------
    >>> churn_sample(5, 3, 0).tolist() == sorted(churn_sample(5, 3, 0).tolist())
    True
    >>> churn_sample(5, None, 0) is None, churn_sample(5, 9, 0) is None
    (True, True)
    """
    if max_customers is None or max_customers >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=max_customers, replace=False))


def bound_parameter_warnings(purchase_model, spend_model) -> list[str]:
    """One line per fitted BTYD model with parameters at the optimiser's bound.

    Such a parameter is not identified by the data (``params_at_bound_``); the remedy is
    a penalizer (``btyd.penalizer`` / ``btyd.spend_penalizer``) or more history.

    Returns
    -------
    list of str
        Empty when every parameter is interior.
    """
    out = []
    for model, key in ((purchase_model, "btyd.penalizer"), (spend_model, "btyd.spend_penalizer")):
        bound = tuple(getattr(model, "params_at_bound_", ()))
        if bound:
            out.append(
                f"{type(model).__name__}: parameter(s) {', '.join(bound)} at the "
                f"optimiser's bound (not identified by the data); set {key}: 0.01 "
                "(or more) in the configuration, or use more history"
            )
    return out


def holdout_metrics(
    X, churned, oof, holdout_purchases, holdout_spend, *, bg, gg, prefix: str = "bgnbd"
) -> dict:
    """The holdout metric suite of a training run (churn, purchases, value, BTYD fits).

    Purchase-model quantities are named after its family (``bgnbd_r``,
    ``pnbd_log_likelihood``, ``pnbd_expected_churn_auc``).
    """
    m: dict[str, float] = {}
    for k, v in churn_metrics(churned, oof).items():
        m[f"churn_{k}"] = v
    # BTYD baselines: a customer who is alive / expected to buy is less likely to churn.
    m[f"{prefix}_p_alive_churn_auc"] = churn_metrics(churned, 1 - X["p_alive"])["auc"]
    m[f"{prefix}_expected_churn_auc"] = churn_metrics(churned, -X["expected_purchases"])["auc"]
    m.update(value_metrics(holdout_purchases, X["expected_purchases"], prefix="purchases_"))
    # 12-month CLV is compared with spend over the holdout, so the aggregate error is of
    # E[Y(holdout)] x E[M] (same horizon) rather than of the discounted CLV.
    exp_spend = X["expected_purchases"] * X["expected_average_value"]
    m.update(value_metrics(holdout_spend, exp_spend, prefix="value_"))
    for name, model in ((prefix, bg), ("gg", gg)):
        m.update({f"{name}_{k}": v for k, v in model.params_.items()})
        m[f"{name}_log_likelihood"] = model.log_likelihood_
        m[f"{name}_params_at_bound"] = float(len(getattr(model, "params_at_bound_", ())))
        for k, v in model.standard_errors_.items():
            m[f"{name}_{k}_se"] = v
    m["n_customers"] = float(len(churned))
    m["clv_total"] = float(X["clv"].sum())
    return m


def _segment_summary(scores: pd.DataFrame, events: pd.DataFrame | None) -> pd.DataFrame:
    from cxml.segments import segment_summary

    return segment_summary(
        scores,
        segment="segment",
        clv="clv",
        churn_probability="churn_probability",
        churned="churned_holdout",
        events=events,
    )


def _save_and_log(
    cfg,
    bundle,
    X,
    uri,
    out_dir,
    lineage,
    metrics,
    scores,
    summary,
    figures,
    *,
    data_report: dict,
    warnings: Sequence[str] = (),
    customers: pd.DataFrame | None = None,
) -> TrainResult:
    from cxml import tracking

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bundle_dir = bundle.save(tmp / "bundle")
        config_path = config_artifact(cfg, tmp)  # passwords masked
        example_in, example_out, as_of = _signature_example(cfg.data, bundle, customers)
        tracking.save_pyfunc_model(
            bundle_dir,
            out_dir,
            python_model=_pyfunc_entry(),
            input_example=example_in,
            output_example=example_out,
            as_of=as_of,
            config_path=config_path,
        )
        scores_path = tmp / "segments.parquet"
        scores.to_parquet(scores_path)
        report_path = _training_report(bundle, scores, X, tmp / "report.html")
        with tracking.TrackedRun(
            uri,
            cfg.tracking.experiment,
            run_name=cfg.name,
            tags={"cxml.version": __version__, "cxml.pipeline": "train", "cxml.config": cfg.name},
        ) as run:
            run.log_params(run_params(cfg, lineage))
            # the churn model's customer sample (churn.max_training_customers), stated
            run.log_params(
                {"churn.training_customers": bundle.info.get("churn_training_customers")}
            )
            run.set_tags(tracking.library_versions())
            run.log_dataset(lineage, name=f"{cfg.name}-transactions")
            run.log_metrics(metrics)
            run.log_metrics(report_metrics(data_report))
            run.log_dict(data_report, "data_report.json")
            if warnings:  # e.g. parameters at the optimiser's bound, with the remedy
                run.set_tags({"cxml.warnings": " | ".join(warnings)})
            if config_path:
                run.log_artifact(config_path, "config")
            run.log_table(summary, "segment_summary")
            if bundle.spec.covariates is not None:  # baseline + coefficients, multipliers
                run.log_table(
                    bundle.purchase_model.summary().rename_axis("parameter"),
                    "purchase_model_summary",
                )
            run.log_artifact(scores_path, "segments")
            run.log_model_dir(out_dir)
            # gain importances and SHAP values of the training customers at the cut-off
            explain_dir = tmp / "explanations"
            bundle.churn_model.save_explanations(X, explain_dir)
            for f in sorted(explain_dir.iterdir()):
                run.log_artifact(f, "explanations")
            _log_figures(run, summary, scores, figures)
            run.log_artifact(report_path, "report")
    return TrainResult(
        bundle=bundle,
        metrics=metrics,
        scores=scores,
        segment_summary=summary,
        model_dir=out_dir,
        run_id=run.run_id,
        tracking_uri=uri,
        logging_failures=run.failures,
        data_report=data_report,
        warnings=list(warnings),
    )


def _training_report(bundle, scores: pd.DataFrame, X: pd.DataFrame, path: Path) -> Path:
    """The HTML report (:mod:`cxml.reporting`) of the training customers as of the cut-off:
    cross-fitted churn probabilities, holdout churn as the actual, SHAP drivers of ``X``."""
    from cxml.reporting import write_report

    rows = (
        scores.rename_axis("customer_id")
        .reset_index()
        .assign(as_of=bundle.info["calibration_end"], model_version=bundle.model_version)
    )
    return write_report(
        rows,
        bundle,
        path,
        churned="churned_holdout",
        features=X,
        title=f"Training report: {bundle.info.get('name', '')} (holdout)",
    )


def _pyfunc_entry() -> Path:
    """The models-from-code file of cxml's pyfunc model (see :mod:`cxml.pipelines._pyfunc`)."""
    return Path(str(resources.files("cxml.pipelines").joinpath("_pyfunc_entry.py")))


def _signature_example(data_cfg, bundle, customers=None, n_customers: int = 5):
    """Transactions of a few customers exactly as the user holds them (their column names
    and types) and the scores they get, for the MLflow model signature and input example.
    With covariates, each row also carries its customer's attributes (the pyfunc model
    reads them from there, see :mod:`cxml.pipelines._pyfunc`)."""
    from cxml.pipelines._data import raw_rows
    from cxml.pipelines._score import score

    rows = raw_rows(data_cfg, n=200)
    id_col = bundle.spec.columns.get("customer_id", "customer_id")
    cov = bundle.spec.covariates
    if cov is not None and customers is not None:  # customers with attributes only
        rows = rows[rows[id_col].astype(str).isin(customers.index.astype(str))]
    keep = rows[id_col].drop_duplicates().iloc[:n_customers]
    example = rows[rows[id_col].isin(keep)].reset_index(drop=True)
    as_of = str(pd.Timestamp(bundle.info["observation_end"]).date())
    kw = {}
    if cov is not None and customers is not None:
        from cxml.pipelines._customers import covariates_for

        attrs = covariates_for(customers, pd.Index(example[id_col]), name="data.customers")
        for c in cov.names:
            example[c] = attrs[c].to_numpy()
        kw["customers"] = attrs.rename_axis(cov.customer_id).reset_index().drop_duplicates()
    # a handful of customers, some long lapsed, scored as of the training end on purpose
    out = score(example, model=bundle, as_of=as_of, allow_stale_as_of=True, **kw)
    return example, out, as_of


def coefficient_metrics(purchase_model, *, prefix: str) -> dict:
    """The fitted covariate effects as MLflow metrics: ``<prefix>_<param>_<column>`` (the
    coefficient), ``..._multiplier`` (its exp) and ``..._se``; empty without covariates.

    Design columns such as ``channel=web`` are named ``channel_web`` (MLflow metric names
    allow letters, digits, ``_ - . /`` and spaces only).
    """
    import re

    coefs = getattr(purchase_model, "coefficients_", None)
    if coefs is None:
        return {}
    out: dict[str, float] = {}
    ses = purchase_model.coefficient_standard_errors_
    for p, cols in coefs.items():
        for col, g in cols.items():
            key = f"{prefix}_{p}_{re.sub(r'[^0-9A-Za-z_./ -]', '_', col)}"
            out[key] = float(g)
            out[f"{key}_multiplier"] = float(np.exp(g))
            out[f"{key}_se"] = float(ses[p][col])
    return out


def _diagnostic_figures(tx, fit, oof, t) -> dict:
    """BTYD diagnostics (holdout by frequency, P(alive) and frequency/recency matrices,
    tracking plot) and churn curves (ROC, precision-recall, calibration, lift)."""
    from cxml import evaluation as ev

    ch, X, bg = fit.ch, fit.X, fit.bg
    unit = 7.0 if t.time_unit == "W" else 1.0
    T_max = float(ch["T_cal"].max())
    max_f = int(min(max(ch["frequency_cal"].quantile(0.99), 1), 30))
    # Daily counts for the tracking plot, aggregated in the backend (never one row per purchase).
    days = tx.select("customer_id", day=tx.timestamp.date()).distinct()
    first = days.group_by("customer_id").aggregate(first=days.day.min())
    first = first.filter(first.first <= t.calibration_end)
    new = first.group_by("first").aggregate(n=first.count()).to_pandas()
    joined = days.join(first, "customer_id")
    repeat_days = joined.filter(joined.day > joined.first)
    repeat = repeat_days.group_by("day").aggregate(n=repeat_days.count()).to_pandas()
    churn_scores = {
        "cxml": oof,
        "BG/NBD 1 - P(alive)": 1 - X["p_alive"].to_numpy(),
        "BG/NBD -E[Y]": -X["expected_purchases"].to_numpy(),
    }
    churn = {
        "churn/roc.png": ev.plot_roc(fit.churned, churn_scores),
        "churn/precision_recall.png": ev.plot_precision_recall(fit.churned, churn_scores),
        "churn/calibration.png": ev.plot_calibration(fit.churned, {"cxml": oof}),
        "churn/lift.png": ev.plot_lift(fit.churned, {"cxml": oof}),
    }
    holdout = {
        "btyd/holdout_by_frequency.png": ev.plot_holdout_by_frequency(
            ch["frequency_cal"], ch["frequency_holdout"], X["expected_purchases"]
        ),
    }
    if getattr(bg, "coefficients_", None) is not None:
        # the matrices and the tracking plot are of one population (no covariates): a
        # covariate model has one per combination of attributes, so they are left out
        return {**holdout, **churn}
    return {
        **holdout,
        "btyd/probability_alive_matrix.png": ev.plot_probability_alive_matrix(
            bg, max_frequency=max_f, T=T_max
        ),
        "btyd/frequency_recency_matrix.png": ev.plot_frequency_recency_matrix(
            bg, t=fit.spec.horizon_days / unit, max_frequency=max_f, T=T_max
        ),
        "btyd/cumulative_purchases.png": ev.plot_cumulative_purchases(
            new.set_index("first")["n"],
            repeat.set_index("day")["n"],
            bg,
            time_unit=t.time_unit,
            calibration_end=t.calibration_end,
            end=t.observation_end,
        ),
        **churn,
    }


def _log_figures(run, summary, scores, figures) -> None:
    from cxml.segments import plot_segment_sizes, plot_value_risk_heatmap

    for name, fig in figures.items():
        run.log_figure(fig, f"plots/{name}")

    run.log_figure(plot_segment_sizes(summary), "plots/segment_sizes.png")
    run.log_figure(plot_value_risk_heatmap(scores), "plots/value_risk_heatmap.png")


def run_params(cfg: Config, lineage: dict) -> dict:
    """The MLflow parameters of a run: the configuration and the data lineage, flattened.

    Parameters
    ----------
    cfg : Config
    lineage : dict
        As returned by the data loader (``source``, ``sha256``, ``rows``, ...), logged
        under ``data.``.

    Returns
    -------
    dict
        ``{"time.calibration_end": ..., "data.rows": ..., ...}``; lists become
        comma-separated strings.
    """
    from cxml import tracking

    out = tracking.flatten_params(cfg.model_dump(mode="json", exclude={"source_path"}))
    out.update(tracking.flatten_params(lineage, prefix="data."))
    return out
