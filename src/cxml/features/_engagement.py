"""Engagement features from an events table, as of a cut-off date.

Event types are configuration: the counted types are whatever ``event_types`` says (or
every type present), and the survey / session types are named by keyword arguments, so a
company calling its NPS answers ``"survey_nps"`` maps them instead of changing code.
Windows are those of :func:`cxml.features.behaviour`: ``(cutoff - w, cutoff]`` in days.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

import ibis
import pandas as pd

from cxml.data import epoch_day, execute_arrow, is_validated, to_date, validate_events
from cxml.exceptions import CxmlUserError
from cxml.features._behaviour import check_windows, trend
from cxml.features._daily import check_output, day_number, to_pandas, wants_pandas
from cxml.features._exact import as_float, exact, exact_mean

__all__ = ["engagement"]

logger = logging.getLogger(__name__)

_EVENT_KEYS = ("customer_id", "timestamp", "event_type", "value")


def _slug(name: str) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()
    return slug or "event"


def _event_groups(t: ibis.Table, event_types) -> dict[str, tuple[str, ...]]:
    """Feature-name -> raw event types. None = every type present (one distinct query)."""
    if event_types is None:
        present = execute_arrow(t.select("event_type").distinct()).column(0).to_pylist()
        event_types = sorted(str(e) for e in present)
    if isinstance(event_types, Mapping):
        groups = {}
        for name, raw in event_types.items():
            raw = (raw,) if isinstance(raw, str) else tuple(raw)
            if not raw:
                raise CxmlUserError(f"event_types[{name!r}] names no event type")
            groups[_slug(name)] = raw
    elif isinstance(event_types, Sequence) and not isinstance(event_types, str):
        groups = {}
        for raw in event_types:
            groups.setdefault(_slug(raw), ())
            groups[_slug(raw)] += (str(raw),)
    else:
        raise CxmlUserError(
            "event_types must be None, a list of event types or a mapping "
            f"{{feature_name: event type(s)}}, got {event_types!r}"
        )
    return groups


def engagement(
    events,
    *,
    cutoff,
    customers=None,
    windows_days: Sequence[int] = (30, 90, 180, 365),
    event_types=None,
    nps: str | None = "nps",
    csat: str | None = "csat",
    ces: str | None = "ces",
    web_session: str | None = "web_session",
    output: str = "auto",
    **column_names,
):
    """Per-customer engagement features as of ``cutoff``.

    Parameters
    ----------
    events : pandas / polars / pyarrow table, CSV or Parquet path, or ibis.Table
        Events in cxml's contract (``customer_id``, ``timestamp``, ``event_type``, optional
        numeric ``value``); rows after ``cutoff`` are ignored.
    cutoff : str, date, datetime or Timestamp
        Feature date (inclusive of its whole day).
    customers : array-like or pandas.Index, optional
        Customers to report on (e.g. the index of :func:`cxml.features.behaviour`); the
        output is reindexed onto them: customers without events get 0 counts and NaN
        scores / recencies, customers not listed are dropped. Reindexing happens in
        pandas, so with ``customers`` the result is a pandas DataFrame even for Ibis input
        (``output="ibis"`` together with ``customers`` is an error).
    windows_days : sequence of int, default (30, 90, 180, 365)
        Lengths of the windows ending on ``cutoff``.
    event_types : None, list of str, or mapping of str to str or list of str
        Which event types to count. None: every type present in the data (one extra
        query). A mapping groups raw types under one feature name, e.g.
        ``{"email": ["email_open", "email_click"]}``. Names become column-safe slugs.
    nps, csat, ces, web_session : str or None
        Event types holding NPS answers (0-10), CSAT and CES scores (in ``value``) and web
        sessions (``value`` = duration in seconds). None disables those features.
    output : {"auto", "pandas", "ibis"}, default "auto"
        As in :func:`cxml.features.rfm`.
    **column_names : str
        Column mapping passed to :func:`cxml.data.validate_events`.

    Returns
    -------
    pandas.DataFrame or ibis.Table
        Index ``customer_id``. Columns, for each counted type ``e`` and window ``w``:
        ``{e}_{w}d`` (count) and ``{e}_trend_{w}d`` ((last - previous) / (last + previous)
        against the window before); ``events_{w}d`` and ``events_trend_{w}d`` over all
        types; ``days_since_last_event`` and ``days_since_last_{e}``; ``nps_last``,
        ``nps_mean``, ``nps_class`` ("promoter" 9-10, "passive" 7-8, "detractor" 0-6, from
        the last answer); ``csat_mean``; ``ces_mean``; ``web_session_count`` and
        ``web_session_duration`` (total of ``value``) up to the cut-off.

    Raises
    ------
    DataValidationError
        Invalid events (see :func:`cxml.data.validate_events`).
    CxmlUserError
        Bad ``cutoff``, ``windows_days``, ``event_types`` or ``output``.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame(
    ...     {
    ...         "customer_id": [1, 1, 2],
    ...         "timestamp": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-21"]),
    ...         "event_type": ["nps", "web_session", "nps"],
    ...         "value": [9, 300, 4],
    ...     }
    ... )
    >>> f = engagement(ev, cutoff="2024-01-31", windows_days=[30])
    >>> f.loc[:, ["nps_last", "nps_class", "web_session_count"]].to_dict("index")[1]
    {'nps_last': 9.0, 'nps_class': 'promoter', 'web_session_count': 1}
    """
    check_output(output)
    windows = check_windows(windows_days)
    cut = to_date(cutoff, "cutoff")
    c = epoch_day(cut)
    unknown = set(column_names) - set(_EVENT_KEYS)
    if unknown:
        raise CxmlUserError(
            f"unknown keyword argument(s) {sorted(unknown)}; column mappings are "
            f"{list(_EVENT_KEYS)}"
        )
    as_pandas = not isinstance(events, ibis.Table)
    t = (
        events
        if is_validated(events, "events") and not column_names
        else validate_events(events, **column_names)
    )
    # a NaN or infinite value is no answer (the fixed-point sums could not hold it)
    t = t.mutate(
        day=day_number(t.timestamp),
        value=ibis.ifelse(t.value.isnan() | t.value.isinf(), ibis.null("float64"), t.value),
    )
    t = t.filter(t.day <= c)
    groups = _event_groups(t, event_types)

    aggs: dict = {"_last_event": t.day.max()}
    trends: list[tuple[str, str, str]] = []
    for w in windows:
        last = t.day > c - w
        prev = (t.day > c - 2 * w) & ~last
        aggs[f"events_{w}d"] = last.cast("int32").cast("int64").sum()
        aggs[f"_prev_events_{w}d"] = prev.cast("int32").cast("int64").sum()
        trends.append((f"events_trend_{w}d", f"events_{w}d", f"_prev_events_{w}d"))
    for name, raw in groups.items():
        is_type = t.event_type.isin(list(raw))
        aggs[f"_last_{name}"] = t.day.max(where=is_type)
        for w in windows:
            last = is_type & (t.day > c - w)
            prev = is_type & (t.day > c - 2 * w) & (t.day <= c - w)
            aggs[f"{name}_{w}d"] = last.cast("int32").cast("int64").sum()
            aggs[f"_prev_{name}_{w}d"] = prev.cast("int32").cast("int64").sum()
            trends.append((f"{name}_trend_{w}d", f"{name}_{w}d", f"_prev_{name}_{w}d"))
    if nps is not None:
        is_nps = (t.event_type == nps) & t.value.notnull()
        aggs["nps_mean"] = exact_mean(t.value, is_nps)
        # last answer: latest timestamp; ties broken by the higher score for determinism
        aggs["nps_last"] = t.value.argmax(t.timestamp.epoch_seconds() * 100 + t.value, where=is_nps)
    if csat is not None:
        aggs["csat_mean"] = exact_mean(t.value, (t.event_type == csat) & t.value.notnull())
    if ces is not None:
        aggs["ces_mean"] = exact_mean(t.value, (t.event_type == ces) & t.value.notnull())
    if web_session is not None:
        is_web = t.event_type == web_session
        aggs["web_session_count"] = is_web.cast("int32").cast("int64").sum()
        # summed in fixed point like money (cxml.features._exact): the same on every engine
        aggs["web_session_duration"] = as_float(exact(t.value).sum(where=is_web)).fill_null(0.0)
    g = t.group_by("customer_id").aggregate(**aggs)

    feats = {name: trend(g[a].cast("float64"), g[b].cast("float64")) for name, a, b in trends}
    feats["days_since_last_event"] = (ibis.literal(c) - g._last_event).cast("float64")
    for name in groups:
        feats[f"days_since_last_{name}"] = (ibis.literal(c) - g[f"_last_{name}"]).cast("float64")
    if nps is not None:
        feats["nps_class"] = ibis.cases(
            (g.nps_last >= 9, "promoter"),
            (g.nps_last >= 7, "passive"),
            (g.nps_last.notnull(), "detractor"),
            else_=ibis.null("string"),
        )
    g = g.mutate(**feats)

    cols = ["customer_id"]
    for w in windows:
        cols += [f"events_{w}d", f"events_trend_{w}d"]
    for name in groups:
        for w in windows:
            cols += [f"{name}_{w}d", f"{name}_trend_{w}d"]
    cols.append("days_since_last_event")
    cols += [f"days_since_last_{name}" for name in groups]
    if nps is not None:
        cols += ["nps_last", "nps_mean", "nps_class"]
    if csat is not None:
        cols.append("csat_mean")
    if ces is not None:
        cols.append("ces_mean")
    if web_session is not None:
        cols += ["web_session_count", "web_session_duration"]
    g = g.select(cols)
    if output == "ibis" and customers is not None:
        raise CxmlUserError("customers= needs pandas output; join the Ibis table instead")
    if not wants_pandas(output, as_pandas or customers is not None):
        return g.order_by("customer_id")

    df = to_pandas(g).set_index("customer_id").sort_index()
    n_with_events = len(df)
    without = 0
    if customers is not None:
        index = pd.Index(customers, name="customer_id")
        without = int((~index.isin(df.index)).sum())
        df = df.reindex(index)
    counts = [col for col in df.columns if re.search(r"_\d+d$", col) and "trend" not in col] + (
        ["web_session_count"] if web_session is not None else []
    )
    for col in df.columns:
        if col in counts:
            df[col] = df[col].fillna(0).astype("int64")
        elif "trend" in col or col == "web_session_duration":
            df[col] = df[col].fillna(0.0).astype("float64")
        elif col != "nps_class":
            df[col] = df[col].astype("float64")
    report = {
        "n_customers_with_events": n_with_events,
        "n_customers": len(df),
        "customers_without_events": without,
        "event_types": {k: list(v) for k, v in groups.items()},
        "cutoff": cut.isoformat(),
    }
    df.attrs["report"] = report
    logger.info("engagement data report: %s", report)
    return df
