"""Segment figures: sizes and value bar chart, value x risk heat map.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through pyplot, so
they need no GUI backend, leave no global state behind and are safe in batch jobs and
threads. Save with ``fig.savefig(path)``; :mod:`cxml.tracking` logs them to MLflow.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError
from cxml.segments._value import value_risk_matrix

if TYPE_CHECKING:  # matplotlib is imported on first plot: keeps `import cxml.segments` fast
    from matplotlib.figure import Figure

_LEVELS = ("low", "medium", "high")

__all__ = ["plot_segment_sizes", "plot_value_risk_heatmap"]


def plot_segment_sizes(summary: pd.DataFrame) -> Figure:
    """Bar chart of customers per segment and, when known, each segment's total CLV.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`segment_summary` (columns ``segment``, ``customers``, ``share``,
        optionally ``clv_total`` and ``clv_share``).

    Returns
    -------
    matplotlib.figure.Figure
        One panel (customers) or two (customers, total CLV), horizontal bars labelled with
        counts and shares, segments in the summary's row order from top to bottom.

    Raises
    ------
    DataValidationError
        ``summary`` lacks ``segment`` or ``customers``.

    Examples
    --------
    >>> s = pd.DataFrame({"segment": ["a", "b"], "customers": [3, 1], "share": [0.75, 0.25]})
    >>> fig = plot_segment_sizes(s)
    >>> [ax.get_title() for ax in fig.axes]
    ['Customers per segment']
    """
    if not isinstance(summary, pd.DataFrame):
        raise DataValidationError(
            f"plot_segment_sizes: expected the segment_summary DataFrame, got "
            f"{type(summary).__name__}"
        )
    missing = [c for c in ("segment", "customers") if c not in summary.columns]
    if missing:
        raise DataValidationError(
            f"plot_segment_sizes: summary lacks column(s) {missing}; pass the output of "
            "segment_summary"
        )
    labels = summary["segment"].astype(str).tolist()
    customers = summary["customers"].to_numpy(dtype=float)
    share = (
        summary["share"].to_numpy(dtype=float)
        if "share" in summary.columns
        else customers / max(customers.sum(), 1)
    )
    has_clv = "clv_total" in summary.columns
    from matplotlib.figure import Figure

    height = max(3.0, 0.45 * len(labels) + 1.2)
    fig = Figure(figsize=(11 if has_clv else 6.5, height), layout="constrained")
    axes = fig.subplots(1, 2 if has_clv else 1, sharey=True, squeeze=False)[0]
    y = np.arange(len(labels))

    ax = axes[0]
    bars = ax.barh(y, customers, color="#4C72B0")
    ax.bar_label(
        bars,
        labels=[f"{int(c):,} ({s:.1%})" for c, s in zip(customers, share, strict=True)],
        padding=3,
        fontsize=8,
    )
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("customers")
    ax.set_title("Customers per segment")
    ax.margins(x=0.25)

    if has_clv:
        clv_total = summary["clv_total"].to_numpy(dtype=float)
        clv_share = (
            summary["clv_share"].to_numpy(dtype=float)
            if "clv_share" in summary.columns
            else clv_total / np.nansum(clv_total)
        )
        ax2 = axes[1]
        bars2 = ax2.barh(y, np.nan_to_num(clv_total), color="#DD8452")
        ax2.bar_label(
            bars2,
            labels=[f"{v:,.0f} ({s:.1%})" for v, s in zip(clv_total, clv_share, strict=True)],
            padding=3,
            fontsize=8,
        )
        ax2.set_xlabel("total predicted CLV")
        ax2.set_title("Value per segment")
        ax2.margins(x=0.25)
    return fig


def plot_value_risk_heatmap(
    data: pd.DataFrame, *, clv: str = "clv", churn_probability: str = "churn_probability"
) -> Figure:
    """Heat map of customers in the value x churn-risk matrix, cells labelled with actions.

    Parameters
    ----------
    data : DataFrame
        Either the output of :func:`value_risk_matrix` (columns ``value_tier``,
        ``risk_tier``, optionally ``segment``), or per-customer scores with ``clv`` and
        ``churn_probability`` columns, which are placed with the default
        :func:`value_risk_matrix` settings.
    clv, churn_probability : str
        Score column names, used when ``data`` has no tiers.

    Returns
    -------
    matplotlib.figure.Figure
        Rows = value tiers (highest at the top), columns = risk tiers (lowest left); each
        cell shows its customer count, share of all customers and action label.

    Raises
    ------
    DataValidationError
        ``data`` has neither the tier columns nor the score columns.

    Examples
    --------
    >>> m = value_risk_matrix([10.0, 200, 900], [0.9, 0.5, 0.1])
    >>> fig = plot_value_risk_heatmap(m)
    >>> fig.axes[0].get_title()
    'Customers by value and churn risk'
    """
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(
            f"plot_value_risk_heatmap: expected a DataFrame, got {type(data).__name__}"
        )
    if not {"value_tier", "risk_tier"} <= set(data.columns):
        if not {clv, churn_probability} <= set(data.columns):
            raise DataValidationError(
                "plot_value_risk_heatmap: data needs value_tier and risk_tier columns (from "
                f"value_risk_matrix) or {clv!r} and {churn_probability!r} columns; it has "
                f"{list(data.columns)}"
            )
        data = value_risk_matrix(data[clv], data[churn_probability])

    def _order(col):
        s = data[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            return [str(c) for c in s.cat.categories]
        return _tier_order(s.dropna().astype(str).unique())

    v_names = _order("value_tier")[::-1]  # highest value on top
    r_names = _order("risk_tier")
    vt, rt = data["value_tier"].astype(str), data["risk_tier"].astype(str)
    counts = pd.crosstab(vt, rt).reindex(index=v_names, columns=r_names, fill_value=0)
    total = max(int(counts.to_numpy().sum()), 1)
    actions = None
    if "segment" in data.columns:
        actions = (
            pd.DataFrame({"v": vt, "r": rt, "a": data["segment"].astype(str)})
            .drop_duplicates(["v", "r"])
            .set_index(["v", "r"])["a"]
        )

    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.9 * len(r_names) + 2.2, 1.4 * len(v_names) + 1.3), layout="constrained")
    ax = fig.subplots()
    mat = counts.to_numpy(dtype=float)
    im = ax.imshow(mat, cmap="Blues", aspect="auto", vmin=0)
    threshold = mat.max() / 2 if mat.size else 0
    for i, v in enumerate(v_names):
        for j, r in enumerate(r_names):
            text = f"{int(mat[i, j]):,}\n{mat[i, j] / total:.1%}"
            if actions is not None and (v, r) in actions.index:
                text += f"\n{actions[(v, r)]}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if mat[i, j] > threshold else "black",
            )
    ax.set_xticks(np.arange(len(r_names)), r_names)
    ax.set_yticks(np.arange(len(v_names)), v_names)
    ax.set_xlabel("churn risk")
    ax.set_ylabel("value (CLV)")
    ax.set_title("Customers by value and churn risk")
    fig.colorbar(im, ax=ax, label="customers")
    return fig


def _tier_order(labels) -> list[str]:
    """Lowest tier first for tier labels that lost their categorical order (e.g. via CSV)."""
    labels = list(labels)
    if set(labels) <= set(_LEVELS):
        return [lv for lv in _LEVELS if lv in labels]
    numbered = [re.fullmatch(r"tier (\d+)", lb) for lb in labels]
    if all(numbered):
        return [
            lb
            for _, lb in sorted(zip((int(m.group(1)) for m in numbered if m), labels, strict=True))
        ]
    return sorted(labels)
