"""The steps ``train`` and ``evaluate`` share: calibration/holdout split, BTYD fits, churn
features at the calibration cut-off, and cross-fitting."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from cxml import features
from cxml.exceptions import DataValidationError
from cxml.models import BetaGeoModel, GammaGammaModel
from cxml.pipelines._bundle import FeatureSpec
from cxml.pipelines._customer_features import customer_features, to_pandas

__all__ = ["CalibrationFit", "cross_fit_proba", "fit_calibration", "day_after"]


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
    bg, gg : fitted BetaGeoModel and GammaGammaModel (calibration data only)
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


def fit_calibration(tx, *, calibration_end: dt.date, observation_end: dt.date, time_unit: str,
                    windows_days, penalizer: float = 0.0, spend_penalizer: float = 0.0,
                    clv: dict, columns: dict, event_columns: dict | None = None, events=None,
                    on_step: Callable[[str], None] = lambda s: None) -> CalibrationFit:
    """Split at ``calibration_end``, fit BG/NBD + Gamma-Gamma on calibration, build features.

    Parameters
    ----------
    tx : ibis.Table
        Validated transactions up to ``observation_end``.
    events : ibis.Table, optional
        Validated engagement events.

    Returns
    -------
    CalibrationFit
    """
    on_step("building calibration / holdout features")
    ch = to_pandas(features.calibration_holdout(
        tx, calibration_end=calibration_end, observation_end=observation_end,
        time_unit=time_unit))
    if len(ch) == 0:
        raise DataValidationError(
            f"no customer has a purchase on or before calibration_end {calibration_end}")

    on_step("fitting BG/NBD and Gamma-Gamma")
    bg = BetaGeoModel(penalizer=penalizer).fit(ch["frequency_cal"], ch["recency_cal"],
                                                ch["T_cal"])
    # Gamma-Gamma needs a positive mean spend; a repeat buyer whose purchase days net to 0
    # (CDNOW master has one) carries no spend information and only gets a prediction.
    repeat = (ch["frequency_cal"] > 0) & (ch["monetary_value_cal"] > 0)
    gg = GammaGammaModel(penalizer=spend_penalizer).fit(
        ch.loc[repeat, "frequency_cal"], ch.loc[repeat, "monetary_value_cal"])

    on_step("building churn features at calibration_end")
    spec = FeatureSpec(time_unit=time_unit,
                       horizon_days=(observation_end - calibration_end).days,
                       windows_days=list(windows_days), columns=dict(columns),
                       event_columns=dict(event_columns) if events is not None else None)
    cut = day_after(calibration_end)
    X = customer_features(tx.filter(tx.timestamp < cut), cutoff=calibration_end,
                          purchase_model=bg, spend_model=gg, spec=spec, clv=clv,
                          events=events.filter(events.timestamp < cut)
                          if events is not None else None)
    X = X.reindex(ch.index)
    return CalibrationFit(
        ch=ch, bg=bg, gg=gg, X=X,
        churned=(ch["frequency_holdout"] == 0).astype(int).to_numpy(),
        holdout_purchases=ch["frequency_holdout"].to_numpy(dtype=float),
        holdout_spend=(ch["frequency_holdout"] * ch["monetary_value_holdout"])
        .to_numpy(dtype=float),
        spec=spec, clv=clv,
    )


def cross_fit_proba(make_model: Callable, X: pd.DataFrame, y: np.ndarray, *, folds: int,
                    seed: int) -> np.ndarray:
    """Out-of-fold probabilities of class 1 (customer-level cross-fitting).

    Each customer is scored by a model fitted on the other folds, so no prediction uses
    that customer's own label.
    """
    oof = np.empty(len(y), dtype=float)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in skf.split(X, y):
        m = make_model().fit(X.iloc[train_idx], y[train_idx])
        oof[test_idx] = m.predict_proba(X.iloc[test_idx])[:, 1]
    return oof
