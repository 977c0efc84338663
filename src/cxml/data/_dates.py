"""Parsing of user-supplied dates (``observation_end``, ``calibration_end``, ``cutoff``).

cxml works at day granularity, following Fader-Hardie-Lee: purchases on the same calendar
day are one transaction, so a boundary date is a calendar day and is *inclusive* of that
whole day (a purchase at 1997-09-30 23:59 belongs to a calibration ending 1997-09-30).
A datetime passed as a boundary is truncated to its date for the same reason.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from cxml.exceptions import CxmlUserError

__all__ = ["to_date", "epoch_day", "unit_days"]

_EPOCH = _dt.date(1970, 1, 1)
_UNITS = {"D": 1, "W": 7}


def to_date(value, name: str) -> _dt.date:
    """Convert a boundary date given as str / date / datetime / Timestamp to a ``date``.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, pandas.Timestamp or numpy.datetime64
        The date. Strings are parsed by :func:`pandas.Timestamp` (ISO 8601 recommended).
    name : str
        Argument name, used in the error message.

    Returns
    -------
    datetime.date
        The calendar day (a datetime is truncated to its date).

    Raises
    ------
    CxmlUserError
        If ``value`` is None or cannot be parsed as a date.
    """
    if value is None:
        raise CxmlUserError(f"{name} is required (a date such as '1997-09-30')")
    if value is pd.NaT:  # NaT subclasses datetime
        raise CxmlUserError(f"{name} is NaT; give a date such as '1997-09-30'")
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str) and not value.strip()[:1].isdigit():
        # pandas would accept "now" / "today" / "yesterday": cxml never reads the clock
        raise CxmlUserError(f"{name}={value!r} is not a date; use e.g. '1997-09-30'")
    if isinstance(value, (str, np.datetime64, pd.Timestamp)):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise CxmlUserError(f"{name}={value!r} is not a date; use e.g. '1997-09-30'") from exc
        if pd.isna(ts):
            raise CxmlUserError(f"{name}={value!r} is not a date; use e.g. '1997-09-30'")
        return ts.date()
    raise CxmlUserError(
        f"{name} must be a str, date, datetime or pandas Timestamp, got {type(value).__name__}"
    )


def epoch_day(day: _dt.date) -> int:
    """Days since 1970-01-01 of a date (the integer time axis used by the feature engine)."""
    return (day - _EPOCH).days


def unit_days(time_unit: str) -> int:
    """Length in days of ``time_unit`` ("D" = 1 day, "W" = 7 days).

    Raises
    ------
    CxmlUserError
        If ``time_unit`` is neither "D" nor "W".
    """
    try:
        return _UNITS[time_unit]
    except (KeyError, TypeError):
        raise CxmlUserError(
            f"time_unit must be 'D' (days) or 'W' (weeks of 7 days), got {time_unit!r}"
        ) from None
