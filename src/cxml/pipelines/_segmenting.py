"""Segments fixed at training time and applied identically when scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["assign_segments", "segment_thresholds"]


def segment_thresholds(clv: pd.Series, seg_cfg) -> dict:
    """Freeze the value-tier cut points (CLV quantiles of the training customers), the
    churn-risk cut points and the RFM rules, so a customer scored later lands in the same
    segment whatever else is in the batch.
    """
    from cxml.segments import load_segment_rules

    return {
        "value_thresholds": [float(x) for x in np.quantile(clv, list(seg_cfg.value_quantiles))],
        "risk_thresholds": [float(x) for x in seg_cfg.risk_thresholds],
        "rules": load_segment_rules(seg_cfg.rules),
    }


def assign_segments(scores: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """Add ``value_tier``, ``risk_tier``, ``segment`` (value x risk action) and
    ``rfm_segment`` to a frame with ``clv``, ``churn_probability`` and RFM columns."""
    from cxml.segments import rfm_segments, value_risk_matrix

    vr = value_risk_matrix(scores["clv"], scores["churn_probability"],
                           value_thresholds=thresholds["value_thresholds"],
                           risk_thresholds=thresholds["risk_thresholds"])
    out = scores.copy()
    out["value_tier"] = vr["value_tier"].astype(str)
    out["risk_tier"] = vr["risk_tier"].astype(str)
    out["segment"] = vr["segment"].astype(str)
    out["rfm_segment"] = rfm_segments(out, rules=thresholds["rules"]).astype(str)
    return out
