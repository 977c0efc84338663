"""The steps ``train`` and ``evaluate`` share: calibration/holdout split, BTYD fits, churn
features at a cut-off, labels from time, stacked out-of-time snapshots and cross-fitting.

Labels come from time: a customer is churned at cut-off ``c`` when they make no purchase in
``(c, c + H]``. Features at ``c`` (and the BTYD models behind them) only ever see data up to
``c``, so a model can be trained on past cut-offs whose label windows end before the
evaluation cut-off (out of time) and, where history is too short for that, on the other
customers of the evaluation cut-off (customer-level cross-fitting).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from cxml import features
from cxml.data import validate_transactions
from cxml.exceptions import ConvergenceError, CxmlUserError, DataValidationError
from cxml.models import BetaGeoModel, GammaGammaModel
from cxml.pipelines._bundle import PURCHASE_MODELS, FeatureSpec
from cxml.pipelines._customer_features import customer_features, to_pandas, with_btyd_outputs
from cxml.pipelines._customers import covariates_for
from cxml.pipelines._model_matrix import CUTOFF_AGE
from cxml.pipelines._reproducible import reproducible

__all__ = [
    "CUTOFF_AGE",
    "CalibrationFit",
    "TrainingSet",
    "at_latest_cutoff",
    "churn_labels",
    "cross_fit_predict",
    "cross_fit_proba",
    "day_after",
    "stack_training",
    "fit_calibration",
    "snapshot_cutoffs",
    "stacked_snapshots",
    "check_enough_history",
]

logger = logging.getLogger(__name__)


def before(table, cut: pd.Timestamp, *, kind: str = "transactions"):
    """Rows of a validated table with ``timestamp < cut``, still recognised as validated.

    A filtered Ibis table is a new expression; re-validating it with the identity mapping
    of its columns keeps the optional columns (quantity, order id, product, ...) that the
    feature builders would otherwise drop when they validate it with default names.
    """
    from cxml.data import validate_events

    sub = table.filter(table.timestamp < cut)
    if kind == "events":
        return validate_events(sub, value="value" if "value" in sub.columns else None)
    return validate_transactions(sub, **{c: c for c in sub.columns})


# Validated events carry the contract's names; used when a caller passes no mapping.
_EVENT_COLUMNS = {
    "customer_id": "customer_id",
    "timestamp": "timestamp",
    "event_type": "event_type",
    "value": "value",
}


def day_after(d: dt.date) -> pd.Timestamp:
    """Midnight after ``d``: ``timestamp < day_after(d)`` keeps all of day ``d``."""
    return pd.Timestamp(d) + pd.Timedelta(days=1)


@dataclass
class CalibrationFit:
    """BTYD models and churn features at the calibration cut-off, with holdout outcomes.

    Attributes
    ----------
    ch : pandas.DataFrame
        :func:`cxml.features.calibration_holdout` output.
    bg, gg : fitted purchase model (BG/NBD unless ``purchase_model`` said otherwise) and
        GammaGammaModel (calibration data only)
    X : pandas.DataFrame
        Churn features at ``calibration_end``, aligned with ``ch``.
    churned, holdout_purchases, holdout_spend : ndarray
        Outcomes in the holdout (churned = no purchase day in the holdout).
    spec : FeatureSpec
    clv : dict
    """

    ch: pd.DataFrame
    bg: BetaGeoModel
    gg: GammaGammaModel
    X: pd.DataFrame
    churned: np.ndarray
    holdout_purchases: np.ndarray
    holdout_spend: np.ndarray
    spec: FeatureSpec
    clv: dict


@reproducible
def fit_calibration(
    tx,
    *,
    calibration_end: dt.date,
    observation_end: dt.date,
    time_unit: Literal["D", "W"],
    windows_days,
    penalizer: float = 0.0,
    spend_penalizer: float = 0.0,
    clv: dict,
    columns: dict,
    event_columns: dict | None = None,
    events=None,
    purchase_model="bgnbd",
    reuse: CalibrationFit | None = None,
    on_step: Callable[[str], None] = lambda s: None,
    covariates: dict | None = None,
    customers: pd.DataFrame | None = None,
) -> CalibrationFit:
    """Split at ``calibration_end``, fit a purchase model + Gamma-Gamma, build features.

    Parameters
    ----------
    tx : ibis.Table
        Validated transactions up to ``observation_end``.
    events : ibis.Table, optional
        Validated engagement events.
    purchase_model : {"bgnbd", "mbgnbd", "pnbd"} or estimator, default "bgnbd"
        Family of the purchase model (a key of ``PURCHASE_MODELS``, fitted with
        ``penalizer``), or an unfitted purchase-model estimator, cloned and fitted as is.
    reuse : CalibrationFit, optional
        A fit of the same data, dates, windows and events (another purchase or spend
        model): its calibration/holdout table and non-BTYD features are reused, only the
        BTYD models and their feature columns are new (a comparison builds features once
        per cut-off).
    covariates : dict, optional
        ``{"purchase": [...], "dropout": [...]}``: columns of ``customers`` given to a
        purchase model named by ``purchase_model`` (``btyd.covariates``).
    customers : pandas.DataFrame, optional
        The customers table's covariate columns, indexed by customer id (see
        :func:`cxml.pipelines._customers.load_customers`); required with ``covariates``.
        A calibration customer without a row is refused (count and an example).

    Returns
    -------
    CalibrationFit
    """
    ch = reuse.ch if reuse is not None else None
    if ch is None:
        on_step("building calibration / holdout features")
        ch = to_pandas(
            features.calibration_holdout(
                tx,
                calibration_end=calibration_end,
                observation_end=observation_end,
                time_unit=time_unit,
                output="pandas",
            )
        )
    if len(ch) == 0:
        raise DataValidationError(
            f"no customer has a purchase on or before calibration_end {calibration_end}"
        )
    check_enough_history(ch, calibration_end=calibration_end)

    cov_kw: dict = {}
    if covariates and (covariates.get("purchase") or covariates.get("dropout")):
        cov_kw = {
            "purchase_covariates": list(covariates.get("purchase") or []) or None,
            "dropout_covariates": list(covariates.get("dropout") or []) or None,
        }
    template = (
        PURCHASE_MODELS[purchase_model](penalizer=penalizer, **cov_kw)
        if isinstance(purchase_model, str)
        else purchase_model
    )
    fit_kw: dict = {}
    if cov_kw:
        if customers is None:
            raise CxmlUserError(
                "btyd.covariates needs the customers table (data.customers); none was given"
            )
        # every calibration customer needs attributes: refused, never dropped
        fit_kw["covariates"] = covariates_for(customers, ch.index, name="data.customers")
    on_step(f"fitting {type(template).__name__} and Gamma-Gamma")
    bg = clone(template).fit(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"], **fit_kw)
    # Gamma-Gamma needs a positive mean spend; a repeat buyer whose purchase days net to 0
    # (CDNOW master has one) carries no spend information and only gets a prediction.
    repeat = (ch["frequency_cal"] > 0) & (ch["monetary_value_cal"] > 0)
    gg = GammaGammaModel(penalizer=spend_penalizer).fit(
        ch.loc[repeat, "frequency_cal"], ch.loc[repeat, "monetary_value_cal"]
    )

    on_step("building churn features at calibration_end")
    spec = FeatureSpec(
        time_unit=time_unit,
        horizon_days=(observation_end - calibration_end).days,
        windows_days=list(windows_days),
        columns=dict(columns),
        event_columns=dict(event_columns or _EVENT_COLUMNS) if events is not None else None,
    )
    cut = day_after(calibration_end)
    if reuse is not None:
        X = with_btyd_outputs(reuse.X, bg, gg, spec=spec, clv=clv, customers=customers)
    else:
        X = customer_features(
            before(tx, cut),
            cutoff=calibration_end,
            purchase_model=bg,
            spend_model=gg,
            spec=spec,
            clv=clv,
            events=before(events, cut, kind="events") if events is not None else None,
            customers=customers,
        )
    attrs = dict(X.attrs)  # the levels and event types used (the trained contract)
    X = X.reindex(ch.index)
    X.attrs = attrs
    return CalibrationFit(
        ch=ch,
        bg=bg,
        gg=gg,
        X=X,
        churned=(ch["frequency_holdout"] == 0).astype(int).to_numpy(),
        holdout_purchases=ch["frequency_holdout"].to_numpy(dtype=float),
        holdout_spend=(ch["frequency_holdout"] * ch["monetary_value_holdout"]).to_numpy(
            dtype=float
        ),
        spec=spec,
        clv=clv,
    )


# Below these, BG/NBD (4 parameters) and Gamma-Gamma (3) are not identified by the data: a
# fit "succeeds" at the optimiser's bounds and every later number is noise.
MIN_CUSTOMERS, MIN_REPEAT_BUYERS, MIN_PER_CLASS = 20, 10, 5


def check_enough_history(ch: pd.DataFrame, *, calibration_end: dt.date) -> None:
    """Refuse a calibration period too thin to fit BTYD models or a churn classifier.

    Raises
    ------
    DataValidationError
        Fewer than 20 customers or 10 repeat buyers (positive spend) in calibration, or
        fewer than 5 churners or 5 non-churners in the holdout; the message quotes the data
        report (rows that were returns, customers excluded).
    """
    report = ch.attrs.get("report", {})
    n = len(ch)
    repeat = int(((ch["frequency_cal"] > 0) & (ch["monetary_value_cal"] > 0)).sum())
    churners = int((ch["frequency_holdout"] == 0).sum())
    why = []
    excluded = sum(report.get("customers_excluded", {}).values())
    if excluded:
        why.append(
            f"{excluded:,} of {report.get('n_customers_input', n + excluded):,} "
            "customers excluded (no usable purchase day)"
        )
    if report.get("return_rows"):
        why.append(f"{report['return_rows']:,} of {report.get('n_rows', 0):,} rows are returns")
    detail = f" ({'; '.join(why)})" if why else ""
    if n < MIN_CUSTOMERS or repeat < MIN_REPEAT_BUYERS:
        raise DataValidationError(
            f"calibration to {calibration_end}: {n:,} customer{'s' * (n != 1)}, {repeat:,} "
            f"repeat buyer{'s' * (repeat != 1)}"
            f"{detail}; BG/NBD and Gamma-Gamma need at least {MIN_CUSTOMERS} customers and "
            f"{MIN_REPEAT_BUYERS} repeat buyers: use more history or a later calibration_end"
        )
    if min(churners, n - churners) < MIN_PER_CLASS:
        raise DataValidationError(
            f"holdout after {calibration_end}: {churners:,} of {n:,} customers churned (no "
            f"purchase); the churn model needs at least {MIN_PER_CLASS} churners and "
            f"{MIN_PER_CLASS} customers who bought: move calibration_end or observation_end"
        )


def cross_fit_proba(
    make_model: Callable,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    folds: int,
    seed: int,
    extra: TrainingSet | None = None,
    cutoff: dt.date | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities of class 1 (customer-level cross-fitting).

    Each customer is scored by a model fitted on the other folds, so no prediction uses
    that customer's own label. With ``extra`` (stacked out-of-time snapshots) every fold's
    model is also trained on those rows, and ``groups`` (the rows' cut-off dates, with
    ``cutoff`` for the rows of ``X``) are passed to ``fit`` so that a time-aware model
    early-stops and calibrates on the latest period; ``cutoff`` is then required
    (ValueError otherwise).
    """
    return cross_fit_predict(
        make_model,
        X,
        y,
        folds=folds,
        seed=seed,
        extra=extra,
        cutoff=cutoff,
        predict=lambda m, Z: m.predict_proba(Z)[:, 1],
    )


def cross_fit_predict(
    make_model: Callable,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    folds: int,
    seed: int,
    extra: TrainingSet | None = None,
    cutoff: dt.date | None = None,
    target: np.ndarray | None = None,
    extra_target: np.ndarray | None = None,
    predict: Callable = lambda m, Z: m.predict(Z),
) -> np.ndarray:
    """Out-of-fold predictions, folds stratified on the churn label ``y``.

    Parameters
    ----------
    make_model : callable
        Returns a fresh estimator.
    X : pandas.DataFrame
        Features of the customers to score (one row each).
    y : ndarray
        Churn labels of ``X`` (stratification; also the target unless ``target`` is given).
    folds, seed : int
    extra : TrainingSet, optional
        Extra training rows (past cut-offs), used by every fold; the models then get the
        feature :data:`CUTOFF_AGE` (0 for the rows of ``X``), see :func:`stack_training`.
    cutoff : datetime.date, optional
        Cut-off of the rows of ``X`` (their group in a time-based split); required with
        ``extra``.
    target, extra_target : ndarray, optional
        Regression targets (e.g. holdout spend) of ``X`` and of ``extra``.
    predict : callable
        ``predict(model, X_fold)`` -> 1-D predictions.

    Returns
    -------
    ndarray
    """
    t = np.asarray(y if target is None else target)
    out = np.empty(len(y), dtype=float)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    past = extra if extra is not None and len(extra) > 0 else None
    if past is not None:
        if cutoff is None:
            raise ValueError(
                "cross-fitting with extra (past cut-off) rows needs cutoff, the "
                "cut-off date of the rows of X"
            )
        newest = cutoff
        te = np.asarray(past.y if extra_target is None else extra_target)
        X = at_latest_cutoff(X)
    for train_idx, test_idx in skf.split(X, y):
        if past is not None:
            Xt, groups = stack_training(past, X.iloc[train_idx], newest)
            m = make_model().fit(Xt, np.concatenate([te, t[train_idx]]), groups=groups)
        else:
            m = make_model().fit(X.iloc[train_idx], t[train_idx])
        out[test_idx] = predict(m, X.iloc[test_idx])
    return out


def at_latest_cutoff(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with :data:`CUTOFF_AGE` = 0: rows at the newest cut-off, or being scored."""
    return X.assign(**{CUTOFF_AGE: 0.0})


def stack_training(
    extra: TrainingSet, X: pd.DataFrame, cutoff: dt.date
) -> tuple[pd.DataFrame, np.ndarray]:
    """Past cut-off rows stacked on the rows of ``X`` (cut-off ``cutoff``, the newest).

    Returns
    -------
    (pandas.DataFrame, ndarray of datetime64[D])
        The training matrix, with :data:`CUTOFF_AGE`, and each row's cut-off (the
        ``groups`` of a time-based hold-out split).
    """
    newest = np.datetime64(cutoff, "D")
    past = extra.X.reindex(columns=X.columns.drop(CUTOFF_AGE, errors="ignore"))
    past = past.assign(**{CUTOFF_AGE: (newest - extra.cutoff).astype("int64").astype(float)})
    rows = pd.concat([past, at_latest_cutoff(X)], axis=0)
    return rows, np.concatenate([extra.cutoff, np.full(len(X), newest)])


# -- time-based labels and stacked out-of-time training sets --------------------------------


def churn_labels(tx, *, cutoff: dt.date, horizon_days: int) -> pd.Series:
    """Churn label of every customer with a purchase on or before ``cutoff``.

    A customer is churned at cut-off ``c`` when they make no purchase day in
    ``(c, c + horizon_days]`` (same-day purchases merged, the conventions of
    :func:`cxml.features.calibration_holdout`).

    Parameters
    ----------
    tx : ibis.Table
        Validated transactions covering at least ``(.., c + horizon_days]``.
    cutoff : datetime.date
    horizon_days : int
        Length H of the label window, in days (> 0).

    Returns
    -------
    pandas.Series
        int64 (1 = churned), indexed by ``customer_id``, name ``churned``.
    """
    if int(horizon_days) <= 0:
        raise CxmlUserError(f"horizon_days must be a positive number of days, got {horizon_days}")
    end = cutoff + dt.timedelta(days=int(horizon_days))
    ch = to_pandas(
        features.calibration_holdout(
            tx.filter(tx.timestamp < day_after(end)),
            calibration_end=cutoff,
            observation_end=end,
            time_unit="D",
            output="pandas",
        )
    )
    return (ch["frequency_holdout"] == 0).astype("int64").rename("churned")


def snapshot_cutoffs(
    calibration_end: dt.date,
    *,
    horizon_days: int,
    first_date: dt.date,
    step_days: int = 28,
    max_snapshots: int = 6,
    min_history_days: int = 182,
) -> list[dt.date]:
    """Past cut-offs whose whole label window ends on or before ``calibration_end``.

    The latest is ``calibration_end - horizon_days`` (its labels use calibration data only);
    the others step back by ``step_days`` while at least ``min_history_days`` of history
    precede them.

    Parameters
    ----------
    calibration_end : datetime.date
    horizon_days : int
        Label window H in days.
    first_date : datetime.date
        First day of the transaction data.
    step_days : int, default 28
        Spacing of the cut-offs (4 weeks keeps the weekday mix of every snapshot equal).
    max_snapshots : int, default 6
    min_history_days : int, default 182
        A cut-off needs this much history before it, so that its customers' features
        describe a comparable past (the customers at the evaluation cut-off have at
        least this much unless the data are shorter).

    Returns
    -------
    list of datetime.date
        Oldest first; empty when the data are too short (then only customer-level
        cross-fitting can train a model).
    """
    latest = calibration_end - dt.timedelta(days=int(horizon_days))
    out = []
    for k in range(int(max_snapshots)):
        c = latest - dt.timedelta(days=k * int(step_days))
        if (c - first_date).days < min_history_days:
            break
        out.append(c)
    return sorted(out)


@dataclass
class TrainingSet:
    """Churn features and labels of several cut-offs, stacked (one row per customer and cut-off).

    Attributes
    ----------
    X : pandas.DataFrame
        Features; index ``customer_id`` (repeated across cut-offs).
    y : ndarray
        1 = no purchase in ``(cutoff, cutoff + H]``.
    cutoff : ndarray of datetime64[D]
        The row's cut-off (the ``groups`` of a time-based split).
    purchases, spend : ndarray
        Purchase days and spend in the label window (for the value model).
    """

    X: pd.DataFrame
    y: np.ndarray
    cutoff: np.ndarray
    purchases: np.ndarray
    spend: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def from_fits(cls, fits: list[CalibrationFit], cutoffs: list[dt.date]) -> TrainingSet:
        """Stack :class:`CalibrationFit` results (the columns are aligned, missing = NaN)."""
        if not fits:
            return cls(
                X=pd.DataFrame(),
                y=np.empty(0, dtype=int),
                cutoff=np.empty(0, dtype="datetime64[D]"),
                purchases=np.empty(0),
                spend=np.empty(0),
            )
        return cls(
            X=pd.concat([f.X for f in fits], axis=0, join="outer"),
            y=np.concatenate([f.churned for f in fits]),
            cutoff=np.concatenate(
                [
                    np.full(len(f.churned), np.datetime64(c, "D"))
                    for f, c in zip(fits, cutoffs, strict=True)
                ]
            ),
            purchases=np.concatenate([f.holdout_purchases for f in fits]),
            spend=np.concatenate([f.holdout_spend for f in fits]),
        )


@reproducible
def stacked_snapshots(
    tx,
    *,
    cutoffs,
    horizon_days: int,
    time_unit: Literal["D", "W"],
    windows_days,
    penalizer: float = 0.0,
    spend_penalizer: float = 0.0,
    clv: dict,
    columns: dict,
    event_columns: dict | None = None,
    events=None,
    min_customers: int = 200,
    purchase_model: str = "bgnbd",
    on_step: Callable[[str], None] = lambda s: None,
    covariates: dict | None = None,
    customers: pd.DataFrame | None = None,
) -> TrainingSet:
    """Features and labels at each past cut-off, every one built as if it were "now".

    At cut-off ``c`` the BTYD models are refitted on data up to ``c`` and the features use
    data up to ``c`` only (:func:`fit_calibration` with ``calibration_end=c``); the label
    looks at ``(c, c + horizon_days]``. Data after ``c + horizon_days`` is never read.

    Parameters
    ----------
    tx : ibis.Table
        Validated transactions.
    cutoffs : sequence of datetime.date
        See :func:`snapshot_cutoffs`.
    horizon_days : int
    min_customers : int, default 200
        A cut-off with fewer customers, or with a single class, is skipped (logged).
    time_unit, windows_days, penalizer, spend_penalizer, clv, columns, event_columns, events
        As in :func:`fit_calibration`.
    purchase_model : str, default "bgnbd"
        As in :func:`fit_calibration`.
    covariates, customers : optional
        The purchase model's covariates, as in :func:`fit_calibration`.

    Returns
    -------
    TrainingSet
    """
    fits, kept = [], []
    for c in cutoffs:
        end = c + dt.timedelta(days=int(horizon_days))
        on_step(f"building the training snapshot at {c}")
        cut_tx = before(tx, day_after(end))
        cut_ev = before(events, day_after(end), kind="events") if events is not None else None
        try:
            f = fit_calibration(
                cut_tx,
                calibration_end=c,
                observation_end=end,
                time_unit=time_unit,
                windows_days=windows_days,
                penalizer=penalizer,
                spend_penalizer=spend_penalizer,
                clv=clv,
                columns=columns,
                event_columns=event_columns,
                events=cut_ev,
                purchase_model=purchase_model,
                covariates=covariates,
                customers=customers,
            )
        except (DataValidationError, ConvergenceError) as exc:
            logger.info("snapshot %s skipped: %s", c, exc)
            continue
        if len(f.churned) < min_customers or len(np.unique(f.churned)) < 2:
            logger.info(
                "snapshot %s skipped: %d customers, churn rate %.3f",
                c,
                len(f.churned),
                float(np.mean(f.churned)) if len(f.churned) else 0,
            )
            continue
        fits.append(f)
        kept.append(c)
    return TrainingSet.from_fits(fits, kept)
