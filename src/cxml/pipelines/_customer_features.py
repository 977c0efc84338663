"""One place that assembles a customer's feature row at a cut-off, for training and scoring.

Training and scoring call the same function with the same :class:`FeatureSpec`, so the churn
model always sees features built the way it was trained on.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cxml import features
from cxml.features._behaviour import RFM_COLUMNS, behaviour_with_rfm
from cxml.clv import customer_lifetime_value

__all__ = ["btyd_outputs", "customer_features", "to_pandas"]

_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def to_pandas(result) -> pd.DataFrame:
    """Execute an Ibis result (or pass a DataFrame through), indexed by ``customer_id``."""
    if isinstance(result, pd.DataFrame):
        df = result
    else:  # an ibis table
        df = result.to_pandas()
    if df.index.name != "customer_id" and "customer_id" in df.columns:
        df = df.set_index("customer_id")
    return df


def btyd_outputs(purchase_model, spend_model, rfm: pd.DataFrame, *, time_unit: str,
                 horizon_days: float, clv: dict) -> pd.DataFrame:
    """P(alive), expected purchases over the horizon, expected spend and discounted CLV.

    Parameters
    ----------
    purchase_model, spend_model : fitted BetaGeoModel and GammaGammaModel
    rfm : pandas.DataFrame
        ``frequency``, ``recency``, ``T``, ``monetary_value`` in ``time_unit``.
    time_unit : {"D", "W"}
    horizon_days : float
        Horizon of ``expected_purchases`` in days (converted to ``time_unit``).
    clv : dict
        ``horizon_months`` and ``annual_discount_rate``.

    Returns
    -------
    pandas.DataFrame
        ``p_alive``, ``expected_purchases``, ``expected_average_value``, ``clv``.
    """
    f = rfm["frequency"].to_numpy(dtype=float)
    r = rfm["recency"].to_numpy(dtype=float)
    T = rfm["T"].to_numpy(dtype=float)
    m = rfm["monetary_value"].to_numpy(dtype=float)
    t = horizon_days / _UNIT_DAYS[time_unit]
    return pd.DataFrame(
        {
            "p_alive": purchase_model.probability_alive(f, r, T),
            "expected_purchases": purchase_model.expected_purchases(t, f, r, T),
            "expected_average_value": spend_model.expected_average_value(f, m),
            "clv": customer_lifetime_value(
                purchase_model, spend_model, f, r, T, m, time_unit=time_unit,
                horizon_months=clv["horizon_months"],
                annual_discount_rate=clv["annual_discount_rate"],
            ),
        },
        index=rfm.index,
    )


def customer_features(transactions, *, cutoff: dt.date, purchase_model, spend_model, spec,
                      clv: dict, events=None, return_ids: bool = False):
    """RFM, behaviour, engagement and BTYD features of every customer at ``cutoff``.

    Parameters
    ----------
    transactions : ibis.Table
        Validated transactions (canonical column names), none after ``cutoff``.
    cutoff : datetime.date
        Features use data up to and including this day only.
    purchase_model, spend_model : fitted BTYD models
    spec : FeatureSpec
    clv : dict
    events : ibis.Table, optional
        Validated engagement events.
    return_ids : bool, default False
        Also return the sorted ids of every customer in ``transactions``, including
        those without a purchase day (who have no feature row).

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.Index)
        Indexed by ``customer_id``; every column numeric. With ``return_ids``, also the
        index of all customer ids.
    """
    # RFM and behaviour from one query (one customer-day table); executed through Arrow
    both, ids = behaviour_with_rfm(transactions, cutoff=cutoff,
                                   windows_days=tuple(spec.windows_days),
                                   time_unit=spec.time_unit, return_ids=True)
    rfm = both[list(RFM_COLUMNS)]
    behaviour = both.drop(columns=list(RFM_COLUMNS))
    btyd = btyd_outputs(purchase_model, spend_model, rfm, time_unit=spec.time_unit,
                        horizon_days=spec.horizon_days, clv=clv)
    parts = [rfm.assign(T_minus_recency=rfm["T"] - rfm["recency"]), btyd,
             behaviour.drop(columns=[c for c in behaviour.columns if c in rfm.columns])]
    if events is not None:
        eng = to_pandas(features.engagement(events, cutoff=cutoff, customers=rfm.index,
                                            windows_days=tuple(spec.windows_days)))
        parts.append(eng)
    out = pd.concat(parts, axis=1, join="outer").reindex(rfm.index)
    # LightGBM needs numeric columns; categorical engagement classes are one-hot encoded.
    non_numeric = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])]
    if non_numeric:
        out = pd.get_dummies(out, columns=non_numeric, dtype=float)
    out = out.replace([np.inf, -np.inf], np.nan)
    return (out, ids) if return_ids else out
