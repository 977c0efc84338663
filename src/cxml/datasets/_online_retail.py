"""The UCI Online Retail II data set: where to find it and how to read it.

Online Retail II (Chen 2012/2019, UCI Machine Learning Repository #502,
doi:10.24432/C5CG6D, licence CC BY 4.0) has every invoice line of a UK online gift retailer
from 2009-12-01 to 2011-12-09: 1,044,847 lines, 5,942 identified customers. cxml does not
ship it; :func:`online_retail_path` finds a local copy and :func:`load_online_retail` reads it
into cxml's transaction contract, so notebooks, benchmarks and tests share one
implementation of the cleaning policy.

The file is looked up, in this order:

1. the ``path`` argument (the file itself, or a folder holding it);
2. the folder in ``$CXML_DATA_DIR`` (when set, it is the only place searched);
3. ``../shared/data`` relative to the working directory and to each of its parents (the
   layout next to a checkout, ``<dir>/../shared/data/online_retail_ii/...``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from cxml.datasets._locate import DATA_DIR_ENV, data_candidates, find_data_file
from cxml.exceptions import CxmlUserError, DataValidationError

__all__ = ["load_online_retail", "online_retail_path", "ONLINE_RETAIL_ENV"]

logger = logging.getLogger(__name__)

#: Environment variable naming the data folder (the one holding ``online_retail_ii/``).
ONLINE_RETAIL_ENV = DATA_DIR_ENV
_FILE = "online_retail_ii.parquet"
_DIR = "online_retail_ii"
_REQUIRED = ["Invoice", "Quantity", "InvoiceDate", "Price", "CustomerID"]
_OPTIONAL = ["StockCode"]
# UCI's spreadsheet spells the customer column with a space.
_ALIASES = {"Customer ID": "CustomerID"}
_POLICIES = ("drop", "keep")


def _candidates(path) -> list[Path]:
    """Every location searched, in order (see the module docstring)."""
    return data_candidates(path, _DIR, _FILE)


def online_retail_path(path=None) -> Path | None:
    """Locate the Online Retail II file, or tell that it is not available.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file itself, or a folder holding ``online_retail_ii/online_retail_ii.parquet``
        or ``online_retail_ii.parquet``. When None, the folder in ``$CXML_DATA_DIR`` is
        searched if that variable is set, otherwise ``../shared/data`` relative to the
        working directory and each of its parents.

    Returns
    -------
    pathlib.Path or None
        The first existing file among the searched locations; None when there is none
        (use it to fall back to :func:`cxml.datasets.simulate`).

    See Also
    --------
    load_online_retail : Read the file into cxml's transaction contract.

    Examples
    --------
    >>> import cxml
    >>> path = cxml.datasets.online_retail_path("/nonexistent")
    >>> path is None
    True
    """
    return find_data_file(path, _DIR, _FILE)


def _read_raw(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        raw = pd.read_csv(path).rename(columns=_ALIASES)
    else:
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except Exception as exc:  # not a Parquet file, unreadable, ...
            raise DataValidationError(
                f"Online Retail II: cannot read {path} as Parquet ({exc}); pass the "
                "online_retail_ii.parquet file or a CSV export"
            ) from exc
        wanted = [n for n in names if _ALIASES.get(n, n) in _REQUIRED + _OPTIONAL]
        raw = pd.read_parquet(path, columns=wanted).rename(columns=_ALIASES)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise DataValidationError(
            f"Online Retail II: {path} has no column(s) {', '.join(map(repr, missing))} "
            f"(found {', '.join(map(repr, raw.columns))}); expected the UCI columns "
            f"{', '.join(_REQUIRED + _OPTIONAL)}"
        )
    return raw


def load_online_retail(path=None, *, cancellations: str = "drop") -> pd.DataFrame:
    """Load Online Retail II in cxml's transaction contract.

    One row per invoice line of an identified customer. The cleaning policy:

    - **Rows without a customer id** (guest orders, 235,287 of the 1,044,847 lines) are
      always dropped: there is no customer to model. Customer ids are whole numbers stored
      as floats in the file and become int64.
    - **Line value** ``amount = Quantity * Price``; odd stock codes ("POST", "M",
      "BANK CHARGES", ...) are kept, they are part of what the customer paid.
    - **Cancellations** (invoices starting with "C", negative quantities) depend on
      ``cancellations``: ``"drop"`` keeps only invoices whose total value is positive,
      the public evaluation protocol of the data set (it also removes zero-value
      adjustments), so every remaining invoice is a purchase; ``"keep"`` keeps them as
      rows with negative ``quantity`` and ``amount``, which cxml's feature builders net
      against purchases (``returns="net"``) and report.

    Exact duplicate lines are kept in both cases; the feature builders drop them
    (``duplicates="auto"`` with ``order_id`` and ``product`` mapped).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file (Parquet, or a CSV export with the same columns) or a folder holding it;
        None searches ``$CXML_DATA_DIR``, else ``../shared/data`` next to the working
        directory or one of its parents (see :func:`online_retail_path`).
    cancellations : {"drop", "keep"}, default "drop"
        Policy for invoices whose total value is not positive, described above.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (int64), ``timestamp`` (datetime64, the invoice time),
        ``amount`` (float64, pounds sterling), ``quantity`` (int64), ``order_id`` (str,
        the invoice number) and, when the file has ``StockCode``, ``product`` (str), in
        file order. ``attrs["report"]`` holds the source path and the row counts read,
        dropped and kept: with the shared copy of the data, 791,105 rows of 5,878
        customers with ``cancellations="drop"``, 809,560 rows of 5,942 customers with
        ``"keep"``.

    Raises
    ------
    DataValidationError
        The file is not found (the message lists every location searched), cannot be
        read, lacks a required column (``Invoice``, ``Quantity``, ``InvoiceDate``,
        ``Price``, ``CustomerID``) or has non-integer customer ids or missing invoice
        dates.
    CxmlUserError
        ``cancellations`` is not "drop" or "keep".

    See Also
    --------
    online_retail_path : Where the file is, or None.

    Examples
    --------
    >>> import cxml
    >>> if cxml.datasets.online_retail_path() is not None:  # doctest: +SKIP
    ...     tx = cxml.datasets.load_online_retail(cancellations="keep")
    """
    if cancellations not in _POLICIES:
        raise CxmlUserError(
            f"cancellations must be one of {list(_POLICIES)}, got {cancellations!r}"
        )
    found = online_retail_path(path)
    if found is None:
        looked = _candidates(path)
        where = "; ".join(str(p) for p in looked)
        raise DataValidationError(
            f"Online Retail II not found: looked in {len(looked)} place(s): {where}. Pass "
            f"path= (the file or its folder), or set {ONLINE_RETAIL_ENV} to the folder "
            "holding online_retail_ii/online_retail_ii.parquet (UCI ML Repository #502, "
            "doi:10.24432/C5CG6D)"
        )

    raw = _read_raw(found)
    n_read = len(raw)
    guests = raw["CustomerID"].isna()
    df = raw[~guests]
    cid = pd.to_numeric(df["CustomerID"], errors="coerce")
    bad = int((cid.isna() | (cid % 1 != 0)).sum())
    if bad:
        raise DataValidationError(
            f"Online Retail II: column 'CustomerID': {bad:,} of {len(df):,} ids are not "
            f"whole numbers in {found}"
        )
    ts = pd.to_datetime(df["InvoiceDate"], errors="coerce")
    if ts.isna().any():
        raise DataValidationError(
            f"Online Retail II: column 'InvoiceDate': {int(ts.isna().sum()):,} of "
            f"{len(df):,} rows have no parseable date in {found}"
        )
    out = pd.DataFrame(
        {
            "customer_id": cid.astype("int64"),
            "timestamp": ts,
            "amount": (df["Quantity"] * df["Price"]).astype("float64"),
            "quantity": df["Quantity"].astype("int64"),
            "order_id": df["Invoice"].astype(str),
        }
    )
    if "StockCode" in df.columns:
        out["product"] = df["StockCode"].astype(str)
    n_dropped_invoices = 0
    if cancellations == "drop":
        # Protocol: an invoice counts only if its total value is positive.
        keep = out.groupby("order_id")["amount"].transform("sum") > 0
        n_dropped_invoices = int((~keep).sum())
        out = out[keep]
    out = out.reset_index(drop=True)
    out.attrs["report"] = {
        "source": str(found),
        "rows_read": n_read,
        "guest_rows_dropped": int(guests.sum()),
        "non_positive_invoice_rows_dropped": n_dropped_invoices,
        "rows": len(out),
        "customers": int(out["customer_id"].nunique()),
        "cancellations": cancellations,
    }
    logger.info(
        "Online Retail II from %s: %s rows of %s customers (%s guest rows dropped, "
        "%s rows of non-positive invoices dropped)",
        found,
        f"{len(out):,}",
        f"{out.attrs['report']['customers']:,}",
        f"{int(guests.sum()):,}",
        f"{n_dropped_invoices:,}",
    )
    return out
