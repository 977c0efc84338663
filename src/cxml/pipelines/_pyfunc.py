"""The MLflow pyfunc model: scores transactions with a :class:`cxml.pipelines.ModelBundle`.

Saved by models-from-code (:data:`PYFUNC_ENTRY` is copied into the model directory), so the
model directory holds no pickle: its state is the bundle's JSON and LightGBM text.
"""

from __future__ import annotations

import pandas as pd
from mlflow.pyfunc import PythonModel

__all__ = ["CxmlPyfuncModel"]


class CxmlPyfuncModel(PythonModel):
    """Scores a table of customer transactions with a cxml bundle.

    ``predict(model_input, params={"as_of": "YYYY-MM-DD"})`` takes transactions in the
    contract the model was trained with and returns one row per customer (see
    :func:`cxml.pipelines.score`). Without ``as_of`` the last transaction date is used;
    ``params={"allow_stale_as_of": True}`` accepts an ``as_of`` long after the latest
    transaction (refused by default, see :func:`cxml.data.check_horizon`).

    A model trained with customer covariates reads each customer's attributes from the
    input rows: the covariate columns (``bundle.spec.covariates.names``) next to the
    transaction columns, the same value on every row of a customer (the input example
    logged with the model shows them).
    """

    def load_context(self, context):
        from cxml.pipelines._bundle import load_model

        self.bundle = load_model(context.artifacts["bundle"])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        from cxml.data import to_datetime_series
        from cxml.pipelines._score import score

        as_of = (params or {}).get("as_of") or None
        if as_of is None:  # the model's own date policy, as scoring applies it
            spec = self.bundle.spec
            ts = spec.columns.get("timestamp", "timestamp")
            as_of = (
                to_datetime_series(model_input[ts], ts, timestamp_format=spec.timestamp_format)
                .max()
                .date()
                .isoformat()
            )
        allow = bool((params or {}).get("allow_stale_as_of", False))
        kw = {}
        if self.bundle.spec.covariates is not None:
            kw["customers"] = _customers_from_rows(model_input, self.bundle.spec)
        return score(model_input, model=self.bundle, as_of=as_of, allow_stale_as_of=allow, **kw)


def _customers_from_rows(rows: pd.DataFrame, spec) -> pd.DataFrame:
    """One row of attributes per customer from transaction rows that carry them."""
    from cxml.exceptions import DataValidationError

    cov = spec.covariates
    cid = spec.columns.get("customer_id", "customer_id")
    missing = [c for c in cov.names if c not in rows.columns]
    if missing:
        raise DataValidationError(
            f"model input: no covariate column(s) {missing}; this model needs each "
            "customer's attributes as columns of the transaction rows"
        )
    out = rows[[cid, *cov.names]].drop_duplicates()
    twice = out[cid].duplicated(keep=False)
    if twice.any():
        first = out.loc[twice, cid].iloc[0]
        first = first.item() if hasattr(first, "item") else first
        raise DataValidationError(
            f"model input: {int(out.loc[twice, cid].nunique()):,} customers have rows with "
            f"different attributes (e.g. customer {first!r}); give each customer one value "
            "of every covariate"
        )
    return out.rename(columns={cid: cov.customer_id}) if cid != cov.customer_id else out
