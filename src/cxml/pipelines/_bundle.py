"""The trained bundle: everything scoring needs, stored as JSON and LightGBM text.

A bundle directory holds ``bundle.json`` (feature spec, CLV and segment settings, versions,
SHA-256 of every file), ``bgnbd.json``, ``gamma_gamma.json``, ``churn.json`` and
``churn_lgbm.txt``. Nothing is pickled, so loading a bundle never executes stored code.
Inside an MLflow model directory the bundle sits at ``artifacts/bundle``.

``bundle.json`` follows the pydantic schema :class:`BundleManifest`; :meth:`ModelBundle.load`
is the one place that reads and verifies it (format, a checksum for every model file, each
file's SHA-256, settings of the right shape) and :meth:`ModelBundle.save` the one place
that writes it (atomically, after the model files).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
)

from cxml._atomic import write_atomic
from cxml._version import __version__
from cxml.exceptions import ModelLoadError
from cxml.models import (
    BetaGeoModel,
    ChurnClassifier,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from cxml.pipelines._customers import CovariateSpec

__all__ = [
    "BUNDLE_FORMAT",
    "BundleManifest",
    "FeatureColumn",
    "FeatureSpec",
    "ModelBundle",
    "load_model",
    "PURCHASE_MODELS",
    "model_files",
    "purchase_model_name",
    "resolve_bundle_dir",
]

logger = logging.getLogger(__name__)

#: Version of the bundle layout; a bundle of another format is refused (retrain).
BUNDLE_FORMAT = 1
#: The purchase-model families a pipeline can train (``btyd.purchase_model``), by name.
#: The name is recorded in ``bundle.json`` and names the purchase model's file.
PURCHASE_MODELS = {"bgnbd": BetaGeoModel, "mbgnbd": ModifiedBetaGeoModel, "pnbd": ParetoNBDModel}
MODEL_FILES = ("bgnbd.json", "gamma_gamma.json", "churn.json", "churn_lgbm.txt")


def model_files(purchase_model: str = "bgnbd") -> tuple[str, ...]:
    """The model files of a bundle whose purchase model is ``purchase_model``.

    BG/NBD keeps ``bgnbd.json`` (bundles written before other families existed load as
    they are); another family's parameters are in ``<name>.json``.
    """
    return (f"{purchase_model}.json",) + MODEL_FILES[1:]


def purchase_model_name(model) -> str:
    """The :data:`PURCHASE_MODELS` name of a fitted purchase model.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A purchase model.

    Returns
    -------
    str
        ``"bgnbd"``, ``"mbgnbd"`` or ``"pnbd"``.

    Raises
    ------
    TypeError
        ``model`` is not one of :data:`PURCHASE_MODELS`.
    """
    for name, cls in PURCHASE_MODELS.items():
        if type(model) is cls:
            return name
    raise TypeError(
        f"{type(model).__name__} is not a pipeline purchase model; "
        f"use one of {', '.join(c.__name__ for c in PURCHASE_MODELS.values())}"
    )


_PositiveInt = Annotated[int, Field(strict=True, gt=0)]
# a finite JSON number, kept as it was written (an int stays an int)
_Number = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]


class FeatureColumn(BaseModel):
    """One column of the churn model's matrix, as recorded at training time.

    Attributes
    ----------
    name : str
        Column name, in the model's order.
    dtype : str
        pandas dtype of the column in the training matrix (``int64``, ``float64``).
    source : {"transactions", "events", "cutoff"}
        What the column is built from: the transactions, the engagement events, or the
        age of a stacked training cut-off (:data:`CUTOFF_AGE`).
    category, level : str or None
        For a one-hot column, the categorical feature and the level it encodes.
    fill : float or None
        The value when the column's source is legitimately absent (events-sourced
        columns when no events are given: that of a customer without events; 0 for the
        cut-off age); None means missing (NaN).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    dtype: str
    source: Literal["transactions", "events", "cutoff"]
    category: str | None = None
    level: str | None = None
    fill: float | None = None


class FeatureSpec(BaseModel):
    """How features were built at training time; scoring rebuilds them the same way.

    Attributes
    ----------
    time_unit : {"D", "W"}
        Unit of recency / T for the BTYD models.
    horizon_days : int
        Churn and expected-purchases horizon (the training holdout length).
    windows_days : list of int
        Behaviour / engagement windows before the cut-off.
    columns : dict
        The user's column names for the transaction contract (at least ``customer_id``,
        ``timestamp`` and ``amount``).
    event_columns : dict or None
        The user's column names for the events contract; None when the model was trained
        without engagement events.
    event_types : list of str or None
        Event types whose per-type features the model has (those seen at training), so
        every chunk builds the same columns; None without events or before training.
    categories : dict or None
        Levels of each categorical feature (one-hot encoded with exactly these).
    features : list of FeatureColumn or None
        The churn model's matrix, column by column; recorded when the model is trained
        (None while the features of a training cut-off are being built).
    timestamp_format : str or None
        The explicit ``strptime`` format of text timestamps the model was trained with
        (``data.timestamp_format``); None = ISO 8601. Scoring uses it unless told otherwise.
    null_customer_id : {"error", "drop"}
        The training's policy for rows without a customer id (``data.null_customer_id``);
        scoring uses it unless told otherwise.
    covariates : CovariateSpec or None
        The purchase model's customer covariates (columns of the customers table, the
        id column, the categorical levels frozen at fit); scoring then requires the
        customers table. None for a model without covariates.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_unit: Literal["D", "W"]
    horizon_days: _PositiveInt
    windows_days: Annotated[list[_PositiveInt], Field(min_length=1)]
    columns: dict[str, str] = Field(default_factory=dict)
    event_columns: dict[str, str] | None = None
    event_types: list[str] | None = None
    categories: dict[str, list[str]] | None = None
    features: list[FeatureColumn] | None = None
    timestamp_format: str | None = None
    null_customer_id: Literal["error", "drop"] = "error"
    covariates: CovariateSpec | None = None


class _Settings(BaseModel):
    model_config = ConfigDict(extra="allow")


class _ClvSettings(_Settings):
    horizon_months: _Number
    annual_discount_rate: _Number


class _SegmentSettings(_Settings):
    value_thresholds: list[_Number]
    risk_thresholds: list[_Number]
    rules: dict


class BundleManifest(BaseModel):
    """The schema of ``bundle.json``.

    Attributes
    ----------
    format : int
        :data:`BUNDLE_FORMAT` of the writer.
    cxml_version : str
        cxml version that trained the bundle.
    spec : FeatureSpec
    clv : dict
        ``horizon_months``, ``annual_discount_rate``.
    segments : dict
        ``value_thresholds``, ``risk_thresholds``, ``rules`` (and ``rfm_edges``).
    info : dict
        Name, training dates, metrics.
    sha256 : dict
        SHA-256 of every model file (:func:`model_files`).
    purchase_model : str, default "bgnbd"
        The purchase model's family, a key of :data:`PURCHASE_MODELS` (absent from
        bundles written before other families existed: BG/NBD).
    """

    format: Literal[1]
    cxml_version: str
    spec: FeatureSpec
    clv: _ClvSettings
    segments: _SegmentSettings
    info: dict = Field(default_factory=dict)
    sha256: dict[str, str]
    purchase_model: Literal["bgnbd", "mbgnbd", "pnbd"] = "bgnbd"

    @field_validator("spec")
    @classmethod
    def _transaction_columns(cls, spec: FeatureSpec) -> FeatureSpec:
        # a trained model maps every required column of the transaction contract
        if not {"customer_id", "timestamp", "amount"} <= set(spec.columns):
            raise ValueError("the transaction columns are incomplete")
        return spec


@dataclass
class ModelBundle:
    """Fitted models plus the settings that turn their outputs into scores and segments.

    Attributes
    ----------
    purchase_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted purchase model, one of :data:`PURCHASE_MODELS`.
    spend_model : GammaGammaModel
    churn_model : ChurnClassifier
    spec : FeatureSpec
    clv : dict
        ``horizon_months`` and ``annual_discount_rate``.
    segments : dict
        Thresholds fixed at training time (``value_thresholds``, ``risk_thresholds``) so
        a scored customer lands in the same segment whatever else is in the batch.
    info : dict
        Name, training dates, cxml version, metrics.
    registered_as : str or None
        ``"NAME/VERSION"`` when the bundle was loaded from an MLflow model registry
        download (``models:/NAME@alias`` or ``models:/NAME/VERSION``), else None.
    """

    purchase_model: BetaGeoModel | ModifiedBetaGeoModel | ParetoNBDModel
    spend_model: GammaGammaModel
    churn_model: ChurnClassifier
    spec: FeatureSpec
    clv: dict
    segments: dict
    info: dict = field(default_factory=dict)
    registered_as: str | None = None

    @property
    def fingerprint(self) -> str:
        """Content hash of the bundle: the first 12 hex digits of a SHA-256.

        It is taken over ``bundle.json``'s SHA-256 of every model file and its feature
        spec, CLV and segment settings, serialised canonically (sorted keys), so it is the
        same for a bundle, its reload and any copy of its directory, and differs as soon
        as a parameter, a tree or a setting differs. Run facts that do not change
        predictions (name, dates, metrics, cxml version) are not part of it. It is that
        of the last :meth:`save` or :meth:`load` (a bundle never saved is hashed as
        :meth:`save` would write it).
        """
        if getattr(self, "_fingerprint", None) is None:  # never saved: hash what save writes
            import tempfile

            with tempfile.TemporaryDirectory(prefix="cxml-bundle-") as tmp:
                self.save(tmp)
        return self._fingerprint

    @property
    def model_version(self) -> str:
        """What identifies the model in every score: ``[NAME/VERSION@]FINGERPRINT``.

        The :attr:`fingerprint` (12 hex digits), prefixed by the registered model's
        name and version when loaded from the registry, e.g. ``cxml-cdnow/3@1f0c9a2b7d4e``.
        """
        fp = self.fingerprint
        return f"{self.registered_as}@{fp}" if self.registered_as else fp

    def save(self, directory: str | Path) -> Path:
        """Write the bundle into ``directory``: model files, settings and their checksums.

        Writes the purchase model (``bgnbd.json``, ``mbgnbd.json`` or ``pnbd.json``,
        see :func:`model_files`), ``gamma_gamma.json``, ``churn.json``, ``churn_lgbm.txt`` and
        ``bundle.json`` (format version, cxml version, :class:`FeatureSpec`, CLV and
        segment settings, ``info`` and the SHA-256 of every model file, which
        :meth:`load` verifies).

        Parameters
        ----------
        directory : str or Path
            Created if needed; files of the same names already there are overwritten.

        Returns
        -------
        pathlib.Path
            The directory written.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        kind = purchase_model_name(self.purchase_model)
        files = model_files(kind)
        self.purchase_model.save(d / files[0])
        self.spend_model.save(d / "gamma_gamma.json")
        self.churn_model.save(d)
        manifest = BundleManifest.model_validate(
            dict(
                format=BUNDLE_FORMAT,
                cxml_version=__version__,
                spec=self.spec,
                clv=self.clv,
                segments=self.segments,
                info=self.info,
                purchase_model=kind,
                sha256={name: _sha256(d / name) for name in files},
            )
        )
        meta = manifest.model_dump(mode="python")
        meta["clv"], meta["segments"], meta["info"] = self.clv, self.segments, self.info
        text = json.dumps(meta, indent=2, default=str)
        write_atomic(d / "bundle.json", text)
        self._fingerprint = _fingerprint(json.loads(text))
        return d

    @classmethod
    def load(cls, path: str | Path) -> ModelBundle:
        """Load a bundle from a bundle directory or an MLflow model directory.

        Parameters
        ----------
        path : str or Path
            A directory written by :meth:`save`, or an MLflow model directory that holds
            one (as logged by ``cxml train``).

        Returns
        -------
        ModelBundle
            The fitted models and settings, after every checksum was verified.

        Raises
        ------
        ModelLoadError
            Missing directory or files, an unknown format, a ``bundle.json`` without a
            checksum for every model file or whose settings do not follow
            :class:`BundleManifest`, a file whose checksum no longer matches (edited after
            saving), or any other failure to interpret the stored files. Nothing stored is
            executed: parameters are JSON, the churn model LightGBM text.
        """
        d = resolve_bundle_dir(path)
        manifest, meta = _read_manifest(d)
        for name, digest in manifest.sha256.items():
            f = d / name
            if not f.is_file():
                raise ModelLoadError(f"model file missing: {f}")
            if _sha256(f) != digest:
                raise ModelLoadError(
                    f"model file {f} was changed after saving (checksum mismatch); "
                    "refusing to load it: retrain or restore the original file"
                )
        try:
            purchase_cls = PURCHASE_MODELS[manifest.purchase_model]
            purchase = purchase_cls.load(d / model_files(manifest.purchase_model)[0])
            spend = GammaGammaModel.load(d / "gamma_gamma.json")
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot read BTYD parameters in {d}: {exc}") from None
        try:
            churn = ChurnClassifier.load(d)
        except ModelLoadError:
            raise
        except (TypeError, KeyError, ValueError, AttributeError, OSError) as exc:
            # whatever the stored files hold, failing to interpret them is a user error
            raise ModelLoadError(
                f"model {path}: cannot read the stored bundle "
                f"({type(exc).__name__}: {exc}); retrain or restore it"
            ) from None
        _check_contract(d, manifest.spec, churn)
        if (getattr(purchase, "coefficients_", None) is None) != (manifest.spec.covariates is None):
            raise ModelLoadError(
                f"model {d}: bundle.json's covariates (spec.covariates) do not match the "
                "purchase model's (edited after saving?); retrain the model"
            )
        bundle = cls(
            purchase_model=purchase,
            spend_model=spend,
            churn_model=churn,
            spec=manifest.spec,
            clv=manifest.clv.model_dump(),
            segments=manifest.segments.model_dump(),
            info=manifest.info,
            registered_as=_registered_as(d),
        )
        bundle._fingerprint = _fingerprint(meta)
        return bundle


def load_model(model) -> ModelBundle:
    """A :class:`ModelBundle` from a bundle or a model / bundle directory, checked whole.

    Parameters
    ----------
    model : ModelBundle, str or Path
        A bundle (returned as is), an MLflow model directory or a bundle directory.

    Returns
    -------
    ModelBundle
        The verified bundle (see :meth:`ModelBundle.load`).

    Raises
    ------
    ModelLoadError
        Missing or foreign directory, other bundle format, a file changed after saving,
        or a ``bundle.json`` whose content is not what cxml wrote.
    """
    if isinstance(model, ModelBundle):
        return model
    return ModelBundle.load(model)


def _check_contract(d: Path, spec: FeatureSpec, churn: ChurnClassifier) -> None:
    """The recorded feature contract must exist and describe the churn model's columns."""
    if spec.features is None:
        raise ModelLoadError(
            f"model {d} was trained by an older cxml: its bundle.json has no feature "
            "contract (spec.features); retrain it with this version (`cxml train`)"
        )
    names = [f.name for f in spec.features]
    if names != [str(c) for c in churn.feature_names_in_]:
        raise ModelLoadError(
            f"model {d}: the feature contract in bundle.json does not list the churn "
            "model's columns (edited after saving?); retrain the model"
        )


def _fingerprint(meta: dict) -> str:
    """12 hex digits of the SHA-256 of what defines the predictions in a parsed bundle.json."""
    keyed = {k: meta[k] for k in ("sha256", "spec", "clv", "segments")}
    canonical = json.dumps(keyed, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def _registered_as(bundle_dir: Path) -> str | None:
    """``NAME/VERSION`` from the ``registered_model_meta`` file MLflow writes next to
    ``MLmodel`` when it downloads a registered model, else None."""
    if bundle_dir.parent.name != "artifacts":
        return None
    meta_file = bundle_dir.parent.parent / "registered_model_meta"
    if not meta_file.is_file():
        return None
    import yaml

    try:
        meta = yaml.safe_load(meta_file.read_text())
        name, version = meta["model_name"], meta["model_version"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        logger.warning(
            "ignoring unreadable %s: the model version is its content hash only", meta_file
        )
        return None
    return f"{name}/{version}" if name and version is not None else None


def _read_manifest(d: Path) -> tuple[BundleManifest, dict]:
    """Parse and validate ``d / bundle.json`` (the schema and the parsed JSON); every
    problem is one ModelLoadError."""
    where = d / "bundle.json"
    try:
        meta = json.loads(where.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {where}: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelLoadError(f"cannot read {where}: not a JSON object; retrain the model")
    if meta.get("format") != BUNDLE_FORMAT:
        raise ModelLoadError(
            f"{d} holds bundle format {meta.get('format')!r}; this cxml ({__version__}) "
            f"reads format {BUNDLE_FORMAT}: retrain the model with this version"
        )
    kind = meta.get("purchase_model", "bgnbd")
    if kind not in PURCHASE_MODELS:
        raise ModelLoadError(
            f"{where}: unknown purchase model {kind!r} (this cxml ({__version__}) reads "
            f"{', '.join(PURCHASE_MODELS)}); retrain the model with this version"
        )
    files = model_files(kind)
    sums = meta.get("sha256")
    unchecked = [f for f in files if not isinstance(sums, dict) or f not in sums]
    if unchecked or not isinstance(sums, dict) or set(sums) != set(files):
        # Without the full checksum table nothing below could be trusted.
        detail = f"no checksum for {', '.join(unchecked)}; " if unchecked else ""
        raise ModelLoadError(
            f"{where} lacks the SHA-256 of its model files ({detail}edited "
            "after saving?); refusing to load it: retrain the model"
        )
    try:
        return BundleManifest.model_validate(meta), meta
    except ValidationError as exc:
        raise ModelLoadError(_manifest_problem(d, exc)) from None


def _manifest_problem(d: Path, exc: ValidationError) -> str:
    """One line naming what in bundle.json is not what training writes."""
    errors = exc.errors()
    unknown = [".".join(map(str, e["loc"])) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        return (
            f"model {d}: cannot read the stored bundle (unknown key(s) "
            f"{', '.join(unknown)} in bundle.json); retrain or restore it"
        )
    problems = []
    for e in errors:
        loc = [str(x) for x in e["loc"]]
        if loc == ["spec"]:  # the whole-spec check: its column mapping
            label = "columns"
        elif loc[0] == "spec" and len(loc) > 1:  # e.g. "time_unit 'Q'", "windows_days"
            value = len(loc) == 2 and e["type"] != "missing"
            label = f"{loc[1]} {e['input']!r}" if value else loc[1]
        else:
            label = loc[0]
        if label not in problems:
            problems.append(label)
    return (
        f"model bundle.json has invalid {', '.join(problems)} (edited after saving?); "
        "retrain the model"
    )


def resolve_bundle_dir(path: str | Path) -> Path:
    """Find the bundle inside ``path`` (a bundle directory or an MLflow model directory).

    Parameters
    ----------
    path : str or Path
        A bundle directory or an MLflow model directory holding ``artifacts/bundle``.

    Returns
    -------
    Path
        The directory that holds ``bundle.json``.

    Raises
    ------
    ModelLoadError
        ``path`` does not exist, is a file, or holds no ``bundle.json``.
    """
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"model not found: {p} (train one with `cxml train`)")
    if not p.is_dir():
        raise ModelLoadError(f"model path {p} is a file; expected a model directory")
    for candidate in (p, p / "artifacts" / "bundle"):
        if (candidate / "bundle.json").is_file():
            return candidate
    raise ModelLoadError(f"{p} is not a cxml model directory (no bundle.json found)")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
