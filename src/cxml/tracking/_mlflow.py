"""MLflow runs and models: tracking URIs, runs, run parameters and pyfunc model directories.

mlflow is imported inside the functions that use it (it is slow to import).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import warnings
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from cxml.exceptions import CxmlUserError

__all__ = [
    "DEFAULT_TRACKING_URI",
    "resolve_tracking_uri",
    "check_tracking_uri",
    "save_pyfunc_model",
    "TrackedRun",
    "flatten_params",
    "tag_run",
    "library_versions",
]

logger = logging.getLogger(__name__)

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def resolve_tracking_uri(uri: str | None = None, config_uri: str | None = None) -> str:
    """Pick the MLflow tracking URI from the places a user can set it, first one set wins.

    The order is: the argument, the configuration, ``$MLFLOW_TRACKING_URI``, then the
    local store :data:`DEFAULT_TRACKING_URI` (``sqlite:///mlflow.db`` in the working
    directory).

    Parameters
    ----------
    uri : str, optional
        Explicit URI (for example ``--tracking-uri`` on the command line).
    config_uri : str, optional
        ``tracking.tracking_uri`` of the configuration.

    Returns
    -------
    str
        The URI to use; empty strings count as not set.
    """
    return uri or config_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def check_tracking_uri(uri: str, *, timeout_s: float = 5.0) -> None:
    """Fail fast, before any heavy work, when the tracking store cannot be reached.

    Only ``http(s)://`` and ``sqlite:///`` URIs are checked; other schemes pass.

    Parameters
    ----------
    uri : str
        The tracking URI, as returned by :func:`resolve_tracking_uri`.
    timeout_s : float, default 5.0
        Seconds to wait for an HTTP server's ``/health`` answer.

    Raises
    ------
    CxmlUserError
        An HTTP server that does not answer its ``/health`` endpoint, or a local store in a
        directory that does not exist.
    """
    if uri.startswith(("http://", "https://")):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310
                if resp.status != 200:
                    raise CxmlUserError(
                        f"MLflow server {uri} answered HTTP {resp.status} on /health"
                    )
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CxmlUserError(f"MLflow tracking server {uri} is unreachable: {reason}") from None
    elif uri.startswith("sqlite:///"):
        parent = Path(uri[len("sqlite:///") :]).expanduser().resolve().parent
        if not parent.is_dir():
            raise CxmlUserError(f"tracking URI {uri}: directory {parent} does not exist")


def save_pyfunc_model(
    bundle_dir: Path,
    model_dir: str | Path,
    *,
    python_model: str | Path,
    input_example: pd.DataFrame,
    output_example: pd.DataFrame,
    as_of: str,
    config_path: str | Path | None = None,
) -> Path:
    """Save a bundle as an MLflow pyfunc model (models-from-code; no pickle), atomically.

    The model is written to a temporary sibling directory and renamed over ``model_dir``,
    so a crash never leaves a half-written model.

    Parameters
    ----------
    bundle_dir : Path
        The model's state (e.g. a directory written by
        :meth:`cxml.pipelines.ModelBundle.save`), stored as the ``bundle`` artifact.
    model_dir : str or Path
        Destination MLflow model directory (replaced if it exists).
    python_model : str or Path
        The models-from-code file that defines the model (``mlflow.models.set_model``);
        it reads the ``bundle`` artifact when loaded.
    input_example, output_example : pandas.DataFrame
        Transactions and the scores they give, for the model signature.
    as_of : str
        Example value of the ``as_of`` inference parameter.
    config_path : str or Path, optional
        The training configuration (YAML), stored as the ``config`` artifact.

    Returns
    -------
    Path
        ``model_dir``.
    """
    import mlflow
    from mlflow.models import infer_signature

    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.", dir=model_dir.parent))
    target = tmp / "model"
    with warnings.catch_warnings():
        # MLflow hints about integer columns in the example; the example is the user's own
        # data, so its types are the right ones to record.
        warnings.simplefilter("ignore")
        signature = infer_signature(
            input_example, output_example, params={"as_of": as_of, "allow_stale_as_of": False}
        )
        mlflow.pyfunc.save_model(
            path=str(target),
            python_model=str(python_model),
            artifacts={
                "bundle": str(bundle_dir),
                **({"config": str(config_path)} if config_path else {}),
            },
            signature=signature,
            input_example=input_example,
            pip_requirements=_pip_requirements(),
        )
    old = None
    if model_dir.exists():
        old = model_dir.with_name(f".{model_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        model_dir.rename(old)
    target.rename(model_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return model_dir


def _pip_requirements() -> list[str]:
    from cxml._version import __version__

    return [f"cxml=={__version__}"]


class TrackedRun:
    """One MLflow run; failures to log after the run started become warnings.

    Use as a context manager::

        with TrackedRun(uri, "cxml", run_name="cdnow", tags={...}) as run:
            run.log_params({...})
            run.log_metrics({...})

    Logging problems after the start never lose the trained model: they are collected in
    :attr:`failures` and reported as one warning.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking URI.
    experiment : str
        Experiment name; created if it does not exist.
    run_name : str
        Name of the run shown in the MLflow UI.
    tags : dict, optional
        Tags set when the run starts.
    nested : bool, default False
        Start the run as a child of the active run (entered inside another
        ``TrackedRun``): MLflow records the parent in the tag ``mlflow.parentRunId``.

    Raises
    ------
    CxmlUserError
        On entering the context, when the experiment or run cannot be created (store
        unreachable, read-only, ...).
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        *,
        run_name: str,
        tags: dict | None = None,
        nested: bool = False,
    ):
        self.nested = nested
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_name = run_name
        self.tags = tags or {}
        self.run_id: str | None = None
        self.failures: list[str] = []

    def __enter__(self) -> TrackedRun:
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        try:
            mlflow.set_experiment(self.experiment)
            self._run = mlflow.start_run(run_name=self.run_name, tags=self.tags, nested=self.nested)
        except Exception as exc:  # noqa: BLE001 - any store failure is a user-facing problem
            raise CxmlUserError(
                f"cannot start an MLflow run at {self.tracking_uri}: {str(exc).splitlines()[0]}"
            ) from None
        self.run_id = self._run.info.run_id
        return self

    def __exit__(self, exc_type, exc, tb):
        import mlflow

        status = "FINISHED" if exc_type is None else "FAILED"
        try:
            mlflow.end_run(status=status)
        except Exception as e:  # noqa: BLE001
            self.failures.append(f"end_run: {e}")
        if self.failures:
            warnings.warn(
                "MLflow logging incomplete; not logged: " + "; ".join(self.failures),
                RuntimeWarning,
                stacklevel=2,
            )
        return False

    @contextmanager
    def _guard(self, what: str):
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - see class docstring
            logger.warning("MLflow: could not log %s: %s", what, exc)
            self.failures.append(f"{what} ({str(exc).splitlines()[0] if str(exc) else exc})")

    def log_params(self, params: dict) -> None:
        """Log run parameters.

        Parameters
        ----------
        params : dict
            Parameter names to values; None is logged as an empty string.
        """
        import mlflow

        with self._guard("params"):
            mlflow.log_params({k: ("" if v is None else v) for k, v in params.items()})

    def set_tags(self, tags: dict) -> None:
        """Set run tags.

        Parameters
        ----------
        tags : dict
            Tag names to values (converted to strings).
        """
        import mlflow

        with self._guard("tags"):
            mlflow.set_tags({k: str(v) for k, v in tags.items()})

    def log_metrics(self, metrics: dict) -> None:
        """Log run metrics.

        Parameters
        ----------
        metrics : dict
            Metric names to numbers, converted to float; None, NaN and infinite values
            are skipped (MLflow cannot store them).
        """
        import math

        import mlflow

        finite = {
            k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))
        }
        with self._guard("metrics"):
            mlflow.log_metrics(finite)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Upload a local file as an artifact of the run.

        Parameters
        ----------
        path : str or Path
            The file to upload.
        artifact_path : str, optional
            Folder inside the run's artifacts (None: the artifact root).
        """
        import mlflow

        with self._guard(f"artifact {Path(path).name}"):
            mlflow.log_artifact(str(path), artifact_path=artifact_path)

    def log_figure(self, figure, name: str) -> None:
        """Log a matplotlib figure as an image artifact.

        Parameters
        ----------
        figure : matplotlib.figure.Figure
            The figure.
        name : str
            Artifact file name including its folder and extension, e.g.
            ``"plots/calibration.png"``.
        """
        import mlflow

        with self._guard(f"figure {name}"):
            mlflow.log_figure(figure, name)

    def log_dict(self, data: dict, name: str) -> None:
        """Log a JSON-serialisable dict as a JSON artifact.

        Parameters
        ----------
        data : dict
            The content (e.g. a data report).
        name : str
            Artifact file name, e.g. ``"data_report.json"``.
        """
        import mlflow

        with self._guard(f"dict {name}"):
            mlflow.log_dict(data, name)

    def log_table(self, df: pd.DataFrame, name: str) -> None:
        """Log a table both as a Parquet artifact and as an MLflow table (JSON).

        Parameters
        ----------
        df : pandas.DataFrame
            The table. The Parquet file keeps its index; in the JSON table the index
            becomes column(s).
        name : str
            File stem: ``tables/<name>.parquet`` and ``tables/<name>.json``.
        """
        import mlflow

        with self._guard(f"table {name}"):
            with tempfile.TemporaryDirectory() as tmp:
                p = Path(tmp) / f"{name}.parquet"
                df.to_parquet(p)
                mlflow.log_artifact(str(p), artifact_path="tables")
            mlflow.log_table(df.reset_index(), artifact_file=f"tables/{name}.json")

    def log_dataset(self, lineage: dict, *, name: str, context: str = "training") -> None:
        """Record an input table as an MLflow dataset (source path, content hash, counts).

        Parameters
        ----------
        lineage : dict
            ``path``, ``sha256``, ``rows``, ``customers``, ``first_date``, ``last_date``.
        name : str
            Dataset name shown in the MLflow UI.
        context : str
            ``"training"`` or ``"evaluation"``.
        """
        import mlflow

        with self._guard(f"dataset {name}"):
            from mlflow.data.dataset_source_registry import resolve_dataset_source
            from mlflow.data.meta_dataset import MetaDataset

            with warnings.catch_warnings():
                # A local path matches two equivalent local source types; either is right.
                warnings.simplefilter("ignore", UserWarning)
                if lineage.get("path"):
                    source = resolve_dataset_source(lineage["path"])
                else:  # a database table or query (cxml.data.open_source): no file
                    from mlflow.data.code_dataset_source import CodeDatasetSource

                    source = CodeDatasetSource({"source": str(lineage.get("source"))})
            # MetaDataset leaves Dataset.profile abstract, but Dataset is no ABC, so it
            # instantiates (mlflow's own API for a dataset known by its metadata only).
            ds = MetaDataset(
                source,
                name=name,  # type: ignore[abstract]
                digest=(lineage.get("sha256") or "")[:16] or None,
            )
            tags = {
                k: str(lineage[k])
                for k in (
                    "rows",
                    "customers",
                    "first_date",
                    "last_date",
                    "sha256",
                    "connection",
                    "table",
                    "query",
                )
                if lineage.get(k) is not None
            }
            mlflow.log_input(ds, context=context, tags=tags)

    def log_model_dir(self, model_dir: Path) -> None:
        """Log a saved MLflow model directory as the run's ``model`` artifact.

        Parameters
        ----------
        model_dir : Path
            Directory written by ``mlflow.pyfunc.save_model`` (for example by
            :func:`save_pyfunc_model`); ``runs:/<run_id>/model`` then refers to it.
        """
        import mlflow

        with self._guard("model"):
            mlflow.log_artifacts(str(model_dir), artifact_path="model")


def tag_run(tracking_uri: str, run_id: str, tags: dict) -> None:
    """Set tags on a finished run (e.g. why ``cxml compare --select`` chose its model).

    A failure is logged as a warning: the run and its model are complete without them.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking URI of the run.
    run_id : str
        The run to tag.
    tags : dict
        Tag names to values (converted to text).
    """
    import mlflow

    try:
        client = mlflow.tracking.MlflowClient(tracking_uri)
        for k, v in tags.items():
            client.set_tag(run_id, k, str(v))
    except Exception as exc:  # noqa: BLE001 - tags are informative only
        logger.warning("MLflow: could not tag run %s: %s", run_id, exc)


def flatten_params(params: dict, prefix: str = "") -> dict:
    """Nested settings as flat MLflow parameters: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``.

    Parameters
    ----------
    params : dict
        Settings; nested dicts are walked, lists and tuples joined with commas.
    prefix : str, default ""
        Prepended to every key (e.g. ``"data."``).

    Returns
    -------
    dict
        One entry per leaf setting, keyed by its dotted path.

    Examples
    --------
    >>> flatten_params({"churn": {"windows_days": [30, 90]}, "name": "x"}, prefix="cfg.")
    {'cfg.churn.windows_days': '30,90', 'cfg.name': 'x'}
    """
    out = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_params(v, key + "."))
        else:
            out[key] = v if not isinstance(v, (list, tuple)) else ",".join(map(str, v))
    return out


def library_versions() -> dict:
    """Installed versions of cxml and the libraries its results depend on, as run tags.

    Returns
    -------
    dict
        ``{"version.numpy": "2.1.3", ...}``; ``"not installed"`` for a missing package.
    """
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in (
        "cxml",
        "numpy",
        "scipy",
        "pandas",
        "pyarrow",
        "ibis-framework",
        "duckdb",
        "lightgbm",
        "scikit-learn",
        "mlflow",
        "lifetimes",
    ):
        try:
            out[f"version.{pkg}"] = version(pkg)
        except PackageNotFoundError:
            out[f"version.{pkg}"] = "not installed"
    return out
