"""Holdout metrics for churn scores and for purchase / value predictions.

Churn: ROC AUC, PR AUC (average precision), Brier score, log loss, the calibration curve and
lift / gain by decile. Purchases and value: MAE, RMSE, Spearman rank correlation, normalized
Gini, decile MAPE and the aggregate error, the measures of Wang, Liu & Miao (2019), "A Deep
Probabilistic Model for Customer Lifetime Value Prediction" (Google's ZILN paper, sec. 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

from cxml.exceptions import DataValidationError

__all__ = [
    "calibration_curve",
    "churn_metrics",
    "decile_mape",
    "decile_table",
    "lift_table",
    "normalized_gini",
    "value_metrics",
]


def _pair(actual, predicted, *, names=("actual", "predicted")) -> tuple[np.ndarray, np.ndarray]:
    """Two equal-length finite float arrays, or a DataValidationError naming the argument."""
    a = np.asarray(actual, dtype=float).ravel()
    p = np.asarray(predicted, dtype=float).ravel()
    if a.size != p.size:
        raise DataValidationError(
            f"{names[0]} has {a.size:,} values but {names[1]} has {p.size:,}; pass one value "
            "per customer in the same order"
        )
    if a.size == 0:
        raise DataValidationError(f"{names[0]} is empty: nothing to evaluate")
    for name, arr in zip(names, (a, p), strict=True):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise DataValidationError(
                f"{name} is NaN or infinite for {int(bad.sum()):,} of {arr.size:,} customers; "
                "fill or drop them before evaluating"
            )
    return a, p


def _labels(churned, score) -> tuple[np.ndarray, np.ndarray]:
    y, s = _pair(churned, score, names=("churned", "score"))
    bad = (y != 0) & (y != 1)
    if bad.any():
        raise DataValidationError(
            f"churned must be 0 or 1; {int(bad.sum()):,} of {y.size:,} values are not"
        )
    return y.astype(int), s


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
        (the base rate) and ``n``. AUCs are NaN when only one class is present.

    Raises
    ------
    DataValidationError
        Lengths differ, NaN scores, or labels other than 0/1.

    Examples
    --------
    >>> m = churn_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(m["auc"], 2), round(m["brier"], 4)
    (0.75, 0.1581)
    """
    y, s = _labels(churned, score)
    is_prob = bool(np.all((s >= 0) & (s <= 1)))
    two = len(np.unique(y)) == 2
    return {
        "auc": float(skm.roc_auc_score(y, s)) if two else float("nan"),
        "pr_auc": float(skm.average_precision_score(y, s)) if two else float("nan"),
        "brier": float(skm.brier_score_loss(y, s)) if is_prob else float("nan"),
        "log_loss": float(skm.log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1]))
        if is_prob
        else float("nan"),
        "churn_rate": float(y.mean()),
        "n": int(len(y)),
    }


def calibration_curve(
    churned, proba, *, n_bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Observed churn rate against the mean predicted probability, per bin.

    Parameters
    ----------
    churned : array-like of {0, 1}
        Actual churn per customer (1 = no purchase in the holdout).
    proba : array-like of float in [0, 1]
        Predicted churn probability per customer, in the order of ``churned``.
    n_bins : int, default 10
        Number of bins.
    strategy : {"quantile", "uniform"}, default "quantile"
        Equal-count bins (deciles by default) or equal-width bins on [0, 1]. Empty bins
        are left out.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin, lowest probabilities first: ``bin`` (1-based),
        ``n``, ``mean_predicted``, ``observed_rate``.

    Raises
    ------
    DataValidationError
        Probabilities outside [0, 1], bad labels, or mismatched lengths.
    CxmlUserError
        Unknown ``strategy`` or ``n_bins`` < 1.

    Examples
    --------
    >>> c = calibration_curve([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> c[["n", "observed_rate"]].to_numpy().tolist()
    [[2.0, 0.0], [2.0, 1.0]]
    """
    from cxml.exceptions import CxmlUserError

    y, p = _labels(churned, proba)
    if strategy not in ("quantile", "uniform"):
        raise CxmlUserError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    if int(n_bins) < 1:
        raise CxmlUserError(f"n_bins must be at least 1, got {n_bins}")
    out_of_range = (p < 0) | (p > 1)
    if out_of_range.any():
        raise DataValidationError(
            f"proba is outside [0, 1] for {int(out_of_range.sum()):,} of {p.size:,} customers; "
            "a calibration curve needs probabilities, not a ranking score"
        )
    if strategy == "quantile":
        bins = _rank_bins(p, int(n_bins), descending=False)
    else:
        bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    df = pd.DataFrame({"bin": bins + 1, "p": p, "y": y})
    g = df.groupby("bin", sort=True)
    out = pd.DataFrame(
        {
            "n": g.size().astype(float),
            "mean_predicted": g["p"].mean(),
            "observed_rate": g["y"].mean(),
        }
    ).reset_index()
    return out


def _rank_bins(score: np.ndarray, n_bins: int, *, descending: bool) -> np.ndarray:
    """0-based equal-count bins of a score; ties broken by position (stable), so every
    bin holds ``n // n_bins`` or one more customers whatever the ties."""
    n = len(score)
    key = -score if descending else score
    order = np.argsort(key, kind="stable")
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n)
    return (ranks * n_bins) // n


def lift_table(churned, score, *, n_bins: int = 10) -> pd.DataFrame:
    """Lift and cumulative gain of a churn score by decile (bin 1 = highest scores).

    Parameters
    ----------
    churned : array-like of {0, 1}
        Actual churn per customer (1 = no purchase in the holdout).
    score : array-like of float
        Higher = more likely to churn (a probability or any ranking score).
    n_bins : int, default 10
        Equal-count bins; ties are split by input order.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``bin``, ``n``, ``churners``, ``churn_rate``, ``lift`` (bin
        churn rate / overall rate), ``cumulative_share`` (share of customers targeted so
        far), ``cumulative_gain`` (share of all churners captured so far) and
        ``cumulative_lift``.

    Examples
    --------
    >>> t = lift_table([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], n_bins=2)
    >>> t["lift"].tolist(), t["cumulative_gain"].tolist()
    ([2.0, 0.0], [1.0, 1.0])
    """
    y, s = _labels(churned, score)
    bins = _rank_bins(s, int(n_bins), descending=True) + 1
    df = pd.DataFrame({"bin": bins, "y": y})
    g = df.groupby("bin", sort=True)["y"]
    out = pd.DataFrame({"n": g.size(), "churners": g.sum()}).reset_index()
    rate = y.mean()
    out["churn_rate"] = out["churners"] / out["n"]
    out["lift"] = out["churn_rate"] / rate if rate > 0 else np.nan
    out["cumulative_share"] = out["n"].cumsum() / len(y)
    out["cumulative_gain"] = out["churners"].cumsum() / y.sum() if y.sum() else np.nan
    out["cumulative_lift"] = out["cumulative_gain"] / out["cumulative_share"]
    return out


def decile_table(actual, predicted, *, n_bins: int = 10) -> pd.DataFrame:
    """Predicted and actual totals per decile of the prediction (bin 1 = highest).

    Parameters
    ----------
    actual, predicted : array-like of float
        Holdout purchases or spend, and their predictions, one value per customer in the
        same order.
    n_bins : int, default 10
        Number of equal-count bins of ``predicted``; ties are split by input order.

    Returns
    -------
    pandas.DataFrame
        ``bin``, ``n``, ``predicted_mean``, ``actual_mean``, ``predicted_total``,
        ``actual_total`` and ``ape`` (|predicted - actual| / actual of the bin's totals;
        NaN when the bin's actual total is 0).
    """
    a, p = _pair(actual, predicted)
    bins = _rank_bins(p, int(n_bins), descending=True) + 1
    df = pd.DataFrame({"bin": bins, "a": a, "p": p})
    g = df.groupby("bin", sort=True)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "predicted_mean": g["p"].mean(),
            "actual_mean": g["a"].mean(),
            "predicted_total": g["p"].sum(),
            "actual_total": g["a"].sum(),
        }
    ).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.abs(out["predicted_total"] - out["actual_total"]) / out["actual_total"]
    out["ape"] = ape.where(out["actual_total"] != 0)
    return out


def decile_mape(actual, predicted, *, n_bins: int = 10) -> float:
    """Decile-level mean absolute percentage error (Wang, Liu & Miao 2019, sec. 4.2).

    Customers are grouped into ``n_bins`` equal-count bins by predicted value; the MAPE
    compares each bin's predicted total with its actual total. It measures calibration
    of the predictions across the value range, which the ranking measures ignore.

    Parameters
    ----------
    actual, predicted : array-like of float
        Holdout purchases or spend, and their predictions, one value per customer in the
        same order.
    n_bins : int, default 10
        Number of equal-count bins of ``predicted`` (deciles by default).

    Returns
    -------
    float
        Mean of the bins' absolute percentage errors, over bins with a non-zero actual
        total (NaN when there is none).

    Examples
    --------
    >>> round(decile_mape([10, 0, 5, 5], [8, 1, 6, 4], n_bins=2), 4)  # (1/15 + 0) / 2
    0.0333
    """
    ape = decile_table(actual, predicted, n_bins=n_bins)["ape"].dropna()
    return float(ape.mean()) if len(ape) else float("nan")


def normalized_gini(actual, predicted) -> float:
    """Normalized Gini of a ranking, as in Wang, Liu & Miao (2019) (ZILN).

    The Gini of ``actual`` ordered by ``predicted`` divided by the Gini of ``actual``
    ordered by itself. 1 = perfect ranking, 0 = random.

    Parameters
    ----------
    actual, predicted : array-like of float
        Holdout values and the scores that rank them, one value per customer in the same
        order; ties in ``predicted`` keep the input order.

    Returns
    -------
    float
        The normalized Gini, at most 1; NaN when the actual values sum to 0 or are all
        equal (nothing to rank).

    Examples
    --------
    >>> normalized_gini([0, 1, 5], [0.1, 0.5, 3.0])
    1.0
    """
    a, p = _pair(actual, predicted)

    def gini(order_by):
        # Stable sort descending on the score, ties broken by the original order.
        order = np.lexsort((np.arange(len(a)), -order_by))
        cum = np.cumsum(a[order]) / a.sum()
        n = len(a)
        return float(cum.sum() / n - (n + 1) / (2 * n))

    if a.sum() == 0 or np.ptp(a) == 0:
        return float("nan")
    return gini(p) / gini(a)


def value_metrics(actual, predicted, *, prefix: str = "", n_bins: int = 10) -> dict[str, float]:
    """Accuracy and ranking of predicted purchases or value against the holdout.

    Parameters
    ----------
    actual, predicted : array-like of float
        Holdout purchases or spend, and their predictions, one value per customer in the
        same order.
    prefix : str, default ""
        Prepended to every key (``"purchases_"``, ``"value_"``).
    n_bins : int, default 10
        Bins of the decile MAPE.

    Returns
    -------
    dict
        ``mae``, ``rmse``, ``spearman``, ``gini`` (normalized), ``decile_mape``,
        ``actual_total``, ``predicted_total`` and ``aggregate_error`` (predicted / actual
        total - 1).

    Raises
    ------
    DataValidationError
        Lengths differ or a value is NaN / infinite.

    Examples
    --------
    >>> m = value_metrics([0, 10, 30], [1, 9, 20])
    >>> round(m["aggregate_error"], 3), m["spearman"]
    (-0.25, 1.0)
    """
    a, p = _pair(actual, predicted)
    constant = np.ptp(a) == 0 or np.ptp(p) == 0
    out = {
        "mae": float(np.mean(np.abs(a - p))),
        "rmse": float(np.sqrt(np.mean((a - p) ** 2))),
        "spearman": float("nan") if constant else float(stats.spearmanr(a, p).statistic),
        "gini": normalized_gini(a, p),
        "decile_mape": decile_mape(a, p, n_bins=n_bins),
        "actual_total": float(a.sum()),
        "predicted_total": float(p.sum()),
        "aggregate_error": float(p.sum() / a.sum() - 1) if a.sum() else float("nan"),
    }
    return {f"{prefix}{k}": v for k, v in out.items()}
