"""Render the report: the Jinja2 template filled with :func:`report_context`, one HTML file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxml._atomic import write_atomic
from cxml._version import __version__
from cxml.reporting._content import report_context
from cxml.reporting._inputs import check_scores

__all__ = ["build_report", "write_report"]


def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("cxml.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    return env.get_template("report.html.j2")


def _markup(ctx: dict) -> dict:
    """The chart fragments are trusted HTML (built here from escaped text)."""
    from markupsafe import Markup

    ctx["charts"] = {k: (Markup(v) if v else v) for k, v in ctx["charts"].items()}
    prev = ctx.get("previous")
    if prev:
        prev["migration_chart"] = Markup(prev["migration_chart"])
        if prev.get("backtest"):
            prev["backtest"]["chart"] = Markup(prev["backtest"]["chart"])
    return ctx


def build_report(
    scores: pd.DataFrame,
    model,
    *,
    previous: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    churned=None,
    features: pd.DataFrame | None = None,
    title: str = "Customer value and churn report",
) -> str:
    """One self-contained HTML page on a scoring: segments, distributions, drivers, drift.

    The page has inline CSS and inline SVG charts only (no script, no image file, no URL
    to load): it opens offline and can be mailed as one file.

    Parameters
    ----------
    scores : DataFrame
        Written by ``cxml score`` / :func:`cxml.pipelines.score` with ``model``.
    model : cxml.pipelines.ModelBundle, str or Path
        The model that scored them (a bundle, a model directory or MLflow URI).
    previous : DataFrame, optional
        Earlier scores: adds segment migration, population stability and, when ``scores``
        are later, a backtest of the earlier scoring.
    events : DataFrame, optional
        Engagement events (``customer_id``, ``event_type``, ``value``): NPS, CSAT and CES
        per segment.
    churned : str or array-like of bool, optional
        Actual churn of the scored customers when known (a column name or values aligned
        with ``scores``): the segment table's actual churn and a calibration plot.
    features : DataFrame, optional
        The churn model's features of (a sample of) the customers: the churn drivers are
        then their mean |SHAP|. Without it, SHAP values are computed from ``scores`` when
        these carry every model feature, else the drivers are the model's gain shares.
    title : str

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    DataValidationError
        Scores not from ``cxml score``, or from another model.
    """
    from cxml.pipelines import load_model

    bundle = model if hasattr(model, "churn_model") else load_model(model)
    check_scores(scores, model_version=bundle.model_version)
    if previous is not None:
        check_scores(previous, model_version=None, name="previous scores")
    ctx = report_context(
        scores,
        bundle,
        previous=previous,
        events=events,
        churned=churned,
        features=features,
        title=title,
    )
    ctx["cxml_version"] = __version__
    return _template().render(**_markup(ctx))


def write_report(scores: pd.DataFrame, model, path: str | Path, **kwargs) -> Path:
    """Build the report (see :func:`build_report`) and write it to ``path`` atomically.

    Parameters
    ----------
    scores, model
        As for :func:`build_report`.
    path : str or Path
        The HTML file; replaced only once the whole page is written.
    **kwargs
        ``previous``, ``events``, ``churned``, ``features``, ``title``.

    Returns
    -------
    Path
    """
    return write_atomic(path, build_report(scores, model, **kwargs))
