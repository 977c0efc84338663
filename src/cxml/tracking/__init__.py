"""MLflow tracking: runs, metrics, artifacts, pyfunc model directories and the registry.

Tracking knows nothing of scoring: it logs and saves whatever it is given (the pyfunc model
that scores with a cxml bundle lives in :mod:`cxml.pipelines`).
"""

from cxml.tracking._mlflow import (
    DEFAULT_TRACKING_URI,
    TrackedRun,
    check_tracking_uri,
    flatten_params,
    library_versions,
    resolve_tracking_uri,
    save_pyfunc_model,
    tag_run,
)
from cxml.tracking._runs import (
    KEY_METRICS,
    KEY_PARAMS,
    compare_runs,
    local_model_path,
    register_model,
)

__all__ = [
    "DEFAULT_TRACKING_URI",
    "KEY_METRICS",
    "KEY_PARAMS",
    "TrackedRun",
    "check_tracking_uri",
    "compare_runs",
    "flatten_params",
    "library_versions",
    "local_model_path",
    "register_model",
    "resolve_tracking_uri",
    "save_pyfunc_model",
    "tag_run",
]
