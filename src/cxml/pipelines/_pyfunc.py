"""The MLflow pyfunc model: scores transactions with a :class:`cxml.pipelines.ModelBundle`.

Saved by models-from-code (:data:`PYFUNC_ENTRY` is copied into the model directory), so the
model directory holds no pickle: its state is the bundle's JSON and LightGBM text.
"""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd

__all__ = ["CxmlPyfuncModel"]


class CxmlPyfuncModel(mlflow.pyfunc.PythonModel):
    """Scores a table of customer transactions with a cxml bundle.

    ``predict(model_input, params={"as_of": "YYYY-MM-DD"})`` takes transactions in the
    contract the model was trained with and returns one row per customer (see
    :func:`cxml.pipelines.score`). Without ``as_of`` the last transaction date is used.
    """

    def load_context(self, context):
        from cxml.pipelines._bundle import load_model

        self.bundle = load_model(context.artifacts["bundle"])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        from cxml.pipelines._score import score

        as_of = (params or {}).get("as_of") or None
        if as_of is None:
            ts = self.bundle.spec.columns.get("timestamp", "timestamp")
            as_of = pd.to_datetime(model_input[ts]).max().date().isoformat()
        return score(model_input, model=self.bundle, as_of=as_of)
