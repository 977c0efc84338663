"""Kevin Hillstrom's MineThatData e-mail campaign: where to find it and how to read it.

Hillstrom (2008), "The MineThatData E-Mail Analytics and Data Mining Challenge": 64,000
customers who bought in the last twelve months were randomly sent a men's merchandise
e-mail (21,307), a women's merchandise e-mail (21,387) or no e-mail (21,306); their site
visit, conversion and spend in the two weeks after are recorded. It is the standard real
randomised campaign of the uplift literature. cxml does not ship it:
:func:`hillstrom_path` finds a local copy and :func:`load_hillstrom` reads it into a typed
frame, so notebooks, benchmarks and tests share one reading of it.

The file ``hillstrom.parquet`` is looked up like Online Retail II: the ``path`` argument
(the file or a folder holding ``hillstrom_email/hillstrom.parquet`` or
``hillstrom.parquet``), else the folder in ``$CXML_DATA_DIR`` (the only place searched
when set), else ``../shared/data`` next to the working directory or one of its parents.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from cxml.datasets._locate import DATA_DIR_ENV, data_candidates, find_data_file
from cxml.exceptions import DataValidationError

__all__ = [
    "HILLSTROM_ARMS",
    "HILLSTROM_CONTROL",
    "HILLSTROM_FEATURES",
    "HILLSTROM_OUTCOMES",
    "hillstrom_path",
    "load_hillstrom",
]

logger = logging.getLogger(__name__)

_FILE = "hillstrom.parquet"
_DIR = "hillstrom_email"

#: The arm labels of ``segment``, control first.
HILLSTROM_ARMS = ["No E-Mail", "Mens E-Mail", "Womens E-Mail"]
#: The control arm (no e-mail).
HILLSTROM_CONTROL = "No E-Mail"
#: The eight pre-campaign customer features.
HILLSTROM_FEATURES = [
    "recency",
    "history_segment",
    "history",
    "mens",
    "womens",
    "zip_code",
    "newbie",
    "channel",
]
#: The outcomes in the two weeks after the e-mail.
HILLSTROM_OUTCOMES = ["visit", "conversion", "spend"]

_INTEGER = ["recency"]
_FLAGS = ["mens", "womens", "newbie", "visit", "conversion"]
_CATEGORIES = {
    "zip_code": ["Rural", "Surburban", "Urban"],  # sic: the file spells it so
    "channel": ["Phone", "Web", "Multichannel"],
}
_COLUMNS = [*HILLSTROM_FEATURES, "segment", *HILLSTROM_OUTCOMES]


def hillstrom_path(path=None) -> Path | None:
    """Locate the Hillstrom e-mail campaign file, or tell that it is not available.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file itself, or a folder holding ``hillstrom_email/hillstrom.parquet`` or
        ``hillstrom.parquet``. When None, the folder in ``$CXML_DATA_DIR`` is searched if
        that variable is set, otherwise ``../shared/data`` relative to the working
        directory and each of its parents.

    Returns
    -------
    pathlib.Path or None
        The first existing file among the searched locations; None when there is none.

    See Also
    --------
    load_hillstrom : Read the file into a typed frame.

    Examples
    --------
    >>> import cxml
    >>> cxml.datasets.hillstrom_path("/nonexistent") is None
    True
    """
    return find_data_file(path, _DIR, _FILE)


def _bad(column: str, mask: np.ndarray, values: pd.Series, what: str, found: Path) -> None:
    n = int(mask.sum())
    if n:
        example = values[mask].iloc[0]
        raise DataValidationError(
            f"Hillstrom: column {column!r}: {n:,} of {len(values):,} rows {what} (e.g. "
            f"{example!r}) in {found}; pass the MineThatData file unchanged"
        )


def load_hillstrom(path=None) -> pd.DataFrame:
    """Load the Hillstrom (2008) e-mail campaign, one row per customer, typed.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The Parquet file or a folder holding it; None searches ``$CXML_DATA_DIR``, else
        ``../shared/data`` next to the working directory or one of its parents (see
        :func:`hillstrom_path`).

    Returns
    -------
    pandas.DataFrame
        64,000 rows indexed by ``customer_id`` (the row number in the file, int64), in
        file order, with the columns of :data:`HILLSTROM_FEATURES` (``recency`` int64
        months since the last purchase; ``history_segment`` an ordered categorical of
        spend bands; ``history`` float64 dollars spent in the past year; ``mens``,
        ``womens`` and ``newbie`` bool; ``zip_code`` and ``channel`` categorical), then
        ``segment`` (str, the arm: one of :data:`HILLSTROM_ARMS`, control
        ``"No E-Mail"``), ``visit`` and ``conversion`` (int64, 0/1) and ``spend``
        (float64 dollars). ``attrs["report"]`` holds the source path, the row count and
        the rows per arm.

    Raises
    ------
    DataValidationError
        The file is not found (the message lists every location searched), cannot be
        read, lacks a column, or holds a value the campaign cannot have (an unknown arm
        or category, a flag or outcome not 0/1, a missing or negative number).

    See Also
    --------
    hillstrom_path : Where the file is, or None.

    Examples
    --------
    >>> import cxml
    >>> if cxml.datasets.hillstrom_path() is not None:  # doctest: +SKIP
    ...     campaign = cxml.datasets.load_hillstrom()
    """
    found = hillstrom_path(path)
    if found is None:
        looked = data_candidates(path, _DIR, _FILE)
        where = "; ".join(str(p) for p in looked)
        raise DataValidationError(
            f"Hillstrom e-mail campaign not found: looked in {len(looked)} place(s): "
            f"{where}. Pass path= (the file or its folder), or set {DATA_DIR_ENV} to the "
            f"folder holding {_DIR}/{_FILE} (Hillstrom 2008, the MineThatData E-Mail "
            "Analytics challenge)"
        )
    try:
        raw = pd.read_parquet(found)
    except Exception as exc:  # not a Parquet file, unreadable, ...
        raise DataValidationError(
            f"Hillstrom: cannot read {found} as Parquet ({exc}); pass hillstrom.parquet"
        ) from exc
    missing = [c for c in _COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(
            f"Hillstrom: {found} has no column(s) {', '.join(map(repr, missing))} "
            f"(found {', '.join(map(repr, raw.columns))}); expected {', '.join(_COLUMNS)}"
        )

    out = pd.DataFrame(index=pd.RangeIndex(len(raw), name="customer_id"))
    for col in [*_INTEGER, *_FLAGS, "history", "spend"]:
        num = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
        _bad(col, ~np.isfinite(num) | (num < 0), raw[col], "are missing or negative", found)
        if col in _FLAGS:
            _bad(col, (num != 0) & (num != 1), raw[col], "are not 0/1", found)
        out[col] = num
    segment = raw["segment"].astype(str)
    _bad(
        "segment",
        ~segment.isin(HILLSTROM_ARMS).to_numpy(),
        raw["segment"],
        "name no arm of the campaign",
        found,
    )
    bands = sorted(raw["history_segment"].astype(str).unique())  # "1) $0 - $100", ...
    history_segment = pd.Categorical(
        raw["history_segment"].astype(str), categories=bands, ordered=True
    )
    for col, cats in _CATEGORIES.items():
        _bad(col, ~raw[col].isin(cats).to_numpy(), raw[col], f"are not one of {cats}", found)

    frame = pd.DataFrame(
        {
            "recency": out["recency"].astype("int64"),
            "history_segment": history_segment,
            "history": out["history"].astype("float64"),
            "mens": out["mens"].astype(bool),
            "womens": out["womens"].astype(bool),
            "zip_code": pd.Categorical(raw["zip_code"], categories=_CATEGORIES["zip_code"]),
            "newbie": out["newbie"].astype(bool),
            "channel": pd.Categorical(raw["channel"], categories=_CATEGORIES["channel"]),
            "segment": segment.to_numpy(),
            "visit": out["visit"].astype("int64"),
            "conversion": out["conversion"].astype("int64"),
            "spend": out["spend"].astype("float64"),
        },
        index=out.index,
    )
    counts = frame["segment"].value_counts()
    frame.attrs["report"] = {
        "source": str(found),
        "rows": len(frame),
        "rows_per_arm": {a: int(counts.get(a, 0)) for a in HILLSTROM_ARMS},
    }
    logger.info("Hillstrom campaign from %s: %s customers", found, f"{len(frame):,}")
    return frame
