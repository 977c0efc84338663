"""Boundary validation: cxml.data.read_table / validate_transactions / validate_events."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.data import (
    is_validated,
    read_table,
    to_date,
    validate_events,
    validate_transactions,
    validation_info,
)
from cxml.exceptions import CxmlUserError, DataValidationError


def _tx(n=5):
    return pd.DataFrame(
        {
            "customer_id": np.arange(n) % 3,
            "timestamp": pd.date_range("2020-01-01", periods=n, freq="D"),
            "amount": np.linspace(1.0, 5.0, n),
        }
    )


def test_canonical_schema_and_mapping():
    df = _tx().rename(columns={"customer_id": "cid", "timestamp": "date", "amount": "value"})
    df["qty"] = [1, 2, 3, 4, 5]
    df["sku"] = list("abcde")
    t = validate_transactions(
        df,
        customer_id="cid",
        timestamp="date",
        amount="value",
        quantity="qty",
        product="sku",
        observation_end="2020-01-05",
    )
    assert t.columns == ("customer_id", "timestamp", "amount", "quantity", "product")
    schema = t.schema()
    assert schema["customer_id"].is_integer() and schema["timestamp"].is_timestamp()
    assert schema["amount"] == ibis.dtype("float64")
    assert is_validated(t) and not is_validated(t, "events")
    assert validation_info(t)["n_rows"] == 5
    assert t.count().execute() == 5


def test_string_dates_and_amounts_are_parsed():
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "timestamp": ["2020-01-01", "2020-02-03 10:00"],
            "amount": ["1.5", "-2"],
        }
    )
    out = validate_transactions(df).to_pandas()
    assert out["amount"].tolist() == [1.5, -2.0]
    assert out["timestamp"].tolist() == [
        pd.Timestamp("2020-01-01"),
        pd.Timestamp("2020-02-03 10:00"),
    ]


def test_missing_column_names_it_and_lists_available():
    with pytest.raises(
        DataValidationError,
        match=r"missing column 'amount' \(your column 'price'\); available "
        r"columns: \['customer_id', 'timestamp', 'amount'\]",
    ):
        validate_transactions(_tx(), amount="price")


def test_all_problems_are_counted_in_one_message():
    df = pd.DataFrame(
        {
            "cid": [1.0, None, 3.0, 4.5],
            "date": ["2020-01-01", "2020-13-45", None, "2020-01-02"],
            "amount": ["1", "abc", "2", None],
        }
    )
    with pytest.raises(DataValidationError) as err:
        validate_transactions(df, customer_id="cid", timestamp="date")
    msg = str(err.value)
    assert "column 'customer_id' (your column 'cid'): 1 of 4 rows have a null customer id" in msg
    assert "1 of 4 ids are not whole numbers" in msg
    assert "column 'timestamp' (your column 'date'): 1 of 4 rows have a null timestamp" in msg
    assert "1 of 4 values are not days of the calendar, e.g. '2020-13-45'" in msg
    assert "column 'amount': 1 of 4 rows have a null amount" in msg
    assert "column 'amount': 1 of 4 values are not numbers" in msg


def test_after_observation_end_counts_rows_and_includes_end_day():
    df = _tx(10)
    df.loc[4, "timestamp"] = pd.Timestamp("2020-01-05 23:59:59")  # on the end day: fine
    with pytest.raises(
        DataValidationError, match=r"'timestamp': 5 of 10 rows are after observation_end 2020-01-05"
    ):
        validate_transactions(df, observation_end="2020-01-05")
    validate_transactions(df.iloc[:5], observation_end=dt.date(2020, 1, 5))


def test_wrong_types_are_rejected():
    df = _tx()
    df["timestamp"] = 20200101
    with pytest.raises(DataValidationError, match=r"column 'timestamp' has type int64"):
        validate_transactions(df)
    df = _tx()
    df["amount"] = True
    with pytest.raises(DataValidationError, match=r"column 'amount' has type boolean"):
        validate_transactions(df)


def test_files(tmp_path):
    df = _tx()
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "a.parquet")
    for p in (tmp_path / "a.csv", str(tmp_path / "a.parquet")):
        out = validate_transactions(p).to_pandas()
        assert out["amount"].tolist() == df["amount"].tolist()
    with pytest.raises(DataValidationError, match=r"transactions: file not found: .*nope\.csv"):
        validate_transactions(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="got a directory"):
        validate_transactions(tmp_path)
    (tmp_path / "a.xlsx").write_text("x")
    with pytest.raises(DataValidationError, match="unsupported file extension"):
        validate_transactions(tmp_path / "a.xlsx")
    (tmp_path / "bad.csv").write_text("customer_id,timestamp,amount\n1,notadate,3\n")
    with pytest.raises(
        DataValidationError, match=r"1 of 1 values are not ISO 8601 dates, e.g. 'notadate'"
    ):
        validate_transactions(tmp_path / "bad.csv")


def test_unsupported_input_type():
    with pytest.raises(DataValidationError, match="unsupported input type list"):
        read_table([1, 2, 3])


def test_polars_arrow_and_ibis_inputs():
    import polars as pl
    import pyarrow as pa

    df = _tx()
    for src in (
        pl.from_pandas(df),
        pl.from_pandas(df).lazy(),
        pa.Table.from_pandas(df),
        ibis.memtable(df),
    ):
        assert validate_transactions(src).to_pandas()["amount"].sum() == pytest.approx(15.0)


def test_numpy_frame_is_scanned_in_place_and_released():
    """A pandas frame of NumPy columns becomes a DuckDB view (no Arrow copy), dropped on GC."""
    import gc

    from cxml.data import duckdb_connection

    df = _tx()
    t = read_table(df)
    name = t.op().name
    assert name.startswith("cxml_frame_")
    views = duckdb_connection().con.sql
    assert views(f"select count(*) from {name}").fetchall() == [(5,)]
    assert validate_transactions(t).to_pyarrow()["amount"].to_pylist() == df["amount"].tolist()
    del t
    gc.collect()
    with pytest.raises(Exception, match=name):
        views(f"select count(*) from {name}").fetchall()
    # strings (and other extension dtypes) keep ibis.memtable: Arrow parses them
    s = read_table(df.assign(amount=df["amount"].astype(str)))
    assert not s.op().name.startswith("cxml_frame_")
    assert validate_transactions(s).to_pyarrow()["amount"].to_pylist() == df["amount"].tolist()
    # no column at all: cxml's message, not DuckDB's "Need a DataFrame with at least one column"
    with pytest.raises(DataValidationError, match="missing column 'customer_id'"):
        validate_transactions(pd.DataFrame())


def test_events():
    ev = pd.DataFrame(
        {
            "cid": [1, 1, 2],
            "ts": pd.to_datetime(["2020-01-01"] * 3),
            "type": ["nps", "web_session", "csat"],
            "score": [9, 120, 4],
        }
    )
    t = validate_events(ev, customer_id="cid", timestamp="ts", event_type="type", value="score")
    assert t.columns == ("customer_id", "timestamp", "event_type", "value")
    assert t.schema()["value"] == ibis.dtype("float64")
    no_value = validate_events(
        ev.drop(columns="score"), customer_id="cid", timestamp="ts", event_type="type"
    )
    assert no_value.to_pandas()["value"].isna().all()
    with pytest.raises(DataValidationError, match=r"missing column 'value' \(your column 'v'\)"):
        validate_events(ev, customer_id="cid", timestamp="ts", event_type="type", value="v")
    bad = ev.assign(type=[None, "nps", "nps"])
    with pytest.raises(DataValidationError, match=r"'event_type' \(your column 'type'\): 1 of 3"):
        validate_events(bad, customer_id="cid", timestamp="ts", event_type="type", value="score")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1997-09-30", dt.date(1997, 9, 30)),
        (dt.date(1997, 9, 30), dt.date(1997, 9, 30)),
        (dt.datetime(1997, 9, 30, 18), dt.date(1997, 9, 30)),
        (pd.Timestamp("1997-09-30 23:59"), dt.date(1997, 9, 30)),
        (np.datetime64("1997-09-30"), dt.date(1997, 9, 30)),
    ],
)
def test_to_date(value, expected):
    assert to_date(value, "x") == expected


@pytest.mark.parametrize("value", [None, "yesterday", 19970930, pd.NaT])
def test_to_date_rejects(value):
    with pytest.raises(CxmlUserError, match="x"):
        to_date(value, "x")


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(["2020-01-01", "x", "2020-02-30", "1.5"])),
        min_size=1,
        max_size=12,
    )
)
def test_bad_date_counts_are_exact(values):
    df = pd.DataFrame(
        {"customer_id": 1, "timestamp": pd.Series(values, dtype=object), "amount": 1.0}
    )
    n_null = sum(v is None for v in values)
    n_not_iso = sum(v in ("x", "1.5") for v in values)
    n_invalid = sum(v == "2020-02-30" for v in values)
    n_bad = n_not_iso + n_invalid
    if n_null == 0 and n_bad == 0:
        validate_transactions(df)
        return
    with pytest.raises(DataValidationError) as err:
        validate_transactions(df)
    msg = str(err.value)
    if n_null:
        assert f"{n_null} of {len(values)} rows have a null timestamp" in msg
    if n_not_iso:
        assert f"{n_not_iso} of {len(values)} values are not ISO 8601 dates" in msg
    if n_invalid:
        assert f"{n_invalid} of {len(values)} values are not days of the calendar" in msg


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(-1e6, 1e6, allow_nan=False).map(str),
            st.sampled_from(["abc", "", "1,5", "$3"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_bad_amount_counts_are_exact(values):
    df = pd.DataFrame(
        {
            "customer_id": 1,
            "timestamp": pd.Timestamp("2020-01-01"),
            "amount": pd.Series(values, dtype=object),
        }
    )
    n_null = sum(v is None for v in values)
    n_bad = sum(v in ("abc", "", "1,5", "$3") for v in values)
    if n_null == 0 and n_bad == 0:
        out = validate_transactions(df).to_pandas()["amount"]
        np.testing.assert_allclose(out.to_numpy(), [float(v) for v in values])
        return
    with pytest.raises(DataValidationError) as err:
        validate_transactions(df)
    msg = str(err.value)
    assert (f"{n_null} of {len(values)} rows have a null amount" in msg) == bool(n_null)
    assert (f"{n_bad} of {len(values)} values are not numbers" in msg) == bool(n_bad)


def test_a_missing_events_column_names_the_events_mapping():
    ev = pd.DataFrame({"cid": [1], "ts": ["2020-01-01"], "kind": ["email_open"]})
    with pytest.raises(
        DataValidationError,
        match=r"events: missing column 'timestamp'.*\(keyword timestamp=\.\.\., "
        r"data\.event_columns in a config\)",
    ):
        validate_events(ev, customer_id="cid", event_type="kind")
    with pytest.raises(DataValidationError, match=r"data\.columns in a config"):
        validate_transactions(ev, customer_id="cid", timestamp="ts")
