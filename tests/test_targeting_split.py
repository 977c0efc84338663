"""cxml.targeting.split_campaign: the held-out half keeps each arm's share and response rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxml.exceptions import DataValidationError
from cxml.targeting import split_campaign


def test_stratified_by_arm_and_outcome_and_seeded():
    rng = np.random.default_rng(0)
    n = 3000
    t = pd.Series(rng.choice(["none", "a", "b"], n, p=[0.5, 0.3, 0.2]), index=np.arange(n) * 7)
    y = pd.Series(rng.binomial(1, np.where(t == "a", 0.3, 0.1)), index=t.index)
    train, test = split_campaign(t, y, test_size=0.5, random_state=42)
    assert len(train) == len(test) == 1500
    assert train.intersection(test).empty and train.union(test).sort_values().equals(t.index)
    # every arm x outcome stratum is split in half (to within one customer)
    strata = t.astype(str) + "|" + y.astype(str)
    counts = strata.value_counts()
    held = strata[test].value_counts()
    assert ((held - counts / 2).abs() <= 1).all(), (held, counts)
    again, _ = split_campaign(t, y, test_size=0.5, random_state=42)
    assert again.equals(train)
    other, _ = split_campaign(t, y, test_size=0.5, random_state=1)
    assert not other.equals(train)


def test_refusals():
    t = pd.Series(["a", "none"] * 5)
    with pytest.raises(DataValidationError, match="treatment and y are not indexed alike"):
        split_campaign(t, pd.Series([0, 1] * 5, index=range(1, 11)))
    y = pd.Series([0] * 9 + [1])  # one customer in the stratum "none|True"
    with pytest.raises(
        DataValidationError, match=r"cannot split the campaign stratified by arm x outcome"
    ):
        split_campaign(t, y, random_state=0)
