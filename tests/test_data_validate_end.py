"""The after-observation_end refusal at the boundary day, for every kind of timestamp column.

``observation_end`` includes its whole day: a row at 23:59:59.999999 on the end day is kept,
one at 00:00:00 the next day is refused. Offset timestamps are cut in UTC.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.data import validate_events, validate_transactions
from cxml.exceptions import DataValidationError

END = dt.date(2020, 1, 5)
LAST = ["2020-01-04 12:00:00", "2020-01-05 00:00:00", "2020-01-05 23:59:59.999999"]
NEXT = ["2020-01-06 00:00:00", "2020-01-06 00:00:00.000001"]


def _timestamps(kind: str, stamps: list[str]):
    ts = pd.to_datetime(pd.Series(stamps), format="ISO8601")
    if kind == "datetime64":
        return ts
    if kind == "date":
        return ts.dt.date
    if kind == "iso_text":
        return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if kind == "utc_offset":  # the same UTC instants, written at UTC+02:00
        return ts.dt.tz_localize("UTC").dt.tz_convert("+02:00")
    raise AssertionError(kind)


def _tx(kind, stamps):
    n = len(stamps)
    return pd.DataFrame(
        {"customer_id": range(n), "timestamp": _timestamps(kind, stamps), "amount": [1.0] * n}
    )


@pytest.mark.parametrize("kind", ["datetime64", "date", "iso_text", "utc_offset"])
def test_the_end_day_is_kept_and_the_next_day_refused(kind):
    stamps = LAST if kind != "date" else LAST[:1]
    validate_transactions(_tx(kind, stamps), observation_end=END)
    both = LAST + NEXT if kind != "date" else LAST[:1] + NEXT[:1]
    n_next = len(both) - len(stamps)
    with pytest.raises(
        DataValidationError,
        match=rf"'timestamp': {n_next} of {len(both)} rows are after observation_end 2020-01-05, "
        r"e\.g\. .*2020-01-0[67]",
    ):
        validate_transactions(_tx(kind, both), observation_end=END)


def test_an_already_validated_table_is_checked_against_a_new_end():
    t = validate_transactions(_tx("datetime64", LAST + NEXT))
    assert validate_transactions(t, observation_end="2020-01-06").count().execute() == 5
    with pytest.raises(DataValidationError, match=r"2 of 5 rows are after observation_end"):
        validate_transactions(t, observation_end=END)


def test_events_after_the_end_day_are_refused():
    ev = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "timestamp": pd.to_datetime([LAST[-1], NEXT[0], NEXT[1]], format="ISO8601"),
            "event_type": ["nps"] * 3,
            "value": [9.0, 7.0, 10.0],
        }
    )
    with pytest.raises(
        DataValidationError, match=r"'timestamp': 2 of 3 rows are after observation_end 2020-01-05"
    ):
        validate_events(ev, observation_end=END)
    validate_events(ev.iloc[:1], observation_end=END)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(2019, 12, 30), max_value=dt.datetime(2020, 1, 12)),
        min_size=1,
        max_size=12,
    ),
    st.dates(min_value=dt.date(2019, 12, 29), max_value=dt.date(2020, 1, 12)),
)
def test_refused_rows_are_exactly_those_after_the_end_day(stamps, end):
    df = pd.DataFrame({"customer_id": range(len(stamps)), "timestamp": stamps, "amount": 1.0})
    after = sum(s.date() > end for s in stamps)
    if after == 0:
        validate_transactions(df, observation_end=end)
    else:
        with pytest.raises(DataValidationError, match=rf": {after} of {len(stamps)} rows are"):
            validate_transactions(df, observation_end=end)
