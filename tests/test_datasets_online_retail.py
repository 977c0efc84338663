"""cxml.datasets.load_online_retail / online_retail_path: finding and reading Online Retail II.

Counts on the real file (the copy in ../shared/data, see its README) run when it is present;
the search order and the not-found message are tested on temporary folders, with the
working directory and $CXML_DATA_DIR under the test's control.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxml.datasets import load_online_retail, online_retail_path
from cxml.exceptions import CxmlUserError, DataValidationError

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
RETAIL = SHARED_DATA / "online_retail_ii" / "online_retail_ii.parquet"
needs_retail = pytest.mark.skipif(not RETAIL.is_file(), reason=f"{RETAIL} not found")

RAW = pd.DataFrame(
    {
        "Invoice": ["1", "1", "2", "C3", "4", "5", "5"],
        "StockCode": ["A", "B", "A", "A", "POST", "M", "M"],
        "Description": ["a", "b", "a", "a", "post", "manual", "manual"],
        "Quantity": [2, 1, 5, -2, 1, 1, -1],
        "InvoiceDate": pd.to_datetime(
            [
                "2010-01-04 10:00",
                "2010-01-04 10:00",
                "2010-02-01 12:30",
                "2010-02-03 09:00",
                "2010-03-01 08:00",
                "2010-03-02 08:00",
                "2010-03-02 08:00",
            ]
        ),
        "Price": [1.5, 4.0, 1.5, 1.5, 18.0, 3.0, 3.0],
        "CustomerID": [12345.0, 12345.0, None, 12345.0, 777.0, 777.0, 777.0],
        "Country": "United Kingdom",
    }
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A working directory with no ../shared/data above it, and no $CXML_DATA_DIR."""
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("CXML_DATA_DIR", raising=False)
    if any(
        (d.parent / "shared" / "data" / "online_retail_ii").exists() for d in (cwd, *cwd.parents)
    ):
        pytest.skip("a ../shared/data folder exists above the temporary directory")
    return tmp_path


def _write(folder: Path, df: pd.DataFrame = RAW) -> Path:
    path = folder / "online_retail_ii" / "online_retail_ii.parquet"
    path.parent.mkdir(parents=True)
    df.to_parquet(path)
    return path


# --- the real file ---------------------------------------------------------------------


@needs_retail
def test_real_file_public_protocol_counts():
    tx = load_online_retail(RETAIL)
    assert list(tx.columns) == [
        "customer_id",
        "timestamp",
        "amount",
        "quantity",
        "order_id",
        "product",
    ]
    assert tx["customer_id"].dtype == "int64" and tx["quantity"].dtype == "int64"
    assert pd.api.types.is_datetime64_dtype(tx["timestamp"])
    # 1,044,847 lines, 235,287 guest lines; 18,455 lines of non-positive invoices
    assert tx.attrs["report"] == {
        "source": str(RETAIL),
        "rows_read": 1_044_847,
        "guest_rows_dropped": 235_287,
        "non_positive_invoice_rows_dropped": 18_455,
        "rows": 791_105,
        "customers": 5_878,
        "cancellations": "drop",
    }
    assert len(tx) == 791_105 and tx["customer_id"].nunique() == 5_878
    assert not tx["order_id"].str.startswith("C").any()
    assert (tx.groupby("order_id")["amount"].sum() > 0).all()
    assert tx["timestamp"].min() == pd.Timestamp("2009-12-01 07:45")
    assert tx["timestamp"].max() == pd.Timestamp("2011-12-09 12:50")


@needs_retail
def test_real_file_keeping_cancellations():
    tx = load_online_retail(SHARED_DATA, cancellations="keep")  # a folder works too
    assert len(tx) == 809_560 and tx["customer_id"].nunique() == 5_942
    cancelled = tx["order_id"].str.startswith("C")
    assert cancelled.sum() == 18_446  # the return rows the feature builders net
    assert (tx.loc[cancelled, "amount"] <= 0).all()


@needs_retail
def test_real_file_is_found_from_the_checkout(monkeypatch):
    monkeypatch.delenv("CXML_DATA_DIR", raising=False)
    monkeypatch.chdir(ROOT / "notebooks")  # ../shared/data is next to the checkout
    assert online_retail_path().resolve() == RETAIL.resolve()  # shared/ may be a symlink


# --- search order and errors ---------------------------------------------------------------


def test_policies_on_a_small_file(isolated):
    path = _write(isolated)
    tx = load_online_retail(path)
    # guest invoice 2 dropped; C3 and invoice 5 (total 0: an adjustment) dropped
    assert tx["order_id"].tolist() == ["1", "1", "4"]
    assert tx["customer_id"].tolist() == [12345, 12345, 777]
    assert tx["amount"].tolist() == [3.0, 4.0, 18.0]
    assert tx["product"].tolist() == ["A", "B", "POST"]
    assert tx.attrs["report"]["guest_rows_dropped"] == 1
    assert tx.attrs["report"]["non_positive_invoice_rows_dropped"] == 3
    kept = load_online_retail(path, cancellations="keep")
    assert kept["order_id"].tolist() == ["1", "1", "C3", "4", "5", "5"]
    assert kept["amount"].tolist() == [3.0, 4.0, -3.0, 18.0, 3.0, -3.0]
    assert kept["quantity"].tolist() == [2, 1, -2, 1, 1, -1]


def test_env_var_then_cwd_parents(isolated, monkeypatch):
    # next to the checkout: <root>/shared/data, seen from <root>/a/b via its parent a
    path = _write(isolated / "shared" / "data")
    assert online_retail_path() == path
    # $CXML_DATA_DIR wins, and is the only place searched once set
    other = _write(isolated / "elsewhere")
    monkeypatch.setenv("CXML_DATA_DIR", str(isolated / "elsewhere"))
    assert online_retail_path() == other
    monkeypatch.setenv("CXML_DATA_DIR", str(isolated / "empty"))
    assert online_retail_path() is None
    # an explicit argument wins over both
    assert online_retail_path(path) == path
    assert online_retail_path(isolated / "shared" / "data") == path


def test_csv_export_with_uci_spelling(isolated):
    path = isolated / "retail.csv"
    RAW.rename(columns={"CustomerID": "Customer ID"}).to_csv(path, index=False)
    tx = load_online_retail(path, cancellations="keep")
    assert len(tx) == 6 and tx["timestamp"].iloc[0] == pd.Timestamp("2010-01-04 10:00")


def test_absent_file_says_where_it_looked(isolated, monkeypatch):
    assert online_retail_path() is None
    with pytest.raises(
        DataValidationError,
        match=r"Online Retail II not found: looked in "
        r"\d+ place\(s\): .*a/shared/data/online_retail_ii/online_retail_ii"
        r"\.parquet.*set CXML_DATA_DIR",
    ):
        load_online_retail()
    monkeypatch.setenv("CXML_DATA_DIR", str(isolated / "nothing"))
    with pytest.raises(
        DataValidationError,
        match=r"looked in 2 place\(s\): .*nothing/"
        r"online_retail_ii/online_retail_ii\.parquet; .*nothing/"
        r"online_retail_ii\.parquet\. Pass path=",
    ):
        load_online_retail()
    with pytest.raises(DataValidationError, match=r"looked in 1 place\(s\): .*missing\.parquet"):
        load_online_retail(isolated / "missing.parquet")


def test_bad_files(isolated):
    path = isolated / "x.parquet"
    RAW.drop(columns=["Price", "Invoice"]).to_parquet(path)
    with pytest.raises(DataValidationError, match=r"has no column\(s\) 'Invoice', 'Price'"):
        load_online_retail(path)
    RAW.assign(CustomerID=[1.5, 2.0, None, 3.0, 4.0, 5.0, 5.0]).to_parquet(path)
    with pytest.raises(
        DataValidationError, match=r"'CustomerID': 1 of 6 ids are not whole numbers"
    ):
        load_online_retail(path)
    path.write_text("not parquet")
    with pytest.raises(DataValidationError, match="cannot read .* as Parquet"):
        load_online_retail(path)
    with pytest.raises(CxmlUserError, match=r"cancellations must be one of \['drop', 'keep'\]"):
        load_online_retail(path, cancellations="net")
