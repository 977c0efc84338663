"""The customers table: static attributes that the purchase model takes as covariates.

One job: read ``data.customers`` (or scoring's ``customers=``) into a frame indexed by
customer id holding exactly the covariate columns, and match it to the customers being
fitted or scored. Every problem is refused with one line (a missing column, a duplicated
or missing id, a customer without attributes): a covariate is never guessed or defaulted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from cxml.exceptions import DataValidationError

__all__ = ["CovariateSpec", "covariate_spec", "covariates_for", "load_customers"]


class CovariateSpec(BaseModel):
    """The purchase model's covariates, as recorded at training (part of the FeatureSpec).

    Attributes
    ----------
    purchase, dropout : list of str
        Columns of the customers table in the purchase and in the dropout process.
    customer_id : str
        The customers table's id column.
    levels : dict
        Categorical column -> its levels, frozen at fit (the first is the reference);
        numeric columns are not listed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    purchase: list[str]
    dropout: list[str]
    customer_id: str = "customer_id"
    levels: dict[str, list[str]] = {}

    @property
    def names(self) -> list[str]:
        """Every column used, each once."""
        return list(dict.fromkeys(self.purchase + self.dropout))


def covariate_spec(purchase_model, *, customer_id: str = "customer_id") -> CovariateSpec | None:
    """The :class:`CovariateSpec` of a fitted purchase model (None without covariates)."""
    design = getattr(purchase_model, "covariate_design_", None)
    if getattr(purchase_model, "coefficients_", None) is None or design is None:
        return None
    d = design.to_dict()
    levels = {c: list(e["levels"]) for c, e in d["encoding"].items() if e["kind"] == "categorical"}
    return CovariateSpec(
        purchase=list(d["purchase"]),
        dropout=list(d["dropout"]),
        customer_id=customer_id,
        levels=levels,
    )


def load_customers(
    source, *, columns: list[str], customer_id: str = "customer_id", name: str = "customers"
) -> pd.DataFrame:
    """The covariate columns of a customers table, indexed by customer id.

    Parameters
    ----------
    source : path, DataFrame, ibis.Table or {connection, table|query}
        Anything :func:`cxml.data.open_source` opens.
    columns : list of str
        The covariate columns to read.
    customer_id : str, default "customer_id"
        The table's id column.
    name : str
        What the table is, for messages (``data.customers``, ``--customers``).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (unique), the ``columns`` in that order.

    Raises
    ------
    DataValidationError
        A missing id or covariate column (the columns the table has are listed), a
        missing id value or an id on two rows (count and an example).
    """
    from cxml.data import open_source

    table = open_source(source, name=name)
    have = list(table.columns)
    for col in [customer_id, *columns]:
        if col not in have:
            what = "customer id" if col == customer_id else "covariate"
            raise DataValidationError(
                f"{name}: no {what} column {col!r}; the table has {have[:20]}"
                + (
                    " (set data.customer_columns.customer_id to its id column)"
                    if col == customer_id
                    else ""
                )
            )
    df = table.select(customer_id, *columns).to_pandas()
    ids = df[customer_id]
    if ids.isna().any():
        raise DataValidationError(
            f"{name}: column {customer_id!r} is missing in {int(ids.isna().sum()):,} of "
            f"{len(df):,} rows; every customer row needs an id"
        )
    dup = ids.duplicated(keep=False)
    if dup.any():
        first = ids[dup].iloc[0]
        first = first.item() if isinstance(first, np.generic) else first
        raise DataValidationError(
            f"{name}: {int(ids[dup].nunique()):,} customer ids appear on more than one row "
            f"(e.g. {first!r}); give one row of attributes per customer"
        )
    return df.set_index(customer_id).rename_axis("customer_id")


def covariates_for(customers: pd.DataFrame, ids: pd.Index, *, name: str = "customers"):
    """The attributes of the customers ``ids``, in their order.

    Parameters
    ----------
    customers : pandas.DataFrame
        From :func:`load_customers`.
    ids : pandas.Index
        The customers fitted or scored.
    name : str
        The table's name in the message.

    Returns
    -------
    pandas.DataFrame
        One row per id, index ``ids``.

    Raises
    ------
    DataValidationError
        Some ids are not in the table: their count, an example and what to do.
    """
    index = customers.index
    key = ids
    if index.dtype.kind != ids.dtype.kind and len(index) and len(ids):
        # e.g. integer ids in the transactions, text in a CSV of attributes: match as text
        index, key = index.astype(str), ids.astype(str)
    pos = index.get_indexer(key)
    missing = pos < 0
    if missing.any():
        example = ids[np.flatnonzero(missing)[0]]
        example = example.item() if isinstance(example, np.generic) else example
        raise DataValidationError(
            f"{name}: {int(missing.sum()):,} of {len(ids):,} customers have no row of "
            f"attributes (e.g. customer {example!r}); add them to the customers table (a "
            "level such as 'unknown' for those you know nothing about)"
        )
    out = customers.iloc[pos]
    out.index = ids
    return out
