"""Survey KPIs: Net Promoter Score, Customer Satisfaction, Customer Effort Score.

Definitions follow the industry standard ones:

- NPS (Reichheld 2003, "The One Number You Need to Grow", HBR): answers on 0..10 to "How
  likely are you to recommend ...?"; promoters answer 9-10, detractors 0-6;
  ``NPS = 100 * (promoters - detractors) / answers``, on -100..100.
- CSAT: percentage of answers in the top of the scale ("satisfied", 4-5 on 1..5).
- CES (Dixon, Freeman & Toman 2010, "Stop Trying to Delight Your Customers", HBR): mean
  effort rating; CES 2.0 uses 1..7.
"""

from __future__ import annotations

import numpy as np

from cxml.exceptions import DataValidationError
from cxml.metrics._validation import as_scores, check_scale, check_scale_arg

__all__ = ["nps", "csat", "ces"]

_PROMOTER_MIN = 9
_DETRACTOR_MAX = 6


def nps(scores) -> float:
    """Net Promoter Score of a set of 0..10 answers.

    ``NPS = 100 * (#answers 9-10 - #answers 0-6) / #answers`` (Reichheld 2003); passives
    (7-8) count in the denominator only.

    Parameters
    ----------
    scores : array-like of int
        Answers on the 0..10 "likelihood to recommend" scale, one per response.
        Whole numbers; missing answers must be dropped first.

    Returns
    -------
    float
        NPS on -100..100.

    Raises
    ------
    DataValidationError
        No answers, missing or non-numeric answers, answers outside 0..10 or fractional.

    Examples
    --------
    >>> nps([10, 9, 8, 7, 6, 0])
    0.0
    >>> nps([10, 10, 9, 3])
    50.0
    """
    arr = as_scores(scores, name="nps")
    check_scale(arr, name="nps", scale=(0, 10), integer=True)
    promoters = np.count_nonzero(arr >= _PROMOTER_MIN)
    detractors = np.count_nonzero(arr <= _DETRACTOR_MAX)
    return float(100.0 * (promoters - detractors) / arr.size)


def csat(scores, *, scale=(1, 5), satisfied_min: float = 4) -> float:
    """Customer Satisfaction: percentage of answers at or above ``satisfied_min``.

    Parameters
    ----------
    scores : array-like of int
        Satisfaction answers on ``scale``; missing answers must be dropped first.
    scale : (int, int), default (1, 5)
        Lowest and highest possible answer (inclusive). Use ``(1, 7)`` or ``(0, 10)`` for
        other survey designs.
    satisfied_min : int, default 4
        Lowest answer that counts as satisfied (4 and 5 on the usual 1..5 scale).

    Returns
    -------
    float
        CSAT in percent, 0..100.

    Raises
    ------
    DataValidationError
        No answers, missing/non-numeric/fractional answers, answers outside ``scale``, or
        ``satisfied_min`` outside ``scale``.

    Examples
    --------
    >>> csat([5, 4, 3, 2])
    50.0
    >>> csat([7, 6, 5, 1], scale=(1, 7), satisfied_min=6)
    50.0
    """
    lo, hi = check_scale_arg(scale, name="csat")
    if not lo < satisfied_min <= hi:
        raise DataValidationError(
            f"csat: satisfied_min={satisfied_min!r} must lie in ({lo:g}, {hi:g}] of the scale"
        )
    arr = as_scores(scores, name="csat")
    check_scale(arr, name="csat", scale=(lo, hi), integer=True)
    return float(100.0 * np.count_nonzero(arr >= satisfied_min) / arr.size)


def ces(scores, *, scale=(1, 7)) -> float:
    """Customer Effort Score: the mean effort rating.

    Parameters
    ----------
    scores : array-like of int
        Effort answers on ``scale``; missing answers must be dropped first. Whether a high
        number means "easy" (CES 2.0, "the company made it easy", 7 = strongly agree) or
        "hard" (the original CES) is the survey's convention; cxml only averages.
    scale : (int, int), default (1, 7)
        Lowest and highest possible answer (inclusive), checked so a 0..10 survey fed
        in by mistake fails loudly.

    Returns
    -------
    float
        Mean answer, within ``scale``.

    Raises
    ------
    DataValidationError
        No answers, missing/non-numeric/fractional answers, or answers outside ``scale``.

    Examples
    --------
    >>> ces([7, 5, 6])
    6.0
    """
    lo, hi = check_scale_arg(scale, name="ces")
    arr = as_scores(scores, name="ces")
    check_scale(arr, name="ces", scale=(lo, hi), integer=True)
    return float(arr.mean())
