"""The report's content: numbers, tables and charts computed from scores and a model.

Every aggregate is computed on all customers (sums, means, histograms); only the SHAP
values of the churn drivers are computed on a sample, so the page's size and the time to
build it stay bounded whatever the number of customers.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cxml.reporting._charts import bar_chart, figure_html, histogram, matrix_chart
from cxml.reporting._drift import backtest, migration_matrix, population_stability_index

__all__ = ["SHAP_SAMPLE", "TOP_DRIVERS", "report_context"]

#: Rows whose SHAP values give the global churn drivers.
SHAP_SAMPLE = 2_000
#: Churn drivers shown.
TOP_DRIVERS = 10
_SCORE_DRIFT = ("clv", "churn_probability", "p_alive")


def report_context(
    scores: pd.DataFrame,
    bundle,
    *,
    previous: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    churned=None,
    features: pd.DataFrame | None = None,
    title: str = "Customer value and churn report",
    seed: int = 0,
) -> dict:
    """Everything the template shows, as plain values and ready HTML fragments.

    Parameters
    ----------
    scores : DataFrame
        Checked scores (see :func:`cxml.reporting.check_scores`).
    bundle : cxml.pipelines.ModelBundle
    previous : DataFrame, optional
        Earlier scores of (some of) the same customers.
    events : DataFrame, optional
        Engagement events with survey answers (``customer_id``, ``event_type``, ``value``).
    churned : str or array-like of bool, optional
        Actual churn of the scored customers when known (a training holdout).
    features : DataFrame, optional
        The churn model's features of the customers (training: the model matrix), for the
        SHAP values of the drivers; without it they come from the scores when these carry
        every model feature, else from the model's gain importances.
    title : str
    seed : int
        Seed of the SHAP sample.

    Returns
    -------
    dict
    """
    from cxml.segments import segment_summary

    as_of = sorted(pd.unique(scores["as_of"].astype(str)))
    versions = sorted(pd.unique(scores["model_version"].astype(str)))
    ctx: dict = {
        "title": title,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "as_of": ", ".join(as_of),
        "model_version": ", ".join(versions),
        "policies": _policies(bundle),
        "charts": {},
    }
    n = len(scores)
    ctx["headline"] = [
        ("Customers", f"{n:,}"),
        ("Predicted CLV total", f"{scores['clv'].sum():,.0f}"),
        # two definitions that differ a lot on real data (Online Retail II: 51% expected
        # churners, 91% mean P(alive)): each headline says which one it is
        (
            f"Expected churners (no purchase in the next {bundle.spec.horizon_days} days)",
            f"{scores['churn_probability'].sum():,.0f}",
        ),
        ("Mean P(alive) (BTYD: not yet dropped out)", f"{scores['p_alive'].mean():.1%}"),
    ]
    summary = segment_summary(
        scores,
        segment="segment",
        clv="clv",
        churn_probability="churn_probability",
        churned=churned,
        events=events,
    )
    ctx["segments"] = _segment_rows(summary)
    ctx["segment_names"] = [str(s) for s in summary["segment"]]
    ctx["survey"] = events is not None
    charts = ctx["charts"]
    charts["clv"] = figure_html(
        histogram(
            scores["clv"],
            title="Predicted CLV",
            xlabel="CLV (top 1% in the last bin)",
            clip_quantile=0.99,
        ),
        alt="Histogram of predicted customer lifetime value per customer",
        caption=f"Predicted CLV of the {n:,} customers; the top 1% are counted in the last bin.",
    )
    charts["churn"] = figure_html(
        histogram(
            scores["churn_probability"], title="Churn probability", xlabel="churn probability"
        ),
        alt="Histogram of the churn probability per customer",
        caption="Churn probability of every customer.",
    )
    charts["heatmap"] = _heatmap(scores)
    ctx["drivers"], charts["drivers"] = _drivers(
        scores if features is None else features, bundle, seed=seed
    )
    ctx["reasons"] = _reasons(scores)
    ctx["quality"], charts["calibration"] = _quality(scores, bundle, churned)
    ctx["previous"] = (
        None
        if previous is None
        else _comparison(
            previous, scores, ctx["drivers"], trained_to=bundle.info.get("observation_end")
        )
    )
    return ctx


def _policies(bundle) -> list[tuple[str, str]]:
    spec = bundle.spec
    info = bundle.info
    return [
        ("model", str(info.get("name", ""))),
        ("trained on data up to", str(info.get("observation_end", ""))),
        ("holdout starts after", str(info.get("calibration_end", ""))),
        ("time unit", spec.time_unit),
        ("horizon (days)", str(spec.horizon_days)),
        ("CLV horizon (months)", str(bundle.clv.get("horizon_months", ""))),
        ("annual discount rate", str(bundle.clv.get("annual_discount_rate", ""))),
        ("timestamp format", spec.timestamp_format or "ISO 8601"),
        ("null customer_id", spec.null_customer_id),
    ]


def _fmt(v, kind: str | None) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return {
        "int": f"{int(v):,}",
        "pct": f"{v:.1%}",
        "num": f"{v:,.0f}",
        "score": f"{v:.1f}",
        "mean": f"{v:.2f}",
    }[kind or "num"]


def _segment_rows(summary: pd.DataFrame) -> dict:
    cols = [
        ("segment", "Segment", None),
        ("customers", "Customers", "int"),
        ("share", "Share", "pct"),
        ("clv_total", "CLV total", "num"),
        ("clv_share", "CLV share", "pct"),
        ("churn_probability_mean", "Mean churn probability", "pct"),
        ("churn_actual", "Actual churn", "pct"),
        ("nps", "NPS", "score"),
        ("csat", "CSAT (%)", "score"),
        ("ces", "CES", "mean"),
    ]
    cols = [c for c in cols if c[0] in summary.columns]
    rows = [
        [str(r["segment"])] + [_fmt(r[c], k) for c, _, k in cols[1:]] for _, r in summary.iterrows()
    ]
    return {"header": [h for _, h, _ in cols], "rows": rows}


def _heatmap(scores: pd.DataFrame) -> str:
    from cxml.segments import INSUFFICIENT_HISTORY, plot_value_risk_heatmap

    tiered = scores[scores["segment"] != INSUFFICIENT_HISTORY]
    fig = plot_value_risk_heatmap(tiered[["value_tier", "risk_tier", "segment"]])
    ax = fig.axes[0]
    ax.set_xlabel(ax.get_xlabel() or "churn risk tier")
    ax.set_ylabel(ax.get_ylabel() or "value tier")
    return figure_html(
        fig,
        alt="Heat map of customers by value tier and churn-risk tier",
        caption=f"Value x risk matrix of the {len(tiered):,} customers with "
        "enough history for tiers; each cell names its action.",
    )


def _drivers(scores: pd.DataFrame, bundle, *, seed: int):
    """The churn drivers and how they were measured, best measure first: mean |SHAP| on
    a sample when every model feature is at hand; the mean upward SHAP of the scores'
    reason columns (``cxml score --explain``); else the model's gain shares, said so."""
    from cxml.pipelines import NOT_A_REASON

    model = bundle.churn_model
    names = [str(c) for c in model.feature_names_in_]
    title = "Top churn drivers"
    reasons = _reason_shap(scores)
    if all(c in scores.columns for c in names):
        rows = scores.sample(min(len(scores), SHAP_SAMPLE), random_state=seed)
        shap = model.shap_values(rows[names]).drop(columns="expected_value")
        imp = shap.abs().mean().sort_values(ascending=False)
        how = f"mean |SHAP| (log-odds) over {len(rows):,} sampled customers, LightGBM pred_contrib"
        xlabel = "mean |SHAP value| (log-odds of churn)"
    elif reasons is not None:
        imp, k = reasons
        how = (
            f"mean upward SHAP contribution (log-odds) over the {len(scores):,} customers, "
            f"from the scores' top {k} reasons (cxml score --explain); a feature outside a "
            "customer's top reasons counts 0, so this is a lower bound of its mean positive "
            "SHAP value (pass --transactions for the mean |SHAP| of every feature)"
        )
        xlabel = f"mean upward SHAP (log-odds of churn), top-{k} reasons"
    else:
        gain = pd.Series(model.feature_importances_, dtype=float)
        imp = (gain / gain.sum()).sort_values(ascending=False)
        how = (
            "gain share, not SHAP: the share of the churn model's total split gain, because "
            "the scores carry neither every model feature nor reason columns; pass "
            "--transactions (features= in Python) or score with --explain for SHAP"
        )
        title = "Top churn drivers (gain share, not SHAP)"
        xlabel = "share of total gain (not SHAP)"
    shared = [c for c in NOT_A_REASON if c in imp.index]
    if shared:  # the same value for every scored customer: a time effect, not a driver
        imp = imp.drop(index=shared)
        how += f"; {', '.join(shared)} (the same for every scored customer) left out"
    imp = imp.head(TOP_DRIVERS)
    fig = bar_chart(imp.index, imp.to_numpy(), title=title, xlabel=xlabel, ylabel="feature")
    chart = figure_html(
        fig,
        alt=f"Bar chart of the {len(imp)} most important churn features ({xlabel}), "
        f"largest first: {', '.join(str(i) for i in imp.index)}",
        caption=f"Top churn drivers: {how}.",
    )
    return [str(i) for i in imp.index], chart


def _reason_shap(scores: pd.DataFrame) -> tuple[pd.Series, int] | None:
    """(mean upward SHAP per feature over all customers, K) from ``reason_k`` and
    ``reason_k_shap`` (k = 1..K), or None without reason columns."""
    k = 0
    while f"reason_{k + 1}" in scores.columns and f"reason_{k + 1}_shap" in scores.columns:
        k += 1
    if not k:
        return None
    parts = [
        scores[[f"reason_{j}", f"reason_{j}_shap"]].set_axis(["feature", "shap"], axis=1)
        for j in range(1, k + 1)
    ]
    long = pd.concat(parts, ignore_index=True).dropna()
    if not len(long):
        return None
    total = long.groupby(long["feature"].astype(str))["shap"].sum()
    return (total / len(scores)).sort_values(ascending=False), k


def _reasons(scores: pd.DataFrame) -> list[tuple[str, str, str]] | None:
    """How often each feature is the first reason (``cxml score --explain``) of a customer
    in the high churn-risk tier: (feature, customers, share of the tier)."""
    if "reason_1" not in scores.columns:
        return None
    high = scores.loc[scores["risk_tier"] == "high", "reason_1"].dropna()
    if not len(high):
        return None
    counts = high.value_counts().head(TOP_DRIVERS)
    return [(str(f), f"{n:,}", f"{n / len(high):.1%}") for f, n in counts.items()]


def _quality(scores: pd.DataFrame, bundle, churned):
    from cxml.evaluation import plot_calibration

    m = bundle.info.get("metrics", {})
    labels = {
        "churn_auc": "Churn AUC (cross-fitted, holdout)",
        "bgnbd_p_alive_churn_auc": "AUC of 1 - P(alive) (BG/NBD baseline)",
        "churn_brier": "Churn Brier score",
        "churn_log_loss": "Churn log loss",
        "purchases_mae": "Holdout purchases MAE",
        "value_mae": "Holdout spend MAE",
    }
    rows = [(lab, f"{m[k]:.3f}") for k, lab in labels.items() if k in m]
    chart = None
    if churned is not None:
        y = np.asarray(scores[churned] if isinstance(churned, str) else churned, dtype=float)
        fig = plot_calibration(y, {"cxml": scores["churn_probability"].to_numpy()})
        ax = fig.axes[0]
        ax.set_xlabel(ax.get_xlabel() or "mean predicted churn probability")
        ax.set_ylabel(ax.get_ylabel() or "observed churn rate")
        chart = figure_html(
            fig,
            alt="Calibration plot: observed churn rate against predicted churn probability",
            caption="Calibration on the customers whose churn is known.",
        )
    return rows, chart


def _comparison(
    previous: pd.DataFrame, scores: pd.DataFrame, drivers: list[str], *, trained_to=None
) -> dict:
    from cxml.evaluation import churn_metrics, plot_calibration
    from cxml.segments import segment_summary

    out: dict = {"as_of": ", ".join(sorted(pd.unique(previous["as_of"].astype(str))))}
    counts, shares = migration_matrix(previous, scores)
    out["n_both"] = int(counts.to_numpy().sum())
    out["n_previous"] = len(previous)
    out["migration_counts"] = {
        "columns": [str(c) for c in counts.columns],
        "rows": [
            (str(i), [f"{v:,}" for v in r])
            for i, r in zip(counts.index, counts.to_numpy(), strict=True)
        ],
    }
    out["migration_chart"] = figure_html(
        matrix_chart(
            shares, title="Segment migration", xlabel="new segment", ylabel="previous segment"
        ),
        alt="Heat map of the share of each previous segment that moved to each new segment",
        caption=f"Share of each previous segment's customers in each new segment "
        f"({out['n_both']:,} customers in both files).",
    )
    feats = [
        c
        for c in drivers
        if c in previous.columns and c in scores.columns and c not in _SCORE_DRIFT
    ]
    if not feats:
        feats = ["frequency", "recency", "monetary_value"]
    out["psi"] = [
        (c, f"{population_stability_index(previous[c], scores[c]):.3f}")
        for c in (*_SCORE_DRIFT, *feats[:5])
    ]
    new_as_of = pd.to_datetime(scores["as_of"]).min()
    old_as_of = pd.to_datetime(previous["as_of"]).max()
    out["backtest"] = None
    if new_as_of > old_as_of:
        bt = backtest(previous, scores)
        if len(bt):
            seg = segment_summary(
                bt,
                segment="segment",
                clv=None,
                churn_probability="churn_probability",
                churned="churned",
            )
            rows = [
                (
                    str(r["segment"]),
                    f"{int(r['customers']):,}",
                    _fmt(r["churn_probability_mean"], "pct"),
                    _fmt(r["churn_actual"], "pct"),
                    _fmt(1 - r["churn_actual"], "pct"),
                )
                for _, r in seg.iterrows()
            ]
            y = bt["churned"].to_numpy(dtype=float)
            auc = (
                churn_metrics(y, bt["churn_probability"])["auc"]
                if 0 < y.sum() < len(y)
                else float("nan")
            )
            fig = plot_calibration(y, {"previous scoring": bt["churn_probability"].to_numpy()})
            # a model trained on data after the previous as_of has seen these outcomes
            # (its holdout labels): the backtest is then no out-of-sample test
            seen = trained_to is not None and pd.Timestamp(str(trained_to)) > old_as_of
            out["backtest"] = {
                "in_sample": (
                    f"Not an out-of-sample test: the model was trained on data up to "
                    f"{pd.Timestamp(str(trained_to)).date()}, after the previous as_of "
                    f"{old_as_of.date()}, so it has seen part of these outcomes. Backtest "
                    "a scoring made by this model as of its training end or later."
                )
                if seen
                else None,
                "days": int((new_as_of - old_as_of).days),
                "rows": rows,
                "auc": _fmt(auc, "mean"),
                "predicted_purchases": f"{bt['expected_purchases'].sum():,.0f}",
                "actual_purchases": f"{bt['purchases'].sum():,.0f}",
                "chart": figure_html(
                    fig,
                    alt="Calibration of the previous scoring's churn probabilities "
                    "against what happened since",
                    caption="Previous churn probability against the realised churn (no repeat "
                    "purchase since the previous as_of).",
                ),
            }
    return out
