"""Run comparison, model registry and model URIs (``models:/NAME@alias``, ``runs:/ID/model``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from cxml.exceptions import CxmlUserError, ModelLoadError

__all__ = [
    "COMPARE_METRICS",
    "COMPARE_PARAMS",
    "compare_runs",
    "register_model",
    "local_model_path",
    "KEY_METRICS",
    "KEY_PARAMS",
]

logger = logging.getLogger(__name__)

KEY_PARAMS = [
    "data.source",
    "data.customers",
    "time.calibration_end",
    "time.observation_end",
    "time.time_unit",
    "churn.learning_rate",
    "churn.num_leaves",
]
KEY_METRICS = [
    "churn_auc",
    "churn_pr_auc",
    "churn_brier",
    "bgnbd_expected_churn_auc",
    "purchases_spearman",
    "value_gini",
    "bgnbd_log_likelihood",
    "mbgnbd_log_likelihood",
    "pnbd_log_likelihood",
    "n_customers",
]


#: Rows shown for the child runs of a ``cxml compare`` run (one per candidate).
COMPARE_PARAMS = [
    "btyd.purchase_model",
    "btyd.penalizer",
    "churn.num_leaves",
    "churn.learning_rate",
]
COMPARE_METRICS = [
    "log_likelihood",
    "aic",
    "bic",
    "holdout_purchases_predicted",
    "churn_auc",
    "churn_auc_diff_low",
    "churn_auc_diff_high",
    "value_gini",
    "value_gini_diff_low",
    "value_gini_diff_high",
    "n_cutoffs",
]


def compare_runs(
    tracking_uri: str,
    *,
    experiment: str = "cxml",
    max_runs: int = 10,
    metrics: list[str] | None = None,
    params: list[str] | None = None,
    parent: str | None = None,
) -> pd.DataFrame:
    """Key parameters and metrics of the latest runs, one column per run.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking URI to read from.
    experiment : str, default "cxml"
        Experiment whose runs are compared.
    max_runs : int, default 10
        Newest first.
    metrics, params : list of str, optional
        Rows to show (default :data:`KEY_METRICS`, :data:`KEY_PARAMS`). Evaluate runs log
        ``<model>.<metric>`` keys; those are shown when present.
    parent : str, optional
        Run id (or its first 8 characters) of a ``cxml compare`` run: show its nested
        candidate runs (default rows :data:`COMPARE_METRICS`, :data:`COMPARE_PARAMS`).

    Returns
    -------
    pandas.DataFrame
        Index: ``run_name``, ``start_time``, ``pipeline``, then ``param:...`` and
        ``metric:...`` rows; columns: run ids (short).

    Raises
    ------
    CxmlUserError
        The experiment does not exist, or ``parent`` matches no run of it.
    """
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise CxmlUserError(f"experiment {experiment!r} not found at {tracking_uri}")
    query = ""
    if parent:
        found = [
            r
            for r in client.search_runs([exp.experiment_id], max_results=1000)
            if r.info.run_id.startswith(parent)
        ]
        if len(found) != 1:
            what = "no run" if not found else f"{len(found)} runs"
            raise CxmlUserError(
                f"--children {parent}: {what} of experiment {experiment!r} "
                "has this id; pass the run id printed by `cxml compare`"
            )
        query = f"tags.mlflow.parentRunId = '{found[0].info.run_id}'"
        metrics = metrics or COMPARE_METRICS
        params = params or COMPARE_PARAMS
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=query,
        order_by=["attributes.start_time DESC"],
        max_results=max_runs,
    )
    metrics = metrics or KEY_METRICS
    params = params or KEY_PARAMS
    cols = {}
    for run in runs:
        d = run.data
        col = {
            "run_name": run.info.run_name,
            "start_time": pd.Timestamp(run.info.start_time, unit="ms").strftime("%Y-%m-%d %H:%M"),
            "pipeline": d.tags.get("cxml.pipeline", ""),
        }
        for p in params:
            col[f"param:{p}"] = d.params.get(p)
        shown = [m for m in metrics if m in d.metrics]
        shown += sorted(k for k in d.metrics if "." in k and k.split(".", 1)[1] in metrics)
        for m in shown:
            col[f"metric:{m}"] = d.metrics[m]
        cols[run.info.run_id[:8]] = col
    return pd.DataFrame(cols)


def register_model(
    run_id: str,
    name: str,
    *,
    tracking_uri: str,
    alias: str | None = None,
    tags: dict | None = None,
    failures: Sequence[str] = (),
) -> int:
    """Register the model logged by a ``cxml train`` run and optionally set an alias.

    The run's ``model`` artifact is checked first: a model that failed to log (artifact
    store unwritable, full or unreachable) is refused with one line instead of MLflow's
    traceback, before a registered model name is created.

    Parameters
    ----------
    run_id : str
        The training run; its ``model`` artifact (``runs:/<run_id>/model``) is registered.
    name : str
        Registered model name; created on first use, a new version is added otherwise.
    tracking_uri : str
        MLflow tracking URI (the registry lives in the same store).
    alias : str, optional
        Alias pointed at the new version, e.g. ``"champion"`` (moved if it exists), so
        that ``models:/<name>@<alias>`` resolves to it.
    tags : dict, optional
        Tags of the new model version (e.g. why ``cxml compare --select`` chose it).
    failures : sequence of str, optional
        What the run could not log (``TrainResult.logging_failures``): a failed ``model``
        entry gives the cause in the message.

    Returns
    -------
    int
        The new model version.

    Raises
    ------
    CxmlUserError
        The run or its model artifact cannot be read, or the registry refuses the
        version. The message says it is the tracking infrastructure (artifact store,
        registry), not the data or configuration, and that the local model is complete.
    """
    import mlflow

    where = f"cannot register {name!r} from run {run_id}"
    fix = (
        "an infrastructure problem (the MLflow store), not your data or config: the local "
        "model directory is complete; fix the store and train again"
    )
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    cause = next((f[len("model") :].strip() for f in failures if f.split(" ")[0] == "model"), None)
    if cause is None:
        try:
            root = client.get_run(run_id).info.artifact_uri
            logged = {f.path for f in client.list_artifacts(run_id, "model")}
        except Exception as exc:  # noqa: BLE001 - mlflow raises many types for "unreadable"
            raise CxmlUserError(f"{where}: {_first_line(exc)} at {tracking_uri}; {fix}") from None
        if "model/MLmodel" not in logged:
            cause = f"not found in the run's artifacts at {root}"
    if cause is not None:
        if cause.startswith("(") and cause.endswith(")"):  # TrackedRun's "model (reason)"
            cause = cause[1:-1]
        raise CxmlUserError(f"{where}: the model artifact was not logged ({cause}); {fix}")
    mlflow.set_tracking_uri(tracking_uri)
    try:
        mv = mlflow.register_model(f"runs:/{run_id}/model", name, tags=tags)
        if alias:
            client.set_registered_model_alias(name, alias, mv.version)
    except Exception as exc:  # noqa: BLE001 - same: one line, not MLflow's traceback
        raise CxmlUserError(
            f"{where}: the model registry at {tracking_uri} refused it: {_first_line(exc)}; "
            "an infrastructure problem (the MLflow registry), not your data or config"
        ) from None
    return int(mv.version)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def local_model_path(model: str | Path, *, tracking_uri: str | None = None) -> Path:
    """A local directory for a model reference.

    A path is returned as is; ``models:/NAME@alias``, ``models:/NAME/VERSION`` and
    ``runs:/ID/model`` are downloaded from the tracking server first (the bundle is then
    loaded from plain files, never by running stored code).

    Parameters
    ----------
    model : str or Path
        A local model directory, or a ``models:/`` or ``runs:/`` URI.
    tracking_uri : str, optional
        Where to resolve URIs (see :func:`resolve_tracking_uri`); ignored for a path.

    Returns
    -------
    pathlib.Path
        ``model`` itself for a path (not checked for existence), else the local download
        directory of the artifact.

    Raises
    ------
    ModelLoadError
        The registered model, version, alias or run does not exist.
    """
    s = str(model)
    if not s.startswith(("models:/", "runs:/")):
        return Path(s)
    import mlflow

    from cxml.tracking._mlflow import resolve_tracking_uri

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=s))
    except Exception as exc:  # noqa: BLE001 - mlflow raises several types for "not found"
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelLoadError(f"cannot fetch model {s}: {msg}") from None
