"""cxml.datasets.load_hillstrom / hillstrom_path: finding and reading the Hillstrom campaign.

Counts on the real file (the copy in ../shared/data) run when it is present: 64,000
customers and the arm sizes of Hillstrom's (2008) challenge (21,306 no e-mail, 21,307
men's, 21,387 women's). The search order, the not-found message and the refusals are tested
on small files in temporary folders, with the working directory and $CXML_DATA_DIR under
the test's control.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxml.datasets import (
    HILLSTROM_ARMS,
    HILLSTROM_CONTROL,
    HILLSTROM_FEATURES,
    hillstrom_path,
    load_hillstrom,
)
from cxml.exceptions import DataValidationError

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
HILLSTROM = SHARED_DATA / "hillstrom_email" / "hillstrom.parquet"
needs_hillstrom = pytest.mark.skipif(not HILLSTROM.is_file(), reason=f"{HILLSTROM} not found")

RAW = pd.DataFrame(
    {
        "recency": [10, 6, 7, 2],
        "history_segment": ["2) $100 - $200", "3) $200 - $350", "2) $100 - $200", "1) $0 - $100"],
        "history": [142.44, 329.08, 180.65, 45.34],
        "mens": [1, 1, 0, 1],
        "womens": [0, 1, 1, 0],
        "zip_code": ["Surburban", "Rural", "Surburban", "Urban"],
        "newbie": [0, 1, 1, 0],
        "channel": ["Phone", "Web", "Web", "Multichannel"],
        "segment": ["Womens E-Mail", "No E-Mail", "Womens E-Mail", "Mens E-Mail"],
        "visit": [0, 0, 1, 1],
        "conversion": [0, 0, 0, 1],
        "spend": [0.0, 0.0, 0.0, 29.99],
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
        (d.parent / "shared" / "data" / "hillstrom_email").exists() for d in (cwd, *cwd.parents)
    ):
        pytest.skip("a ../shared/data folder exists above the temporary directory")
    return tmp_path


def _write(folder: Path, df: pd.DataFrame = RAW) -> Path:
    path = folder / "hillstrom_email" / "hillstrom.parquet"
    path.parent.mkdir(parents=True)
    df.to_parquet(path)
    return path


# --- the real file ---------------------------------------------------------------------


@needs_hillstrom
def test_real_file_rows_arms_and_types():
    df = load_hillstrom(HILLSTROM)
    assert len(df) == 64_000
    assert df["segment"].value_counts().to_dict() == {
        "Womens E-Mail": 21_387,
        "Mens E-Mail": 21_307,
        "No E-Mail": 21_306,
    }
    assert df.attrs["report"] == {
        "source": str(HILLSTROM),
        "rows": 64_000,
        "rows_per_arm": {"No E-Mail": 21_306, "Mens E-Mail": 21_307, "Womens E-Mail": 21_387},
    }
    assert list(df.columns) == [*HILLSTROM_FEATURES, "segment", "visit", "conversion", "spend"]
    assert df.index.name == "customer_id" and df.index.tolist() == list(range(64_000))
    assert df["recency"].dtype == "int64" and df["history"].dtype == "float64"
    assert all(df[c].dtype == bool for c in ["mens", "womens", "newbie"])
    assert df["history_segment"].cat.ordered
    assert df["history_segment"].cat.categories[[0, -1]].tolist() == [
        "1) $0 - $100",
        "7) $1,000 +",
    ]
    assert df["zip_code"].cat.categories.tolist() == ["Rural", "Surburban", "Urban"]
    assert df["channel"].cat.categories.tolist() == ["Phone", "Web", "Multichannel"]
    assert df["visit"].dtype == "int64" and set(df["conversion"].unique()) == {0, 1}
    # Hillstrom's outcome rates: 14.68 % visit, 0.903 % conversion, $1.05 mean spend
    assert df["visit"].sum() == 9_394 and df["conversion"].sum() == 578
    assert df["spend"].mean() == pytest.approx(1.050908, abs=1e-6)
    assert HILLSTROM_ARMS[0] == HILLSTROM_CONTROL == "No E-Mail"


@needs_hillstrom
def test_real_file_is_found_from_the_checkout(monkeypatch):
    monkeypatch.delenv("CXML_DATA_DIR", raising=False)
    monkeypatch.chdir(ROOT / "notebooks")  # ../shared/data is next to the checkout
    assert hillstrom_path().resolve() == HILLSTROM.resolve()  # shared/ may be a symlink
    assert hillstrom_path(SHARED_DATA) == HILLSTROM  # a data folder works too


# --- search order and errors ---------------------------------------------------------------


def test_small_file_is_typed(isolated):
    df = load_hillstrom(_write(isolated))
    assert df["segment"].tolist() == RAW["segment"].tolist()
    assert df["mens"].tolist() == [True, True, False, True]
    assert df["history_segment"].tolist() == RAW["history_segment"].tolist()
    assert df["history_segment"].cat.categories.tolist() == [
        "1) $0 - $100",
        "2) $100 - $200",
        "3) $200 - $350",
    ]
    assert df["spend"].tolist() == [0.0, 0.0, 0.0, 29.99]
    assert df.attrs["report"]["rows_per_arm"] == {
        "No E-Mail": 1,
        "Mens E-Mail": 1,
        "Womens E-Mail": 2,
    }


def test_env_var_then_cwd_parents(isolated, monkeypatch):
    path = _write(isolated / "shared" / "data")  # seen from <root>/a/b via its parent a
    assert hillstrom_path() == path
    other = _write(isolated / "elsewhere")
    monkeypatch.setenv("CXML_DATA_DIR", str(isolated / "elsewhere"))
    assert hillstrom_path() == other
    monkeypatch.setenv("CXML_DATA_DIR", str(isolated / "empty"))
    assert hillstrom_path() is None
    assert hillstrom_path(path) == path  # an explicit argument wins


def test_absent_file_says_where_it_looked(isolated, monkeypatch):
    assert hillstrom_path() is None
    with pytest.raises(
        DataValidationError,
        match=r"Hillstrom e-mail campaign not found: looked in \d+ place\(s\): "
        r".*a/shared/data/hillstrom_email/hillstrom\.parquet.*set CXML_DATA_DIR",
    ):
        load_hillstrom()
    monkeypatch.setenv("CXML_DATA_DIR", str(isolated / "nothing"))
    with pytest.raises(
        DataValidationError,
        match=r"looked in 2 place\(s\): .*nothing/hillstrom_email/hillstrom\.parquet; "
        r".*nothing/hillstrom\.parquet\. Pass path=",
    ):
        load_hillstrom()
    with pytest.raises(DataValidationError, match=r"looked in 1 place\(s\): .*missing\.parquet"):
        load_hillstrom(isolated / "missing.parquet")


def test_bad_files(isolated):
    path = isolated / "x.parquet"
    RAW.drop(columns=["visit", "segment"]).to_parquet(path)
    with pytest.raises(DataValidationError, match=r"has no column\(s\) 'segment', 'visit'"):
        load_hillstrom(path)
    RAW.assign(segment=["Womens E-Mail", "SMS", "SMS", "No E-Mail"]).to_parquet(path)
    with pytest.raises(
        DataValidationError,
        match=r"column 'segment': 2 of 4 rows name no arm of the campaign \(e\.g\. 'SMS'\)",
    ):
        load_hillstrom(path)
    RAW.assign(visit=[0, 2, 1, 1]).to_parquet(path)
    with pytest.raises(DataValidationError, match=r"column 'visit': 1 of 4 rows are not 0/1"):
        load_hillstrom(path)
    RAW.assign(spend=[0.0, None, -1.0, 2.0]).to_parquet(path)
    with pytest.raises(
        DataValidationError, match=r"column 'spend': 2 of 4 rows are missing or negative"
    ):
        load_hillstrom(path)
    RAW.assign(channel=["Phone", "Store", "Web", "Web"]).to_parquet(path)
    with pytest.raises(DataValidationError, match=r"column 'channel': 1 of 4 rows are not one of"):
        load_hillstrom(path)
    path.write_text("not parquet")
    with pytest.raises(DataValidationError, match="cannot read .* as Parquet"):
        load_hillstrom(path)
