"""Holdout evaluation: churn and value metrics, decile tables and diagnostic plots."""

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
    "plot_decile_value",
    "plot_gain",
    "plot_lift",
    "value_metrics",
]
