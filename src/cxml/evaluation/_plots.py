"""Diagnostic figures for churn and value models: calibration, cumulative gain, lift, deciles.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through pyplot, so
they need no GUI backend and leave no global state behind. Save with ``fig.savefig(path)``
(PNG); :mod:`cxml.tracking` logs them to MLflow. Every function takes one score array or a
mapping ``{model name: scores}`` to draw several models on the same axes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from cxml.evaluation._metrics import calibration_curve, decile_table, lift_table

if TYPE_CHECKING:  # matplotlib is imported on first plot: keeps `import cxml.evaluation` fast
    from matplotlib.figure import Figure

__all__ = [
    "as_mapping",
    "new_figure",
    "plot_calibration",
    "plot_decile_value",
    "plot_gain",
    "plot_lift",
]


def new_figure(figsize=(6.0, 4.5)) -> Figure:
    """A matplotlib figure with one axes, not attached to pyplot (no GUI, no global state).

    Parameters
    ----------
    figsize : (float, float), default (6.0, 4.5)
        Width and height in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Constrained layout; its axes is ``fig.axes[0]``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    fig.add_subplot(1, 1, 1)
    return fig


def as_mapping(scores) -> dict[str, np.ndarray]:
    """One score array, or a mapping of model name to scores, as ``{name: float array}``.

    Parameters
    ----------
    scores : array-like or mapping of str to array-like
        A single array is named ``"model"``.

    Returns
    -------
    dict of str to numpy.ndarray
        One float array per model, in the mapping's order.
    """
    if isinstance(scores, Mapping):
        return {str(k): np.asarray(v, dtype=float) for k, v in scores.items()}
    return {"model": np.asarray(scores, dtype=float)}


def plot_calibration(churned, proba, *, n_bins: int = 10) -> Figure:
    """Reliability diagram: observed churn rate against mean predicted probability.

    Parameters
    ----------
    churned : array-like of {0, 1}
        Actual churn per customer (1 = no purchase in the holdout).
    proba : array-like, or mapping of model name to array-like
        Churn probabilities in [0, 1].
    n_bins : int, default 10
        Equal-count bins (see :func:`calibration_curve`).

    Returns
    -------
    matplotlib.figure.Figure
        One line per model and the diagonal of perfect calibration.

    Examples
    --------
    >>> fig = plot_calibration([0, 1, 0, 1], {"a": [0.2, 0.7, 0.1, 0.9]}, n_bins=2)
    >>> fig.axes[0].get_title()
    'Calibration'
    """
    fig = new_figure()
    ax = fig.axes[0]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    for name, p in as_mapping(proba).items():
        c = calibration_curve(churned, p, n_bins=n_bins)
        ax.plot(c["mean_predicted"], c["observed_rate"], marker="o", label=name)
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="mean predicted churn probability",
        ylabel="observed churn rate",
        title="Calibration",
    )
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_gain(churned, score, *, n_bins: int = 10) -> Figure:
    """Cumulative gain: share of churners captured when targeting the top-scored customers.

    Parameters
    ----------
    churned : array-like of {0, 1}
        Actual churn per customer (1 = no purchase in the holdout).
    score : array-like, or mapping of model name to array-like
        Higher = more likely to churn; a mapping draws one curve per model.
    n_bins : int, default 10
        Number of equal-count bins of the score (points on each curve).

    Returns
    -------
    matplotlib.figure.Figure
        Cumulative share of churners captured against the share of customers targeted,
        one line per model, and the diagonal of random targeting.
    """
    fig = new_figure()
    ax = fig.axes[0]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="random")
    for name, s in as_mapping(score).items():
        t = lift_table(churned, s, n_bins=n_bins)
        ax.plot(
            np.r_[0, t["cumulative_share"]], np.r_[0, t["cumulative_gain"]], marker="o", label=name
        )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="share of customers targeted (by score)",
        ylabel="share of churners captured",
        title="Cumulative gain",
    )
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_lift(churned, score, *, n_bins: int = 10) -> Figure:
    """Lift per decile: churn rate of each score decile over the overall rate.

    Parameters
    ----------
    churned : array-like of {0, 1}
        Actual churn per customer (1 = no purchase in the holdout).
    score : array-like, or mapping of model name to array-like
        Higher = more likely to churn; a mapping draws one set of bars per model.
    n_bins : int, default 10
        Number of equal-count bins of the score.

    Returns
    -------
    matplotlib.figure.Figure
        Grouped bars, decile 1 = highest scores; a line at lift 1.
    """
    fig = new_figure()
    ax = fig.axes[0]
    models = as_mapping(score)
    width = 0.8 / max(len(models), 1)
    for i, (name, s) in enumerate(models.items()):
        t = lift_table(churned, s, n_bins=n_bins)
        ax.bar(t["bin"] + (i - (len(models) - 1) / 2) * width, t["lift"], width=width, label=name)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="score decile (1 = highest)", ylabel="lift", title="Lift by decile")
    ax.set_xticks(range(1, n_bins + 1))
    ax.legend(fontsize="small")
    return fig


def plot_decile_value(actual, predicted, *, n_bins: int = 10) -> Figure:
    """Mean predicted against mean actual value per decile of the prediction.

    Parameters
    ----------
    actual : array-like
        Holdout purchases or spend.
    predicted : array-like, or mapping of model name to array-like
        Predictions of ``actual``, one value per customer in the same order; a mapping
        draws one set of bars and points per model.
    n_bins : int, default 10
        Number of equal-count bins of each model's prediction.

    Returns
    -------
    matplotlib.figure.Figure
        Actual means as bars (per model, deciles of that model's prediction) and
        predicted means as points; the gap is what the decile MAPE measures.
    """
    fig = new_figure()
    ax = fig.axes[0]
    models = as_mapping(predicted)
    width = 0.8 / max(len(models), 1)
    for i, (name, p) in enumerate(models.items()):
        t = decile_table(actual, p, n_bins=n_bins)
        x = t["bin"] + (i - (len(models) - 1) / 2) * width
        bars = ax.bar(x, t["actual_mean"], width=width, alpha=0.6, label=f"{name}: actual")
        ax.plot(
            x,
            t["predicted_mean"],
            marker="D",
            linestyle="none",
            color=bars.patches[0].get_facecolor(),
            label=f"{name}: predicted",
        )
    ax.set(
        xlabel="decile of the prediction (1 = highest)",
        ylabel="mean per customer",
        title="Predicted vs actual by decile",
    )
    ax.set_xticks(range(1, n_bins + 1))
    ax.legend(fontsize="small")
    return fig
