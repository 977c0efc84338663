"""BTYD diagnostic figures (after Fader, Hardie & Lee 2005) and ROC / precision-recall curves.

Like the other figures of :mod:`cxml.evaluation`, these build a
:class:`matplotlib.figure.Figure` directly (no pyplot state) and take plain arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from cxml.evaluation._plots import as_mapping, new_figure
from cxml.exceptions import DataValidationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "plot_roc",
    "plot_precision_recall",
    "plot_holdout_by_frequency",
    "plot_probability_alive_matrix",
    "plot_frequency_recency_matrix",
    "plot_cumulative_purchases",
]


def plot_roc(churned, score) -> Figure:
    """ROC curve of one or several churn scores, with the AUC in the legend.

    Parameters
    ----------
    churned : array-like of {0, 1}
    score : array-like, or mapping of model name to array-like
        Higher = more likely to churn.

    Returns
    -------
    matplotlib.figure.Figure
        One curve per score and the chance diagonal.
    """
    y = np.asarray(churned, dtype=int)
    fig = new_figure()
    ax = fig.axes[0]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    for name, s in as_mapping(score).items():
        fpr, tpr, _ = skm.roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} (AUC {skm.roc_auc_score(y, s):.3f})")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="ROC (churn)",
    )
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_precision_recall(churned, score) -> Figure:
    """Precision-recall curve of one or several churn scores (average precision in the legend).

    Parameters
    ----------
    churned : array-like of {0, 1}
        1 = churned.
    score : array-like, or mapping of model name to array-like
        Higher = more likely to churn.

    Returns
    -------
    matplotlib.figure.Figure
        One curve per score and the base rate.
    """
    y = np.asarray(churned, dtype=int)
    fig = new_figure()
    ax = fig.axes[0]
    ax.axhline(y.mean(), linestyle="--", color="grey", linewidth=1, label="base rate")
    for name, s in as_mapping(score).items():
        precision, recall, _ = skm.precision_recall_curve(y, s)
        ax.plot(recall, precision, label=f"{name} (AP {skm.average_precision_score(y, s):.3f})")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="recall",
        ylabel="precision",
        title="Precision-recall (churn)",
    )
    ax.legend(loc="lower left", fontsize="small")
    return fig


def plot_holdout_by_frequency(
    frequency_cal, actual_holdout, predicted_holdout, *, max_frequency: int = 7
) -> Figure:
    """Mean holdout purchases, actual and predicted, by calibration-period frequency.

    The conditional-expectation check of Fader, Hardie & Lee (2005), figure 4.

    Parameters
    ----------
    frequency_cal : array-like of int
        Repeat purchases in the calibration period.
    actual_holdout, predicted_holdout : array-like of float
        Purchases in the holdout and their prediction (e.g. ``expected_purchases``).
    max_frequency : int, default 7
        Frequencies above are pooled into one ``"{max_frequency}+"`` group.

    Returns
    -------
    matplotlib.figure.Figure
        Actual and predicted means per frequency group.
    """
    f = np.asarray(frequency_cal, dtype=float)
    a = np.asarray(actual_holdout, dtype=float)
    p = np.asarray(predicted_holdout, dtype=float)
    if not (len(f) == len(a) == len(p)):
        raise DataValidationError("plot_holdout_by_frequency: the three arrays differ in length")
    group = np.minimum(f, max_frequency).astype(int)
    df = pd.DataFrame({"g": group, "actual": a, "predicted": p}).groupby("g").mean()
    labels = [f"{g}+" if g == max_frequency else str(g) for g in df.index]
    fig = new_figure()
    ax = fig.axes[0]
    ax.plot(labels, df["actual"], marker="o", label="actual")
    ax.plot(labels, df["predicted"], marker="s", linestyle="--", label="model")
    ax.set(
        xlabel="purchases in calibration period",
        ylabel="mean purchases in holdout",
        title="Conditional expectations (holdout)",
    )
    ax.legend(fontsize="small")
    return fig


def _grid(max_frequency: int, max_recency: float, n: int = 40):
    freq = np.arange(0, int(max_frequency) + 1, dtype=float)
    rec = np.linspace(0.0, float(max_recency), n)
    F, R = np.meshgrid(freq, rec, indexing="ij")
    return freq, rec, F, R


def _heatmap(values, freq, rec, *, title: str, cbar: str) -> Figure:
    fig = new_figure((6.5, 4.5))
    ax = fig.axes[0]
    im = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        extent=(rec[0], rec[-1], freq[0] - 0.5, freq[-1] + 0.5),
    )
    ax.set(
        xlabel="recency (time of last purchase)", ylabel="frequency (repeat purchases)", title=title
    )
    fig.colorbar(im, ax=ax, label=cbar)
    return fig


def plot_probability_alive_matrix(model, *, max_frequency: int, T: float) -> Figure:
    """P(alive) of a customer of age ``T`` over frequency x recency (lifetimes' matrix).

    Parameters
    ----------
    model : fitted BTYD purchase model
        Anything with ``probability_alive(frequency, recency, T)``.
    max_frequency : int
        Largest frequency on the grid.
    T : float
        Customer age, in the model's time unit; recency runs from 0 to ``T``.

    Returns
    -------
    matplotlib.figure.Figure
        Heat map of P(alive), frequency on the vertical axis.
    """
    freq, rec, F, R = _grid(max_frequency, T)
    p = model.probability_alive(
        F.ravel(), np.where(F.ravel() == 0, 0.0, R.ravel()), np.full(F.size, float(T))
    ).reshape(F.shape)
    return _heatmap(p, freq, rec, title=f"P(alive) at age T = {T:.1f}", cbar="P(alive)")


def plot_frequency_recency_matrix(model, *, t: float, max_frequency: int, T: float) -> Figure:
    """Expected purchases in the next ``t`` periods over frequency x recency, at age ``T``.

    Parameters
    ----------
    model : fitted BTYD purchase model
        Anything with ``expected_purchases(t, frequency, recency, T)``.
    t : float
        Horizon, in the model's time unit.
    max_frequency : int
        Largest frequency on the grid.
    T : float
        Customer age, in the model's time unit; recency runs from 0 to ``T``.

    Returns
    -------
    matplotlib.figure.Figure
        Heat map of expected purchases, frequency on the vertical axis.
    """
    freq, rec, F, R = _grid(max_frequency, T)
    e = model.expected_purchases(
        t, F.ravel(), np.where(F.ravel() == 0, 0.0, R.ravel()), np.full(F.size, float(T))
    ).reshape(F.shape)
    return _heatmap(
        e, freq, rec, title=f"Expected purchases in the next {t:g} periods", cbar="E[purchases]"
    )


def plot_cumulative_purchases(
    first_purchases: pd.Series,
    repeat_purchases: pd.Series,
    model,
    *,
    time_unit: str,
    calibration_end,
    end,
) -> Figure:
    """Tracking plot: cumulative repeat purchase days, actual against the model, by day.

    The model line sums each customer's unconditional expected purchases
    ``population_expected_purchases(age)`` (Fader, Hardie & Lee 2005, eq. 7 for BG/NBD) from
    their first purchase; a vertical line marks the end of calibration.

    Parameters
    ----------
    first_purchases : pandas.Series
        Number of customers whose first purchase falls on each day (index: dates).
    repeat_purchases : pandas.Series
        Number of repeat purchase days on each day (index: dates).
    model : fitted BTYD purchase model
        Anything with ``population_expected_purchases(t)``.
    time_unit : {"D", "W"}
        Unit the model was fitted in.
    calibration_end, end : date-like
        End of calibration (marked) and of the plot.

    Returns
    -------
    matplotlib.figure.Figure
        Actual and model cumulative curves by day.
    """
    unit = {"D": 1.0, "W": 7.0}[time_unit]
    cohorts = (
        pd.Series(
            np.asarray(first_purchases, dtype=float), index=pd.to_datetime(first_purchases.index)
        )
        .groupby(level=0)
        .sum()
    )
    days = pd.date_range(cohorts.index.min(), pd.Timestamp(end), freq="D")
    ages = (days.values[:, None] - cohorts.index.values[None, :]) / np.timedelta64(1, "D")
    ages = np.clip(ages, 0.0, None) / unit
    expected = np.asarray(model.population_expected_purchases(ages.ravel())).reshape(ages.shape)
    predicted = expected @ cohorts.to_numpy()
    repeat = (
        pd.Series(
            np.asarray(repeat_purchases, dtype=float), index=pd.to_datetime(repeat_purchases.index)
        )
        .groupby(level=0)
        .sum()
    )
    actual = repeat.reindex(days, fill_value=0.0).cumsum()
    fig = new_figure((7.0, 4.5))
    ax = fig.axes[0]
    ax.plot(days, actual.to_numpy(), label="actual")
    ax.plot(days, predicted, linestyle="--", label="model")
    ax.axvline(pd.Timestamp(calibration_end), color="grey", linestyle=":", label="calibration end")
    ax.set(
        xlabel="date",
        ylabel="cumulative repeat purchase days",
        title="Tracking cumulative repeat purchases",
    )
    ax.legend(fontsize="small")
    fig.autofmt_xdate()
    return fig
