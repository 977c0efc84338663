"""``cxml target`` and ``cxml uplift train``: campaign targeting on the command line.

``target`` is a thin layer over :func:`cxml.targeting.select_targets`: read the scores (and
optional features) table, predict each arm's uplift, rank by uplift x value - contact
cost, write the selected customers atomically and print the expected total effect.
``uplift train`` runs :func:`cxml.targeting.train_uplift` from a YAML config.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from cxml.exceptions import DataValidationError

__all__ = ["register", "target", "uplift_app"]

_out = Console()


def target(
    scores: Path = typer.Option(..., "--scores", help="cxml scores table (.parquet/.csv)."),
    uplift_model: Path = typer.Option(
        ..., "--uplift-model", help="Directory written by UpliftClassifier.save()."
    ),
    output: Path = typer.Option(..., "--output", help="Target list (.parquet/.csv)."),
    budget: float | None = typer.Option(
        None, "--budget", help="Maximum contacts (or money with --budget-kind money)."
    ),
    budget_kind: str = typer.Option("contacts", "--budget-kind", help="contacts | money"),
    cost_per_contact: float = typer.Option(
        0.0, "--cost-per-contact", help="Cost of one contact, any arm."
    ),
    value_column: str | None = typer.Option(
        None,
        "--value-column",
        help="Scores column giving the value of a response (default clv unless --margin).",
    ),
    margin: float | None = typer.Option(
        None, "--margin", help="One value of a response for every customer."
    ),
    features: Path | None = typer.Option(
        None, "--features", help="Extra feature table joined on the id column."
    ),
    id_column: str = typer.Option("customer_id", "--id-column", help="Customer id column."),
) -> None:
    """Rank customers by expected incremental value and write who to contact, with which arm."""
    from cxml.data import read_table
    from cxml.pipelines import check_output_path, write_table
    from cxml.targeting import load_uplift_model, select_targets

    check_output_path(output)
    if margin is not None and value_column is not None:
        raise DataValidationError("give --value-column or --margin, not both")
    model = load_uplift_model(uplift_model)
    table = read_table(str(scores), name="scores").to_pandas()
    if id_column not in table.columns:
        raise DataValidationError(
            f"scores {scores}: no {id_column!r} column (columns: {list(table.columns)}); "
            "pass --id-column"
        )
    dup = table[id_column].duplicated()
    if dup.any():
        raise DataValidationError(
            f"scores {scores}: {int(dup.sum())} duplicated {id_column} value(s) (e.g. "
            f"{table.loc[dup, id_column].iloc[0]!r}): one row per customer"
        )
    table = table.set_index(id_column)
    X = table
    if features is not None:
        extra = read_table(str(features), name="features").to_pandas()
        if id_column not in extra.columns:
            raise DataValidationError(f"features {features}: no {id_column!r} column")
        extra = extra.drop_duplicates(id_column).set_index(id_column)
        absent = ~table.index.isin(extra.index)
        if absent.any():
            raise DataValidationError(
                f"features {features}: {int(absent.sum())} customer(s) of the scores have no "
                f"row (e.g. {table.index[absent][0]!r}): give features for every customer"
            )
        clash = sorted(set(table.columns) & set(extra.columns))
        if clash:
            raise DataValidationError(
                f"features {features}: column(s) {clash} are also in the scores: "
                "drop them from one of the tables"
            )
        X = table.join(extra)
    if margin is not None:
        value, value_name = margin, f"margin {margin:g}"
    else:
        value_name = value_column or "clv"
        if value_name not in table.columns:
            raise DataValidationError(
                f"scores {scores}: no {value_name!r} column for the value of a response; "
                "pass --value-column NAME or --margin AMOUNT"
            )
        value = table[value_name]
    uplift = model.predict_uplift(X)
    targets = select_targets(
        uplift,
        value=value,
        cost_per_contact=cost_per_contact,
        budget=budget,
        budget_kind=budget_kind,
    )
    write_table(targets.reset_index(), output)
    n_missing = int(table[value_name].isna().sum()) if margin is None else 0
    total = float(targets["expected_incremental_value"].sum())
    _out.print(
        f"selected {len(targets):,} of {len(table):,} customers "
        f"({', '.join(f'{a}: {n:,}' for a, n in targets['arm'].value_counts().items()) or 'none'})"
        f"; contact cost {targets['cost'].sum():,.2f}; expected incremental responses "
        f"{targets['uplift'].sum():,.1f}; expected total effect {total:+,.2f} "
        f"(value: {value_name}, net of contact cost)",
        highlight=False,
    )
    if n_missing:
        _out.print(
            f"{n_missing:,} customer(s) without a {value_name} were not considered", highlight=False
        )
    _out.print(f"wrote {output}", highlight=False)


uplift_app = typer.Typer(help="Uplift models: train from a campaign table.", no_args_is_help=True)


@uplift_app.command("train")
def uplift_train(
    config: Path = typer.Option(..., "--config", "-c", help="Uplift YAML config."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow URI."),
) -> None:
    """Train, evaluate on a held-out split, save and track an uplift model."""
    from rich.table import Table

    from cxml.targeting import load_uplift_config, train_uplift

    result = train_uplift(load_uplift_config(config), tracking_uri=tracking_uri)
    table = Table(title=f"held-out evaluation ({result.n_test:,} customers)")
    for col in ("arm", "n", "uplift@k", "qini", "auuc"):
        table.add_column(col, justify="left" if col == "arm" else "right")
    for name, r in result.evaluation.iterrows():
        table.add_row(
            str(name),
            f"{int(r['n']):,}",
            f"{r['uplift_at_k']:+.4f}",
            f"{r['qini']:+.4f}",
            f"{r['auuc']:+.4f}",
        )
    _out.print(table)
    _out.print(f"model saved to {result.model_dir}; MLflow run {result.run_id}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``target`` and the ``uplift`` group to the ``cxml`` app."""
    app.command(name="target")(target)
    app.add_typer(uplift_app, name="uplift")
