"""cxml.features.engagement: hand-computed values, a pandas oracle, configuration, errors."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from cxml.exceptions import CxmlUserError, DataValidationError
from cxml.features import engagement

CUT = "2024-03-31"


@pytest.fixture(scope="module")
def events():
    rows = [
        ("a", "2024-01-10 10:00", "web_session", 120.0),
        ("a", "2024-03-01 10:00", "web_session", 60.0),
        ("a", "2024-03-20 10:00", "email_open", None),
        ("a", "2024-03-21 10:00", "email_click", None),
        ("a", "2024-02-01 09:00", "nps", 6.0),
        ("a", "2024-03-15 09:00", "nps", 10.0),
        ("a", "2024-03-16 09:00", "csat", 4.0),
        ("a", "2024-03-17 09:00", "csat", 5.0),
        ("a", "2024-03-18 09:00", "ces", 2.0),
        ("a", "2024-04-02 09:00", "nps", 0.0),  # after the cut-off: ignored
        ("b", "2024-03-30 12:00", "nps", 8.0),
        ("b", "2024-01-15 12:00", "support_ticket", None),
        ("c", "2023-11-01 12:00", "nps", 3.0),
    ]
    df = pd.DataFrame(rows, columns=["user", "when", "kind", "score"])
    df["when"] = pd.to_datetime(df["when"])
    return df


MAP = {"customer_id": "user", "timestamp": "when", "event_type": "kind", "value": "score"}


def test_hand_computed_values(events):
    f = engagement(events, cutoff=CUT, windows_days=[30, 60], **MAP)
    assert f.index.tolist() == ["a", "b", "c"]
    a = f.loc["a"]
    # 30d window (03-01, 03-31]: 03-15 nps, 03-16/17 csat, 03-18 ces, 03-20, 03-21 emails
    # (03-01 10:00 is on day 03-01 = cutoff - 30 days: outside)
    assert a["events_30d"] == 6
    assert a["events_60d"] == 8  # + 03-01 web session and 02-01 nps
    assert a["web_session_30d"] == 0 and a["web_session_60d"] == 1
    # previous 30d window (01-31, 03-01]: 02-01 nps, 03-01 web session
    assert a["events_trend_30d"] == pytest.approx((6 - 2) / 8)
    assert a["nps_trend_30d"] == pytest.approx(0.0)
    assert a["days_since_last_event"] == 10.0
    assert a["days_since_last_web_session"] == 30.0
    assert a["nps_last"] == 10.0 and a["nps_mean"] == 8.0 and a["nps_class"] == "promoter"
    assert a["csat_mean"] == 4.5 and a["ces_mean"] == 2.0
    assert a["web_session_count"] == 2 and a["web_session_duration"] == 180.0
    b = f.loc["b"]
    assert b["nps_class"] == "passive" and b["support_ticket_60d"] == 0
    assert b["days_since_last_support_ticket"] == 76.0
    assert np.isnan(b["csat_mean"]) and b["web_session_duration"] == 0.0
    c = f.loc["c"]
    assert c["nps_class"] == "detractor" and c["events_60d"] == 0
    assert c["events_trend_60d"] == 0.0
    assert set(f.attrs["report"]["event_types"]) == {
        "web_session",
        "email_open",
        "email_click",
        "nps",
        "csat",
        "ces",
        "support_ticket",
    }


def test_event_types_are_configuration(events):
    f = engagement(
        events,
        cutoff=CUT,
        windows_days=[30],
        event_types={"email": ["email_open", "email_click"], "Web Visit": "web_session"},
        nps=None,
        csat=None,
        ces=None,
        web_session=None,
        **MAP,
    )
    assert list(f.columns) == [
        "events_30d",
        "events_trend_30d",
        "email_30d",
        "email_trend_30d",
        "web_visit_30d",
        "web_visit_trend_30d",
        "days_since_last_event",
        "days_since_last_email",
        "days_since_last_web_visit",
    ]
    assert f.loc["a", "email_30d"] == 2
    renamed = events.assign(kind=events["kind"].replace({"nps": "survey_nps"}))
    g = engagement(
        renamed, cutoff=CUT, windows_days=[30], event_types=["survey_nps"], nps="survey_nps", **MAP
    )
    assert g.loc["a", "nps_last"] == 10.0 and g.loc["a", "survey_nps_30d"] == 1


def test_customers_reindexing(events):
    f = engagement(
        events, cutoff=CUT, windows_days=[30], event_types=["nps"], customers=["a", "z"], **MAP
    )
    assert f.index.tolist() == ["a", "z"] and f.index.name == "customer_id"
    z = f.loc["z"]
    assert z["events_30d"] == 0 and z["nps_30d"] == 0 and z["web_session_count"] == 0
    assert np.isnan(z["nps_last"]) and np.isnan(z["days_since_last_event"])
    assert pd.isna(z["nps_class"])
    assert f["events_30d"].dtype == np.int64
    assert f.attrs["report"]["customers_without_events"] == 1


def test_pandas_oracle_counts():
    rng = np.random.default_rng(0)
    n = 2000
    ev = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 50, n),
            "timestamp": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 400 * 24, n), unit="h"),
            "event_type": rng.choice(["web_session", "email_open", "nps"], n),
            "value": rng.integers(0, 11, n).astype(float),
        }
    )
    cut = pd.Timestamp("2023-12-31")
    f = engagement(ev, cutoff=cut, windows_days=[90])
    day = ev["timestamp"].dt.normalize()
    sel = ev[(day > cut - pd.Timedelta(days=90)) & (day <= cut)]
    expected = sel[sel["event_type"] == "email_open"].groupby("customer_id").size()
    np.testing.assert_array_equal(
        f["email_open_90d"].to_numpy(), expected.reindex(f.index, fill_value=0).to_numpy()
    )
    nps = ev[(ev["event_type"] == "nps") & (day <= cut)]
    np.testing.assert_allclose(
        f["nps_mean"].to_numpy(), nps.groupby("customer_id")["value"].mean().reindex(f.index)
    )


def test_ibis_output(events):
    out = engagement(
        ibis.memtable(events), cutoff=CUT, windows_days=[30], event_types=["nps"], **MAP
    )
    assert isinstance(out, ibis.Table)
    assert out.to_pandas()["nps_30d"].tolist() == [1, 1, 0]
    with pytest.raises(CxmlUserError, match="customers= needs pandas output"):
        engagement(ibis.memtable(events), cutoff=CUT, customers=["a"], output="ibis", **MAP)
    # with customers, Ibis input gives pandas reindexed onto them
    df = engagement(
        ibis.memtable(events),
        cutoff=CUT,
        windows_days=[30],
        event_types=["nps"],
        customers=["c", "zz"],
        **MAP,
    )
    assert isinstance(df, pd.DataFrame) and df.index.tolist() == ["c", "zz"]
    assert df["nps_30d"].tolist() == [0, 0] and df.loc["c", "nps_last"] == 3.0


def test_errors(events):
    with pytest.raises(DataValidationError, match=r"missing column 'event_type'"):
        engagement(events.drop(columns="kind"), cutoff=CUT, **MAP)
    with pytest.raises(CxmlUserError, match="event_types must be None, a list"):
        engagement(events, cutoff=CUT, event_types="nps", **MAP)
    with pytest.raises(CxmlUserError, match=r"unknown keyword argument\(s\) \['kind'\]"):
        engagement(events, cutoff=CUT, kind="kind")
