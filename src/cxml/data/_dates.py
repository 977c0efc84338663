"""The one date policy of cxml: boundary dates, timestamp columns and their units.

Nothing is guessed. A date that cxml cannot read without guessing (day/month order, a
two-digit year, a locale's month names) is refused with the column, the count of bad values
and an example, never read one way or the other.

- **Boundary dates** (``observation_end``, ``calibration_end``, ``cutoff``, ``--as-of``,
  dates in a config) are calendar days: a ``date`` / ``datetime`` / ``Timestamp`` object, or
  a string ``YYYY-MM-DD``. A boundary is *inclusive* of its whole day, following
  Fader-Hardie-Lee (purchases on the same calendar day are one transaction), so a datetime
  is truncated to its date.
- **Timestamp columns** are dates or datetimes of the table's own type, or text in ISO 8601:
  ``YYYY-MM-DD``, optionally followed by ``T`` or a space and ``HH:MM[:SS[.fff]]``, optionally
  followed by a zone (``Z``, ``+HH``, ``+HHMM``, ``+HH:MM``). Text with a zone is converted to
  UTC; a column may not mix zoned and unzoned text (which wall clock would the unzoned
  values be on?). Any other text is refused unless the caller gives an explicit
  ``timestamp_format`` (``strptime`` directives such as ``"%d/%m/%Y %H:%M"``), which is then
  applied strictly: a value that does not match the whole format is refused, not skipped.
- **Plausible years**: timestamps before 1900 or after 2199 are refused whatever their type;
  they come from a misread two-digit year ("12/01/09" read as the year 12) upstream.
"""

from __future__ import annotations

import datetime as _dt
import re

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from cxml.exceptions import CxmlUserError, DataValidationError

__all__ = [
    "to_date",
    "to_datetime_series",
    "timestamp_column",
    "check_timestamp_format",
    "example_value",
    "epoch_day",
    "unit_days",
    "ISO_8601_HINT",
    "MIN_YEAR",
    "MAX_YEAR",
]

_EPOCH = _dt.date(1970, 1, 1)
_UNITS = {"D": 1, "W": 7}
MIN_YEAR, MAX_YEAR = 1900, 2199

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The ISO 8601 profile cxml reads (see the module docstring). Used by both the pandas and the
# SQL path, so that a string is valid in one exactly when it is valid in the other.
_TIME = r"[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
_ZONE = r"(Z|[+-]\d{2}(:?\d{2})?)"
_ISO_NAIVE = rf"^\d{{4}}-\d{{2}}-\d{{2}}({_TIME})?$"
_ISO_ZONED = rf"^\d{{4}}-\d{{2}}-\d{{2}}{_TIME}{_ZONE}$"

# The format examples name both orders: cxml cannot tell 01/04 from 04/01, and a hint that
# showed only one would read as a suggestion.
ISO_8601_HINT = (
    "write them as ISO 8601 (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS) or give their "
    "format explicitly, e.g. '%m/%d/%Y %H:%M' (month first) or '%d/%m/%Y %H:%M' (day "
    "first), which cxml cannot tell apart for you (timestamp_format= in Python, "
    "data.timestamp_format in a config, --timestamp-format for cxml score)"
)


def to_date(value, name: str) -> _dt.date:
    """Convert a boundary date to a ``datetime.date``.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, pandas.Timestamp or numpy.datetime64
        The date. A string must be ``YYYY-MM-DD``: "09/12/2011" is refused rather than
        read as 12 September or 9 December.
    name : str
        Argument name, used in the error message (e.g. ``"--as-of"``).

    Returns
    -------
    datetime.date
        The calendar day (a datetime is truncated to its date).

    Raises
    ------
    CxmlUserError
        If ``value`` is None, NaT, not of a supported type, a string not in ``YYYY-MM-DD``
        form, or not a day of the calendar (``2011-06-31``).

    Examples
    --------
    >>> to_date("1997-09-30", "observation_end")
    datetime.date(1997, 9, 30)
    >>> to_date("30/09/1997", "observation_end")
    Traceback (most recent call last):
    ...
    cxml.exceptions.CxmlUserError: observation_end='30/09/1997' is not a date in YYYY-MM-DD
    form (e.g. '1997-09-30')
    """
    if value is None:
        raise CxmlUserError(f"{name} is required (a date in YYYY-MM-DD form, e.g. '1997-09-30')")
    if value is pd.NaT:  # NaT subclasses datetime
        raise CxmlUserError(f"{name} is NaT; give a date in YYYY-MM-DD form, e.g. '1997-09-30'")
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise CxmlUserError(f"{name} is NaT; give a date in YYYY-MM-DD form")
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        text = value.strip()
        if not _DATE_RE.fullmatch(text):
            raise CxmlUserError(
                f"{name}={value!r} is not a date in YYYY-MM-DD form (e.g. '1997-09-30')"
            )
        try:
            return _dt.date.fromisoformat(text)
        except ValueError as exc:
            raise CxmlUserError(f"{name}={value!r} is not a day of the calendar ({exc})") from None
    raise CxmlUserError(
        f"{name} must be a date in YYYY-MM-DD form (str), a date or a datetime, "
        f"got {type(value).__name__}"
    )


def check_timestamp_format(fmt: str | None, name: str = "timestamp_format") -> str | None:
    """Check an explicit ``strptime`` format (None passes: ISO 8601 is then required).

    Parameters
    ----------
    fmt : str or None
        The format, e.g. ``"%d/%m/%Y %H:%M"``.
    name : str, default "timestamp_format"
        How the user gave it, for the message.

    Returns
    -------
    str or None
        ``fmt`` unchanged.

    Raises
    ------
    CxmlUserError
        If ``fmt`` is not a string with a year, a month and a day directive.
    """
    if fmt is None:
        return None
    if not isinstance(fmt, str) or not fmt.strip():
        raise CxmlUserError(f"{name} must be a strptime format such as '%d/%m/%Y %H:%M'")
    missing = [
        d
        for d, alts in (("year", "%Y %y"), ("month", "%m %b %B"), ("day", "%d %j"))
        if not any(a in fmt for a in alts.split())
    ]
    if missing:
        raise CxmlUserError(
            f"{name}={fmt!r} has no {' / '.join(missing)} directive; a format such as "
            "'%d/%m/%Y %H:%M' names every part of the date"
        )
    return fmt


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime(value: str, fmt: str) -> dt.timestamp:  # DuckDB's strict, null-on-failure
    ...


def timestamp_column(col, label: str, what: str, *, timestamp_format: str | None = None):
    """Parse a timestamp column by the policy above, as an Ibis expression.

    Parameters
    ----------
    col : ibis.Column
        The user's column (any type).
    label : str
        How error messages name the column (e.g. ``"'timestamp' (your column 'date')"``).
    what : str
        What the table is ("transactions", "events").
    timestamp_format : str, optional
        Explicit ``strptime`` format for text columns (applied strictly).

    Returns
    -------
    (ibis.Column, dict)
        The parsed naive timestamp column (UTC for zoned input), and bad-row checks
        ``{key: (count_expr, example_expr, message)}`` whose messages take ``{bad}``,
        ``{n}`` and ``{example}``.

    Raises
    ------
    DataValidationError
        If the column has a type that cannot hold dates (numbers such as 20110609 are not
        guessed to be dates).
    """
    typ = col.type()
    checks: dict = {}
    label = label.replace("{", "{{").replace("}", "}}")  # messages are str.format templates
    if typ.is_null():
        parsed = col.cast("timestamp")
    elif typ.is_timestamp():
        # One type downstream: naive microseconds. Zoned values become UTC; nanosecond columns
        # (pandas, Parquet from pandas) are cast too, because DuckDB 2.0.1 constant-folds
        # comparisons on EXTRACT(year FROM <Parquet TIMESTAMP_NS>) wrongly (2020 > 2199).
        parsed = col if typ.timezone is None and typ.scale in (None, 6) else col.cast("timestamp")
    elif typ.is_date():
        parsed = col.cast("timestamp")
    elif typ.is_string():
        text = col.strip()
        present = col.notnull()
        if timestamp_format is not None:
            parsed = _try_strptime(text, timestamp_format)
            checks["ts_format"] = (
                (present & parsed.isnull()).sum(),
                example_value(col, present & parsed.isnull()),
                f"column {label}: {{bad}} of {{n}} values do not match timestamp_format "
                f"{timestamp_format!r}, e.g. {{example}}; fix those rows or the format",
            )
        else:
            naive = text.re_search(_ISO_NAIVE)
            zoned = text.re_search(_ISO_ZONED)
            parsed = ibis.cases(
                (zoned, text.try_cast("timestamp('UTC')").cast("timestamp")),
                (naive, text.try_cast("timestamp")),
                else_=ibis.null().cast("timestamp"),
            )
            not_iso = present & ~naive & ~zoned
            checks["ts_not_iso"] = (
                not_iso.sum(),
                example_value(col, not_iso),
                f"column {label}: {{bad}} of {{n}} values are not ISO 8601 dates, e.g. "
                f"{{example}}; {ISO_8601_HINT}",
            )
            invalid = present & (naive | zoned) & parsed.isnull()
            checks["ts_invalid"] = (
                invalid.sum(),
                example_value(col, invalid),
                f"column {label}: {{bad}} of {{n}} values are not days of the calendar, e.g. "
                "{example}; fix those rows",
            )
            mixed = ibis.least(zoned.sum(), naive.sum())
            checks["ts_mixed_zones"] = (
                mixed,
                example_value(col, naive),
                f"column {label}: {{bad}} of {{n}} values mix text with and without a time zone "
                "(e.g. {example} has none); give every value a zone (e.g. +00:00) or none",
            )
    else:
        raise DataValidationError(
            f"{what}: column {label} has type {typ}; expected dates, datetimes or ISO 8601 "
            "text such as '1997-09-30' (numbers are not read as dates)"
        )
    year = parsed.year()
    implausible = parsed.notnull() & ((year < MIN_YEAR) | (year > MAX_YEAR))
    checks["ts_year"] = (
        implausible.sum(),
        example_value(parsed.cast("string"), implausible),
        f"column {label}: {{bad}} of {{n}} timestamps lie outside the years {MIN_YEAR}-"
        f"{MAX_YEAR}, e.g. {{example}}; a two-digit year read upstream as a four-digit one? "
        "fix the export",
    )
    return parsed, checks


def example_value(col, bad):
    """One offending value of ``col`` where ``bad``, as text: an aggregate expression that
    runs in the same query as the bad-row counts (the smallest, so messages are
    deterministic)."""
    return ibis.ifelse(bad, col.cast("string"), ibis.null().cast("string")).min()


def to_datetime_series(values, name: str, *, timestamp_format: str | None = None) -> pd.Series:
    """The pandas counterpart of :func:`timestamp_column`, for in-memory helpers.

    Datetime-like values pass through (zone-aware ones converted to naive UTC); text must be
    ISO 8601 (or match ``timestamp_format`` exactly). Same policy, same messages.

    Parameters
    ----------
    values : array-like
        Timestamps.
    name : str
        Column name for error messages.
    timestamp_format : str, optional
        Explicit ``strptime`` format for text.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` (naive).

    Raises
    ------
    DataValidationError
        Text that is not ISO 8601 (or does not match the format), impossible days, mixed
        zones, implausible years, or values of another type.

    Examples
    --------
    >>> to_datetime_series(["2024-01-05", "2024-02-01 10:30"], "timestamp").dt.day.tolist()
    [5, 1]
    """
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    n = f"{len(s):,}"
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(s.dtype):
        out = s
    elif s.dropna().map(lambda v: isinstance(v, (_dt.date, pd.Timestamp))).all():
        out = pd.to_datetime(
            s, utc=s.dropna().map(lambda v: getattr(v, "tzinfo", None) is not None).any()
        )
        if isinstance(out.dtype, pd.DatetimeTZDtype):
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    elif s.dropna().map(lambda v: isinstance(v, str)).all():
        text = s.str.strip()
        present = s.notna()
        if timestamp_format is not None:
            out = pd.to_datetime(text, format=timestamp_format, errors="coerce")
            _refuse(
                present & out.isna(),
                s,
                n,
                f"column '{name}': {{bad}} of {n} values do not match timestamp_format "
                f"{timestamp_format!r}, e.g. {{example}}; fix those rows or the format",
            )
        else:
            naive = text.str.fullmatch(_ISO_NAIVE[1:-1]).fillna(False).astype(bool)
            zoned = text.str.fullmatch(_ISO_ZONED[1:-1]).fillna(False).astype(bool)
            _refuse(
                present & ~naive & ~zoned,
                s,
                n,
                f"column '{name}': {{bad}} of {n} values are not ISO 8601 dates, e.g. "
                f"{{example}}; {ISO_8601_HINT}",
            )
            if naive.any() and zoned.any():
                _refuse(
                    naive,
                    s,
                    n,
                    f"column '{name}': {{bad}} of {n} values mix text with "
                    "and without a time zone (e.g. {example} has none); give every value "
                    "a zone (e.g. +00:00) or none",
                )
            out = pd.to_datetime(
                text.str.replace("T", " ", regex=False),
                format="ISO8601",
                errors="coerce",
                utc=bool(zoned.any()),
            )
            if isinstance(out.dtype, pd.DatetimeTZDtype):
                out = out.dt.tz_convert("UTC").dt.tz_localize(None)
            _refuse(
                present & out.isna(),
                s,
                n,
                f"column '{name}': {{bad}} of {n} values are not days of the calendar, "
                "e.g. {example}; fix those rows",
            )
    else:
        kinds = sorted({type(v).__name__ for v in s.dropna()})
        raise DataValidationError(
            f"column '{name}' holds {', '.join(kinds)} values; expected dates, datetimes or "
            "ISO 8601 text such as '1997-09-30' (numbers are not read as dates)"
        )
    out = pd.Series(out, index=s.index).astype("datetime64[ns]")
    years = out.dt.year
    _refuse(
        out.notna() & ((years < MIN_YEAR) | (years > MAX_YEAR)),
        out.astype(str),
        n,
        f"column '{name}': {{bad}} of {n} timestamps lie outside the years {MIN_YEAR}-"
        f"{MAX_YEAR}, e.g. {{example}}; a two-digit year read upstream as a four-digit one? "
        "fix the export",
    )
    return out


def _refuse(bad: pd.Series, values: pd.Series, n: str, message: str) -> None:
    if bad.any():
        example = values[bad].astype(str).min()
        raise DataValidationError(message.format(bad=f"{int(bad.sum()):,}", example=repr(example)))


def epoch_day(day: _dt.date) -> int:
    """Count the days since 1970-01-01 of a date (the feature engine's integer time axis).

    Parameters
    ----------
    day : datetime.date
        The date.

    Returns
    -------
    int
        Days since 1970-01-01 (negative before).
    """
    return (day - _EPOCH).days


def unit_days(time_unit: str) -> int:
    """Length in days of ``time_unit`` ("D" = 1 day, "W" = 7 days).

    Parameters
    ----------
    time_unit : {"D", "W"}
        The time unit.

    Returns
    -------
    int
        1 or 7.

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
