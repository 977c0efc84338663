"""Per-customer reasons of a churn score: the features that push it up, from TreeSHAP.

LightGBM's ``pred_contrib`` gives each feature's exact SHAP contribution to a customer's
raw (log-odds) score (Lundberg et al., *From local explanations to global understanding
with explainable AI for trees*, Nature MI 2020, Algorithm 2). The calibration map is
monotone, so a feature that raises the raw score raises the churn probability.

:data:`CUTOFF_AGE` (days from a stacked training cut-off to the newest one) is never a
reason: it is 0 for every scored customer, so its contribution is a time effect shared by
all of them (the newest cut-off's churn level), not something about the customer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxml.pipelines._model_matrix import CUTOFF_AGE
from cxml.pipelines._score_schema import reason_columns

__all__ = ["NOT_A_REASON", "churn_reasons"]

#: Model features that are not a property of the customer (never a reason, nor a driver).
NOT_A_REASON = (CUTOFF_AGE,)


def churn_reasons(churn_model, X: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` features with the largest positive contribution to each churn score.

    Parameters
    ----------
    churn_model : cxml.models.ChurnClassifier
        Fitted.
    X : pandas.DataFrame
        The churn model's matrix (its training columns), one row per customer.
    top : int
        Reasons per customer (>= 1).

    Returns
    -------
    pandas.DataFrame
        Columns :func:`cxml.pipelines._score_schema.reason_columns` ``(top)``, index of
        ``X``. A customer with fewer than ``top`` positive contributions has None / NaN in
        the remaining reasons. :data:`NOT_A_REASON` features are left out.
    """
    shap = churn_model.shap_values(X).drop(
        columns=["expected_value", *NOT_A_REASON], errors="ignore"
    )
    names = np.asarray(shap.columns, dtype=object)
    contrib = shap.to_numpy()
    values = X[list(shap.columns)].to_numpy(dtype=float, na_value=np.nan)
    k = min(top, contrib.shape[1])
    # largest contributions first; ties keep the model's column order (stable sort)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(contrib))[:, None]
    c = contrib[rows, order]
    v = values[rows, order]
    n = names[order]
    pushes_up = c > 0
    out = {}
    for j in range(top):
        if j < k:
            up = pushes_up[:, j]
            out[f"reason_{j + 1}"] = np.where(up, n[:, j], np.array(None, dtype=object))
            out[f"reason_{j + 1}_value"] = np.where(up, v[:, j], np.nan)
            out[f"reason_{j + 1}_shap"] = np.where(up, c[:, j], np.nan)
        else:
            out[f"reason_{j + 1}"] = np.full(len(X), None, dtype=object)
            out[f"reason_{j + 1}_value"] = np.full(len(X), np.nan)
            out[f"reason_{j + 1}_shap"] = np.full(len(X), np.nan)
    frame = pd.DataFrame(out, index=X.index)
    return frame[reason_columns(top)]
