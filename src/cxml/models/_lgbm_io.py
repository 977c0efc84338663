"""Persistence of LightGBM boosters without pickle: LightGBM's native text model next to a
JSON file of metadata (hyper-parameters, feature names, calibration, ...).

Both files go through :func:`cxml._atomic.write_atomic`: a save that fails mid-way leaves
the files of the previous save whole (each file is replaced only once fully written).

Used by :class:`~cxml.models.ChurnClassifier` and :class:`~cxml.models.ValueModel`.
Loading never executes stored code: the text model is parsed by LightGBM, the metadata by
``json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from cxml._atomic import write_atomic
from cxml.exceptions import ModelLoadError

__all__ = ["load_booster", "save_booster"]


def save_booster(
    directory: str | Path, booster, iteration: int, model_file: str, meta_file: str, meta: dict
) -> None:
    """Write a LightGBM booster (native text format) and its JSON metadata into a directory.

    Parameters
    ----------
    directory : str or Path
        Created if needed; existing files of the same names are overwritten.
    booster : lightgbm.Booster
        The fitted booster.
    iteration : int
        Boosting rounds to keep (the early-stopping best iteration).
    model_file, meta_file : str
        File names of the text model and of the metadata.
    meta : dict
        JSON-serialisable metadata.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    # model_to_string is byte for byte what Booster.save_model writes to a file
    write_atomic(d / model_file, booster.model_to_string(num_iteration=iteration))
    write_atomic(d / meta_file, json.dumps(meta, indent=2))


def load_booster(directory: str | Path, model_file: str, meta_file: str, what: str):
    """Read what :func:`save_booster` wrote.

    Parameters
    ----------
    directory : str or Path
        Directory holding both files.
    model_file, meta_file : str
        File names of the text model and of the metadata.
    what : str
        Name of the model in error messages (e.g. ``"churn model"``).

    Returns
    -------
    booster : lightgbm.Booster
        The booster, with as many rounds as were saved.
    meta : dict
        The metadata.

    Raises
    ------
    ModelLoadError
        A file is missing or unreadable.
    """
    import lightgbm as lgb

    d = Path(directory)
    try:
        meta = json.loads((d / meta_file).read_text())
        booster = lgb.Booster(model_file=str(d / model_file))
    except (OSError, ValueError, lgb.basic.LightGBMError) as exc:
        raise ModelLoadError(f"cannot read {what} in {d}: {exc}") from None
    return booster, meta
