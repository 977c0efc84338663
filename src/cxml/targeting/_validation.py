"""Input checks for uplift models: one clear error per problem, before anything is fitted.

Every check raises :class:`cxml.exceptions.DataValidationError` with one line that names
the problem, counts the offending rows, shows an example and says what to do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.exceptions import DataValidationError

__all__ = ["check_features", "check_outcome", "check_treatment"]


def check_features(X) -> pd.DataFrame:
    """Return ``X`` if it is a non-empty DataFrame with unique column names."""
    if not isinstance(X, pd.DataFrame):
        raise DataValidationError(
            f"X must be a pandas DataFrame of features, got {type(X).__name__}: "
            "wrap the array in pd.DataFrame with column names"
        )
    if X.shape[1] == 0:
        raise DataValidationError("X has no feature columns: pass at least one feature")
    if len(X) == 0:
        raise DataValidationError("X has no rows: pass at least one customer")
    dup = X.columns[X.columns.duplicated()].tolist()
    if dup:
        raise DataValidationError(f"X has duplicated column names {dup}: rename them")
    return X


def check_treatment(treatment, n_rows: int, control, min_rows_per_arm: int) -> np.ndarray:
    """Check the treatment labels against ``X`` and ``control``; return them as an array.

    The labels must have one entry per row, no missing values, at least two arms, contain
    ``control`` and give every arm at least ``min_rows_per_arm`` rows.
    """
    t = pd.Series(
        np.asarray(treatment, dtype=object).ravel()
        if not isinstance(treatment, pd.Series)
        else treatment.to_numpy(dtype=object)
    )
    if len(t) != n_rows:
        raise DataValidationError(
            f"X has {n_rows} rows but treatment has {len(t)}: pass one treatment label per row of X"
        )
    missing = t.isna().to_numpy()
    if missing.any():
        raise DataValidationError(
            f"treatment has {int(missing.sum())} missing label(s) (first at row "
            f"{int(np.flatnonzero(missing)[0])}): give every row an arm or drop those rows"
        )
    counts = t.value_counts(sort=False)
    labels = sorted(counts.index.tolist(), key=str)
    if len(labels) < 2:
        raise DataValidationError(
            f"treatment has a single arm ({labels[0]!r}, {n_rows} rows): uplift needs the "
            "control arm and at least one treated arm"
        )
    if control not in counts.index:
        raise DataValidationError(
            f"control arm {control!r} is not among the treatment labels {labels}: "
            "pass control= one of them"
        )
    small = {arm: int(n) for arm, n in counts.items() if n < min_rows_per_arm}
    if small:
        arm, n = min(small.items(), key=lambda kv: str(kv[0]))
        raise DataValidationError(
            f"arm {arm!r} has {n} rows, fewer than the minimum of {min_rows_per_arm} "
            f"(min_rows_per_arm) ({len(small)} arm(s) too small): collect more rows for it "
            "or drop the arm"
        )
    return t.to_numpy(dtype=object)


def check_outcome(y, n_rows: int, *, binary: bool) -> np.ndarray:
    """Check the outcome: one finite number per row, and only 0/1 when ``binary``."""
    values = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    values = values.ravel()
    if len(values) != n_rows:
        raise DataValidationError(
            f"X has {n_rows} rows but y has {len(values)}: pass one outcome per row of X"
        )
    numeric = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numeric)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"outcome y has {int(bad.sum())} missing or non-numeric value(s) (e.g. "
            f"{_plain(values[i])!r} at row {i}): give every row a numeric outcome or drop "
            "those rows"
        )
    if binary:
        not01 = (numeric != 0) & (numeric != 1)
        if not01.any():
            i = int(np.flatnonzero(not01)[0])
            raise DataValidationError(
                f"outcome y has {int(not01.sum())} value(s) that are not 0/1 (e.g. "
                f"{_plain(values[i])!r} at row {i}): UpliftClassifier needs a binary outcome; "
                "use UpliftRegressor for spend"
            )
    return numeric


def _plain(v):
    """A NumPy scalar as the Python value, so messages show ``2.0``, not ``np.float64(2.0)``."""
    return v.item() if isinstance(v, np.generic) else v
