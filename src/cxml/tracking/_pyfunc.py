"""The MLflow pyfunc wrapper around a :class:`cxml.pipelines.ModelBundle`."""

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
        from cxml.pipelines import ModelBundle

        self.bundle = ModelBundle.load(context.artifacts["bundle"])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        from cxml.pipelines import score

        as_of = (params or {}).get("as_of") or None
        if as_of is None:
            ts = self.bundle.spec.columns.get("timestamp", "timestamp")
            as_of = pd.to_datetime(model_input[ts]).max().date().isoformat()
        return score(model_input, model=self.bundle, as_of=as_of)
