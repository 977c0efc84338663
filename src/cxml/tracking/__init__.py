"""MLflow tracking: runs, metrics, artifacts and pyfunc models (the only mlflow importer)."""

from cxml.tracking._mlflow import (
    DEFAULT_TRACKING_URI,
    TrackedRun,
    check_tracking_uri,
    resolve_tracking_uri,
    save_pyfunc_model,
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
    "local_model_path",
    "register_model",
    "resolve_tracking_uri",
    "save_pyfunc_model",
]
