"""Uplift figures: Qini curves and observed uplift by decile (PNG via ``fig.savefig``).

Built on :class:`matplotlib.figure.Figure` directly, never pyplot, as
:mod:`cxml.evaluation`'s plots: no GUI backend, no global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from cxml.targeting._metrics import (
    perfect_ranking,
    qini_coefficient,
    qini_curve,
    uplift_by_decile,
)

if TYPE_CHECKING:  # matplotlib is imported on first plot
    from matplotlib.figure import Figure

__all__ = ["plot_qini", "plot_uplift_by_decile"]


def _new_figure(figsize=(6.0, 4.5)) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    fig.add_subplot(1, 1, 1)
    return fig


def plot_qini(y, uplift, treatment, *, title: str = "Qini curve") -> Figure:
    """Qini curve of one or several uplift scores, with random and perfect targeting.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : array-like, or mapping of model name to array-like
        Predicted uplift.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.
    title : str, default "Qini curve"
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One line per model (labelled with its Qini coefficient), the perfect ranking and
        the random diagonal.

    Examples
    --------
    >>> fig = plot_qini([1, 0, 1, 0], [0.9, 0.1, 0.5, 0.3], [1, 0, 1, 1])
    >>> fig.axes[0].get_title()
    'Qini curve'
    """
    scores = uplift if isinstance(uplift, Mapping) else {"model": uplift}
    y_arr = np.asarray(y, dtype=float)
    t_arr = np.asarray(treatment, dtype=float)
    fig = _new_figure()
    ax = fig.axes[0]
    x_p, q_p = qini_curve(y_arr, perfect_ranking(y_arr, t_arr, "qini"), t_arr)
    ax.plot(x_p, q_p, color="grey", linewidth=1, label="perfect")
    ax.plot([0, x_p[-1]], [0, q_p[-1]], linestyle="--", color="grey", linewidth=1, label="random")
    for name, s in scores.items():
        x, q = qini_curve(y_arr, s, t_arr)
        ax.plot(x, q, label=f"{name} (Qini {qini_coefficient(y_arr, s, t_arr):.3f})")
    ax.set(xlabel="customers targeted", ylabel="incremental outcome", title=title)
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_uplift_by_decile(
    y, uplift, treatment, *, bins: int = 10, title: str = "Uplift by decile"
) -> Figure:
    """Observed and predicted uplift in bins of predicted uplift, best bin first.

    Parameters
    ----------
    y : array-like
        Outcome per customer (0/1 or continuous).
    uplift : array-like
        Predicted uplift.
    treatment : array-like of {0, 1}
        1 for a treated customer, 0 for control.
    bins : int, default 10
        Number of equal-size bins.
    title : str, default "Uplift by decile"
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        Bars of the observed uplift and points of the mean predicted uplift per bin.
    """
    table = uplift_by_decile(y, uplift, treatment, bins=bins)
    fig = _new_figure()
    ax = fig.axes[0]
    ax.bar(table.index, table["uplift"], color="tab:blue", label="observed")
    ax.plot(table.index, table["predicted_uplift"], "o-", color="tab:orange", label="predicted")
    ax.axhline(0, color="grey", linewidth=1)
    ax.set(
        xlabel="bin of predicted uplift (1 = highest)",
        ylabel="uplift",
        title=title,
        xticks=list(table.index),
    )
    ax.legend(loc="upper right", fontsize="small")
    return fig
