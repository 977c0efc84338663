"""The holdout split of a randomised campaign: stratified by arm x outcome, seeded.

Uplift metrics compare treated and control customers inside the same ranking, so both
halves of a split should keep the campaign's arm shares and, within each arm, its response
rate: the split is stratified on ``arm | outcome > 0`` (scikit-uplift's pipeline notebook
stratifies on treatment x outcome the same way). One function, used by
:func:`train_uplift`, the notebooks and the benchmark's protocol.
"""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from cxml.exceptions import DataValidationError

__all__ = ["split_campaign"]


def split_campaign(
    treatment: pd.Series, y: pd.Series, *, test_size: float = 0.5, random_state=None
) -> tuple[pd.Index, pd.Index]:
    """Split a campaign's customers into a training and a held-out part.

    Parameters
    ----------
    treatment : pandas.Series
        Arm per customer, indexed by customer.
    y : pandas.Series
        Outcome per customer, indexed like ``treatment``; strata use ``y > 0`` (a
        response, or a positive spend).
    test_size : float, default 0.5
        Share of customers held out.
    random_state : int or None, default None
        Seed of the split (scikit-learn's ``train_test_split``).

    Returns
    -------
    (pandas.Index, pandas.Index)
        The customers of the training part and of the held-out part.

    Raises
    ------
    cxml.exceptions.DataValidationError
        ``treatment`` and ``y`` are not indexed alike, or a stratum (arm x response) has
        too few customers to be split.

    Examples
    --------
    >>> t = pd.Series(["mail", "none"] * 4)
    >>> y = pd.Series([1, 0, 0, 1, 1, 0, 0, 1])
    >>> train, test = split_campaign(t, y, test_size=0.5, random_state=0)
    >>> len(train), len(test), sorted(t[test])
    (4, 4, ['mail', 'mail', 'none', 'none'])
    """
    if not treatment.index.equals(y.index):
        raise DataValidationError(
            "treatment and y are not indexed alike: pass two Series indexed by the same "
            "customers, in the same order"
        )
    strata = treatment.astype(str) + "|" + (pd.to_numeric(y, errors="coerce") > 0).astype(str)
    # Integer codes: scikit-learn sorts the strata, which is slow on Arrow-backed strings.
    codes, _ = pd.factorize(strata, sort=True)
    try:
        train, test = train_test_split(
            treatment.index, test_size=test_size, random_state=random_state, stratify=codes
        )
    except ValueError as exc:  # a stratum with a single customer
        raise DataValidationError(
            f"cannot split the campaign stratified by arm x outcome ({exc}): collect more "
            "customers per arm and outcome, or merge arms"
        ) from None
    return pd.Index(train), pd.Index(test)
