"""``compare``: candidate models x rolling-origin cut-offs, one metric suite, a leaderboard.

Every candidate is the configuration with the overrides of one ``compare.candidates``
entry (btyd, churn or clv settings), so all of them are scored on the same customers at the
same cut-offs. Cut-off ``k`` (0, 1, ...) moves calibration_end and observation_end back by
``k`` holdout lengths; a cut-off without enough history is skipped and reported.

At each cut-off the calibration/holdout table and the transaction features are built once
and shared by the candidates (only the BTYD models and their four feature columns differ,
:func:`cxml.pipelines._customer_features.with_btyd_outputs`). Each candidate's churn model
is scored by customer-level cross-fitting at that cut-off (``churn.cv_folds`` folds), so no
customer's own holdout label is used for that customer's prediction.

Paired bootstrap (how "better" is told from noise): customers are resampled with
replacement ``compare.bootstrap`` times (seed ``compare.seed``); every candidate is
evaluated on the same resamples, and the 2.5 % and 97.5 % quantiles of
``metric(candidate) - metric(best)`` over the resamples give the 95 % percentile interval
(Efron & Tibshirani 1993, ch. 13). The best candidate is that with the highest mean over
cut-offs. An interval that contains 0 says the data cannot tell the two apart. Predictions
are held fixed (models are not refitted per resample), so the interval reflects which
customers happen to be in the holdout, not the refitting noise.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone

from cxml.exceptions import ConfigError, CxmlUserError, DataValidationError
from cxml.models import ChurnClassifier
from cxml.pipelines._bundle import PURCHASE_MODELS
from cxml.pipelines._config import Config, candidate_configs, load_config
from cxml.pipelines._core import (
    CalibrationFit,
    before,
    cross_fit_proba,
    day_after,
    fit_calibration,
)
from cxml.pipelines._data import check_time_config, load_events, load_transactions
from cxml.pipelines._train import TrainResult, bound_parameter_warnings, holdout_metrics

__all__ = [
    "LEADERBOARD_COLUMNS",
    "SELECT_METRICS",
    "SUMMARY_METRICS",
    "CompareResult",
    "compare",
    "comparison_figures",
    "paired_bootstrap",
    "selection_reason",
    "summarise",
]

logger = logging.getLogger(__name__)

#: Holdout metrics of the suite, copied by name from the evaluation of each candidate.
_HOLDOUT_METRICS = (
    "purchases_mae",
    "purchases_rmse",
    "purchases_spearman",
    "purchases_aggregate_error",
    "churn_auc",
    "churn_pr_auc",
    "churn_brier",
    "value_spearman",
    "value_gini",
    "value_aggregate_error",
)

#: Columns of the leaderboard, one row per (candidate, cutoff).
LEADERBOARD_COLUMNS = [
    "candidate",
    "cutoff",
    "purchase_model",
    "penalizer",
    "log_likelihood",
    "aic",
    "bic",
    "n_params",
    "params_at_bound",
    "holdout_purchases_actual",
    "holdout_purchases_predicted",
    *_HOLDOUT_METRICS,
    "n_customers",
    "churn_auc_diff",
    "churn_auc_diff_low",
    "churn_auc_diff_high",
    "value_gini_diff",
    "value_gini_diff_low",
    "value_gini_diff_high",
]

#: Metrics ``select=`` accepts, with +1 when higher is better and -1 when lower is.
SELECT_METRICS = {
    "log_likelihood": 1,
    "aic": -1,
    "bic": -1,
    "purchases_mae": -1,
    "purchases_rmse": -1,
    "purchases_spearman": 1,
    "churn_auc": 1,
    "churn_pr_auc": 1,
    "churn_brier": -1,
    "value_spearman": 1,
    "value_gini": 1,
}

#: Metrics summarised over cut-offs (mean and standard deviation).
SUMMARY_METRICS = [
    "log_likelihood",
    "aic",
    "bic",
    "holdout_purchases_actual",
    "holdout_purchases_predicted",
    "purchases_mae",
    "purchases_rmse",
    "purchases_spearman",
    "churn_auc",
    "churn_pr_auc",
    "churn_brier",
    "value_spearman",
    "value_gini",
    "value_aggregate_error",
]


@dataclass
class CompareResult:
    """What a comparison produced.

    Attributes
    ----------
    leaderboard : pandas.DataFrame
        One row per (candidate, cutoff), columns :data:`LEADERBOARD_COLUMNS`.
    summary : pandas.DataFrame
        One row per candidate (index ``candidate``): ``n_cutoffs`` and the mean and
        standard deviation over cut-offs (``<metric>_mean``, ``<metric>_std``) of
        :data:`SUMMARY_METRICS`.
    cutoffs : list of str
        Calibration ends of the cut-offs used, newest first (YYYY-MM-DD).
    skipped : list of str
        One line per cut-off skipped, with the reason.
    best : dict
        ``{"churn_auc": name, "value_gini": name}``: the reference of the bootstrap.
    scores : dict
        ``{(candidate, cutoff): DataFrame}`` of per-customer outcomes and predictions
        (``churned``, ``churn_probability``, ``holdout_purchases``,
        ``expected_purchases``, ``holdout_spend``, ``expected_spend``).
    fits : dict
        ``{(candidate, cutoff): CalibrationFit}`` of the newest cut-off.
    run_id, tracking_uri : str or None
        The parent MLflow run (None when not logged).
    selected : str or None
        The candidate trained with ``select=``.
    train_result : TrainResult or None
        Its training run.
    selection : dict
        Why it won (:func:`selection_reason`): the tags of its training run, which
        ``cxml compare --register`` also sets on the registered model version.
    """

    leaderboard: pd.DataFrame
    summary: pd.DataFrame
    cutoffs: list[str]
    skipped: list[str]
    best: dict
    scores: dict = field(repr=False, default_factory=dict)
    fits: dict = field(repr=False, default_factory=dict)
    run_id: str | None = None
    tracking_uri: str | None = None
    selected: str | None = None
    train_result: TrainResult | None = None
    selection: dict = field(default_factory=dict)


def _noop(step: str) -> None:
    pass


def _estimators(c: Config):
    """The candidate's unfitted purchase and churn estimators (``set_params`` on defaults)."""
    purchase = PURCHASE_MODELS[c.btyd.purchase_model]().set_params(penalizer=c.btyd.penalizer)
    churn = ChurnClassifier()
    names = churn.get_params()
    churn.set_params(**{k: v for k, v in c.churn.model_dump().items() if k in names})
    return purchase, churn


def compare(
    config: Config | str | Path | None = None,
    *,
    tracking_uri: str | None = None,
    select: str | None = None,
    log: bool = True,
    on_step: Callable[[str], None] = _noop,
) -> CompareResult:
    """Backtest every candidate of ``config.compare`` at each cut-off and rank them.

    See the module docstring for the cut-offs, the shared features, the cross-fitted
    churn scores and the paired bootstrap.

    Parameters
    ----------
    config : Config, path or None
        Needs a ``compare:`` section (:class:`~cxml.pipelines._config.CompareConfig`).
    tracking_uri : str, optional
        Overrides the config; else ``$MLFLOW_TRACKING_URI``; else ``sqlite:///mlflow.db``.
    select : str, optional
        A metric of :data:`SELECT_METRICS`: the candidate with the best mean over
        cut-offs is then trained on the full configuration (:func:`cxml.pipelines.train`)
        and its run tagged with why it won.
    log : bool, default True
        Log a parent MLflow run with one nested run per candidate.
    on_step : callable, optional
        Called with a short description as each stage starts.

    Returns
    -------
    CompareResult
        The leaderboard and its summary, the cut-offs used and skipped, the best
        candidates, the per-customer scores, the MLflow run and the selected model.

    Raises
    ------
    ConfigError
        No ``compare:`` section.
    CxmlUserError
        ``select`` is not a metric of :data:`SELECT_METRICS`; no cut-off has enough data.
    """
    from cxml import tracking

    cfg = config if isinstance(config, Config) else load_config(config)
    if cfg.compare is None:
        where = cfg.source_path or "the configuration"
        raise ConfigError(
            f"{where} has no compare: section; add one with candidates, e.g. "
            "compare: {candidates: [{name: bgnbd}, {name: pnbd, btyd: "
            "{purchase_model: pnbd}}]}"
        )
    if select is not None and select not in SELECT_METRICS:
        raise CxmlUserError(
            f"--select {select!r} is not a leaderboard metric; use one of "
            f"{', '.join(SELECT_METRICS)}"
        )
    uri = tracking.resolve_tracking_uri(tracking_uri, cfg.tracking.tracking_uri)
    if log or select:
        tracking.check_tracking_uri(uri)
    t = cfg.time
    candidates = candidate_configs(cfg)
    with_covariates = [n for n, c in candidates if c.btyd.covariates is not None]
    if with_covariates:  # refused rather than silently compared as plain models
        raise ConfigError(
            f"compare: candidate(s) {', '.join(with_covariates)} use btyd.covariates, which "
            "cxml compare does not fit yet (it would compare the plain models); remove "
            "btyd.covariates for the comparison and train the covariate model with cxml train"
        )

    on_step("loading and validating transactions")
    tx, lineage = load_transactions(cfg.data, observation_end=t.observation_end)
    check_time_config(t, lineage)
    events = load_events(cfg.data, observation_end=t.observation_end) if cfg.data.events else None
    columns = cfg.data.columns.model_dump(exclude_none=True)
    event_columns = cfg.data.event_columns.model_dump()
    first = dt.date.fromisoformat(lineage["first_date"])
    step = dt.timedelta(days=t.holdout_days)

    rows, scores, used, skipped, fits = [], {}, [], [], {}
    for k in range(cfg.compare.cutoffs):
        cal, obs = t.calibration_end - k * step, t.observation_end - k * step
        if cal < first:
            skipped.append(f"cut-off {cal}: before the first transaction ({first})")
            continue
        on_step(f"cut-off {cal}: building features once for {len(candidates)} candidates")
        end = day_after(obs)
        tx_k = before(tx, end) if k else tx
        ev_k = (before(events, end, kind="events") if k else events) if events is not None else None
        shared: dict[str, CalibrationFit] = {}
        try:
            cut_rows = []
            for name, c in candidates:
                purchase, churn = _estimators(c)
                key = json.dumps([c.churn.windows_days])  # what the shared features depend on
                on_step(f"cut-off {cal}: {name}")
                fit = fit_calibration(
                    tx_k,
                    calibration_end=cal,
                    observation_end=obs,
                    time_unit=t.time_unit,
                    windows_days=c.churn.windows_days,
                    spend_penalizer=c.btyd.spend_penalizer,
                    clv=c.clv.model_dump(),
                    columns=columns,
                    event_columns=event_columns,
                    events=ev_k,
                    purchase_model=purchase,
                    reuse=shared.get(key),
                )
                shared.setdefault(key, fit)
                for w in bound_parameter_warnings(fit.bg, fit.gg):
                    logger.warning("compare: candidate %s at cut-off %s: %s", name, cal, w)
                oof = cross_fit_proba(
                    lambda churn=churn: clone(churn),  # bound now: called in this loop
                    fit.X,
                    fit.churned,
                    folds=c.churn.cv_folds,
                    seed=c.churn.random_state,
                )
                cut_rows.append(_row(name, c, cal, fit, oof))
                if k == 0:  # the overlay plots are of the newest cut-off
                    fits[(name, str(cal))] = fit
                scores[(name, str(cal))] = pd.DataFrame(
                    {
                        "churned": fit.churned,
                        "churn_probability": oof,
                        "holdout_purchases": fit.holdout_purchases,
                        "expected_purchases": fit.X["expected_purchases"].to_numpy(),
                        "holdout_spend": fit.holdout_spend,
                        "expected_spend": (
                            fit.X["expected_purchases"] * fit.X["expected_average_value"]
                        ).to_numpy(),
                    },
                    index=fit.X.index,
                )
        except DataValidationError as exc:
            if k == 0:
                raise
            skipped.append(f"cut-off {cal}: {exc}")
            continue
        rows.extend(cut_rows)
        used.append(str(cal))
    for line in skipped:
        logger.warning("compare: %s (skipped)", line)
    if not rows:
        raise CxmlUserError("no cut-off has enough data to compare the candidates")

    board = pd.DataFrame(rows)
    best = {}
    for metric, col in (("churn_auc", "churned"), ("value_gini", "holdout_spend")):
        means = board.groupby("candidate", sort=False)[metric].mean()
        best[metric] = str(means.idxmax())
        diffs = {}
        for cut in used:
            names = [n for n, _ in candidates if (n, cut) in scores]
            ref = scores[(best[metric], cut)]
            pred = "churn_probability" if metric == "churn_auc" else "expected_spend"
            out = paired_bootstrap(
                ref[col].to_numpy(),
                {n: scores[(n, cut)][pred].reindex(ref.index).to_numpy() for n in names},
                reference=best[metric],
                metric="auc" if metric == "churn_auc" else "gini",
                n_resamples=cfg.compare.bootstrap,
                seed=cfg.compare.seed,
            )
            diffs.update({(n, cut): v for n, v in out.items()})
        for i, suffix in enumerate(("diff", "diff_low", "diff_high")):
            board[f"{metric}_{suffix}"] = [
                diffs[(n, c)][i] for n, c in zip(board["candidate"], board["cutoff"], strict=True)
            ]
    board = board[LEADERBOARD_COLUMNS]
    board.attrs.update(best=best, skipped=skipped)
    result = CompareResult(
        leaderboard=board,
        summary=summarise(board),
        cutoffs=used,
        skipped=skipped,
        best=best,
        scores=scores,
        fits=fits,
    )
    if log:
        on_step("logging the comparison to MLflow")
        _log_comparison(cfg, result, candidates, uri, lineage, tx)
    if select:
        _train_selected(cfg, result, candidates, select, uri, on_step)
    return result


def _row(name: str, c: Config, cal: dt.date, fit, oof) -> dict:
    kind = c.btyd.purchase_model
    m = holdout_metrics(
        fit.X,
        fit.churned,
        oof,
        fit.holdout_purchases,
        fit.holdout_spend,
        bg=fit.bg,
        gg=fit.gg,
        prefix=kind,
    )
    s = fit.bg.summary().attrs  # log-likelihood, AIC, BIC of the calibration fit
    return {
        "candidate": name,
        "cutoff": str(cal),
        "purchase_model": kind,
        "penalizer": float(c.btyd.penalizer),
        "log_likelihood": s["log_likelihood"],
        "aic": s["aic"],
        "bic": s["bic"],
        "n_params": int(s["n_params"]),
        "params_at_bound": ",".join(s["params_at_bound"]),
        "holdout_purchases_actual": m["purchases_actual_total"],
        "holdout_purchases_predicted": m["purchases_predicted_total"],
        **{k: m[k] for k in _HOLDOUT_METRICS},
        "n_customers": int(len(fit.churned)),
    }


def summarise(board: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over cut-offs of each candidate's metrics.

    Parameters
    ----------
    board : pandas.DataFrame
        A leaderboard (:data:`LEADERBOARD_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        Index ``candidate`` (leaderboard order), ``n_cutoffs`` and ``<metric>_mean`` /
        ``<metric>_std`` (std NaN with one cut-off) of :data:`SUMMARY_METRICS`.
    """
    g = board.groupby("candidate", sort=False)[SUMMARY_METRICS]
    mean, std = g.mean().add_suffix("_mean"), g.std(ddof=1).add_suffix("_std")
    out = pd.concat(
        [board.groupby("candidate", sort=False).size().rename("n_cutoffs"), mean, std], axis=1
    )
    order = ["n_cutoffs"] + [f"{m}_{s}" for m in SUMMARY_METRICS for s in ("mean", "std")]
    return out[order]


def paired_bootstrap(
    y: np.ndarray,
    predictions: dict,
    *,
    reference: str,
    metric: str,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Difference of each prediction's metric to the reference's, with a bootstrap interval.

    All predictions are evaluated on the same resamples of customers (paired), which
    removes the between-customer variance the candidates share.

    Parameters
    ----------
    y : ndarray
        Outcomes: churn labels (0/1) for ``metric="auc"``, holdout values for ``"gini"``.
    predictions : dict of str -> ndarray
        Each candidate's scores of the same customers, in the order of ``y``.
    reference : str
        The key of ``predictions`` the differences are taken to.
    metric : {"auc", "gini"}
        ROC AUC (Mann-Whitney, ties counted half) or normalized Gini
        (:func:`cxml.evaluation.normalized_gini`).
    n_resamples : int, default 1000
        0 gives the point differences with NaN intervals.
    seed : int, default 0
        Seed of the resamples (the same seed gives the same intervals).
    level : float, default 0.95
        Coverage of the percentile interval.

    Returns
    -------
    dict of str -> (float, float, float)
        ``(difference, low, high)`` per key; the reference gets ``(0, 0, 0)``.
    """
    from cxml.evaluation import churn_metrics, normalized_gini

    y = np.asarray(y, dtype=float)
    if metric == "auc":
        point = {k: churn_metrics(y.astype(int), p)["auc"] for k, p in predictions.items()}
    else:
        point = {k: normalized_gini(y, p) for k, p in predictions.items()}
    names = list(predictions)
    P = np.vstack([np.asarray(predictions[k], dtype=float) for k in names])
    n = len(y)
    rng = np.random.default_rng(seed)
    draws = np.empty((len(names), int(n_resamples)))
    chunk = max(1, int(4_000_000 // max(n, 1)))  # bounded memory: chunk x n indices at a time
    for start in range(0, int(n_resamples), chunk):
        b = min(chunk, int(n_resamples) - start)
        idx = rng.integers(0, n, size=(b, n))
        Y = y[idx]
        fn = _auc_rows if metric == "auc" else _gini_rows
        denom = None if metric == "auc" else _gini_sum(Y, Y)
        for j in range(len(names)):
            draws[j, start : start + b] = fn(Y, P[j][idx], denom)
    ref = draws[names.index(reference)]
    alpha = (1 - level) / 2
    out = {}
    for j, k in enumerate(names):
        d = draws[j] - ref
        d = d[np.isfinite(d)]
        lo, hi = np.quantile(d, [alpha, 1 - alpha]) if len(d) else (np.nan, np.nan)
        out[k] = (float(point[k] - point[reference]), float(lo), float(hi))
    return out


def _auc_rows(Y: np.ndarray, S: np.ndarray, _=None) -> np.ndarray:
    # Mann-Whitney U / (n1 n0) per row, average ranks for ties
    R = stats.rankdata(S, axis=1)
    n1 = Y.sum(axis=1)
    n0 = Y.shape[1] - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((R * Y).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def _gini_sum(A: np.ndarray, S: np.ndarray) -> np.ndarray:
    # the Gini of A ordered by S descending (stable), as in normalized_gini, per row
    n = A.shape[1]
    order = np.argsort(-S, axis=1, kind="stable")
    with np.errstate(divide="ignore", invalid="ignore"):
        cum = np.cumsum(np.take_along_axis(A, order, axis=1), axis=1) / A.sum(axis=1)[:, None]
    return cum.sum(axis=1) / n - (n + 1) / (2 * n)


def _gini_rows(A: np.ndarray, S: np.ndarray, denom: np.ndarray | None) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return _gini_sum(A, S) / denom


def _log_comparison(cfg, result, candidates, uri, lineage, tx) -> None:
    """One parent run (config, leaderboard, overlay plots) and a nested run per candidate."""
    from cxml import tracking
    from cxml._version import __version__
    from cxml.pipelines._train import run_params

    base = {"cxml.version": __version__, "cxml.config": cfg.name}
    board, summary = result.leaderboard, result.summary
    with tracking.TrackedRun(
        uri,
        cfg.tracking.experiment,
        run_name=f"{cfg.name}-compare",
        tags={**base, "cxml.pipeline": "compare"},
    ) as parent:
        params = run_params(cfg, lineage)
        params.pop("compare.candidates", None)  # one child run per candidate holds them
        parent.log_params(
            {
                **params,
                "compare.candidates": ",".join(n for n, _ in candidates),
                "compare.cutoffs_used": ",".join(result.cutoffs),
            }
        )
        parent.set_tags(
            {
                **tracking.library_versions(),
                **{f"cxml.compare.best_{m}": n for m, n in result.best.items()},
                **({"cxml.compare.skipped": " | ".join(result.skipped)} if result.skipped else {}),
            }
        )
        parent.log_dataset(lineage, name=f"{cfg.name}-transactions", context="comparison")
        parent.log_dict(cfg.model_dump(mode="json", exclude={"source_path"}), "config.json")
        if cfg.source_path:
            parent.log_artifact(cfg.source_path, "config")
        parent.log_table(board, "leaderboard")
        parent.log_table(summary, "leaderboard_summary")
        for name, fig in comparison_figures(result, tx, cfg).items():
            parent.log_figure(fig, name)
        for name, c in candidates:
            row = summary.loc[name]
            with tracking.TrackedRun(
                uri,
                cfg.tracking.experiment,
                run_name=name,
                nested=True,
                tags={
                    **base,
                    "cxml.pipeline": "compare-candidate",
                    "cxml.compare.candidate": name,
                    "cxml.compare.parent_run": parent.run_id,
                },
            ) as child:
                child.log_params(
                    tracking.flatten_params(
                        c.model_dump(mode="json", include={"btyd", "churn", "clv"})
                    )
                )
                # the mean over cut-offs under the metric's own name (as a training run)
                child.log_metrics({m: row[f"{m}_mean"] for m in SUMMARY_METRICS})
                child.log_metrics({f"{m}_std": row[f"{m}_std"] for m in SUMMARY_METRICS})
                mine = board[board["candidate"] == name]
                child.log_metrics(
                    {
                        c2: mine[c2].mean()
                        for c2 in LEADERBOARD_COLUMNS
                        if c2.endswith(("_diff", "_diff_low", "_diff_high"))
                    }
                )
                child.log_metrics({"n_cutoffs": float(row["n_cutoffs"])})
            parent.failures.extend(child.failures)
    result.run_id, result.tracking_uri = parent.run_id, uri


def comparison_figures(result: CompareResult, tx, cfg: Config) -> dict:
    """Overlay plots of the newest cut-off: every candidate against the holdout.

    Parameters
    ----------
    result : CompareResult
    tx : ibis.Table
        The validated transactions of the comparison.
    cfg : Config

    Returns
    -------
    dict
        ``{"plots/cumulative_holdout_purchases.png": Figure, "plots/roc.png": Figure}``:
        cumulative repeat purchase days in the holdout of the cut-off's customers, actual
        against each candidate's sum of conditional expectations E[Y(t) | x, t_x, T];
        the ROC of each candidate's cross-fitted churn probability.
    """
    from matplotlib.figure import Figure

    from cxml.evaluation import plot_roc

    cut = result.cutoffs[0]
    names = [n for n in result.leaderboard["candidate"].unique() if (n, cut) in result.scores]
    first = result.scores[(names[0], cut)]
    y = first["churned"].to_numpy()
    roc = plot_roc(
        y,
        {
            n: result.scores[(n, cut)]["churn_probability"].reindex(first.index).to_numpy()
            for n in names
        },
    )
    cal = dt.date.fromisoformat(cut)
    H = cfg.time.holdout_days
    days = tx.select("customer_id", day=tx.timestamp.date()).distinct()
    hold = days.filter((days.day > cal) & (days.day <= cal + dt.timedelta(days=H)))
    daily = hold.to_pandas()
    daily = daily[daily["customer_id"].isin(first.index)]
    daily = daily.groupby(pd.to_datetime(daily["day"])).size()
    grid = pd.date_range(pd.Timestamp(cal) + pd.Timedelta(days=1), periods=H, freq="D")
    actual = daily.reindex(grid, fill_value=0).cumsum().to_numpy()
    fig = Figure(figsize=(7.0, 4.5))
    ax = fig.subplots()
    ax.plot(grid, actual, color="black", label=f"actual ({actual[-1]:,.0f})")
    unit = 7.0 if cfg.time.time_unit == "W" else 1.0
    ts = np.arange(1, H + 1) / unit
    weekly = ts[6::7] if H >= 7 else ts
    for n in names:
        fit = result.fits[(n, cut)]
        f, r, T = (
            fit.ch[c].to_numpy(dtype=float) for c in ("frequency_cal", "recency_cal", "T_cal")
        )
        curve = [float(np.sum(fit.bg.expected_purchases(t, f, r, T))) for t in weekly]
        ax.plot(
            grid[(weekly * unit).astype(int) - 1],
            curve,
            linestyle="--",
            label=f"{n} ({curve[-1]:,.1f})",
        )
    ax.set(
        xlabel="date",
        ylabel="cumulative repeat purchase days",
        title=f"Holdout after {cut}: candidates against actual",
    )
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return {"plots/cumulative_holdout_purchases.png": fig, "plots/roc.png": roc}


def selection_reason(result: CompareResult, select: str) -> dict:
    """Why the best candidate by ``select`` won: the tags its training run records.

    Parameters
    ----------
    result : CompareResult
        A comparison (its summary and leaderboard).
    select : str
        A metric of :data:`SELECT_METRICS`.

    Returns
    -------
    dict
        ``cxml.compare.selected`` (the winner), ``cxml.compare.selected_by`` (the metric),
        ``cxml.compare.selected_value`` (its mean over cut-offs), ``cxml.compare.cutoffs``,
        ``cxml.compare.runner_up`` and ``cxml.compare.runner_up_value`` (with two or more
        candidates), for ``churn_auc`` and ``value_gini`` the runner-up's difference to the
        winner and its paired bootstrap 95 % interval (``cxml.compare.runner_up_diff``,
        ``..._diff_low``, ``..._diff_high``; means over cut-offs), and
        ``cxml.compare.why``, all of it in one sentence.
    """
    col = f"{select}_mean"
    ranked = result.summary[col].sort_values(ascending=SELECT_METRICS[select] < 0, kind="stable")
    name = str(ranked.index[0])
    n = len(result.cutoffs)
    why = (
        f"best mean {select} over {n} cut-off(s) ({', '.join(result.cutoffs)}): "
        f"{ranked.iloc[0]:.6g}"
    )
    tags: dict = {
        "cxml.compare.selected": name,
        "cxml.compare.selected_by": select,
        "cxml.compare.selected_value": f"{ranked.iloc[0]:.6g}",
        "cxml.compare.cutoffs": ",".join(result.cutoffs),
    }
    if len(ranked) > 1:
        runner = str(ranked.index[1])
        why += f"; next {runner} {ranked.iloc[1]:.6g}"
        tags.update(
            {
                "cxml.compare.runner_up": runner,
                "cxml.compare.runner_up_value": f"{ranked.iloc[1]:.6g}",
            }
        )
        # the bootstrap is of the differences to the best by that metric, i.e. the winner
        if select in ("churn_auc", "value_gini") and result.best.get(select) == name:
            mine = result.leaderboard[result.leaderboard["candidate"] == runner]
            d, lo, hi = (float(mine[f"{select}_diff{x}"].mean()) for x in ("", "_low", "_high"))
            tags["cxml.compare.runner_up_diff"] = f"{d:+.4g}"
            if np.isfinite(lo) and np.isfinite(hi):
                tags["cxml.compare.runner_up_diff_low"] = f"{lo:+.4g}"
                tags["cxml.compare.runner_up_diff_high"] = f"{hi:+.4g}"
                noise = " (contains 0: not distinguishable)" if lo <= 0 <= hi else ""
                why += (
                    f"; {runner} - {name} = {d:+.4g}, paired bootstrap 95% interval "
                    f"[{lo:+.4g}, {hi:+.4g}]{noise}"
                )
            else:
                why += f"; {runner} - {name} = {d:+.4g} (no bootstrap interval)"
    tags["cxml.compare.why"] = why
    return tags


def _train_selected(cfg, result, candidates, select, uri, on_step) -> None:
    """Train the candidate with the best mean ``select`` on the full configuration."""
    from cxml import tracking
    from cxml.pipelines._train import train

    reason = selection_reason(result, select)
    name = reason["cxml.compare.selected"]
    chosen = dict(candidates)[name]
    on_step(f"training the selected candidate {name} ({reason['cxml.compare.why']})")
    res = train(chosen, tracking_uri=uri, on_step=on_step)
    if result.run_id:
        reason["cxml.compare.parent_run"] = result.run_id
    if res.run_id is not None:  # the run was logged: say why this candidate won
        tracking.tag_run(uri, res.run_id, reason)
    result.selected, result.train_result, result.selection = name, res, reason
