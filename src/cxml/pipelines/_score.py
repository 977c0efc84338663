"""``score``: one row of predictions and segments per customer in a transaction table."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd

from cxml.data import validate_events, validate_transactions
from cxml.exceptions import DataValidationError
from cxml.pipelines._bundle import ModelBundle
from cxml.pipelines._customer_features import customer_features
from cxml.pipelines._segmenting import assign_segments

__all__ = ["score", "SCORE_COLUMNS"]

logger = logging.getLogger(__name__)

SCORE_COLUMNS = [
    "customer_id", "p_alive", "expected_purchases", "expected_average_value", "clv",
    "churn_probability", "segment", "rfm_segment", "value_tier", "risk_tier",
    "frequency", "recency", "T", "monetary_value", "insufficient_history",
    "as_of", "model_version",
]


def _as_date(value, name: str) -> dt.date:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataValidationError(f"{name}: cannot parse {value!r} as a date (use YYYY-MM-DD)") \
            from None
    if ts is pd.NaT:
        raise DataValidationError(f"{name}: cannot parse {value!r} as a date (use YYYY-MM-DD)")
    return ts.date()


def score(transactions, *, model: ModelBundle | str | Path, as_of, events=None) -> pd.DataFrame:
    """Score every customer of a transaction table as of a date.

    Parameters
    ----------
    transactions : DataFrame, Arrow table, CSV/Parquet path or ibis.Table
        Transactions in the column names the model was trained with (its config's
        ``data.columns``). Rows after ``as_of`` are an error: scoring never sees the future.
    model : ModelBundle or path
        A bundle, a model directory written by ``cxml train`` or its bundle directory.
    as_of : date-like
        Cut-off date (inclusive). Horizons start the day after.
    events : optional
        Engagement events, when the model was trained with them.

    Returns
    -------
    pandas.DataFrame
        Exactly one row per customer in ``transactions`` with the columns of
        :data:`SCORE_COLUMNS`: ``expected_purchases`` is over the model's horizon
        (the training holdout length), ``clv`` is the discounted CLV over the configured
        months. A customer whose history nets to nothing usable is scored from the
        population prior (frequency 0, age 0) and has ``insufficient_history=True``.

    Raises
    ------
    DataValidationError
        Bad input data or an ``as_of`` before the data.
    """
    bundle = model if isinstance(model, ModelBundle) else ModelBundle.load(model)
    as_of = _as_date(as_of, "as_of")
    spec = bundle.spec
    tx = validate_transactions(transactions, observation_end=as_of, **spec.columns)
    ids = tx.select("customer_id").distinct().to_pandas()["customer_id"]
    if len(ids) == 0:
        raise DataValidationError("transactions: no rows to score (the table is empty)")
    ev = None
    if events is not None:
        ev = validate_events(events, observation_end=as_of, **(spec.event_columns or {}))

    X = customer_features(tx, cutoff=as_of, purchase_model=bundle.purchase_model,
                          spend_model=bundle.spend_model, spec=spec, clv=bundle.clv, events=ev)
    missing = ~ids.isin(X.index)
    X = X.reindex(pd.Index(ids, name="customer_id"))
    if missing.any():
        # Prior-based score: a customer with no usable purchase day is treated as just acquired.
        logger.info("%d customers without usable history scored from the prior", missing.sum())
        from cxml.pipelines._customer_features import btyd_outputs

        idx = X.index[missing.to_numpy()]
        zero = pd.DataFrame(0.0, index=idx, columns=["frequency", "recency", "T",
                                                      "monetary_value"])
        X.loc[idx, zero.columns] = zero
        prior = btyd_outputs(bundle.purchase_model, bundle.spend_model, zero,
                             time_unit=spec.time_unit, horizon_days=spec.horizon_days,
                             clv=bundle.clv)
        X.loc[idx, prior.columns] = prior
    cols = list(bundle.churn_model.feature_names_in_)
    absent = [c for c in cols if c not in X.columns]
    if absent:
        logger.warning("features absent at scoring (treated as missing): %s", absent)
    churn_p = bundle.churn_model.predict_proba(X.reindex(columns=cols).astype(float))[:, 1]

    out = X[["frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
             "expected_average_value", "clv"]].copy()
    out["churn_probability"] = churn_p
    out = assign_segments(out, bundle.segments)
    out["insufficient_history"] = missing.to_numpy()
    out["as_of"] = as_of.isoformat()
    out["model_version"] = bundle.info.get("model_version", bundle.info.get("trained_with", ""))
    out = out.reset_index()
    if len(out) != len(ids):  # the contract: every input customer exactly once
        raise AssertionError(f"scored {len(out)} rows for {len(ids)} customers")
    return out[SCORE_COLUMNS]


def score_frame_example(tx, bundle: ModelBundle, n_customers: int = 5):
    """A small input example (transactions of a few customers) and its scores, for the
    MLflow model signature."""
    cols = bundle.spec.columns
    t = tx.order_by(["customer_id", "timestamp"]).limit(50).to_pandas()
    keep = t["customer_id"].drop_duplicates().iloc[:n_customers]
    t = t[t["customer_id"].isin(keep)]
    # Back to the user's column names: the model's input is the user's table.
    example = t[[c for c in cols if c in t.columns]].rename(columns=cols)
    as_of = str(pd.Timestamp(bundle.info["observation_end"]).date())
    out = score(example, model=bundle, as_of=as_of)
    return example.reset_index(drop=True), out, as_of


def write_scores(df: pd.DataFrame, path: str | Path) -> Path:
    """Write scores as Parquet or CSV (by extension), atomically."""
    from cxml.pipelines._output import write_table

    return write_table(df, path)

