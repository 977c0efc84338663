"""CLV tiers and the value x churn-risk action matrix."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cxml.exceptions import ConfigError, DataValidationError
from cxml.metrics import count_of
from cxml.segments._rules import load_segment_rules

__all__ = ["clv_tiers", "value_risk_matrix", "tier_edges", "INSUFFICIENT_HISTORY"]

#: Segment label of a customer without a usable purchase (e.g. only returns): scored from
#: the population prior, so their CLV and risk say nothing about them and they get no
#: value or risk tier (they never enter a value x risk action).
INSUFFICIENT_HISTORY = "insufficient history"

_DEFAULT_LABELS = {2: ("low", "high"), 3: ("low", "medium", "high")}


def _as_values(x, *, name: str, arg: str) -> pd.Series:
    if isinstance(x, pd.DataFrame):
        raise DataValidationError(
            f"{name}: {arg} must be one column (Series or array), got a "
            f"DataFrame with columns {list(x.columns)}"
        )
    series = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x).ravel())
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise DataValidationError(f"{name}: {arg} must be numeric, got dtype {series.dtype}")
    values = series.to_numpy(dtype=float, na_value=np.nan)
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise DataValidationError(
            f"{name}: {arg} is missing or infinite for {count_of(bad, len(values))} customers"
        )
    return pd.Series(values, index=series.index, name=series.name)


def _increasing(edges, *, name: str, arg: str) -> np.ndarray:
    try:
        arr = np.asarray(edges, dtype=float).ravel()
    except (TypeError, ValueError):
        raise DataValidationError(f"{name}: {arg} must be numbers, got {edges!r}") from None
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0):
        raise DataValidationError(
            f"{name}: {arg} must be a non-empty, strictly increasing list of numbers, got "
            f"{list(np.atleast_1d(edges))}"
        )
    return arr


def _labels_for(labels, n_tiers: int, *, name: str, arg: str) -> list[str]:
    if labels is None:
        if n_tiers in _DEFAULT_LABELS:
            return list(_DEFAULT_LABELS[n_tiers])
        return [f"tier {i}" for i in range(1, n_tiers + 1)]
    labels = [str(v) for v in labels]
    if len(labels) != n_tiers or len(set(labels)) != n_tiers:
        raise DataValidationError(
            f"{name}: {arg} needs {n_tiers} distinct labels (lowest first) for {n_tiers - 1} "
            f"cut point(s), got {labels}"
        )
    return labels


def tier_edges(
    values, *, quantiles=None, thresholds=None, name: str = "clv_tiers", arg: str = "clv"
) -> np.ndarray:
    """Cut points between tiers: the given thresholds, or the values' quantiles."""
    if (quantiles is None) == (thresholds is None):
        raise DataValidationError(f"{name}: pass exactly one of quantiles= or thresholds=")
    if thresholds is not None:
        return _increasing(thresholds, name=name, arg="thresholds")
    q = _increasing(quantiles, name=name, arg="quantiles")
    if q[0] <= 0 or q[-1] >= 1:
        raise DataValidationError(
            f"{name}: quantiles must lie strictly between 0 and 1, got {q.tolist()}"
        )
    if len(values) == 0:
        raise DataValidationError(f"{name}: {arg} is empty; quantile tiers need values")
    return np.quantile(np.asarray(values, dtype=float), q)


def _cut(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # Tier k holds edges[k-1] < x <= edges[k]: a value equal to a cut point stays in the
    # lower tier, so a mass of ties at a quantile (e.g. many zero CLVs) is not pushed up.
    return np.searchsorted(edges, values, side="left")


def clv_tiers(clv, *, quantiles=(0.5, 0.8), thresholds=None, labels=None) -> pd.Series:
    """Value tiers from CLV, by quantiles (default) or fixed thresholds.

    Parameters
    ----------
    clv : Series or array-like of float
        Customer lifetime value per customer.
    quantiles : sequence of float, default (0.5, 0.8)
        Cut points as quantiles of ``clv`` (bottom 50 %, next 30 %, top 20 %). Ignored when
        ``thresholds`` is given.
    thresholds : sequence of float, optional
        Cut points in currency units instead of quantiles.
    labels : sequence of str, optional
        Tier labels, lowest first; defaults to ``low, medium, high`` for three tiers,
        ``low, high`` for two, ``tier 1 .. tier k`` otherwise.

    Returns
    -------
    Series
        Named ``"value_tier"``, ordered categorical (lowest tier first), index of ``clv``
        (a RangeIndex for arrays). Tier ``k`` holds ``cut[k-1] < clv <= cut[k]``, so tiers
        never decrease as CLV grows and equal CLVs share a tier.

    Raises
    ------
    DataValidationError
        Missing/infinite CLV, cut points not strictly increasing, quantiles outside (0, 1),
        or the wrong number of labels.

    Examples
    --------
    >>> clv_tiers([5.0, 10, 50, 80, 100, 300, 20, 7, 1, 0]).tolist()
    ['low', 'low', 'medium', 'medium', 'high', 'high', 'medium', 'low', 'low', 'low']
    >>> clv_tiers([5.0, 150, 900], thresholds=[100, 500]).tolist()
    ['low', 'medium', 'high']
    """
    values = _as_values(clv, name="clv_tiers", arg="clv")
    if thresholds is not None:
        quantiles = None
    edges = tier_edges(values.to_numpy(), quantiles=quantiles, thresholds=thresholds)
    names = _labels_for(labels, edges.size + 1, name="clv_tiers", arg="labels")
    codes = _cut(values.to_numpy(), edges)
    tiers = pd.Categorical.from_codes(codes, categories=names, ordered=True)
    return pd.Series(tiers, index=values.index, name="value_tier")


def _risk_tiers(p: pd.Series, thresholds, labels) -> pd.Series:
    arr = p.to_numpy()
    outside = int(((arr < 0) | (arr > 1)).sum())
    if outside:
        raise DataValidationError(
            f"value_risk_matrix: churn_probability is outside 0..1 for "
            f"{count_of(outside, arr.size)} customers"
        )
    edges = _increasing(thresholds, name="value_risk_matrix", arg="risk_thresholds")
    if edges[0] <= 0 or edges[-1] >= 1:
        raise DataValidationError(
            f"value_risk_matrix: risk_thresholds must lie strictly between 0 and 1, got "
            f"{edges.tolist()}"
        )
    names = _labels_for(labels, edges.size + 1, name="value_risk_matrix", arg="risk_labels")
    tiers = pd.Categorical.from_codes(_cut(arr, edges), categories=names, ordered=True)
    return pd.Series(tiers, index=p.index, name="risk_tier")


def _action_table(actions, value_names, risk_names) -> dict[tuple[str, str], str]:
    if actions is None:
        actions = load_segment_rules().value_risk_actions
    if not isinstance(actions, Mapping):
        raise ConfigError(
            "value_risk_matrix: actions must be a mapping {value_tier: {risk_tier: action}} "
            f"or {{(value_tier, risk_tier): action}}, got {type(actions).__name__}"
        )
    table = {}
    for key, val in actions.items():
        if isinstance(key, tuple) and len(key) == 2:
            table[(str(key[0]), str(key[1]))] = str(val)
        elif isinstance(val, Mapping):
            for risk, action in val.items():
                table[(str(key), str(risk))] = str(action)
        else:
            raise ConfigError(f"value_risk_matrix: cannot read actions entry {key!r}: {val!r}")
    missing = [(v, r) for v in value_names for r in risk_names if (v, r) not in table]
    if missing:
        raise ConfigError(
            f"value_risk_matrix: actions lack {len(missing)} of "
            f"{len(value_names) * len(risk_names)} (value_tier, risk_tier) cells, e.g. "
            f"{missing[0]}; give an action for every cell of the "
            f"{len(value_names)}x{len(risk_names)} matrix"
        )
    return table


def value_risk_matrix(
    clv,
    churn_probability,
    *,
    value_quantiles=(1 / 3, 2 / 3),
    value_thresholds=None,
    risk_thresholds=(0.33, 0.66),
    value_labels=None,
    risk_labels=None,
    actions=None,
) -> pd.DataFrame:
    """Place customers in a value x churn-risk grid and give each cell an action.

    Parameters
    ----------
    clv : Series or array-like of float
        Predicted customer lifetime value.
    churn_probability : Series or array-like of float
        Predicted churn probability in 0..1, for the same customers. When both inputs are
        Series their indexes must hold the same customers (order may differ).
    value_quantiles : sequence of float, default (1/3, 2/3)
        Value tier cut points as CLV quantiles (terciles). Ignored with ``value_thresholds``.
    value_thresholds : sequence of float, optional
        Value tier cut points in currency units.
    risk_thresholds : sequence of float, default (0.33, 0.66)
        Risk tier cut points on the churn probability.
    value_labels, risk_labels : sequence of str, optional
        Tier labels, lowest first (default ``low, medium, high``).
    actions : mapping, optional
        Action per cell, ``{value_tier: {risk_tier: action}}`` or
        ``{(value_tier, risk_tier): action}``. Default: the packaged
        ``value_risk_actions`` (high value: reward / retain / win back; medium: grow /
        nurture / re-engage; low: develop / monitor / let go, for low / medium / high risk).

    Returns
    -------
    DataFrame
        Columns ``value_tier`` and ``risk_tier`` (ordered categoricals) and ``segment`` (the
        action label, categorical), one row per customer, index of ``clv``.

    Raises
    ------
    DataValidationError
        Missing values, probabilities outside 0..1, mismatched lengths or customers, bad cut
        points or labels.
    ConfigError
        ``actions`` missing a cell or unreadable.

    Examples
    --------
    >>> m = value_risk_matrix([10.0, 200, 900], [0.9, 0.5, 0.1])
    >>> m["segment"].tolist()
    ['let go', 'nurture', 'reward']
    """
    name = "value_risk_matrix"
    value = _as_values(clv, name=name, arg="clv")
    risk = _as_values(churn_probability, name=name, arg="churn_probability")
    if len(value) != len(risk):
        raise DataValidationError(
            f"{name}: clv has {len(value):,} customers but churn_probability has {len(risk):,}"
        )
    if isinstance(clv, pd.Series) and isinstance(churn_probability, pd.Series):
        if not value.index.is_unique:
            raise DataValidationError(f"{name}: clv index has duplicated customer ids")
        if not value.index.equals(risk.index):
            if not risk.index.is_unique or not risk.index.sort_values().equals(
                value.index.sort_values()
            ):
                n_diff = len(value.index.difference(risk.index))
                raise DataValidationError(
                    f"{name}: {count_of(n_diff, len(value))} customers of clv have no "
                    "churn_probability; pass both for the same customers"
                )
            risk = risk.reindex(value.index)
    elif isinstance(churn_probability, pd.Series):
        value.index = risk.index  # keep the customer ids of whichever input has them
    else:
        risk.index = value.index
    if value_thresholds is not None:
        value_quantiles = None
    value_tier = clv_tiers(
        value, quantiles=value_quantiles, thresholds=value_thresholds, labels=value_labels
    )
    risk_tier = _risk_tiers(risk, risk_thresholds, risk_labels)
    v_names = list(value_tier.cat.categories)
    r_names = list(risk_tier.cat.categories)
    table = _action_table(actions, v_names, r_names)
    action_names = list(dict.fromkeys(table[(v, r)] for v in reversed(v_names) for r in r_names))
    cell = np.array([[action_names.index(table[(v, r)]) for r in r_names] for v in v_names])
    codes = cell[value_tier.cat.codes.to_numpy(), risk_tier.cat.codes.to_numpy()]
    return pd.DataFrame(
        {
            "value_tier": value_tier,
            "risk_tier": risk_tier,
            "segment": pd.Categorical.from_codes(codes, categories=action_names),
        },
        index=value.index,
    )
