"""The churn model's feature matrix of a chunk of scored customers."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from cxml.pipelines._core import CUTOFF_AGE

__all__ = ["model_matrix"]

logger = logging.getLogger(__name__)

# engagement count / trend features: a chunk without any event of a type has no column for
# it, but its customers have 0 such events (as they would in a larger batch)
_EVENT_COUNT = re.compile(r"^(?P<e>.+?)_(?:trend_)?\d+d$")


def model_matrix(X: pd.DataFrame, bundle) -> pd.DataFrame:
    """The churn model's feature matrix, independent of which other customers are in X.

    Parameters
    ----------
    X : pandas.DataFrame
        Customer features (:func:`~cxml.pipelines._customer_features.customer_features`).
    bundle : ModelBundle
        The model (its churn model's ``feature_names_in_``).

    Returns
    -------
    pandas.DataFrame
        One float column per training feature, in the training order.
    """
    cols = list(bundle.churn_model.feature_names_in_)
    absent = [c for c in cols if c not in X.columns]
    # one-hot columns of a class no customer of this chunk has, and counts of an event
    # type nobody in the chunk had, are 0 for every customer (not unknown); a model
    # trained on stacked cut-offs scores as of its newest one (cut-off age 0)
    zero = {c for c in absent if c.startswith("nps_class_") or c == CUTOFF_AGE
            or (_EVENT_COUNT.match(c) and c.startswith(_event_prefixes(cols)))}
    rest = [c for c in absent if c not in zero]
    if rest:
        logger.warning("features absent at scoring (treated as missing): %s", rest)
    # one float block in pandas' own (columns x rows) layout, filled row of the block by
    # row with contiguous writes: no consolidation of 30+ column blocks when LightGBM asks
    # for the matrix (half a second per 500,000-customer chunk)
    values = np.empty((len(cols), len(X)))
    for j, c in enumerate(cols):
        if c in X.columns:
            values[j] = X[c].to_numpy(dtype=float, na_value=np.nan)
        else:
            values[j] = 0.0 if c in zero else np.nan
    M = pd.DataFrame(values.T, index=X.index, columns=cols, copy=False)
    return M


def _event_prefixes(cols) -> tuple[str, ...]:
    """Event-type prefixes of the engagement count features the model was trained on."""
    out = set()
    for c in cols:
        m = re.match(r"^(?P<e>.+)_trend_\d+d$", c)
        if m and not c.startswith(("trend_transactions_", "trend_value_")):
            out.add(m.group("e") + "_")
    return tuple(sorted(out)) or ("\0",)
