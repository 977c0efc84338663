"""Customers without a usable purchase: prior-based scores, flagged, and their own segment.

On Online Retail II, customers with only returns got the population-prior CLV (far above the
median) and landed in "win back" (71 of its 82 customers), flooding any retention list.
"""

from __future__ import annotations

import pandas as pd

from cxml.datasets import load_cdnow
from cxml.pipelines import score, segment_scores
from cxml.segments import INSUFFICIENT_HISTORY, segment_summary


def _with_returns_only(tx: pd.DataFrame) -> pd.DataFrame:
    ghosts = pd.DataFrame(
        {
            "customer_id": [900001, 900001, 900002],
            "timestamp": pd.to_datetime(["1998-01-05", "1998-02-01", "1998-03-01"]),
            "amount": [-20.0, -5.0, -12.5],
            "quantity": [-1, -1, -1],
        }
    )
    return pd.concat([tx, ghosts], ignore_index=True)


def test_prior_scored_customers_get_their_own_segment_and_no_tiers(sample_training):
    result, _ = sample_training
    tx = _with_returns_only(load_cdnow("sample"))
    s = score(tx, model=result.bundle, as_of="1998-06-30")
    assert len(s) == 2357 + 2  # nobody lost
    ghosts = s[s["customer_id"].isin([900001, 900002])]
    assert ghosts["insufficient_history"].all()
    # they keep a defined, prior-based CLV and churn score ...
    assert ghosts["clv"].notna().all() and ghosts["churn_probability"].between(0, 1).all()
    # ... but no tier and no value x risk action
    assert (ghosts["segment"] == INSUFFICIENT_HISTORY).all()
    assert (ghosts["rfm_segment"] == INSUFFICIENT_HISTORY).all()
    assert ghosts["value_tier"].isna().all() and ghosts["risk_tier"].isna().all()
    others = s[~s["insufficient_history"]]
    assert not (others["segment"] == INSUFFICIENT_HISTORY).any()
    assert others["value_tier"].notna().all()
    summary = segment_summary(s).set_index("segment")
    assert summary.loc[INSUFFICIENT_HISTORY, "customers"] == 2
    assert summary["customers"].sum() == len(s)
    # re-segmenting with the model keeps them apart; recut quantiles ignore their prior CLV
    again, table = segment_scores(s, model=result.bundle)
    assert (
        again.set_index("customer_id").loc[[900001, 900002], "segment"] == INSUFFICIENT_HISTORY
    ).all()
    recut, _ = segment_scores(s, recut=True)
    assert recut.set_index("customer_id").loc[[900001, 900002], "value_tier"].isna().all()
