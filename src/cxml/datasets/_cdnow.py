"""The CDNOW data set, as shipped inside the lifetimes package.

CDNOW (Fader, Hardie & Lee 2005) records every purchase of 23,570 customers who made their
first purchase at the online CD retailer CDNOW in the first quarter of 1997, up to the end
of June 1998. lifetimes ships the full file and the 1/10 sample (2,357 customers) used
throughout the BTYD literature; cxml reads them from there instead of copying them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["load_cdnow", "cdnow_path"]

_FILES = {"master": "CDNOW_master.txt", "sample": "CDNOW_sample.txt"}


def cdnow_path(kind: str = "master") -> Path:
    """Path of the CDNOW file bundled inside lifetimes.

    Parameters
    ----------
    kind : {"master", "sample"}
        ``"master"``: all 23,570 customers; ``"sample"``: the 1/10 sample of 2,357.

    Returns
    -------
    pathlib.Path
        Location of the whitespace-separated text file.
    """
    if kind not in _FILES:
        raise ValueError(f"kind must be one of {sorted(_FILES)}, got {kind!r}")
    return Path(str(resources.files("lifetimes.datasets").joinpath(_FILES[kind])))


def load_cdnow(kind: str = "master") -> pd.DataFrame:
    """Load the CDNOW transactions in cxml's transaction contract.

    Parameters
    ----------
    kind : {"master", "sample"}, default "master"
        ``"master"``: 69,659 transactions of 23,570 customers (1997-01-01 .. 1998-06-30).
        ``"sample"``: 6,919 transactions of the 2,357-customer 1/10 sample, with the
        sample's own customer ids 1..2357 (those of lifetimes' ``cdnow_customers_summary``).

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (int64), ``timestamp`` (datetime64), ``amount`` (float64,
        dollars) and ``quantity`` (int64, number of CDs), one row per transaction line,
        in file order.

    Examples
    --------
    >>> import cxml
    >>> tx = cxml.datasets.load_cdnow("sample")
    >>> tx.shape
    (6919, 4)
    """
    path = cdnow_path(kind)
    if kind == "master":
        names = ["customer_id", "date", "quantity", "amount"]
        raw = pd.read_csv(
            path,
            sep=r"\s+",
            skiprows=1,
            header=None,
            names=names,
            dtype={"customer_id": "int64", "date": str},
        )
    else:
        names = ["master_id", "customer_id", "date", "quantity", "amount"]
        raw = pd.read_csv(
            path, sep=r"\s+", header=None, names=names, dtype={"customer_id": "int64", "date": str}
        )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("int64"),
            "timestamp": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["amount"].astype("float64"),
            "quantity": raw["quantity"].astype("int64"),
        }
    )
