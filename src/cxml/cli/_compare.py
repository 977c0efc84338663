"""``cxml compare``: backtest candidate models and print a leaderboard (thin layer over
:func:`cxml.pipelines.compare`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["compare", "register"]

_out = Console()
_err = Console(stderr=True)

_HELP = """Backtest the candidates of the config's compare: section and print a leaderboard.

\b
The config section (candidates override btyd, churn or clv of the config):
  compare:
    cutoffs: 2       # rolling origins: calibration_end, then back by 1, 2..
                     # holdout lengths (same holdout length); too little
                     # history: skipped and reported. Default 1.
    bootstrap: 1000  # paired bootstrap resamples of customers (95% interval
                     # of each AUC / Gini difference to the best); 0: none
    seed: 0
    candidates:
      - {name: bgnbd}
      - {name: mbgnbd, btyd: {purchase_model: mbgnbd}}
      - {name: pnbd, btyd: {purchase_model: pnbd, penalizer: 0.001}}
      - {name: shallow, churn: {num_leaves: 3}}

\b
One row per (candidate, cutoff): log_likelihood, aic, bic (calibration fit),
holdout_purchases_actual / _predicted, purchases MAE / RMSE / Spearman,
churn_auc / pr_auc / brier (cross-fitted), value_spearman / value_gini /
aggregate error, and the bootstrap columns churn_auc_diff[_low|_high] and
value_gini_diff[_low|_high]. MLflow: one parent run (leaderboard, overlay
plots) and a nested run per candidate (`cxml runs compare --children RUN_ID`).

\b
--select METRIC trains the candidate with the best mean of METRIC on the full
config (saved like `cxml train`); its run is tagged with why it won (value,
runner-up, and for churn_auc / value_gini the paired bootstrap interval of
the difference). --register NAME [--alias A] then registers that model as
`cxml train --register` does, with the same tags on the model version.
"""


def compare(
    config: Path = typer.Option(..., "--config", "-c", help="YAML config with a compare: section."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the leaderboard (.csv or .parquet)."
    ),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).",
    ),
    select: str | None = typer.Option(
        None,
        "--select",
        help="Train the candidate with the best mean of this metric (e.g. churn_auc, "
        "value_gini, bic) on the full config, like `cxml train`.",
    ),
    register: str | None = typer.Option(
        None,
        "--register",
        help="With --select: register the selected candidate's model under this name "
        "(as `cxml train --register`), tagged with why it won.",
    ),
    alias: str | None = typer.Option(
        None, "--alias", help="With --register: set this alias (e.g. champion)."
    ),
) -> None:
    from cxml.exceptions import CxmlUserError
    from cxml.pipelines import check_output_path, write_table
    from cxml.pipelines import compare as run_compare

    if alias and not register:
        raise CxmlUserError("--alias needs --register NAME")
    if register and not select:
        raise CxmlUserError("--register needs --select METRIC (the candidate to register)")
    if output is not None:
        check_output_path(output)
    result = run_compare(
        config,
        tracking_uri=tracking_uri,
        select=select,
        on_step=lambda s: _err.print(s, highlight=False),
    )
    for line in result.skipped:
        _err.print(f"skipped {line}", highlight=False)
    _print_summary(result)
    if output is not None:
        write_table(result.leaderboard, output)
        _out.print(f"leaderboard: {output}", highlight=False)
    _out.print(f"MLflow run: {result.run_id} at {result.tracking_uri}", highlight=False)
    if result.train_result is not None:
        r = result.train_result
        _out.print(
            f"selected {result.selected} by {select}: model {r.model_dir}, MLflow run {r.run_id}",
            highlight=False,
        )
        _out.print(f"why: {result.selection['cxml.compare.why']}", highlight=False)
        if register:
            _register(r, register, alias, result.selection)


def _register(r, name: str, alias: str | None, why: dict) -> None:
    """Register the selected candidate's run model as `cxml train --register` does."""
    from cxml.exceptions import CxmlUserError
    from cxml.tracking import register_model

    if r.run_id is None:
        raise CxmlUserError("the MLflow run was not logged: cannot register; see the warning above")
    version = register_model(
        r.run_id,
        name,
        tracking_uri=r.tracking_uri,
        alias=alias,
        tags=why,
        failures=r.logging_failures,
    )
    ref = f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"
    _out.print(f"registered {name} version {version}: {ref}", highlight=False)


compare.__doc__ = _HELP

_SHOWN = [
    ("log_likelihood", "LL", "{:,.2f}"),
    ("bic", "BIC", "{:,.1f}"),
    ("holdout_purchases_predicted", "holdout pred.", "{:,.1f}"),
    ("churn_auc", "churn AUC", "{:.3f}"),
    ("value_gini", "value Gini", "{:.3f}"),
]


def _print_summary(result) -> None:
    s, board = result.summary, result.leaderboard
    actual = board.groupby("candidate", sort=False)["holdout_purchases_actual"].mean()
    t = Table(
        title=f"{len(s)} candidates x {len(result.cutoffs)} cut-off(s) "
        f"({', '.join(result.cutoffs)}): mean ± sd"
    )
    t.add_column("candidate", overflow="fold")
    for _, label, _ in _SHOWN:
        t.add_column(label, justify="right")
    for name, row in s.iterrows():
        cells = []
        for col, _, fmt in _SHOWN:
            mean, sd = row[f"{col}_mean"], row[f"{col}_std"]
            cells.append(fmt.format(mean) + ("" if sd != sd else f" ± {fmt.format(sd)}"))
        t.add_row(str(name), *cells)
    _out.print(t)
    _out.print(
        f"holdout purchases actual: {actual.iloc[0]:,.0f} (mean over cut-offs)", highlight=False
    )
    d = Table(title="difference to the best, paired bootstrap 95% interval (mean over cut-offs)")
    d.add_column("candidate", overflow="fold")
    d.add_column("Δ churn AUC", justify="right")
    d.add_column("Δ value Gini", justify="right")
    for name in s.index:
        mine = board[board["candidate"] == name]
        cells = []
        for m in ("churn_auc", "value_gini"):
            diff, lo, hi = (mine[f"{m}_diff{x}"].mean() for x in ("", "_low", "_high"))
            cells.append(
                "best"
                if result.best.get(m) == name
                else f"{diff:+.4f} [{lo:+.4f}, {hi:+.4f}]"
                if lo == lo
                else f"{diff:+.4f}"
            )
        d.add_row(str(name), *cells)
    _out.print(d)


def register(app: typer.Typer) -> None:
    """Add ``compare`` to the ``cxml`` app."""
    app.command(name="compare", help=_HELP)(compare)
