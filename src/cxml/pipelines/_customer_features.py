"""One place that assembles a customer's feature row at a cut-off, for training and scoring.

Training and scoring call the same function with the same :class:`FeatureSpec`, so the churn
model always sees features built the way it was trained on.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Literal

import numpy as np
import pandas as pd

from cxml import features
from cxml.clv import customer_lifetime_value
from cxml.features import RFM_COLUMNS, behaviour_with_rfm
from cxml.pipelines._customers import covariates_for
from cxml.pipelines._model_matrix import one_hot

__all__ = [
    "BTYD_COLUMNS",
    "btyd_outputs",
    "customer_features",
    "feature_contract",
    "present_event_types",
    "to_pandas",
    "with_btyd_outputs",
]

#: The feature columns that come from the BTYD models (see :func:`btyd_outputs`).
BTYD_COLUMNS = ("p_alive", "expected_purchases", "expected_average_value", "clv")

logger = logging.getLogger(__name__)

_UNIT_DAYS = {"D": 1.0, "W": 7.0}
_EVENT_KEYS = ("customer_id", "timestamp", "event_type", "value")


def to_pandas(result) -> pd.DataFrame:
    """Execute an Ibis result (or pass a DataFrame through), indexed by ``customer_id``."""
    if isinstance(result, pd.DataFrame):
        df = result
    else:  # an ibis table
        df = result.to_pandas()
    if df.index.name != "customer_id" and "customer_id" in df.columns:
        df = df.set_index("customer_id")
    return df


def btyd_outputs(
    purchase_model,
    spend_model,
    rfm: pd.DataFrame,
    *,
    time_unit: str,
    horizon_days: float,
    clv: dict,
    customers: pd.DataFrame | None = None,
) -> pd.DataFrame:
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
    customers : pandas.DataFrame, optional
        The customers table's covariate columns indexed by customer id
        (:func:`~cxml.pipelines._customers.load_customers`); required by a purchase model
        fitted with covariates, whose every output then uses each customer's own
        parameters. A customer of ``rfm`` without a row is refused.

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
    cov = None
    if getattr(purchase_model, "coefficients_", None) is not None and customers is not None:
        cov = covariates_for(customers, rfm.index).reset_index(drop=True)  # by position
    kw = {} if cov is None else {"covariates": cov}
    return pd.DataFrame(
        {
            "p_alive": purchase_model.probability_alive(f, r, T, **kw),
            "expected_purchases": purchase_model.expected_purchases(t, f, r, T, **kw),
            "expected_average_value": spend_model.expected_average_value(f, m),
            "clv": customer_lifetime_value(
                purchase_model,
                spend_model,
                f,
                r,
                T,
                m,
                time_unit=time_unit,
                horizon_months=clv["horizon_months"],
                annual_discount_rate=clv["annual_discount_rate"],
                **kw,
            ),
        },
        index=rfm.index,
    )


def with_btyd_outputs(
    X: pd.DataFrame, purchase_model, spend_model, *, spec, clv: dict, customers=None
) -> pd.DataFrame:
    """``X`` (from :func:`customer_features`) with its BTYD columns recomputed by other models.

    Every other column depends on the transactions only, so candidates that differ in
    their BTYD models share one feature build.

    Returns
    -------
    pandas.DataFrame
        A copy of ``X`` (same columns, order and ``attrs``).
    """
    rfm = X[["frequency", "recency", "T", "monetary_value"]]
    new = btyd_outputs(
        purchase_model,
        spend_model,
        rfm,
        time_unit=spec.time_unit,
        horizon_days=spec.horizon_days,
        clv=clv,
        customers=customers,
    ).replace([np.inf, -np.inf], np.nan)
    out = X.copy()
    for c in BTYD_COLUMNS:
        out[c] = new[c].to_numpy()
    out.attrs = dict(X.attrs)
    return out


def customer_features(
    transactions,
    *,
    cutoff: dt.date,
    purchase_model,
    spend_model,
    spec,
    clv: dict,
    events=None,
    return_ids: bool = False,
    customers: pd.DataFrame | None = None,
):
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
    customers : pandas.DataFrame, optional
        Covariates of a purchase model fitted with them (see :func:`btyd_outputs`).

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.Index)
        Indexed by ``customer_id``; every column numeric (categorical columns one-hot
        encoded with ``spec.categories``, or the levels seen when it is None). ``attrs``
        holds the ``categories`` and ``event_types`` used and ``unknown_levels`` (customers
        per column whose level is not in ``spec.categories``). With ``return_ids``, also
        the index of all customer ids.
    """
    # RFM and behaviour from one query (one customer-day table); executed through Arrow
    both, ids = behaviour_with_rfm(
        transactions,
        cutoff=cutoff,
        windows_days=tuple(spec.windows_days),
        time_unit=spec.time_unit,
        return_ids=True,
    )
    rfm = both[list(RFM_COLUMNS)]
    behaviour = both.drop(columns=list(RFM_COLUMNS))
    btyd = btyd_outputs(
        purchase_model,
        spend_model,
        rfm,
        time_unit=spec.time_unit,
        horizon_days=spec.horizon_days,
        clv=clv,
        customers=customers,
    )
    parts = [
        rfm.assign(T_minus_recency=rfm["T"] - rfm["recency"]),
        btyd,
        behaviour.drop(columns=[c for c in behaviour.columns if c in rfm.columns]),
    ]
    types = None
    if events is not None:
        # the recorded event types, so that a chunk without some type still has its columns
        types = (
            list(spec.event_types)
            if spec.event_types is not None
            else present_event_types(events, cutoff)
        )
        eng = to_pandas(
            features.engagement(
                events,
                cutoff=cutoff,
                customers=rfm.index,
                windows_days=tuple(spec.windows_days),
                event_types=types,
            )
        )
        parts.append(eng)
    out = pd.concat(parts, axis=1, join="outer").reindex(rfm.index)
    # LightGBM needs numeric columns: categorical engagement classes are one-hot encoded
    # with the recorded levels (training: the levels seen)
    out, levels, unknown = one_hot(out, spec.categories)
    out = out.replace([np.inf, -np.inf], np.nan)
    if unknown:
        logger.warning(
            "features: %s not seen in training, encoded as no level",
            ", ".join(f"{n:,} customers with a {c} level" for c, n in unknown.items()),
        )
    out.attrs.update(categories=levels, event_types=types, unknown_levels=unknown)
    return (out, ids) if return_ids else out


def present_event_types(events, cutoff: dt.date) -> list[str]:
    """The sorted distinct event types of validated ``events`` up to ``cutoff``."""
    t = events.filter(events.timestamp.date() <= cutoff)
    return sorted(
        str(e) for e in t.select("event_type").distinct().to_pyarrow().column(0).to_pylist()
    )


def feature_contract(spec, X: pd.DataFrame, feature_names, *, events=None):
    """``spec`` with the churn model's feature contract recorded (see :class:`FeatureSpec`).

    Parameters
    ----------
    spec : FeatureSpec
        The spec the training features were built with.
    X : pandas.DataFrame
        The training features at the newest cut-off, as built by :func:`customer_features`
        (its ``attrs`` hold the levels and event types used).
    feature_names : sequence of str
        The churn model's columns, in order.
    events : ibis.Table, optional
        The validated training events (their schema gives the no-event fill values).

    Returns
    -------
    FeatureSpec
        With ``features``, ``categories`` and ``event_types``.
    """
    from cxml.pipelines._bundle import FeatureColumn
    from cxml.pipelines._model_matrix import CUTOFF_AGE

    categories = dict(X.attrs.get("categories") or {})
    event_types = X.attrs.get("event_types")
    fills = {}
    if events is not None:
        fills = _no_event_values(
            events,
            spec=spec,
            event_types=event_types or [],
            categories=categories,
            customer=X.index[0],
        )
    level_of = {f"{c}_{lvl}": (c, lvl) for c, lvls in categories.items() for lvl in lvls}
    columns = []
    for name in map(str, feature_names):
        category, level = level_of.get(name, (None, None))
        source: Literal["transactions", "events", "cutoff"]
        if name == CUTOFF_AGE:
            source, fill = "cutoff", 0.0
        elif name in fills:
            source, fill = "events", fills[name]
        else:
            source, fill = "transactions", None
        fill = None if fill is None or not np.isfinite(fill) else float(fill)
        columns.append(
            FeatureColumn(
                name=name,
                dtype=str(X[name].dtype) if name in X.columns else "float64",
                source=source,
                category=category,
                level=level,
                fill=fill,
            )
        )
    return spec.model_copy(
        update={
            "features": columns,
            "categories": categories,
            "event_types": event_types if events is not None else None,
        }
    )


def _no_event_values(events, *, spec, event_types, categories, customer) -> dict:
    """Feature values of a customer without any event: the engagement builder run on no
    events (counts 0, trends 0, "days since" and survey scores missing)."""
    from cxml.data import validate_events

    empty = validate_events(events.limit(0), **{c: c for c in events.columns if c in _EVENT_KEYS})
    cutoff = dt.date(2000, 1, 1)  # any day: with no events every value is the "none" value
    eng = to_pandas(
        features.engagement(
            empty,
            cutoff=cutoff,
            customers=pd.Index([customer], name="customer_id"),
            windows_days=tuple(spec.windows_days),
            event_types=list(event_types),
        )
    )
    eng, _, _ = one_hot(eng, {c: v for c, v in categories.items() if c in eng.columns})
    return {c: float(v) for c, v in eng.iloc[0].items()}
