"""Segments: RFM scores and named RFM segments, CLV tiers, value x churn-risk matrix.

RFM segment rules are data (``_default_rules.yaml``, copied to ``configs/segments.yaml``),
so users change them without code. :func:`segment_summary` summarises any segmentation
(size, CLV, predicted and actual churn, NPS/CSAT/CES), and the two plot functions return
matplotlib figures for reports and MLflow.
"""

from cxml.segments._plots import plot_segment_sizes, plot_value_risk_heatmap
from cxml.segments._rfm import (
    quantile_edges,
    quantile_scores,
    rfm_score_edges,
    rfm_scores,
    rfm_segments,
)
from cxml.segments._rules import SegmentRule, SegmentRules, load_segment_rules
from cxml.segments._summary import segment_summary
from cxml.segments._value import INSUFFICIENT_HISTORY, clv_tiers, value_risk_matrix

__all__ = [
    "INSUFFICIENT_HISTORY",
    "SegmentRule",
    "SegmentRules",
    "clv_tiers",
    "load_segment_rules",
    "plot_segment_sizes",
    "plot_value_risk_heatmap",
    "quantile_edges",
    "quantile_scores",
    "rfm_score_edges",
    "rfm_scores",
    "rfm_segments",
    "segment_summary",
    "value_risk_matrix",
]
