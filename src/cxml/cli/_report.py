"""``cxml report``: one self-contained HTML page on a scores file (:mod:`cxml.reporting`).

Everything is checked (the files exist and are cxml scores, the model is the one that
scored them, the output can be written) before the page is built; the page is written
atomically, so a refused or failed report leaves no file behind.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from cxml.exceptions import DataValidationError

__all__ = ["register", "report"]

_out = Console()


def _exists(path: Path, what: str) -> None:
    if not path.is_file():
        raise DataValidationError(f"{what} {path}: no such file")


def _read(path: Path, what: str):
    from cxml.data import read_table

    _exists(path, what)
    return read_table(str(path), name=what).to_pandas()


def report(
    scores: Path = typer.Option(..., "--scores", help="Scores from cxml score (.parquet/.csv)."),
    model: str = typer.Option(
        ..., "--model", "-m", help="The model that scored them (directory or models:/ URI)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The report, .html."),
    previous: Path | None = typer.Option(
        None, "--previous", help="Earlier scores: segment migration, drift and a backtest."
    ),
    events: Path | None = typer.Option(
        None,
        "--events",
        help="Engagement events (event_type nps / csat / ces with a value): NPS, CSAT, CES "
        "per segment; read with the model's event column names and read policies.",
    ),
    transactions: Path | None = typer.Option(
        None,
        "--transactions",
        "-t",
        help="The transactions that were scored (the model's column names): the churn "
        "drivers become mean |SHAP| on a sample of customers (else the scores' reasons or "
        "the model's gain shares).",
    ),
    timestamp_format: str | None = typer.Option(
        None,
        "--timestamp-format",
        help="strptime format of text timestamps in --events / --transactions (default: "
        "the model's data.timestamp_format, else ISO 8601).",
    ),
    null_customer_id: str | None = typer.Option(
        None,
        "--null-customer-id",
        metavar="error|drop",
        help="Rows without a customer id in --events / --transactions (default: the "
        "model's data.null_customer_id).",
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI for models:/ and runs:/ references."
    ),
) -> None:
    """Write one self-contained HTML report (opens offline) on a scoring."""
    import pandas as pd

    from cxml.pipelines import churn_matrix, load_model, read_events
    from cxml.reporting import SHAP_SAMPLE, check_scores, write_report
    from cxml.tracking import local_model_path

    if output.suffix.lower() not in (".html", ".htm"):
        raise DataValidationError(f"output {output}: use a .html file name")
    if output.is_dir() or not output.parent.is_dir():
        raise DataValidationError(f"output {output}: is a directory or its directory is missing")
    table = _read(scores, "scores")
    bundle = load_model(local_model_path(model, tracking_uri=tracking_uri))
    check_scores(table, model_version=bundle.model_version, name=f"scores {scores}")
    old = None
    if previous is not None:
        old = check_scores(
            _read(previous, "previous scores"),
            model_version=None,
            name=f"previous scores {previous}",
        )
    policies = {"timestamp_format": timestamp_format, "null_customer_id": null_customer_id}
    as_of = max(pd.unique(table["as_of"].astype(str)))
    ev = None
    if events is not None:
        _exists(events, "events")
        # the model's event column names and read policies: the reader scoring uses
        ev = read_events(events, bundle, as_of=as_of, **policies).to_pandas()
    features = None
    if transactions is not None:
        _exists(transactions, "transactions")
        sample = table["customer_id"].sample(min(len(table), SHAP_SAMPLE), random_state=0)
        features = churn_matrix(
            str(transactions),
            model=bundle,
            as_of=as_of,
            events=None if events is None else str(events),
            customer_ids=sample,
            **policies,
        )
    path = write_report(table, bundle, output, previous=old, events=ev, features=features)
    _out.print(
        f"wrote {path} ({path.stat().st_size / 1e3:,.0f} kB) on {len(table):,} customers",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``cxml`` app."""
    app.command(name="report")(report)
