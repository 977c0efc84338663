"""The ``cxml`` command: a thin Typer layer over :mod:`cxml.pipelines`.

Exit codes: 0 success; 2 a user error (bad input, path, date or config), reported as one
line on stderr without a traceback; 1 anything else (a bug, with its traceback).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from pathlib import Path

import click
import typer
from rich.console import Console
from rich.table import Table

from cxml.exceptions import CxmlUserError

__all__ = ["app", "main"]

app = typer.Typer(
    name="cxml",
    help="Customer-value modelling: train BTYD + churn models, score customers, segment.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_err = Console(stderr=True)
_out = Console()


class _Steps:
    """Shows pipeline stages: a spinner on a terminal, plain log lines otherwise."""

    def __init__(self, total: int):
        self.total = total
        self.i = 0
        self.status = _err.status("") if _err.is_terminal else None
        if self.status:
            self.status.start()

    def __call__(self, step: str) -> None:
        self.i += 1
        msg = f"[{self.i}/{self.total}] {step}"
        if self.status:
            self.status.update(msg)
        else:
            _err.print(msg, highlight=False)

    def close(self) -> None:
        if self.status:
            self.status.stop()


@app.command()
def train(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML config (default: the bundled CDNOW config)."
    ),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).",
    ),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="Where to save the MLflow model (default: from the config)."
    ),
    register: str | None = typer.Option(
        None, "--register", help="Register the run's model under this name."
    ),
    alias: str | None = typer.Option(
        None, "--alias", help="With --register: set this alias (e.g. champion)."
    ),
) -> None:
    """Train BG/NBD, Gamma-Gamma and the churn model; evaluate; log an MLflow run."""
    from cxml.pipelines import train as run_train

    if alias and not register:
        raise CxmlUserError("--alias needs --register NAME")
    steps = _Steps(total=9)
    try:
        result = run_train(config, tracking_uri=tracking_uri, model_dir=model_dir, on_step=steps)
    finally:
        steps.close()
    _print_train_summary(result)
    if register:
        from cxml.tracking import register_model

        if result.run_id is None:
            raise CxmlUserError(
                "the MLflow run was not logged: cannot register; see the warning above"
            )
        version = register_model(
            result.run_id,
            register,
            tracking_uri=result.tracking_uri,
            alias=alias,
            failures=result.logging_failures,  # a model that failed to log: one clear line
        )
        ref = f"models:/{register}@{alias}" if alias else f"models:/{register}/{version}"
        _out.print(f"registered {register} version {version}: {ref}", highlight=False)


@app.command()
def score(
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        help="Model directory (from cxml train), or models:/NAME@alias, models:/NAME/VERSION, "
        "runs:/RUN_ID/model.",
    ),
    transactions: str = typer.Option(
        ...,
        "--transactions",
        "-t",
        help="Transactions: a CSV/Parquet path, or a connection URL with --table/--query "
        "(duckdb://PATH, postgres://user:${PASSWORD}@host:port/db, sqlite://PATH, spark).",
    ),
    as_of: str = typer.Option(..., "--as-of", help="Cut-off date YYYY-MM-DD (inclusive)."),
    output: str = typer.Option(
        ...,
        "--output",
        "-o",
        help="Output .parquet or .csv, or a connection URL with --output-table.",
    ),
    events: str | None = typer.Option(
        None, "--events", help="Engagement events: a file, or a URL with --events-table."
    ),
    table: str | None = typer.Option(None, "--table", help="With a URL: the table."),
    query: str | None = typer.Option(None, "--query", help="With a URL: a SQL query."),
    events_table: str | None = typer.Option(
        None, "--events-table", help="With an --events URL: the table."
    ),
    events_query: str | None = typer.Option(
        None, "--events-query", help="With an --events URL: a SQL query."
    ),
    customers: str | None = typer.Option(
        None,
        "--customers",
        help="Customers table (id + attribute columns) of a model trained with "
        "btyd.covariates: a file, or a URL with --customers-table/--customers-query.",
    ),
    customers_table: str | None = typer.Option(
        None, "--customers-table", help="With a --customers URL: the table."
    ),
    customers_query: str | None = typer.Option(
        None, "--customers-query", help="With a --customers URL: a SQL query."
    ),
    output_table: str | None = typer.Option(
        None,
        "--output-table",
        help="With an --output URL: the table, replaced atomically (staging table + swap).",
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI for models:/ and runs:/ references."
    ),
    chunk_size: int = typer.Option(
        500_000,
        "--chunk-size",
        min=1,
        help="Customers scored at a time (bounds memory; the output does not depend on it).",
    ),
    timestamp_format: str | None = typer.Option(
        None,
        "--timestamp-format",
        help="strptime format of text timestamps, applied strictly, e.g. '%d/%m/%Y %H:%M' "
        "(default: the model's data.timestamp_format, else ISO 8601).",
    ),
    null_customer_id: str | None = typer.Option(
        None,
        "--null-customer-id",
        metavar="error|drop",
        help="Rows without a customer id (guest orders): error or drop (default: the "
        "model's data.null_customer_id).",
    ),
    allow_stale_as_of: bool = typer.Option(
        False,
        "--allow-stale-as-of",
        help="Accept an --as-of more than max(7 days, horizon/4) after the latest "
        "transaction (refused by default: every customer would look lapsed).",
    ),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Add per-customer churn reasons (reason_k, reason_k_value, reason_k_shap; TreeSHAP).",
    ),
    top_reasons: int = typer.Option(3, "--top-reasons", min=1, help="Reasons with --explain."),
) -> None:
    """Score every customer in a transaction file as of a date.

    The file is read by DuckDB and scored in chunks, so it may be larger than memory; the
    output is written to a temporary file renamed over --output at the end (never a partial
    file). A progress bar is shown when stderr is a terminal.
    """
    from cxml.data import to_date
    from cxml.pipelines import load_model, score_to_file
    from cxml.tracking import local_model_path

    transactions, events, output = _score_sources(
        transactions, table, query, events, events_table, events_query, output, output_table
    )
    customers = _source(
        customers, customers_table, customers_query, "--customers-table or --customers-query"
    )
    to_date(as_of, "--as-of")  # YYYY-MM-DD only, named as the user typed it
    bundle = load_model(local_model_path(model, tracking_uri=tracking_uri))
    progress = None
    if _err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        progress = Progress(
            "scoring",
            BarColumn(),
            MofNCompleteColumn(),
            "customers",
            TimeElapsedColumn(),
            console=_err,
            transient=True,
        )
    task = None

    def on_progress(done: int, total: int) -> None:
        nonlocal task
        if progress is None:
            return
        if task is None:
            progress.start()
            task = progress.add_task("score", total=total)
        progress.update(task, completed=done)

    try:
        summary = score_to_file(
            transactions,
            output,
            model=bundle,
            as_of=as_of,
            events=events,
            chunk_size=chunk_size,
            on_progress=on_progress,
            timestamp_format=timestamp_format,
            null_customer_id=null_customer_id,
            allow_stale_as_of=allow_stale_as_of,
            explain=top_reasons if explain else 0,
            customers=customers,
        )
    finally:
        if progress is not None:
            progress.stop()
    prior = (
        f" ({summary.n_insufficient_history:,} from the prior: insufficient history)"
        if summary.n_insufficient_history
        else ""
    )
    _print_data_report(summary.data_report, f"data report ({getattr(output, 'name', output)})")
    _err.print(
        f"scored {summary.n_customers:,} customers{prior} as of {summary.as_of} "
        f"with model {summary.model_version} -> {output}",
        highlight=False,
        soft_wrap=True,
    )


def _source(value, tbl, qry, flags, name="customers"):
    """A file path as given, or a database source ``value`` (a URL) opened with its table
    or query."""
    from cxml.data import open_source

    if value is None or not (tbl or qry):
        return value
    if tbl and qry:
        raise CxmlUserError(f"give one of {flags}, not both")
    return open_source({"connection": value, "table": tbl, "query": qry}, name=name)


def _score_sources(
    transactions, table, query, events, events_table, events_query, output, output_table
):
    """``cxml score``'s inputs and output: paths, or database sources (opened now, so a bad
    URL, password or table fails before the model is loaded) and an output table."""
    from cxml.data import open_source
    from cxml.pipelines import OutputTable, check_output_path

    def source(value, tbl, qry, flags, name):
        if value is None or not (tbl or qry):
            return value
        if tbl and qry:
            raise CxmlUserError(f"give one of {flags}, not both")
        return open_source({"connection": value, "table": tbl, "query": qry}, name=name)

    out: OutputTable | Path
    if output_table:
        out = OutputTable(output, output_table)
    else:
        out = check_output_path(Path(output))  # before downloading a model or reading data
    return (
        source(transactions, table, query, "--table or --query", "transactions"),
        source(events, events_table, events_query, "--events-table or --events-query", "events"),
        out,
    )


@app.command()
def evaluate(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML config (default: the bundled CDNOW config)."
    ),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also write the table (.csv or .parquet)."
    ),
) -> None:
    """Compare the churn model with BTYD and RFM baselines on the config's holdout."""
    from cxml.pipelines import evaluate_config, write_table

    steps = _Steps(total=5)
    try:
        table, run_id, uri = evaluate_config(config, tracking_uri=tracking_uri, on_step=steps)
    finally:
        steps.close()
    t = Table(title="holdout comparison (churned = no purchase in the holdout)")
    t.add_column("model")
    cols = ["churn_auc", "churn_pr_auc", "churn_brier", "purchases_spearman", "value_gini"]
    for c in cols:
        t.add_column(c, justify="right")
    for name, row in table.iterrows():
        t.add_row(str(name), *(f"{row[c]:.3f}" for c in cols))
    _out.print(t)
    _out.print(f"MLflow run: {run_id} at {uri}", highlight=False)
    if output is not None:
        write_table(table.reset_index(), output)


@app.command()
def segment(
    scores: Path = typer.Option(..., "--scores", "-s", help="Scores from `cxml score`."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Per-customer segments, .parquet or .csv."
    ),
    model: Path | None = typer.Option(
        None,
        "--model",
        "-m",
        help="The model that produced the scores: its frozen cut "
        "points are used (a customer's segment does not depend on the batch).",
    ),
    recut: bool = typer.Option(
        False,
        "--recut",
        help="Without --model: cut value tiers at this file's own CLV "
        "quantiles (tiers relative to the batch).",
    ),
    rules: Path | None = typer.Option(None, "--rules", help="RFM segment rules YAML."),
    summary: Path | None = typer.Option(
        None, "--summary", help="Also write the segment summary table."
    ),
) -> None:
    """Assign value x risk and RFM segments to scored customers; print the summary."""
    from cxml.pipelines import segment_scores, write_table

    for p in (output, summary):
        if p is not None and p.suffix.lower() not in (".parquet", ".csv"):
            raise CxmlUserError(
                f"output {p}: unsupported extension {p.suffix!r}; use .parquet or .csv"
            )
    per_customer, table = segment_scores(scores, model=model, recut=recut, rules=rules)
    write_table(per_customer, output)
    if summary is not None:
        write_table(table.reset_index(), summary)
    _print_segment_table(table)


runs_app = typer.Typer(help="Inspect MLflow runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@runs_app.command("compare")
def runs_compare(
    experiment: str = typer.Option("cxml", "--experiment", "-e", help="MLflow experiment."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
    max_runs: int = typer.Option(10, "--max-runs", "-n", min=1, help="Newest N runs."),
    csv: Path | None = typer.Option(None, "--csv", help="Also export the table as CSV."),
    children: str | None = typer.Option(
        None, "--children", help="Run id of a `cxml compare` run: show its candidate runs."
    ),
) -> None:
    """Print the latest runs side by side (key parameters and metrics)."""
    from cxml.tracking import compare_runs, resolve_tracking_uri

    table = compare_runs(
        resolve_tracking_uri(tracking_uri),
        experiment=experiment,
        max_runs=max_runs,
        parent=children,
    )
    if table.empty:
        _out.print(f"no runs in experiment {experiment!r}")
        return
    t = Table(title=f"runs of experiment {experiment!r} (newest first)")
    t.add_column("")
    for c in table.columns:
        t.add_column(str(c), justify="right")
    for key, row in table.iterrows():
        t.add_row(
            str(key),
            *(
                ""
                if v is None or (isinstance(v, float) and v != v)
                else f"{v:.4g}"
                if isinstance(v, float)
                else str(v)
                for v in row
            ),
        )
    _out.print(t)
    if csv is not None:
        from cxml.pipelines import write_table

        if csv.suffix.lower() != ".csv":
            raise CxmlUserError(f"--csv {csv}: the file name must end in .csv")
        write_table(table.rename_axis("key").reset_index(), csv)


def _print_data_report(report: dict, title: str, console: Console = _out) -> None:
    from cxml.pipelines import report_lines

    lines = report_lines(report)
    if not lines:
        return
    t = Table(title=title)
    t.add_column("what the data policies did")
    t.add_column("count", justify="right", overflow="fold")
    for label, value in lines:
        t.add_row(label, value)
    console.print(t)


def _print_train_summary(result) -> None:
    _print_data_report(result.data_report, "data report (calibration and holdout)")
    b = result.bundle
    m = result.metrics
    t = Table(title=f"cxml train: {b.info.get('name')}  ({b.info['n_customers']:,} customers)")
    t.add_column("model")
    t.add_column("parameters")
    t.add_column("log-likelihood", justify="right")
    bg, gg = b.purchase_model, b.spend_model
    from cxml.pipelines import purchase_model_name

    kind = purchase_model_name(bg)
    label = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pnbd": "Pareto/NBD"}[kind]
    t.add_row(
        label,
        "  ".join(f"{k} {v:.4f}" for k, v in bg.params_.items()),
        f"{bg.log_likelihood_:,.2f}",
    )
    t.add_row(
        "Gamma-Gamma",
        "  ".join(f"{k} {v:.4f}" for k, v in gg.params_.items()),
        f"{gg.log_likelihood_:,.2f}",
    )
    _out.print(t)
    if getattr(bg, "coefficients_", None):
        _print_covariate_effects(bg, label)

    h = Table(title=f"holdout ({b.info['calibration_end']}, {b.info['observation_end']}]")
    h.add_column("metric")
    h.add_column("value", justify="right")
    rows = [
        ("churn AUC (cxml, cross-fitted)", "churn_auc", "{:.3f}"),
        (f"churn AUC ({label} P(alive))", f"{kind}_p_alive_churn_auc", "{:.3f}"),
        (f"churn AUC ({label} E[Y])", f"{kind}_expected_churn_auc", "{:.3f}"),
        ("churn PR-AUC / Brier", None, None),
        ("holdout purchases actual / predicted", None, None),
        ("purchases Spearman", "purchases_spearman", "{:.3f}"),
        ("value Spearman / normalized Gini", None, None),
    ]
    for label, key, fmt in rows:
        if key and fmt:
            h.add_row(label, fmt.format(m[key]))
        elif label.startswith("churn PR"):
            h.add_row(label, f"{m['churn_pr_auc']:.3f} / {m['churn_brier']:.3f}")
        elif label.startswith("holdout purchases"):
            h.add_row(
                label, f"{m['purchases_actual_total']:,.0f} / {m['purchases_predicted_total']:,.1f}"
            )
        else:
            h.add_row(label, f"{m['value_spearman']:.3f} / {m['value_gini']:.3f}")
    _out.print(h)

    _print_segment_table(result.segment_summary)
    _out.print(
        f"model: {result.model_dir}    MLflow run: {result.run_id} at {result.tracking_uri}",
        highlight=False,
    )
    for w in getattr(result, "warnings", ()):
        _err.print(f"warning: {w}", highlight=False)
    if result.logging_failures:
        _err.print(
            "warning: MLflow logging incomplete: " + "; ".join(result.logging_failures),
            highlight=False,
        )


def _print_covariate_effects(model, label: str) -> None:
    """The covariate effects of a purchase model: what exp(coefficient) multiplies."""
    table = model.summary()
    coef = table[table["multiplies"].notna()] if "multiplies" in table.columns else table[:0]
    e = Table(title=f"{label} covariate effects (exp(coefficient), 95 % interval)")
    e.add_column("coefficient")
    e.add_column("multiplies")
    e.add_column("multiplier", justify="right")
    e.add_column("interval", justify="right")
    for name, r in coef.iterrows():
        if not math.isfinite(r["se"]):  # fixed at 0: constant in the training data
            e.add_row(str(name), r["multiplies"], "1 (fixed)", "not identified")
            continue
        e.add_row(
            str(name),
            r["multiplies"],
            f"{r['multiplier']:.3f}",
            f"{r['multiplier_lower']:.3f} - {r['multiplier_upper']:.3f}",
        )
    _out.print(e)


def _print_segment_table(summary) -> None:
    if "segment" in summary.columns:
        summary = summary.set_index("segment")
    s = Table(title="segments (value x churn risk)")
    s.add_column("segment")
    names = {
        "customers": "customers",
        "share": "share",
        "clv_mean": "mean CLV",
        "clv_share": "CLV share",
        "churn_probability_mean": "mean P(churn)",
        "churn_actual": "actual churn",
    }
    cols = [c for c in names if c in summary.columns]
    for c in cols:
        s.add_column(names[c], justify="right")
    for seg, row in summary.iterrows():
        s.add_row(
            str(seg),
            *(
                f"{row[c]:,.0f}"
                if c == "customers"
                else f"{row[c]:,.2f}"
                if c == "clv_mean"
                else f"{row[c]:.3f}"
                for c in cols
            ),
        )
    _out.print(s)


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())


class _OneLine(logging.Formatter):
    """``cxml: warning: message`` on one line: users get the message, not a source path."""

    def format(self, record: logging.LogRecord) -> str:
        return f"cxml: {record.levelname.lower()}: {_one_line(record.getMessage())}"


_CXML_SRC = str(Path(__file__).resolve().parents[1])


def _one_line_warnings(previous):
    """A ``warnings.showwarning`` that prints cxml's own warnings (e.g. a weakly identified
    BTYD fit) as one ``cxml: warning:`` line, without the source path; others as before."""

    def show(message, category, filename, lineno, file=None, line=None):
        if str(filename).startswith(_CXML_SRC):
            print(f"cxml: warning: {_one_line(message)}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    return show


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cxml`` console script."""
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    # MLflow's INFO chatter (database migrations, experiment creation) is not for CLI users;
    # an explicit MLFLOW_LOGGING_LEVEL still wins. Set before mlflow is first imported.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warnings(shown)
    try:
        return _run(argv)
    finally:
        warnings.showwarning = shown


def _run(argv: list[str] | None) -> int:
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="cxml")
    except CxmlUserError as exc:
        print(f"cxml: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except click.exceptions.ClickException as exc:  # usage errors: exit 2
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        print("cxml: aborted", file=sys.stderr)
        return 130
    return rv if isinstance(rv, int) else 0


from cxml.cli._target import register as _register_targeting  # noqa: E402  (issue 19)

_register_targeting(app)

from cxml.cli._compare import register as _register_compare  # noqa: E402  (issue 17)

_register_compare(app)
from cxml.cli._report import register as _register_report  # noqa: E402  (issue 20)

_register_report(app)
