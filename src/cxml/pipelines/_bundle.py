"""The trained bundle: everything scoring needs, stored as JSON and LightGBM text.

A bundle directory holds ``bundle.json`` (feature spec, CLV and segment settings, versions,
SHA-256 of every file), ``bgnbd.json``, ``gamma_gamma.json``, ``churn.json`` and
``churn_lgbm.txt``. Nothing is pickled, so loading a bundle never executes stored code.
Inside an MLflow model directory the bundle sits at ``artifacts/bundle``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cxml._version import __version__
from cxml.exceptions import ModelLoadError
from cxml.models import BetaGeoModel, ChurnClassifier, GammaGammaModel

__all__ = ["FeatureSpec", "ModelBundle", "resolve_bundle_dir"]

BUNDLE_FORMAT = 1
_FILES = ("bgnbd.json", "gamma_gamma.json", "churn.json", "churn_lgbm.txt")


@dataclass(frozen=True)
class FeatureSpec:
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
        The user's column names for the transaction contract.
    event_columns : dict or None
        The user's column names for the events contract; None when the model was trained
        without engagement events.
    """

    time_unit: str
    horizon_days: int
    windows_days: list[int]
    columns: dict = field(default_factory=dict)
    event_columns: dict | None = None


@dataclass
class ModelBundle:
    """Fitted models plus the settings that turn their outputs into scores and segments.

    Attributes
    ----------
    purchase_model : BetaGeoModel
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
    """

    purchase_model: BetaGeoModel
    spend_model: GammaGammaModel
    churn_model: ChurnClassifier
    spec: FeatureSpec
    clv: dict
    segments: dict
    info: dict = field(default_factory=dict)

    def save(self, directory: str | Path) -> Path:
        """Write the bundle into ``directory``: model files, settings and their checksums.

        Writes ``bgnbd.json``, ``gamma_gamma.json``, ``churn.json``, ``churn_lgbm.txt`` and
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
        self.purchase_model.save(d / "bgnbd.json")
        self.spend_model.save(d / "gamma_gamma.json")
        self.churn_model.save(d)
        meta = {
            "format": BUNDLE_FORMAT,
            "cxml_version": __version__,
            "spec": asdict(self.spec),
            "clv": self.clv,
            "segments": self.segments,
            "info": self.info,
            "sha256": {name: _sha256(d / name) for name in _FILES},
        }
        (d / "bundle.json").write_text(json.dumps(meta, indent=2, default=str))
        return d

    @classmethod
    def load(cls, path: str | Path) -> "ModelBundle":
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
            Missing directory or files, an unknown format, or a file whose checksum no
            longer matches (edited after saving).
        """
        d = resolve_bundle_dir(path)
        try:
            meta = json.loads((d / "bundle.json").read_text())
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot read {d / 'bundle.json'}: {exc}") from None
        if meta.get("format") != BUNDLE_FORMAT:
            raise ModelLoadError(
                f"{d} holds bundle format {meta.get('format')!r}; this cxml ({__version__}) "
                f"reads format {BUNDLE_FORMAT}: retrain the model with this version"
            )
        sums = meta.get("sha256")
        if not isinstance(sums, dict) or set(sums) != set(_FILES):
            # Without the full checksum table nothing below could be trusted.
            raise ModelLoadError(f"{d / 'bundle.json'} lacks the SHA-256 of its model files "
                                 "(edited after saving?); refusing to load it: retrain")
        for name, digest in sums.items():
            f = d / name
            if not f.is_file():
                raise ModelLoadError(f"model file missing: {f}")
            if _sha256(f) != digest:
                raise ModelLoadError(
                    f"model file {f} was changed after saving (checksum mismatch); "
                    "refusing to load it: retrain or restore the original file"
                )
        try:
            purchase = BetaGeoModel.load(d / "bgnbd.json")
            spend = GammaGammaModel.load(d / "gamma_gamma.json")
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot read BTYD parameters in {d}: {exc}") from None
        churn = ChurnClassifier.load(d)
        return cls(
            purchase_model=purchase,
            spend_model=spend,
            churn_model=churn,
            spec=FeatureSpec(**meta["spec"]),
            clv=meta["clv"],
            segments=meta["segments"],
            info=meta.get("info", {}),
        )


def resolve_bundle_dir(path: str | Path) -> Path:
    """Find the bundle inside ``path`` (a bundle directory or an MLflow model directory)."""
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
