"""Segments fixed at training time and applied identically when scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["assign_segments", "segment_scores", "segment_thresholds"]


def segment_thresholds(scores: pd.DataFrame, seg_cfg) -> dict:
    """Freeze the value-tier cut points (CLV quantiles of the training customers), the
    churn-risk cut points, the RFM score cut points and the RFM rules, so a customer scored
    later lands in the same segment whatever else is in the batch.

    Parameters
    ----------
    scores : pandas.DataFrame
        Training customers with ``clv`` and the RFM columns.
    seg_cfg : SegmentsConfig
    """
    from cxml.segments import load_segment_rules, rfm_score_edges

    clv = scores["clv"]
    return {
        "rfm_edges": rfm_score_edges(scores),
        "value_thresholds": [float(x) for x in np.quantile(clv, list(seg_cfg.value_quantiles))],
        "risk_thresholds": [float(x) for x in seg_cfg.risk_thresholds],
        # stored as plain data in bundle.json: scoring never depends on the YAML file again
        "rules": load_segment_rules(seg_cfg.rules).model_dump(mode="json"),
    }


def assign_segments(scores: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """Add ``value_tier``, ``risk_tier``, ``segment`` (value x risk action) and
    ``rfm_segment`` to a frame with ``clv``, ``churn_probability`` and RFM columns.

    Customers flagged ``insufficient_history`` (no usable purchase: scored from the prior)
    get the segment and RFM segment :data:`cxml.segments.INSUFFICIENT_HISTORY` and no value
    or risk tier (null), so they never enter a value x risk action or a target list.
    """
    from cxml.segments import INSUFFICIENT_HISTORY, rfm_segments, value_risk_matrix

    vr = value_risk_matrix(
        scores["clv"],
        scores["churn_probability"],
        value_thresholds=thresholds["value_thresholds"],
        risk_thresholds=thresholds["risk_thresholds"],
    )
    out = scores.copy()
    out["value_tier"] = vr["value_tier"].astype(str).astype(object)
    out["risk_tier"] = vr["risk_tier"].astype(str).astype(object)
    out["segment"] = vr["segment"].astype(str)
    out["rfm_segment"] = rfm_segments(
        out, rules=thresholds["rules"], edges=thresholds.get("rfm_edges")
    ).astype(str)
    if "insufficient_history" in out.columns:
        prior = out["insufficient_history"].astype(bool).to_numpy()
        if prior.any():
            out.loc[prior, ["value_tier", "risk_tier"]] = None
            out.loc[prior, ["segment", "rfm_segment"]] = INSUFFICIENT_HISTORY
    return out


def segment_scores(
    scores,
    *,
    model=None,
    recut: bool = False,
    rules=None,
    value_quantiles=(1 / 3, 2 / 3),
    risk_thresholds=(0.33, 0.66),
):
    """Segment a table of customer scores (the output of :func:`cxml.pipelines.score`).

    Parameters
    ----------
    scores : DataFrame or path
        Needs ``customer_id``, ``clv``, ``churn_probability``, ``frequency``, ``recency``,
        ``T`` and ``monetary_value``.
    model : ModelBundle or path, optional
        Use the value / risk cut points and RFM rules frozen in this model (the model that
        produced the scores), so that a customer's segment does not depend on the batch.
    recut : bool, default False
        Without ``model``: cut value tiers at CLV quantiles of ``scores`` itself (tiers are
        then relative to this batch). One of ``model`` and ``recut`` is required.
    rules : path or dict, optional
        RFM segment rules (default: packaged ``configs/segments.yaml``); ignored with ``model``.
    value_quantiles, risk_thresholds : tuple of float
        Cut points used with ``recut``.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Per-customer scores with ``value_tier``, ``risk_tier``, ``segment`` and
        ``rfm_segment``; and the segment summary (one row per segment).
    """
    from cxml.data import read_table
    from cxml.exceptions import DataValidationError
    from cxml.pipelines._bundle import load_model
    from cxml.segments import load_segment_rules, segment_summary

    df = scores if isinstance(scores, pd.DataFrame) else read_table(scores).to_pandas()
    needed = [
        "customer_id",
        "clv",
        "churn_probability",
        "frequency",
        "recency",
        "T",
        "monetary_value",
    ]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"scores: missing column(s) {', '.join(missing)} (expected the output of `cxml score`)"
        )
    if df["customer_id"].duplicated().any():
        n = int(df["customer_id"].duplicated().sum())
        raise DataValidationError(f"scores: customer_id repeated in {n:,} of {len(df):,} rows")
    if model is not None:
        bundle = load_model(model)
        thresholds = bundle.segments
    elif not recut:
        from cxml.exceptions import CxmlUserError

        raise CxmlUserError(
            "scores: the segment cut points are frozen in the model that produced the scores; "
            "pass it (--model DIR, model=...), or --recut (recut=True) to cut value tiers at "
            "this batch's own CLV quantiles"
        )
    else:
        from cxml.segments import rfm_score_edges

        usable = df
        if "insufficient_history" in df.columns:  # prior-based CLVs would move the cut points
            usable = df[~df["insufficient_history"].astype(bool)]
        thresholds = {
            "rfm_edges": rfm_score_edges(usable),
            "value_thresholds": [
                float(x) for x in np.quantile(usable["clv"], list(value_quantiles))
            ],
            "risk_thresholds": [float(x) for x in risk_thresholds],
            "rules": load_segment_rules(rules).model_dump(mode="json"),
        }
    base = df.drop(
        columns=[
            c for c in ("value_tier", "risk_tier", "segment", "rfm_segment") if c in df.columns
        ]
    ).set_index("customer_id")
    out = assign_segments(base, thresholds)
    churned = "churned_holdout" if "churned_holdout" in out.columns else None
    summary = segment_summary(
        out, segment="segment", clv="clv", churn_probability="churn_probability", churned=churned
    )
    return out.reset_index(), summary
