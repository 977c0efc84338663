"""RFM scores (quantile bins with ties kept together) and named RFM segments.

Vocabulary trap: cxml follows the BTYD convention of Fader, Hardie & Lee (2005), where
``recency`` is the time from a customer's first to their last purchase and ``T`` their
age (first purchase to the end of observation). The *marketing* R of RFM is the time since
the last purchase, ``T - recency``: the smaller, the better. ``rfm_scores`` does that
conversion, so a high ``r_score`` always means "bought recently".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError
from cxml.metrics._validation import count_of
from cxml.segments._rules import SegmentRules, load_segment_rules

__all__ = ["rfm_scores", "rfm_segments", "quantile_scores"]

_SCORE_COLUMNS = ("r_score", "f_score", "m_score")
# Time since last purchase is T - recency, a difference of floats; round so that equal
# days do not become different scores through float noise.
_DECIMALS = 9


def quantile_scores(values, *, n_bins: int = 5) -> np.ndarray:
    """Score values 1..n_bins by quantile, higher value -> higher score, ties kept together.

    A value's score is ``1 + floor(n_bins * below / n)``, where ``below`` is the number of
    values strictly smaller than it. Without ties this gives equal-sized bins (quintiles for
    ``n_bins=5``); equal values always share a score, and the smallest value always scores
    1. Heavy ties (60 % one-time buyers with frequency 0) can leave some scores unused
    rather than split identical customers between scores.

    Parameters
    ----------
    values : array-like of float
        Finite values.
    n_bins : int, default 5
        Number of score levels.

    Returns
    -------
    numpy.ndarray of int64
        Scores in 1..n_bins, non-decreasing in ``values``.

    Examples
    --------
    >>> quantile_scores([10, 20, 30, 40, 50]).tolist()
    [1, 2, 3, 4, 5]
    >>> quantile_scores([0, 0, 0, 1, 7], n_bins=5).tolist()
    [1, 1, 1, 4, 5]
    """
    arr = np.asarray(values, dtype=float)
    n = arr.size
    if n == 0:
        return np.empty(0, dtype=np.int64)
    below = np.searchsorted(np.sort(arr), arr, side="left")
    return (1 + (n_bins * below) // n).astype(np.int64)


def _check_n_bins(n_bins) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 2:
        raise DataValidationError(f"rfm_scores: n_bins must be an integer >= 2, got {n_bins!r}")
    return int(n_bins)


def _validated_rfm(rfm, columns: dict[str, str], *, name: str) -> pd.DataFrame:
    if not isinstance(rfm, pd.DataFrame):
        raise DataValidationError(
            f"{name}: rfm must be a pandas DataFrame (e.g. cxml.features.rfm(...)), got "
            f"{type(rfm).__name__}"
        )
    missing = [c for c in columns.values() if c not in rfm.columns]
    if missing:
        raise DataValidationError(
            f"{name}: rfm lacks column(s) {missing} (columns are {list(rfm.columns)}); it needs "
            "recency, frequency, monetary_value and T as made by cxml.features.rfm, or pass "
            "recency=/frequency=/monetary_value=/T= to name yours"
        )
    n = len(rfm)
    out = {}
    for key, col in columns.items():
        raw = rfm[col]
        if pd.api.types.is_bool_dtype(raw.dtype) or not pd.api.types.is_numeric_dtype(raw.dtype):
            raise DataValidationError(
                f"{name}: column {col!r} must be numeric, got dtype {raw.dtype}"
            )
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise DataValidationError(
                f"{name}: {col!r} is missing or infinite for {count_of(bad, n)} customers"
            )
        if key != "monetary_value":
            neg = int((values < 0).sum())
            if neg:
                raise DataValidationError(
                    f"{name}: {col!r} is negative for {count_of(neg, n)} customers"
                )
        out[key] = values
    late = int((out["recency"] > out["T"] + 1e-9).sum())
    if late:
        raise DataValidationError(
            f"{name}: recency > T for {count_of(late, n)} customers; recency is first-to-last "
            "purchase time and T first purchase to observation end (lifetimes convention), "
            "so recency can never exceed T"
        )
    return pd.DataFrame(out, index=rfm.index)


def rfm_scores(rfm, *, n_bins: int = 5, recency: str = "recency", frequency: str = "frequency",
               monetary_value: str = "monetary_value", T: str = "T") -> pd.DataFrame:
    """Recency, frequency and monetary scores 1..n_bins (quintiles by default).

    Parameters
    ----------
    rfm : DataFrame
        One row per customer with ``recency`` (first to last purchase), ``frequency``
        (repeat purchases), ``monetary_value`` (mean repeat spend) and ``T`` (first purchase
        to observation end), in any one time unit: the output of ``cxml.features.rfm`` or
        of lifetimes' ``summary_data_from_transaction_data``.
    n_bins : int, default 5
        Number of score levels.
    recency, frequency, monetary_value, T : str
        Column names in ``rfm``.

    Returns
    -------
    DataFrame
        ``r_score``, ``f_score``, ``m_score`` (int64, 1..n_bins, higher is better), same
        index as ``rfm``. ``r_score`` ranks the time since the last purchase,
        ``T - recency``, in reverse: the most recent buyers score highest. Scores follow
        :func:`quantile_scores`: equal values share a score.

    Raises
    ------
    DataValidationError
        Missing or non-numeric columns, missing/infinite values, negative recency,
        frequency or T, recency > T, or a bad ``n_bins``.

    Examples
    --------
    >>> rfm = pd.DataFrame({"recency": [0.0, 10, 30, 35, 20], "frequency": [0, 1, 4, 9, 2],
    ...                     "monetary_value": [0.0, 15, 40, 22, 18], "T": [38.0] * 5})
    >>> rfm_scores(rfm)
       r_score  f_score  m_score
    0        1        1        1
    1        2        2        2
    2        4        4        5
    3        5        5        4
    4        3        3        3
    """
    n_bins = _check_n_bins(n_bins)
    cols = {"recency": recency, "frequency": frequency, "monetary_value": monetary_value, "T": T}
    data = _validated_rfm(rfm, cols, name="rfm_scores")
    since_last = np.round(data["T"].to_numpy() - data["recency"].to_numpy(), _DECIMALS)
    return pd.DataFrame(
        {
            "r_score": quantile_scores(-since_last, n_bins=n_bins),
            "f_score": quantile_scores(data["frequency"].to_numpy(), n_bins=n_bins),
            "m_score": quantile_scores(data["monetary_value"].to_numpy(), n_bins=n_bins),
        },
        index=rfm.index,
    )


def _scores_for(rfm, rules: SegmentRules, column_names: dict[str, str]) -> pd.DataFrame:
    if isinstance(rfm, pd.DataFrame) and all(c in rfm.columns for c in _SCORE_COLUMNS) and not all(
        c in rfm.columns for c in column_names.values()
    ):
        scores = rfm[list(_SCORE_COLUMNS)]
        values = scores.to_numpy(dtype=float, na_value=np.nan)
        bad = int((~np.isin(values, np.arange(1, rules.n_bins + 1))).any(axis=1).sum())
        if bad:
            raise DataValidationError(
                f"rfm_segments: r_score/f_score/m_score are not whole numbers in "
                f"1..{rules.n_bins} for {count_of(bad, len(scores))} customers"
            )
        return scores.astype("int64")
    return rfm_scores(rfm, n_bins=rules.n_bins, **column_names)


def rfm_segments(rfm, *, rules=None, recency: str = "recency", frequency: str = "frequency",
                 monetary_value: str = "monetary_value", T: str = "T") -> pd.Series:
    """Named RFM segments (Champions, Loyal, ..., Lost) from rules kept as data.

    Parameters
    ----------
    rfm : DataFrame
        Per-customer ``recency``, ``frequency``, ``monetary_value`` and ``T`` (see
        :func:`rfm_scores`), or already-computed ``r_score``, ``f_score``, ``m_score``.
    rules : None, path, dict, list or SegmentRules, optional
        Segment rules (see :func:`load_segment_rules`); None uses the packaged default:
        Champions, Loyal, Potential Loyalist, New, Promising, Need Attention, About to
        Sleep, Can't Lose Them, At Risk, Hibernating, Lost, defined on the recency score
        and ``fm = (f_score + m_score) / 2`` so that every score combination has exactly
        one segment.
    recency, frequency, monetary_value, T : str
        Column names in ``rfm``.

    Returns
    -------
    Series
        Named ``"rfm_segment"``, categorical with the rules' segment order as categories,
        same index as ``rfm``; each customer gets the first rule that matches.

    Raises
    ------
    DataValidationError
        Invalid ``rfm`` (see :func:`rfm_scores`), or customers that no rule matches when
        the rules set no ``default``.
    ConfigError
        Invalid rules.

    Examples
    --------
    >>> scores = pd.DataFrame({"r_score": [5, 5, 1], "f_score": [5, 1, 1],
    ...                        "m_score": [4, 1, 2]})
    >>> rfm_segments(scores).tolist()
    ['Champions', 'New', 'Lost']
    """
    rules = load_segment_rules(rules)
    names = {"recency": recency, "frequency": frequency, "monetary_value": monetary_value, "T": T}
    scores = _scores_for(rfm, rules, names)
    values = {
        "r": scores["r_score"].to_numpy(),
        "f": scores["f_score"].to_numpy(),
        "m": scores["m_score"].to_numpy(),
    }
    values["fm"] = (values["f"] + values["m"]) / 2.0
    n = len(scores)
    codes = np.full(n, -1, dtype=np.int64)
    for i, rule in enumerate(rules.segments):
        match = codes == -1
        for key, (lo, hi) in rule.conditions().items():
            match &= (values[key] >= lo) & (values[key] <= hi)
        codes[match] = i
    categories = rules.names
    unmatched = codes == -1
    if unmatched.any():
        if rules.default is None:
            example = scores[unmatched].iloc[0].to_dict()
            raise DataValidationError(
                f"rfm_segments: no rule matches {count_of(int(unmatched.sum()), n)} customers "
                f"(e.g. scores {example}); add a catch-all rule or set 'default:' in the rules"
            )
        codes[unmatched] = categories.index(rules.default)
    segments = pd.Categorical.from_codes(codes, categories=categories)
    return pd.Series(segments, index=scores.index, name="rfm_segment")
