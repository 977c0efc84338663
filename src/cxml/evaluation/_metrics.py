"""Holdout metrics for churn scores and for purchase / value predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

__all__ = ["churn_metrics", "value_metrics", "normalized_gini"]


def churn_metrics(churned, score) -> dict[str, float]:
    """Discrimination and calibration of a churn score.

    Parameters
    ----------
    churned : array-like of {0, 1}
        1 = the customer made no purchase in the holdout.
    score : array-like of float
        Higher = more likely to churn. Brier score and log loss are only meaningful
        when ``score`` is a probability; they are NaN otherwise.

    Returns
    -------
    dict
        ``auc``, ``pr_auc`` (average precision), ``brier``, ``log_loss``, ``churn_rate``
        (the base rate) and ``n``.
    """
    y = np.asarray(churned, dtype=int)
    s = np.asarray(score, dtype=float)
    is_prob = bool(np.all((s >= 0) & (s <= 1)))
    two = len(np.unique(y)) == 2
    return {
        "auc": float(skm.roc_auc_score(y, s)) if two else float("nan"),
        "pr_auc": float(skm.average_precision_score(y, s)) if two else float("nan"),
        "brier": float(skm.brier_score_loss(y, s)) if is_prob else float("nan"),
        "log_loss": float(skm.log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1]))
        if is_prob else float("nan"),
        "churn_rate": float(y.mean()),
        "n": int(len(y)),
    }


def normalized_gini(actual, predicted) -> float:
    """Normalized Gini of a ranking, as in Wang et al. (2019), "A Deep Probabilistic Model
    for Customer Lifetime Value Prediction" (ZILN): the Gini of ``actual`` ordered by
    ``predicted`` divided by the Gini of ``actual`` ordered by itself. 1 = perfect ranking,
    0 = random.

    Parameters
    ----------
    actual, predicted : array-like of float

    Returns
    -------
    float
    """
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)

    def gini(order_by):
        # Stable sort descending on the score, ties broken by the original order.
        order = np.lexsort((np.arange(len(a)), -order_by))
        cum = np.cumsum(a[order]) / a.sum()
        n = len(a)
        return float(cum.sum() / n - (n + 1) / (2 * n))

    if a.sum() == 0:
        return float("nan")
    return gini(p) / gini(a)


def value_metrics(actual, predicted, *, prefix: str = "") -> dict[str, float]:
    """Accuracy and ranking of predicted purchases or value against the holdout.

    Parameters
    ----------
    actual, predicted : array-like of float
    prefix : str
        Prepended to every key (``"purchases_"``, ``"value_"``).

    Returns
    -------
    dict
        ``mae``, ``rmse``, ``spearman``, ``gini`` (normalized), ``actual_total``,
        ``predicted_total`` and ``aggregate_error`` (predicted / actual total - 1).
    """
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    out = {
        "mae": float(np.mean(np.abs(a - p))),
        "rmse": float(np.sqrt(np.mean((a - p) ** 2))),
        "spearman": float(stats.spearmanr(a, p).statistic),
        "gini": normalized_gini(a, p),
        "actual_total": float(a.sum()),
        "predicted_total": float(p.sum()),
        "aggregate_error": float(p.sum() / a.sum() - 1) if a.sum() else float("nan"),
    }
    return {f"{prefix}{k}": v for k, v in out.items()}
