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
from cxml.metrics import count_of
from cxml.segments._rules import SegmentRules, load_segment_rules

__all__ = ["rfm_scores", "rfm_segments", "rfm_score_edges", "quantile_scores", "quantile_edges"]

_SCORE_COLUMNS = ("r_score", "f_score", "m_score")
_EDGE_KEYS = ("since_last", "frequency", "monetary_value")
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
    # "below" = index of the first of each run of equal values in sorted order; walking the
    # sorted array is much faster than n random binary searches at millions of customers.
    order = np.argsort(arr, kind="stable")
    ranked = arr[order]
    first = np.ones(n, dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    starts = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    below = np.empty(n, dtype=np.int64)
    below[order] = starts
    return (1 + (n_bins * below) // n).astype(np.int64)


def quantile_edges(values, *, n_bins: int = 5) -> np.ndarray:
    """Cut points that reproduce :func:`quantile_scores` on new values.

    ``score(x) = 1 + #{edges < x}`` gives exactly ``quantile_scores(values)`` on ``values``
    themselves, and scores any later value against the same reference distribution (so a
    customer scored alone gets the score they would have had in the training batch).

    Parameters
    ----------
    values : array-like of float
        Reference values (e.g. the training customers).
    n_bins : int, default 5
        Number of score levels.

    Returns
    -------
    numpy.ndarray of float
        ``n_bins - 1`` non-decreasing cut points.

    Examples
    --------
    >>> quantile_edges([10, 20, 30, 40, 50]).tolist()
    [10.0, 20.0, 30.0, 40.0]
    """
    arr = np.sort(np.asarray(values, dtype=float))
    n = arr.size
    if n == 0:
        raise DataValidationError("quantile_edges: no values; cut points need at least one")
    # score >= k  <=>  #below >= ceil((k - 1) n / n_bins)  <=>  x > sorted[that - 1]
    k = np.arange(2, n_bins + 1)
    needed = -((-(k - 1) * n) // n_bins)  # integer ceil, no float rounding
    return arr[needed - 1]


def _scores_from_edges(values: np.ndarray, edges) -> np.ndarray:
    return (1 + np.searchsorted(np.asarray(edges, dtype=float), values, side="left")).astype(
        np.int64
    )


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


def _check_edges(edges, n_bins: int | None, *, name: str) -> dict[str, np.ndarray]:
    if not isinstance(edges, dict):
        raise DataValidationError(
            f"{name}: edges must be the dict made by rfm_score_edges, got {type(edges).__name__}"
        )
    missing = [k for k in ("n_bins", *_EDGE_KEYS) if k not in edges]
    if missing:
        raise DataValidationError(f"{name}: edges lack {missing}; make them with rfm_score_edges")
    nb = edges["n_bins"]
    if n_bins is not None and nb != n_bins:
        raise DataValidationError(
            f"{name}: edges were made for n_bins={nb} but n_bins={n_bins} was asked for"
        )
    out = {}
    for key in _EDGE_KEYS:
        arr = np.asarray(edges[key], dtype=float)
        if arr.shape != (nb - 1,) or not np.all(np.isfinite(arr)):
            raise DataValidationError(
                f"{name}: edges[{key!r}] must hold {nb - 1} finite cut points, got {edges[key]!r}"
            )
        out[key] = arr
    return out


def _since_last(data: pd.DataFrame) -> np.ndarray:
    return np.round(data["T"].to_numpy() - data["recency"].to_numpy(), _DECIMALS)


def rfm_score_edges(
    rfm,
    *,
    n_bins: int = 5,
    recency: str = "recency",
    frequency: str = "frequency",
    monetary_value: str = "monetary_value",
    T: str = "T",
) -> dict:
    """Freeze the RFM score cut points of a reference set of customers.

    Scores from :func:`rfm_scores` are relative to the batch they are computed on. Pass
    these edges to ``rfm_scores(..., edges=...)`` / ``rfm_segments(..., edges=...)`` to
    score later customers against the training customers instead: on the reference set
    itself the scores are identical.

    Parameters
    ----------
    rfm : DataFrame
        Reference customers (see :func:`rfm_scores`).
    n_bins : int, default 5
        Number of score levels.
    recency, frequency, monetary_value, T : str
        Column names in ``rfm``.

    Returns
    -------
    dict
        Plain JSON-serialisable data: ``n_bins``; ``since_last`` (cut points on the time
        since the last purchase, ``T - recency``, in decreasing order: a customer scores
        ``1 + #{cuts > T - recency}``); ``frequency`` and ``monetary_value`` (increasing
        cut points: ``score = 1 + #{cuts < value}``).

    Raises
    ------
    DataValidationError
        Invalid ``rfm`` (see :func:`rfm_scores`) or no customers.

    Examples
    --------
    >>> rfm = pd.DataFrame(
    ...     {
    ...         "recency": [0.0, 10, 30, 35, 20],
    ...         "frequency": [0, 1, 4, 9, 2],
    ...         "monetary_value": [0.0, 15, 40, 22, 18],
    ...         "T": [38.0] * 5,
    ...     }
    ... )
    >>> edges = rfm_score_edges(rfm)
    >>> edges["frequency"]
    [0.0, 1.0, 2.0, 4.0]
    >>> rfm_scores(rfm, edges=edges).equals(rfm_scores(rfm))
    True
    """
    n_bins = _check_n_bins(n_bins)
    cols = {"recency": recency, "frequency": frequency, "monetary_value": monetary_value, "T": T}
    data = _validated_rfm(rfm, cols, name="rfm_score_edges")
    return {
        "n_bins": n_bins,
        "since_last": [float(-e) for e in quantile_edges(-_since_last(data), n_bins=n_bins)],
        "frequency": quantile_edges(data["frequency"], n_bins=n_bins).tolist(),
        "monetary_value": quantile_edges(data["monetary_value"], n_bins=n_bins).tolist(),
    }


def rfm_scores(
    rfm,
    *,
    n_bins: int | None = None,
    edges: dict | None = None,
    recency: str = "recency",
    frequency: str = "frequency",
    monetary_value: str = "monetary_value",
    T: str = "T",
) -> pd.DataFrame:
    """Recency, frequency and monetary scores 1..n_bins (quintiles by default).

    Parameters
    ----------
    rfm : DataFrame
        One row per customer with ``recency`` (first to last purchase), ``frequency``
        (repeat purchases), ``monetary_value`` (mean repeat spend) and ``T`` (first purchase
        to observation end), in any one time unit: the output of ``cxml.features.rfm`` or
        of lifetimes' ``summary_data_from_transaction_data``.
    n_bins : int, optional
        Number of score levels; default 5 (or the ``n_bins`` of ``edges``).
    edges : dict, optional
        Cut points frozen by :func:`rfm_score_edges` on reference customers; without them
        the scores are quantiles of ``rfm`` itself.
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
    >>> rfm = pd.DataFrame(
    ...     {
    ...         "recency": [0.0, 10, 30, 35, 20],
    ...         "frequency": [0, 1, 4, 9, 2],
    ...         "monetary_value": [0.0, 15, 40, 22, 18],
    ...         "T": [38.0] * 5,
    ...     }
    ... )
    >>> rfm_scores(rfm)
       r_score  f_score  m_score
    0        1        1        1
    1        2        2        2
    2        4        4        5
    3        5        5        4
    4        3        3        3
    """
    if n_bins is not None:
        n_bins = _check_n_bins(n_bins)
    cols = {"recency": recency, "frequency": frequency, "monetary_value": monetary_value, "T": T}
    data = _validated_rfm(rfm, cols, name="rfm_scores")
    neg_since = -_since_last(data)
    f, m = data["frequency"].to_numpy(), data["monetary_value"].to_numpy()
    if edges is not None:
        cuts = _check_edges(edges, n_bins, name="rfm_scores")
        scores = {
            "r_score": _scores_from_edges(neg_since, -cuts["since_last"]),
            "f_score": _scores_from_edges(f, cuts["frequency"]),
            "m_score": _scores_from_edges(m, cuts["monetary_value"]),
        }
    else:
        n_bins = 5 if n_bins is None else n_bins
        scores = {
            "r_score": quantile_scores(neg_since, n_bins=n_bins),
            "f_score": quantile_scores(f, n_bins=n_bins),
            "m_score": quantile_scores(m, n_bins=n_bins),
        }
    return pd.DataFrame(scores, index=rfm.index)


def _scores_for(rfm, rules: SegmentRules, column_names: dict[str, str], edges) -> pd.DataFrame:
    if (
        isinstance(rfm, pd.DataFrame)
        and all(c in rfm.columns for c in _SCORE_COLUMNS)
        and not all(c in rfm.columns for c in column_names.values())
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
    return rfm_scores(rfm, n_bins=rules.n_bins, edges=edges, **column_names)


def rfm_segments(
    rfm,
    *,
    rules=None,
    edges: dict | None = None,
    recency: str = "recency",
    frequency: str = "frequency",
    monetary_value: str = "monetary_value",
    T: str = "T",
) -> pd.Series:
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
    edges : dict, optional
        Score cut points frozen by :func:`rfm_score_edges` (same ``n_bins`` as the rules);
        without them the scores are quantiles of ``rfm`` itself.
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
    >>> scores = pd.DataFrame({"r_score": [5, 5, 1], "f_score": [5, 1, 1], "m_score": [4, 1, 2]})
    >>> rfm_segments(scores).tolist()
    ['Champions', 'New', 'Lost']
    """
    rules = load_segment_rules(rules)
    names = {"recency": recency, "frequency": frequency, "monetary_value": monetary_value, "T": T}
    scores = _scores_for(rfm, rules, names, edges)
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
