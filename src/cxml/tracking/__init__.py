"""MLflow tracking: runs, metrics, artifacts and pyfunc models (the only mlflow importer)."""

from cxml.tracking._mlflow import (
    DEFAULT_TRACKING_URI,
    TrackedRun,
    check_tracking_uri,
    resolve_tracking_uri,
    save_pyfunc_model,
)

__all__ = [
    "DEFAULT_TRACKING_URI",
    "TrackedRun",
    "check_tracking_uri",
    "resolve_tracking_uri",
    "save_pyfunc_model",
]
