"""Holdout evaluation: churn and value metrics, diagnostic plots."""

from cxml.evaluation._metrics import churn_metrics, normalized_gini, value_metrics

__all__ = ["churn_metrics", "normalized_gini", "value_metrics"]
