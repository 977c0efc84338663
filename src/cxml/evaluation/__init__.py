"""Holdout evaluation: churn and value metrics, decile tables and diagnostic plots."""

from cxml.evaluation._diagnostics import (
    plot_cumulative_purchases,
    plot_frequency_recency_matrix,
    plot_holdout_by_frequency,
    plot_precision_recall,
    plot_probability_alive_matrix,
    plot_roc,
)
from cxml.evaluation._metrics import (
    calibration_curve,
    churn_metrics,
    decile_mape,
    decile_table,
    lift_table,
    normalized_gini,
    value_metrics,
)
from cxml.evaluation._plots import plot_calibration, plot_decile_value, plot_gain, plot_lift

__all__ = [
    "calibration_curve",
    "churn_metrics",
    "decile_mape",
    "decile_table",
    "lift_table",
    "normalized_gini",
    "plot_calibration",
    "plot_cumulative_purchases",
    "plot_decile_value",
    "plot_frequency_recency_matrix",
    "plot_gain",
    "plot_holdout_by_frequency",
    "plot_lift",
    "plot_precision_recall",
    "plot_probability_alive_matrix",
    "plot_roc",
    "value_metrics",
]
