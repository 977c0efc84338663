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


def _read(path: Path, what: str):
    from cxml.data import read_table

    if not path.is_file():
        raise DataValidationError(f"{what} {path}: no such file")
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
        help="Engagement events (customer_id, event_type, value): NPS, CSAT, CES per segment.",
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI for models:/ and runs:/ references."
    ),
) -> None:
    """Write one self-contained HTML report (opens offline) on a scoring."""
    from cxml.pipelines import load_model
    from cxml.reporting import check_scores, write_report
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
    ev = None
    if events is not None:
        ev = _read(events, "events")
        missing = [c for c in ("customer_id", "event_type", "value") if c not in ev.columns]
        if missing:
            raise DataValidationError(
                f"events {events}: columns {missing} are missing (columns: {list(ev.columns)})"
                "; give customer_id, event_type and value"
            )
    path = write_report(table, bundle, output, previous=old, events=ev)
    _out.print(
        f"wrote {path} ({path.stat().st_size / 1e3:,.0f} kB) on {len(table):,} customers",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``cxml`` app."""
    app.command(name="report")(report)
