"""What a report accepts: scores written by ``cxml score`` with the model that wrote them."""

from __future__ import annotations

import pandas as pd

from cxml.exceptions import DataValidationError

__all__ = ["REQUIRED_COLUMNS", "check_scores"]

#: Columns a scores table must have to be reported on (all written by ``cxml score``).
REQUIRED_COLUMNS = (
    "customer_id",
    "p_alive",
    "expected_purchases",
    "clv",
    "churn_probability",
    "segment",
    "value_tier",
    "risk_tier",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "as_of",
    "model_version",
)


def check_scores(
    scores: pd.DataFrame, *, model_version: str | None, name: str = "scores"
) -> pd.DataFrame:
    """``scores`` if they come from ``cxml score`` (with the model ``model_version``).

    Parameters
    ----------
    scores : DataFrame
    model_version : str or None
        The model's version; None skips the check.
    name : str
        How the table is named in messages (``"scores"``, ``"previous scores"``).

    Returns
    -------
    DataFrame
        ``scores`` unchanged.

    Raises
    ------
    DataValidationError
        Missing columns, no rows, duplicated customers, or scores of another model.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in scores.columns]
    if missing:
        raise DataValidationError(
            f"{name}: not a cxml scores table, columns {missing} are missing (columns: "
            f"{list(scores.columns)[:8]}...); pass the output of `cxml score`"
        )
    if not len(scores):
        raise DataValidationError(f"{name}: no rows; score some customers first")
    dup = scores["customer_id"].duplicated()
    if dup.any():
        raise DataValidationError(
            f"{name}: {int(dup.sum())} duplicated customer_id value(s) (e.g. "
            f"{scores.loc[dup, 'customer_id'].iloc[0]!r}); one row per customer"
        )
    if model_version is not None:
        versions = pd.unique(scores["model_version"].astype(str))
        other = [v for v in versions if v != model_version]
        if other:
            n = int((scores["model_version"].astype(str) != model_version).sum())
            raise DataValidationError(
                f"{name}: {n} of {len(scores)} rows were scored by model_version {other[0]!r}, "
                f"not by the given model ({model_version!r}); pass the model that scored them"
            )
    return scores
