"""The date policy: every timestamp string is read as the instant it names, or refused.

Never misread: no day/month order, two-digit year or locale is guessed, in memory or in a
CSV file (whose sniffer would otherwise pick a format from a sample).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxml.data import to_date, validate_transactions
from cxml.data._dates import to_datetime_series
from cxml.exceptions import CxmlUserError, DataValidationError

# (strftime format, whether cxml must accept it without an explicit format)
FORMATS = [
    ("%Y-%m-%d", True),
    ("%Y-%m-%d %H:%M:%S", True),
    ("%Y-%m-%dT%H:%M:%S", True),
    ("%Y-%m-%d %H:%M", True),
    ("%Y-%m-%dT%H:%M:%S.%f", True),
    ("%m/%d/%y %I:%M %p", False),  # Online Retail as Excel exports it (US, 2-digit year)
    ("%d/%m/%Y", False),
    ("%m/%d/%Y", False),
    ("%d.%m.%Y %H:%M", False),
    ("%Y/%m/%d", False),
    ("%y-%m-%d", False),
    ("%d-%m-%Y", False),
    ("%Y%m%d", False),
    ("%d %B %Y", False),
    ("%b %d, %Y", False),
    ("%A, %d %B %Y", False),
]
ZONES = [
    None,
    dt.UTC,
    dt.timezone(dt.timedelta(hours=2)),
    dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
]

instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 12, 31))


def _text(instant: dt.datetime, fmt: str, zone) -> tuple[str, pd.Timestamp]:
    """The string and the naive UTC (or wall-clock, unzoned) instant it must be read as."""
    if zone is None or "%H" not in fmt or not fmt.startswith("%Y-"):
        return instant.strftime(fmt), pd.Timestamp(_truncate(instant, fmt))
    aware = instant.replace(tzinfo=zone)
    suffix = "Z" if zone is dt.UTC else aware.strftime("%z")
    suffix = suffix if suffix == "Z" else f"{suffix[:3]}:{suffix[3:]}"
    utc = _truncate(aware, fmt).astimezone(dt.UTC).replace(tzinfo=None)
    return aware.strftime(fmt) + suffix, pd.Timestamp(utc)


def _truncate(instant: dt.datetime, fmt: str) -> dt.datetime:
    if "%f" in fmt:
        return instant
    if "%S" in fmt:
        return instant.replace(microsecond=0)
    if "%M" in fmt:
        return instant.replace(second=0, microsecond=0)
    return instant.replace(hour=0, minute=0, second=0, microsecond=0)


def _frame(texts):
    return pd.DataFrame({"customer_id": range(len(texts)), "timestamp": texts, "amount": 1.0})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    instant=instants,
    spec=st.sampled_from(FORMATS),
    zone=st.sampled_from(ZONES),
    via_csv=st.booleans(),
)
def test_every_string_is_read_right_or_refused(tmp_path_factory, instant, spec, zone, via_csv):
    fmt, accepted = spec
    text, expected = _text(instant, fmt, zone)
    source = _frame([text])
    if via_csv:
        path = tmp_path_factory.mktemp("csv") / "tx.csv"
        source.to_csv(path, index=False)
        source = path
    if not accepted:
        # refused: as text that is not ISO 8601, or (CSV digits) as a number column
        with pytest.raises(
            DataValidationError,
            match=r"'timestamp': 1 of 1 values are not ISO 8601 dates, e\.g\. "
            r"|'timestamp' has type int64; .*numbers are not read as dates",
        ):
            validate_transactions(source)
        return
    got = validate_transactions(source).to_pandas()["timestamp"].iloc[0]
    assert got == expected, (text, got, expected)
    # the pandas twin of the policy agrees
    assert to_datetime_series([text], "timestamp").iloc[0] == expected


@settings(max_examples=30, deadline=None)
@given(instant=instants, spec=st.sampled_from([f for f, ok in FORMATS if not ok]))
def test_explicit_format_reads_exactly(instant, spec):
    text, expected = _text(instant, spec, None)
    got = validate_transactions(_frame([text]), timestamp_format=spec).to_pandas()["timestamp"]
    assert got.iloc[0] == expected
    assert to_datetime_series([text], "t", timestamp_format=spec).iloc[0] == expected


def test_online_retail_us_dates_are_refused_not_read_as_year_12(tmp_path):
    texts = ["12/01/09 07:45 AM", "2009-12-01 07:50:00", "01/12/10 08:00 PM"]
    path = tmp_path / "tx.csv"
    _frame(texts).to_csv(path, index=False)
    with pytest.raises(
        DataValidationError,
        match=r"2 of 3 values are not ISO 8601 dates, e\.g\. '01/12/10 08:00 PM'",
    ):
        validate_transactions(path)
    got = validate_transactions(
        _frame(texts[:1] + texts[2:]), timestamp_format="%m/%d/%y %I:%M %p"
    ).to_pandas()
    assert got["timestamp"].tolist() == [
        pd.Timestamp("2009-12-01 07:45"),
        pd.Timestamp("2010-01-12 20:00"),
    ]


def test_format_is_strict():
    with pytest.raises(
        DataValidationError,
        match=r"1 of 2 values do not match timestamp_format '%d/%m/%Y', "
        r"e\.g\. '2011-06-09'",
    ):
        validate_transactions(_frame(["09/06/2011", "2011-06-09"]), timestamp_format="%d/%m/%Y")
    with pytest.raises(CxmlUserError, match=r"timestamp_format='%H:%M' has no year / month / day"):
        validate_transactions(_frame(["10:00"]), timestamp_format="%H:%M")


def test_impossible_days_mixed_zones_and_implausible_years():
    with pytest.raises(
        DataValidationError,
        match=r"1 of 2 values are not days of the calendar, e\.g\. '2011-06-31'",
    ):
        validate_transactions(_frame(["2011-06-31", "2011-06-30"]))
    with pytest.raises(
        DataValidationError, match=r"1 of 2 values mix text with and without a time zone"
    ):
        validate_transactions(_frame(["2011-06-09 10:00:00+02:00", "2011-06-09 10:00:00"]))
    with pytest.raises(
        DataValidationError,
        match=r"1 of 2 timestamps lie outside the years 1900-2199, e\.g\. '0012",
    ):
        validate_transactions(_frame(["0012-01-09", "2012-01-09"]))
    # native timestamps too (a Parquet file written by a tool that misread the year)
    df = _frame([0, 1]).assign(timestamp=[pd.Timestamp("1812-01-09"), pd.Timestamp("2012-01-09")])
    with pytest.raises(DataValidationError, match=r"1 of 2 timestamps lie outside the years"):
        validate_transactions(df)


def test_zoned_text_is_converted_to_utc():
    got = validate_transactions(_frame(["2011-06-09T23:30:00-02:00", "2011-06-09T10:00:00Z"]))
    assert got.to_pandas()["timestamp"].tolist() == [
        pd.Timestamp("2011-06-10 01:30"),
        pd.Timestamp("2011-06-09 10:00"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "09/12/2011",
        "2011-6-9",
        "12-09-2011",
        "20110912",
        "2011-09-12T00:00",
        "today",
        "",
        "2011-06-31",
    ],
)
def test_boundary_dates_are_yyyy_mm_dd_only(value):
    with pytest.raises(CxmlUserError, match=r"--as-of="):
        to_date(value, "--as-of")


def test_boundary_date_objects():
    assert to_date("2011-09-12", "d") == dt.date(2011, 9, 12)
    assert to_date(dt.datetime(2011, 9, 12, 23, 59), "d") == dt.date(2011, 9, 12)
    assert to_date(pd.Timestamp("2011-09-12 10:00"), "d") == dt.date(2011, 9, 12)
    with pytest.raises(CxmlUserError, match="must be a date in YYYY-MM-DD form"):
        to_date(20110912, "d")


def test_cx_metrics_use_the_same_policy():
    from cxml.metrics import customer_flows

    tx = pd.DataFrame({"customer_id": [1, 2], "timestamp": ["01/02/2024", "2024-01-05"]})
    with pytest.raises(
        DataValidationError,
        match=r"column 'timestamp': 1 of 2 values are not ISO 8601 dates, "
        r"e\.g\. '01/02/2024'",
    ):
        customer_flows(tx)
    ok = customer_flows(tx.assign(timestamp=["2024-01-02", "2024-02-05"]))
    assert ok["new"].sum() == 2


def test_nanosecond_parquet_timestamps_are_plausible(tmp_path):
    """Parquet written by pandas holds TIMESTAMP_NS; DuckDB 2.0.1 folds
    ``EXTRACT(year FROM ts) > 2199`` to true on such a column, so validation casts it."""
    df = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "amount": 1.0,
            "timestamp": pd.to_datetime(["2020-01-01 10:00", "2021-06-30 23:59"]),
        }
    )
    path = tmp_path / "tx.parquet"
    df.to_parquet(path)
    t = validate_transactions(path)
    assert t.schema()["timestamp"].scale in (None, 6)  # microseconds
    assert t.to_pandas()["timestamp"].tolist() == df["timestamp"].tolist()
