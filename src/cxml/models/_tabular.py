"""Inputs of the LightGBM estimators (:class:`~cxml.models.ChurnClassifier`,
:class:`~cxml.models.ValueModel`): the feature-frame check, the training-column check at
prediction time, 0/1 labels, and the hold-out split for early stopping and calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from cxml.exceptions import DataValidationError

__all__ = ["check_binary_labels", "check_feature_frame", "holdout_split", "training_columns"]


def check_feature_frame(X) -> pd.DataFrame:
    """``X`` itself, after checking it is a DataFrame of numeric or boolean columns.

    Parameters
    ----------
    X : pandas.DataFrame
        Feature matrix with named columns.

    Returns
    -------
    pandas.DataFrame
        ``X``, unchanged.

    Raises
    ------
    DataValidationError
        ``X`` is not a DataFrame, or has non-numeric columns (named in the message).
    """
    if not isinstance(X, pd.DataFrame):
        raise DataValidationError("X must be a pandas DataFrame with named feature columns")
    bad = [
        c
        for c in X.columns
        if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))
    ]
    if bad:
        raise DataValidationError(f"non-numeric feature column(s): {', '.join(map(str, bad))}")
    return X


def training_columns(X: pd.DataFrame, names, what: str) -> pd.DataFrame:
    """The columns ``names`` of ``X`` in that order; a clear error names the missing ones.

    Parameters
    ----------
    X : pandas.DataFrame
        Feature matrix at prediction time (extra columns are ignored).
    names : sequence of str
        The columns the model was trained on (its ``feature_names_in_``).
    what : str
        Name of the model in the error message.

    Returns
    -------
    pandas.DataFrame
        ``X[names]``.

    Raises
    ------
    DataValidationError
        ``X`` lacks some of ``names``.
    """
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise DataValidationError(
            f"feature matrix lacks {len(missing)} column(s) the {what} was trained on "
            f"(of {len(names)}): {', '.join(map(str, missing[:10]))}"
            f"{', ...' if len(missing) > 10 else ''}; pass the columns of "
            "feature_names_in_ (extra columns are ignored)"
        )
    return X[list(names)]


def check_binary_labels(y, n_rows: int, name: str = "y") -> np.ndarray:
    """0/1 labels as int64, refusing anything that is not exactly 0 or 1.

    Booleans, integers and floats equal to 0.0 or 1.0 are accepted; 0.7, 2, -1, NaN or
    text are refused rather than truncated or guessed.

    Parameters
    ----------
    y : array-like
        One label per row.
    n_rows : int
        Rows of the feature matrix.
    name : str, default "y"
        Name of the labels in error messages.

    Returns
    -------
    numpy.ndarray of int64
        The labels.

    Raises
    ------
    DataValidationError
        Wrong length, or labels other than 0 and 1 (the message counts them and shows
        one).
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise DataValidationError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if len(arr) != n_rows:
        raise DataValidationError(f"{name} has {len(arr)} rows but X has {n_rows}")
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind in "iuf":
        bad = ~((arr == 0) | (arr == 1))  # NaN compares unequal: refused too
    else:  # object (e.g. nullable pandas dtypes with NA) or text
        bad = np.array(
            [
                not (
                    isinstance(v, (bool, np.bool_, int, np.integer, float, np.floating))
                    and v in (0, 1)
                )
                for v in arr
            ],
            dtype=bool,
        )
    if bad.any():
        example = arr[np.flatnonzero(bad)[0]]
        example = example.item() if isinstance(example, np.generic) else example
        raise DataValidationError(
            f"{name} must be 0 (retained) or 1 (churned), as booleans, integers or floats "
            f"0.0/1.0; {int(bad.sum()):,} of {len(arr):,} labels are not (e.g. {example!r}). "
            "Map the labels to 0/1 first."
        )
    return arr.astype(np.int64)


def holdout_split(
    n: int, fraction: float, *, groups=None, y=None, random_state: int = 0, min_rows: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the fitting rows and of the held-out rows.

    With ``groups`` (sortable, e.g. the cut-off dates of stacked snapshots) the hold-out is
    a random part of the *latest* group: about ``fraction`` of all rows, at most half of
    that group, so that early stopping and calibration happen on the period closest to the
    customers the model will score while the rest of that period still trains the booster
    (holding out the whole latest period instead cost 0.01 AUC on Online Retail II: the
    booster then never sees the most recent behaviour). When the latest group is too small
    (fewer than ``2 * min_rows`` rows) the hold-out is the latest whole groups instead.
    Without groups it is a random split, stratified on ``y`` when given. The hold-out order
    is shuffled so that halves of it are comparable.

    Parameters
    ----------
    n : int
        Number of rows.
    fraction : float
        Share of rows to hold out.
    groups : array-like, optional
        Sortable group per row.
    y : array-like of {0, 1}, optional
        Labels to stratify on (without groups).
    random_state : int, default 0
        Seed of the split.
    min_rows : int, default 20
        Smallest hold-out drawn from within the latest group.

    Returns
    -------
    (ndarray, ndarray)
        Sorted fitting indices and (shuffled) hold-out indices.
    """
    idx = np.arange(n)
    n_hold = min(max(int(round(n * fraction)), 2), n - 1)
    rng = np.random.default_rng(random_state)
    if groups is not None:
        g = np.asarray(groups)
        if len(g) != n:
            raise DataValidationError(f"groups has {len(g)} rows but X has {n}")
        latest = np.flatnonzero(g == np.sort(g)[-1])  # np.max rejects strings
        k = min(n_hold, len(latest) // 2)
        if k >= min_rows:
            hold = rng.permutation(latest)[:k]
        else:  # a tiny latest period: hold out the latest whole groups
            order = np.argsort(g, kind="stable")
            start = int(np.searchsorted(g[order], g[order[-n_hold]], side="left"))
            hold = rng.permutation(order[start:] if start > 0 else order[-n_hold:])
        return np.setdiff1d(idx, hold), hold
    strat = None
    if y is not None and len(np.unique(y)) > 1 and np.min(np.bincount(np.asarray(y))) >= 2:
        strat = y
    fit_idx, hold = train_test_split(
        idx, test_size=n_hold, stratify=strat, random_state=random_state
    )
    return np.sort(fit_idx), rng.permutation(hold)
