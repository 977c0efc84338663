"""Stale horizons: an end date long after the latest transaction is refused.

A cut-off (``observation_end`` of a training run, ``--as-of`` of a scoring run) far beyond
the data makes every customer look lapsed: recency and ``T`` keep growing over days on
which nobody could have bought, P(alive) collapses and the churn model sees a gap it never
saw in training. Tried on Online Retail II with an as-of date years after the export, the
predicted holdout purchases were 196,492 against 7,757 actual, with exit code 0.

The rule (documented in the README's "Data contract and policies"): the gap between the
latest transaction in the input and the end date may be at most a quarter of the horizon
(the training holdout length), and never less than 7 days, so a nightly or weekly export is
always accepted. An explicit switch allows a real gap (e.g. a shop that was closed).
"""

from __future__ import annotations

import datetime as _dt

from cxml.exceptions import DataValidationError

__all__ = ["check_horizon", "max_gap_days"]

_MIN_GAP_DAYS = 7


def max_gap_days(horizon_days: int) -> int:
    """Largest accepted gap, in days, between the latest transaction and the end date.

    Parameters
    ----------
    horizon_days : int
        The horizon in days (the model's holdout length).

    Returns
    -------
    int
        ``max(7, horizon_days // 4)``.

    Examples
    --------
    >>> max_gap_days(273), max_gap_days(14)
    (68, 7)
    """
    return max(_MIN_GAP_DAYS, int(horizon_days) // 4)


def check_horizon(
    end: _dt.date, last: _dt.date | None, *, horizon_days: int, name: str, allow: bool, switch: str
) -> int:
    """Refuse an end date far beyond the latest transaction (see the module docstring).

    Parameters
    ----------
    end : datetime.date
        The end date (observation_end or as-of).
    last : datetime.date or None
        Day of the latest transaction in the input (None: no transactions, nothing to check).
    horizon_days : int
        The horizon in days (the training holdout length).
    name : str
        How the user gave ``end`` (``"time.observation_end"``, ``"--as-of"``), for the message.
    allow : bool
        The explicit switch: accept any gap.
    switch : str
        How the user sets that switch, for the message.

    Returns
    -------
    int
        The gap in days (0 when ``last`` is None).

    Raises
    ------
    DataValidationError
        If the gap is larger than :func:`max_gap_days` and ``allow`` is False.
    """
    if last is None:
        return 0
    gap = (end - last).days
    limit = max_gap_days(horizon_days)
    if gap > limit and not allow:
        raise DataValidationError(
            f"{name} {end.isoformat()} is {gap:,} days after the latest transaction in the input "
            f"({last.isoformat()}); more than {limit} days (a quarter of the {horizon_days}-day "
            f"horizon) makes every customer look lapsed. Use the date of your data's export, "
            f"or set {switch} if the gap is real"
        )
    return max(gap, 0)
