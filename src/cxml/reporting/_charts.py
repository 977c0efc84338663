"""Charts of the report: matplotlib figures rendered as inline, accessible SVG.

matplotlib is already a cxml dependency and renders to SVG without a browser, a JavaScript
library or a network: the report opens offline, prints, and works with scripts disabled.
Figures are built with :class:`matplotlib.figure.Figure` directly (never pyplot), so no GUI
backend or global state is involved. Every chart gets a title, axis labels, an
``aria-label`` and a ``<figcaption>``.
"""

from __future__ import annotations

import html
import io
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # matplotlib is imported on first chart
    from matplotlib.figure import Figure

__all__ = ["bar_chart", "figure_html", "histogram", "matrix_chart"]

# the XML prolog, the DOCTYPE (which names a URL) and the RDF metadata block are not
# needed inside HTML and would only add bytes and external identifiers
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _figure(width: float = 6.4, height: float = 3.6) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def figure_html(fig: Figure, *, alt: str, caption: str) -> str:
    """``fig`` as an inline ``<figure>``: the SVG with ``role="img"``/``aria-label`` and a caption.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    alt : str
        Text alternative of the chart (what it shows, for screen readers).
    caption : str
        Visible caption.

    Returns
    -------
    str
        HTML, deterministic for the same figure (fixed SVG ids, no date).
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "cxml-report", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = _METADATA.sub("", _PROLOG.sub("", buf.getvalue(), count=1), count=1)
    label = html.escape(alt, quote=True)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    return f'<figure class="chart">{svg}<figcaption>{html.escape(caption)}</figcaption></figure>'


def histogram(
    values,
    *,
    title: str,
    xlabel: str,
    ylabel: str = "customers",
    bins: int = 40,
    clip_quantile: float | None = None,
) -> Figure:
    """Histogram of ``values`` from counts (its size does not grow with the number of values).

    Parameters
    ----------
    values : array-like of float
    title, xlabel, ylabel : str
    bins : int, default 40
    clip_quantile : float, optional
        Values above this quantile are counted in the last bin (long-tailed CLV).

    Returns
    -------
    matplotlib.figure.Figure
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if clip_quantile is not None and len(v):
        v = np.minimum(v, np.quantile(v, clip_quantile))
    counts, edges = np.histogram(v, bins=bins) if len(v) else (np.zeros(1), np.array([0.0, 1.0]))
    fig = _figure()
    ax = fig.add_subplot()
    ax.stairs(counts, edges, fill=True, color="#3b75af")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def bar_chart(labels, values, *, title: str, xlabel: str, ylabel: str) -> Figure:
    """Horizontal bars, the first label at the top.

    Parameters
    ----------
    labels : sequence of str
    values : sequence of float
    title, xlabel, ylabel : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = [str(x) for x in labels]
    fig = _figure(height=max(2.4, 0.35 * len(labels) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    ax.barh(y, np.asarray(values, dtype=float), color="#c44e52")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def matrix_chart(
    matrix: pd.DataFrame, *, title: str, xlabel: str, ylabel: str, fmt: str = "{:.0%}"
) -> Figure:
    """Heat map of a small matrix (rows x columns), each cell labelled with ``fmt``.

    Parameters
    ----------
    matrix : DataFrame
        Numeric cells; index and columns are the row and column labels.
    title, xlabel, ylabel : str
    fmt : str
        Format of the cell labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = matrix.to_numpy(dtype=float)
    n_r, n_c = values.shape
    fig = _figure(width=max(6.4, 1.1 * n_c + 2.5), height=max(3.0, 0.45 * n_r + 1.8))
    ax = fig.add_subplot()
    ax.imshow(values, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(n_c), [str(c) for c in matrix.columns], rotation=30, ha="right")
    ax.set_yticks(range(n_r), [str(r) for r in matrix.index])
    top = np.nanmax(values) if values.size else 0
    for i in range(n_r):
        for j in range(n_c):
            ax.text(
                j,
                i,
                fmt.format(values[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if top and values[i, j] > 0.6 * top else "black",
            )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig
