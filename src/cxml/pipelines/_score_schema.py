"""The scores table's schema: its columns, in order, and their dtypes.

Every scoring path (:func:`cxml.pipelines.score`, the MLflow pyfunc model, :mod:`cxml.spark`)
produces exactly these columns with these types.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SCORE_COLUMNS", "SCORE_DTYPES", "conform_scores", "reason_columns", "reason_dtypes"]

#: Columns of a scores table, in order.
SCORE_COLUMNS = [
    "customer_id",
    "p_alive",
    "expected_purchases",
    "expected_average_value",
    "clv",
    "churn_probability",
    "segment",
    "rfm_segment",
    "value_tier",
    "risk_tier",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "insufficient_history",
    "as_of",
    "model_version",
]

#: pandas dtype of every score column but ``customer_id`` (which keeps the input's type):
#: ``float64`` scores and RFM summaries, ``object`` (Python str) labels, ``bool`` flag.
SCORE_DTYPES: dict[str, str] = {
    **{
        c: "float64"
        for c in (
            "p_alive",
            "expected_purchases",
            "expected_average_value",
            "clv",
            "churn_probability",
            "frequency",
            "recency",
            "T",
            "monetary_value",
        )
    },
    **{
        c: "object"
        for c in ("segment", "rfm_segment", "value_tier", "risk_tier", "as_of", "model_version")
    },
    "insufficient_history": "bool",
}


def reason_columns(top: int) -> list[str]:
    """Name the columns added by ``explain=top`` (``cxml score --explain``).

    They follow :data:`SCORE_COLUMNS`.

    Reason ``k`` (1 = strongest) is the feature with the ``k``-th largest positive SHAP
    contribution to the customer's churn score: ``reason_k`` its name (None when fewer
    than ``k`` features push the score up), ``reason_k_value`` the customer's value of it,
    ``reason_k_shap`` its contribution (log-odds).

    Parameters
    ----------
    top : int
        Number of reasons.

    Returns
    -------
    list of str
        ``3 * top`` names, reason by reason.

    Examples
    --------
    >>> reason_columns(1)
    ['reason_1', 'reason_1_value', 'reason_1_shap']
    """
    return [
        c
        for k in range(1, top + 1)
        for c in (f"reason_{k}", f"reason_{k}_value", f"reason_{k}_shap")
    ]


def reason_dtypes(top: int) -> dict[str, str]:
    """Give the pandas dtype of each of :func:`reason_columns`.

    Parameters
    ----------
    top : int
        Number of reasons.

    Returns
    -------
    dict
        Column name -> ``"object"`` (feature names) or ``"float64"`` (values, SHAP).
    """
    return {c: "object" if c.count("_") == 1 else "float64" for c in reason_columns(top)}


def conform_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with the columns :data:`SCORE_COLUMNS` in order and :data:`SCORE_DTYPES`.

    Parameters
    ----------
    scores : pandas.DataFrame
        Has every column of :data:`SCORE_COLUMNS` (others are dropped).

    Returns
    -------
    pandas.DataFrame
    """
    out = scores[SCORE_COLUMNS]
    for c, dtype in SCORE_DTYPES.items():
        out[c] = _as_object(out[c]) if dtype == "object" else out[c].astype(dtype)
    return out


def _as_object(col: pd.Series) -> pd.Series:
    """Strings as Python objects (the output's dtype), through the few distinct labels.

    A segment column has a handful of distinct values over 500,000 rows: converting the
    labels once and indexing is ~20x faster than converting every Arrow string.
    """
    codes, labels = pd.factorize(col, use_na_sentinel=False)
    labels = np.asarray(labels, dtype=object)
    return pd.Series(labels[codes], index=col.index, name=col.name, dtype=object)
